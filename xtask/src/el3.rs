//! e2e case `el3-entry` (Raspberry Pi 4 on QEMU raspi4b): the shim entered at
//! EL3, the way a bare Pi boot or a custom armstub that does not drop to EL2
//! would enter it. Nothing is loaded as `-kernel` (which QEMU would enter at
//! EL2 itself): `-device loader` puts the test armstub
//! (hypervisor-shim/tests-armstub) at 0, where all four cores start in
//! secure EL3, the unchanged image at the hypervisor region's text_offset and
//! the DTB QEMU would have handed a Linux-style boot at [`DTB_ADDR`]. Core 0
//! enters the shim with x0 = DTB, cores 1-3 wait on the armstub's own
//! spin-table, so Linux's second CPU also enters the shim at EL3.

use crate::{cmd, firmware, paths, qemu_settings::QemuSettings};
use anyhow::{Context, Result, bail};
use cellboot_config::System;
use std::path::Path;
use std::process::Command;

/// Where QEMU's raspi4b Linux-style boot puts the DTB (the shim logs it).
pub const DTB_ADDR: u64 = 0x0800_0000;
/// The armstub's spin-table (armstub8's layout), then the words xtask fills
/// like the Pi firmware fills `dtb_ptr32` / `kernel_entry32`.
const SPIN_TABLE: u64 = 0xd8;
const PARAMS: usize = 0xf8;
const STUB_LEN: usize = 0x110;

/// What the shim prints first when it was entered at EL3.
pub fn marker() -> String {
    format!("starting (EL2 from EL3, DTB at {DTB_ADDR:#x})")
}

/// The QEMU command for the case: `img` is the assembled image, `out` the
/// board's build directory.
pub fn command(q: &QemuSettings, sys: &System, img: &Path, out: &Path, release: bool) -> Result<Command> {
    let b = &sys.config.board;
    if b.cpu_start != cellboot_abi::cpu_start::SPIN_TABLE {
        bail!("el3-entry runs on spin-table boards (rpi4b): entered at EL3 there is no PSCI firmware left");
    }
    for (cpu, &a) in b.release_addr.iter().enumerate().take(b.num_cpus as usize) {
        if a != SPIN_TABLE + 8 * cpu as u64 {
            bail!(
                "el3-entry: board release_addr[{cpu}] = {a:#x}, the test armstub's spin-table word is {:#x}",
                SPIN_TABLE + 8 * cpu as u64
            );
        }
    }
    if b.gic_version != 2 {
        bail!(
            "el3-entry: the test armstub sets up a GICv2 (the Raspberry Pi 4's GIC-400), the board has GICv{}",
            b.gic_version
        );
    }
    let entry = sys.config.hypervisor.phys + cellboot_abi::SHIM_TEXT_OFFSET;
    let img_len = std::fs::metadata(img).with_context(|| paths::show(img))?.len();
    if entry + img_len > DTB_ADDR {
        bail!("el3-entry: the image {entry:#x}+{img_len:#x} reaches the DTB at {DTB_ADDR:#x}");
    }
    let stub = out.join("el3-armstub.bin");
    std::fs::write(&stub, armstub(sys, release, entry, out)?).with_context(|| paths::show(&stub))?;
    let dtb = out.join("el3-entry-board.dtb");
    let mut dump = q.boot_command(None);
    dump.arg("-kernel")
        .arg(img)
        .arg("-machine")
        .arg(format!("dumpdtb={}", dtb.display()));
    cmd::output(&mut dump).context("QEMU -machine dumpdtb (the DTB a Linux-style boot gets)")?;

    let mut c = q.command();
    for (file, addr) in [(&stub, 0), (&img.to_path_buf(), entry), (&dtb, DTB_ADDR)] {
        c.arg("-device")
            .arg(format!("loader,file={},addr={addr:#x},force-raw=on", file.display()));
    }
    Ok(c)
}

/// The test armstub's raw binary with the DTB and entry addresses and the
/// board's GIC bases filled in.
fn armstub(sys: &System, release: bool, entry: u64, out: &Path) -> Result<Vec<u8>> {
    let link = crate::assemble::shim_link(sys);
    let mut c = firmware::cargo_build();
    c.args(["-p", "hypervisor-shim", "--bin", "el3-armstub"]);
    if release {
        c.arg("--release");
    }
    // The shim's own link settings: the same build-script output, no rebuild.
    link.apply(&mut c);
    let elf = firmware::executable(c, "el3-armstub")?;
    let mut bin = firmware::to_binary(&elf, &out.join("el3-armstub.raw"))?;
    if bin.len() != STUB_LEN || bin[PARAMS..].iter().any(|&x| x != 0) {
        bail!(
            "{}: {} bytes, expected {STUB_LEN} ending in zeroed parameter words",
            elf.display(),
            bin.len()
        );
    }
    let b = &sys.config.board;
    let dtb32 = u32::try_from(DTB_ADDR).context("DTB above 4 GiB")?;
    let entry32 = u32::try_from(entry).context("shim entry above 4 GiB")?;
    bin[PARAMS..PARAMS + 4].copy_from_slice(&dtb32.to_le_bytes());
    bin[PARAMS + 4..PARAMS + 8].copy_from_slice(&entry32.to_le_bytes());
    bin[PARAMS + 8..PARAMS + 16].copy_from_slice(&b.gicd_base.to_le_bytes());
    bin[PARAMS + 16..PARAMS + 24].copy_from_slice(&b.gicc_base.to_le_bytes());
    Ok(bin)
}

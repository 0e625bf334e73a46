//! End-to-end cases: real QEMU booting real images. What each case boots and
//! which console markers it must show, in order.

use crate::qemu_runner::Case;
use crate::{assemble, cmd, fetch, image, paths, qemu_settings};
use anyhow::{Context, Result, bail};
use cellboot_abi::zerocopy::IntoBytes;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the shim prints when it rejects the system config (then it stops).
pub const SYSCONFIG_INVALID: &str = "system config invalid";
/// What the shim prints when it rejects the board DTB (then it stops); the
/// corrupted DTB of `bad-board-dtb` needs a full structure check to be seen.
pub const BOARD_DTB_INVALID: &str = "board DTB unusable";

/// What the shim prints after it refused to start, before powering off.
const REFUSED: &str = "refusing to start: powering off";
/// How a power-off ends on a board no firmware powers off (the Pi: spin-table,
/// SMC disabled by its armstub; QEMU raspi4b has no EL3 at all).
const HALTED: &str = "halting (power off by hand)";
/// An EL2 exception in the shim itself: a power-off that faults (an SMC
/// nobody takes) shows it, and would loop through it.
const SHIM_EXCEPTION: &str = "shim exception";
/// Where an early refusal is reported: the image header's `image_size` is
/// checked before the EL2 MMU is on (case `bad-image-size`).
const IMAGE_SIZE_SHORT: &str = "cannot map the image at EL2: image_size ends inside BSS";
/// The shim's refusal of configured RAM the board DTB's `/memory` lacks
/// (case `bad-memory`: the EL2 map holds only configured DRAM).
const NOT_IN_MEMORY: &str = "cannot map the cell RAM at EL2: not in the DTB's /memory";

/// The Linux cell's init markers (qemu/init.sh), in order.
pub const LINUX_MARKERS: &[&str] = &[
    "CELLBOOT: pci-node ok",
    "CELLBOOT: ivshmem 110a:4106 at ",
    "CELLBOOT: bar0 id=",
    "CELLBOOT: shmem pattern ok",
    "CELLBOOT: cpus=2 ",
    "CELLBOOT: cpu hotplug ok",
    "CELLBOOT: done",
];

/// What qemu/init.sh prints when the cell's user overlay (/cellboot-demo) is in its tree.
pub const OVERLAY_MARKER: &str = "CELLBOOT: overlay ok";
/// The payload of boards/qemu-virt/overlays/cellboot-demo.dts, which adds /cellboot-demo.
const DEMO_OVERLAY: &str = "cellboot-demo.dtbo";
/// The overlay of case `bad-overlay`: fragment 1 targets a label nobody defines.
pub const BAD_OVERLAY: &str = "overlays/missing-label.dts";
/// What the shim prints on `CELL_FAILED` (before the loader's message).
pub const LOADER_FAILED: &str = "loader failed: ";

pub const CASES: &[&str] = &[
    "linux-demo",
    "cli-preview",
    "bad-sysconfig-checksum",
    "bad-sysconfig-overlap",
    "bad-board-dtb",
    "bad-image-size",
    "bad-overlay",
    "cell-reset",
];

/// Cases only QEMU virt can run (`bad-memory` needs another RAM size).
pub const VIRT_CASES: &[&str] = &["bad-memory"];

/// What init prints before its `reboot -f` and after the restarted boot
/// (qemu/init.sh, `cellboot.reboot=1`), and the shim between the two.
const REBOOT_REQUESTED: &str = "CELLBOOT: reboot requested";
/// The shim's line for a reset called on `cpu`.
pub fn restarting(cpu: u32) -> String {
    format!("PSCI SYSTEM_RESET on CPU {cpu}: restarting the cell")
}
const RESTARTED: &str = "CELLBOOT: restarted by the cell reset";

/// A boot's markers (`boot`, ending in `CELLBOOT: done`) as a case with
/// `cellboot.reboot=1` shows them: the boot up to the reboot, the shim
/// restarting the cell from `cpu`'s call, the whole boot again, then done.
pub fn reset_markers(mut boot: Vec<String>, cpu: u32) -> Result<Vec<String>> {
    let done = boot.pop().context("no markers")?;
    let mut expect = boot.clone();
    expect.extend([REBOOT_REQUESTED.to_string(), restarting(cpu)]);
    expect.extend(boot);
    expect.extend([RESTARTED.to_string(), done]);
    Ok(expect)
}

/// Cases on another board than `--board`, named `<board>/<case>` (the default
/// run covers the Raspberry Pi 4 on QEMU raspi4b this way).
pub const OTHER_BOARD_CASES: &[&str] = &[
    "rpi4b/linux-demo",
    "rpi4b/el3-entry",
    "rpi4b/two-cell",
    "rpi4b/hostile",
    "rpi4b/cell-reset",
    "rpi4b/manage",
    "rpi4b/jailhouse-demo",
    "rpi4b/bad-sysconfig-checksum",
    "rpi4b/bad-sysconfig-overlap",
    "rpi4b/bad-board-dtb",
    "rpi4b/bad-image-size",
    "zcu102/linux-demo",
    "zcu102/two-cell",
    "zcu102/hostile",
    "zcu102/bad-image-size",
];

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Builds what `name` boots and describes how to judge it.
pub fn case(name: &str, board: &str, release: bool) -> Result<Case> {
    if let Some((other, inner)) = name.split_once('/') {
        let mut c = case(inner, other, release)?;
        c.name = format!("{other}-{inner}"); // the log file name
        return Ok(c);
    }
    if name == "board-new" {
        return crate::board_new_case::case(board, release);
    }
    let q = qemu_settings::load(board)?;
    let sys = assemble::load_system(board, "linux-demo")?;
    let bins = assemble::binaries(&sys, release)?;
    let out = paths::board_out(board);
    // A refusal: the reason, the power-off, and on a board that does not
    // power off the halt after it (that line comes only once the power-off
    // SMC returned instead of faulting into a loop). Linux must never start.
    let refusal = |why: &[&str]| {
        let mut expect = strings(why);
        expect.push(REFUSED.into());
        if !q.exits_on_poweroff {
            expect.push(HALTED.into());
        }
        (
            expect,
            strings(&[
                "Booting Linux",
                "CELLBOOT: done",
                SHIM_EXCEPTION,
                "internal error",
                "PANIC",
            ]),
        )
    };
    let mut c = q.boot_command(None);
    let case = match name {
        "linux-demo" => {
            let img = out.join("e2e-linux-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            c.arg("-kernel").arg(&img);
            Case {
                name: name.into(),
                qemu: c,
                expect: linux_markers(&sys),
                fail_on: strings(&["CELLBOOT: FAIL", "Kernel panic", SYSCONFIG_INVALID, BOARD_DTB_INVALID]),
                timeout: Duration::from_secs(240),
            }
        }
        "cli-preview" => {
            // The guest's /sys/firmware/fdt must be byte for byte what
            // `cellboot dtb` previews on the host for the DTB QEMU hands the
            // shim. QEMU puts random rng-seed/kaslr-seed values in /chosen at
            // every boot unless told not to.
            let img = out.join("e2e-linux-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            if q.machine.starts_with("virt") {
                c.args(["-machine", "dtb-randomness=off"]);
            }
            c.arg("-kernel").arg(&img);
            let board_dtb = out.join("e2e-cli-preview-board.dtb");
            let preview = out.join("e2e-cli-preview-guest.dtb");
            let hash = cli_preview_hash(&c, board, &board_dtb, &preview)?;
            let mut expect = linux_markers(&sys);
            expect.insert(expect.len() - 1, format!("CELLBOOT: fdt sha256={hash} "));
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on: strings(&["CELLBOOT: FAIL", "Kernel panic", SYSCONFIG_INVALID, BOARD_DTB_INVALID]),
                timeout: Duration::from_secs(240),
            }
        }
        "bad-sysconfig-checksum" => {
            let mut bytes = sys.to_bytes();
            let at = std::mem::offset_of!(cellboot_abi::SystemConfig, checksum);
            bytes[at] ^= 0x5a; // the stored checksum no longer matches
            let img = out.join("e2e-bad-checksum.img");
            assemble::write(&assemble::pack(&sys, &bins, Some(bytes))?, &img)?;
            c.arg("-kernel").arg(&img);
            let (expect, fail_on) = refusal(&[SYSCONFIG_INVALID, "checksum"]);
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on,
                timeout: Duration::from_secs(60),
            }
        }
        "bad-sysconfig-overlap" => {
            let mut cfg = sys.config;
            // The shared-memory region moved on top of the cell's RAM in guest-physical space.
            let cell = &mut cfg.cells[0];
            let ram_virt = cell.mem[0].virt;
            let n = cell.num_mem as usize;
            let shared = cell.mem[..n]
                .iter()
                .position(|r| r.flags & cellboot_abi::mem::SHARED != 0)
                .context("linux-demo has no shared region")?;
            cell.mem[shared].virt = ram_virt + 0x10_0000;
            cfg.seal();
            let img = out.join("e2e-bad-overlap.img");
            assemble::write(&assemble::pack(&sys, &bins, Some(cfg.as_bytes().to_vec()))?, &img)?;
            c.arg("-kernel").arg(&img);
            let (expect, fail_on) = refusal(&[SYSCONFIG_INVALID, "overlap"]);
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on,
                timeout: Duration::from_secs(60),
            }
        }
        "bad-board-dtb" => {
            let img = out.join("e2e-linux-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            let uart = cellboot_abi::str_field(&sys.config.cells[0].boot.stdout_path)
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            let dtb = corrupt_dtb(&q.board_dtb().context("board has no DTB fixture")?, &uart, &out)?;
            c = q.boot_command(Some(&dtb));
            c.arg("-kernel").arg(&img);
            let (expect, fail_on) = refusal(&[BOARD_DTB_INVALID]);
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on,
                timeout: Duration::from_secs(60),
            }
        }
        "bad-image-size" => {
            // The header's image_size shrunk to the header's page: the shim
            // refuses before its EL2 MMU is on, so the message goes out
            // without the console lock (exclusives on Device memory).
            let mut packed = assemble::pack(&sys, &bins, None)?;
            packed.bytes[image::IMAGE_SIZE_OFFSET..image::IMAGE_SIZE_OFFSET + 8]
                .copy_from_slice(&0x1000u64.to_le_bytes());
            let img = out.join("e2e-bad-image-size.img");
            fetch::write_if_changed(&img, &packed.bytes)?;
            c.arg("-kernel").arg(&img);
            let (expect, fail_on) = refusal(&["hypervisor-shim", IMAGE_SIZE_SHORT]);
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on,
                timeout: Duration::from_secs(60),
            }
        }
        "bad-memory" => {
            // QEMU virt with 512 MiB: /memory ends where linux-demo's shared
            // region (0x6000_0000) begins, as on a Pi with less RAM than
            // the config assumes.
            if !q.machine.starts_with("virt") {
                bail!("bad-memory runs on qemu-virt (raspi4b's RAM size is fixed)");
            }
            let img = out.join("e2e-linux-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            c.args(["-m", "512M"]).arg("-kernel").arg(&img);
            let (expect, fail_on) = refusal(&[NOT_IN_MEMORY, "(0x60000000)"]);
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on,
                timeout: Duration::from_secs(60),
            }
        }
        "bad-overlay" => {
            // The linux cell's overlays replaced by one whose fragment 1
            // targets a missing label: the loader refuses it by name and
            // fragment, the shim reports CELL_FAILED and powers off.
            let mut bad = sys.clone();
            let file = paths::board_dir(board).join(BAD_OVERLAY);
            let name = "missing-label.dtbo";
            bad.payloads.push(cellboot_config::Payload {
                kind: cellboot_abi::payload_kind::OVERLAY,
                name: name.into(),
                source: cellboot_config::PayloadSource::File(file),
            });
            let boot = &mut bad.config.cells[0].boot;
            boot.overlay_first = (bad.payloads.len() - 1) as u32;
            boot.overlay_count = 1;
            bad.config.seal();
            let img = out.join("e2e-bad-overlay.img");
            assemble::write(&assemble::pack(&bad, &bins, None)?, &img)?;
            c.arg("-kernel").arg(&img);
            let why = format!("guest dtb: overlays: overlay {name} fragment 1");
            Case {
                name: name.into(),
                qemu: c,
                expect: vec![
                    format!("cellboot loader: FAILED: {why}"),
                    format!("{LOADER_FAILED}{why}"),
                    "no cell is running any more: powering off".into(),
                ],
                fail_on: strings(&["Booting Linux", "CELLBOOT: done", "must not appear"]),
                timeout: Duration::from_secs(60),
            }
        }
        "cell-reset" => {
            // Linux's `reboot -f` in the cell (PSCI SYSTEM_RESET) restarts
            // the cell from its loader; the second boot must pass every
            // check again, its second CPU included (gathered and restarted).
            let mut reset = sys.clone();
            assemble::append_bootargs(&mut reset.config.cells[0].boot.bootargs, " cellboot.reboot=1")?;
            reset.config.seal();
            let img = out.join("e2e-cell-reset.img");
            assemble::write(&assemble::pack(&reset, &bins, None)?, &img)?;
            c.arg("-kernel").arg(&img);
            let expect = reset_markers(linux_markers(&sys), 0)?;
            Case {
                name: name.into(),
                qemu: c,
                expect,
                fail_on: strings(&["CELLBOOT: FAIL", "Kernel panic", "restart failed", SYSCONFIG_INVALID]),
                // Two boots; raspi4b under TCG took 190 s on a busy host.
                timeout: Duration::from_secs(480),
            }
        }
        "el3-entry" => {
            // The shim entered at EL3 by the test armstub (xtask/src/el3.rs).
            let img = out.join("e2e-linux-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            let mut expect = vec![crate::el3::marker()];
            expect.extend(linux_markers(&sys));
            Case {
                name: name.into(),
                qemu: crate::el3::command(&q, &sys, &img, &out, release)?,
                expect,
                fail_on: strings(&["CELLBOOT: FAIL", "Kernel panic", SYSCONFIG_INVALID, BOARD_DTB_INVALID]),
                timeout: Duration::from_secs(240),
            }
        }
        other => bail!("no e2e case {other:?} (cases: {}, rpi4b/el3-entry)", CASES.join(", ")),
    };
    let mut case = case;
    case.name = format!("{board}-{name}"); // logs: build/logs/<board>-<case>.log
    if !image::has_image_header(&bins.shim) {
        eprintln!("warning: the shim has no Image header yet: case {name} cannot pass");
    }
    Ok(case)
}

/// Dumps the DTB the QEMU command `boot` would hand the shim, runs
/// `cellboot dtb` on it for the board's linux-demo cell and returns the
/// preview's SHA-256.
fn cli_preview_hash(boot: &std::process::Command, board: &str, board_dtb: &Path, preview: &Path) -> Result<String> {
    let mut dump = std::process::Command::new(boot.get_program());
    dump.args(boot.get_args())
        .arg("-machine")
        .arg(format!("dumpdtb={}", board_dtb.display()));
    cmd::output(&mut dump).context("QEMU -machine dumpdtb")?;
    let system = paths::board_dir(board).join("linux-demo.toml");
    let mut cli = cmd::cargo();
    cli.args(["run", "-q", "-p", "cellboot", "--", "dtb", "--system"])
        .arg(&system);
    cli.arg("--dtb").arg(board_dtb).arg("-o").arg(preview);
    cmd::run(&mut cli).context("cellboot dtb")?;
    let sum = cmd::output(std::process::Command::new("sha256sum").arg(preview))?;
    let hash = sum.split_whitespace().next().unwrap_or_default().to_string();
    eprintln!("    cellboot dtb preview: {} sha256 {hash}", paths::show(preview));
    Ok(hash)
}

/// [`LINUX_MARKERS`], after [`OVERLAY_MARKER`] when the cell has the demo
/// overlay (qemu/init.sh checks it before the PCI checks; other overlays,
/// such as the ZCU102's console clock, add no marker).
fn linux_markers(sys: &cellboot_config::System) -> Vec<String> {
    let boot = &sys.config.cells[0].boot;
    let first = boot.overlay_first as usize;
    let overlays = sys
        .payloads
        .iter()
        .skip(first)
        .take(boot.overlay_count as usize)
        .any(|p| p.name == DEMO_OVERLAY);
    overlays
        .then_some(OVERLAY_MARKER)
        .into_iter()
        .chain(LINUX_MARKERS.iter().copied())
        .map(String::from)
        .collect()
}

/// The board DTB with the console UART's `compatible` name offset pointing
/// past the strings block: QEMU loads and edits it (it only touches /chosen
/// and /memory), a full structure check (libfdt's fdt_check_full) rejects it.
fn corrupt_dtb(fixture: &Path, uart: &str, out: &Path) -> Result<PathBuf> {
    let mut dtb =
        std::fs::read(fixture).with_context(|| format!("{}: run `cargo xtask fetch`", paths::show(fixture)))?;
    let at = compatible_nameoff(&dtb, uart)
        .with_context(|| format!("no compatible property in node {uart} of {}", paths::show(fixture)))?;
    dtb[at..at + 4].copy_from_slice(&0x00ff_fff0u32.to_be_bytes());
    let path = out.join("e2e-bad-board.dtb");
    fetch::write_if_changed(&path, &dtb)?;
    Ok(path)
}

fn be32(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

/// Offset of the `nameoff` field of `compatible` in the node named `node`.
fn compatible_nameoff(dtb: &[u8], node: &str) -> Option<usize> {
    let (off_struct, off_strings) = (be32(dtb, 8)? as usize, be32(dtb, 12)? as usize);
    let mut o = off_struct;
    let mut in_uart = false;
    loop {
        match be32(dtb, o)? {
            1 => {
                let name_end = o + 4 + dtb[o + 4..].iter().position(|&b| b == 0)?;
                in_uart = &dtb[o + 4..name_end] == node.as_bytes();
                o = (name_end + 1).div_ceil(4) * 4;
            }
            2 => {
                in_uart = false;
                o += 4;
            }
            3 => {
                let (len, nameoff) = (be32(dtb, o + 4)? as usize, be32(dtb, o + 8)? as usize);
                let name = &dtb[off_strings + nameoff..];
                if in_uart && name.starts_with(b"compatible\0") {
                    return Some(o + 8);
                }
                o = (o + 12 + len).div_ceil(4) * 4;
            }
            4 => o += 4,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_uart_compatible_in_the_fixture() {
        let f = crate::paths::fixtures().join("qemu-virt.dtb");
        let Ok(dtb) = std::fs::read(&f) else {
            panic!("{} missing: run `cargo xtask fetch` first", f.display());
        };
        let at = super::compatible_nameoff(&dtb, "pl011@9000000").expect("pl011 compatible");
        assert!(at > 0x40 && at < dtb.len());
        // A DTB without that node yields None, not a wrong offset.
        let mut other = dtb.clone();
        let i = other.windows(13).position(|w| w == b"pl011@9000000").unwrap();
        other[i] = b'x';
        assert_eq!(super::compatible_nameoff(&other, "pl011@9000000"), None);
    }
}

//! `xtask build`: system config + shim + loader + payload files → build/<board>/cellboot.img.

use crate::{cmd, firmware, image, paths};
use anyhow::{Context, Result, bail};
use cellboot_config::{PayloadSource, System};
use std::path::PathBuf;

pub struct BuildOpts<'a> {
    pub board: &'a str,
    pub system: &'a str,
    pub release: bool,
}

pub fn system_path(board: &str, system: &str) -> PathBuf {
    paths::board_dir(board).join(format!("{system}.toml"))
}

/// Compiles and validates the system file; every error is printed.
pub fn load_system(board: &str, system: &str) -> Result<System> {
    let path = system_path(board, system);
    if !path.exists() {
        bail!(
            "{} does not exist (boards: {})",
            paths::show(&path),
            list(&paths::root().join("boards"))
        );
    }
    cellboot_config::load_system(&path).map_err(|errs| {
        for e in &errs {
            eprintln!("error: {e}");
        }
        anyhow::anyhow!("{} has {} error(s)", paths::show(&path), errs.len())
    })
}

fn list(dir: &std::path::Path) -> String {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v.join(", ")
}

/// Compiled firmware binaries for one board.
pub struct Binaries {
    pub shim: Vec<u8>,
    pub loader: Vec<u8>,
}

/// The shim is linked at the hypervisor region + text_offset and prints on the board UART.
/// Appends `extra` (with its leading space) to a NUL-padded bootargs field
/// of a system config: what a case or bench adds to a board's system file.
pub fn append_bootargs(bootargs: &mut [u8], extra: &str) -> Result<()> {
    let len = bootargs.iter().position(|&b| b == 0).unwrap_or(bootargs.len());
    let Some(room) = bootargs.get_mut(len..len + extra.len() + 1) else {
        bail!(
            "the bootargs ({len} bytes) leave no room for \"{extra}\" in {} bytes",
            bootargs.len()
        );
    };
    room[..extra.len()].copy_from_slice(extra.as_bytes());
    Ok(())
}

pub fn shim_link(sys: &System) -> firmware::ShimLink {
    let b = &sys.config.board;
    firmware::ShimLink {
        base: sys.config.hypervisor.phys + cellboot_abi::SHIM_TEXT_OFFSET,
        early_uart: b.uart_base,
        early_uart_driver: b.uart_driver,
        psci_firmware: b.cpu_start != cellboot_abi::cpu_start::SPIN_TABLE,
        mgmt: sys.config.cells().iter().any(|c| c.manage != 0),
    }
}

pub fn binaries(sys: &System, release: bool) -> Result<Binaries> {
    let fw = firmware::build(release, &shim_link(sys))?;
    let out = paths::board_out(&sys.board_name);
    std::fs::create_dir_all(&out)?;
    let shim = firmware::to_binary(&fw.shim_elf, &out.join("hypervisor-shim.bin"))?;
    let loader = firmware::to_binary(&fw.loader_elf, &out.join("loader.bin"))?;
    Ok(Binaries { shim, loader })
}

/// Packs an image from a compiled system; `sysconfig` overrides its bytes
/// (tests build deliberately broken configs).
pub fn pack(sys: &System, bins: &Binaries, sysconfig: Option<Vec<u8>>) -> Result<image::Packed> {
    let mut parts = Vec::new();
    let mut sysconfig = Some(sysconfig.unwrap_or_else(|| sys.to_bytes()));
    for p in &sys.payloads {
        let data = match &p.source {
            PayloadSource::SystemConfig => sysconfig.take().context("two system config payloads")?,
            PayloadSource::Loader => bins.loader.clone(),
            // Overlays and the vPCI template: `dtc -@`, as `cellboot dtb` does.
            PayloadSource::File(f) if f.extension().is_some_and(|e| e == "dts") => {
                cellboot_config::dtc::compile_dts(f).map_err(|e| anyhow::anyhow!("payload {}: {e}", p.name))?
            }
            PayloadSource::File(f) => std::fs::read(f).with_context(|| {
                format!(
                    "payload {} ({}) cannot be read: run `cargo xtask fetch` and `cargo xtask initramfs`",
                    p.name,
                    paths::show(f)
                )
            })?,
        };
        parts.push(image::Part {
            kind: p.kind,
            name: p.name.clone(),
            data,
        });
    }
    image::pack(&bins.shim, &parts)
}

pub fn write(packed: &image::Packed, out: &std::path::Path) -> Result<()> {
    let (at, table) = image::read_table(&packed.bytes)?;
    anyhow::ensure!(
        table.count as usize == packed.layout.len() - 2,
        "packed table at {at:#x} reads back wrong"
    );
    std::fs::create_dir_all(out.parent().unwrap())?;
    std::fs::write(out, &packed.bytes).with_context(|| format!("cannot write {}", out.display()))?;
    image::print_layout(packed);
    if !packed.shim_has_header {
        eprintln!(
            "warning: the shim binary has no arm64 Image header (magic \"ARM\\x64\" at 0x38): the image is packed but will not boot"
        );
    }
    eprintln!("    wrote {} ({} bytes)", paths::show(out), packed.bytes.len());
    Ok(())
}

pub fn image_path(board: &str) -> PathBuf {
    paths::board_out(board).join("cellboot.img")
}

/// `xtask build`: the payload files must exist (fetch + initramfs make them).
pub fn build(o: &BuildOpts) -> Result<PathBuf> {
    cmd::step(&format!("compiling {}", paths::show(&system_path(o.board, o.system))));
    let sys = load_system(o.board, o.system)?;
    let out_dir = paths::board_out(o.board);
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join(format!("{}.sysconfig.bin", o.system)), sys.to_bytes())?;
    let bins = binaries(&sys, o.release)?;
    cmd::step("packing the image");
    let packed = pack(&sys, &bins, None)?;
    let out = image_path(o.board);
    write(&packed, &out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::payload_kind;
    use cellboot_config::Payload;

    #[test]
    fn dts_payloads_are_packed_compiled() {
        let mut sys = load_system("qemu-virt", "linux-demo").unwrap();
        let board = paths::board_dir("qemu-virt");
        // the config's list drives packing: keep the files that exist in the repo
        sys.payloads
            .retain(|p| !matches!(p.kind, payload_kind::KERNEL | payload_kind::INITRD));
        sys.payloads.push(Payload {
            kind: payload_kind::OVERLAY,
            name: "demo-device.dtbo".into(),
            source: PayloadSource::File(board.join("overlays/demo-device.dts")),
        });
        let bins = Binaries {
            shim: vec![],
            loader: vec![0xaa; 8],
        };
        let packed = pack(&sys, &bins, None).unwrap();
        let (at, table) = image::read_table(&packed.bytes).unwrap();
        // linux-demo carries overlays of its own: look at the one added here.
        let ours = |e: &&cellboot_abi::PayloadEntry| {
            e.kind != payload_kind::OVERLAY || cellboot_abi::str_field(&e.name) == "demo-device.dtbo"
        };
        for kind in [payload_kind::VPCI_TEMPLATE, payload_kind::OVERLAY] {
            let e = table
                .entries()
                .iter()
                .filter(ours)
                .find(|e| e.kind == kind)
                .unwrap_or_else(|| panic!("no payload of kind {kind}"));
            let blob = &packed.bytes[at + e.offset as usize..][..e.size as usize];
            assert_eq!(
                &blob[..4],
                &[0xd0, 0x0d, 0xfe, 0xed],
                "{} is not a DTB",
                cellboot_abi::str_field(&e.name)
            );
            if kind == payload_kind::OVERLAY {
                assert!(blob.windows(11).any(|w| w == b"__symbols__"), "compiled without -@");
            }
        }
        // a broken source fails the build, naming the payload and file
        let bad = std::env::temp_dir().join(format!("xtask-bad-{}.dts", std::process::id()));
        std::fs::write(&bad, "/dts-v1/;\n/plugin/;\n&x {\n").unwrap();
        sys.payloads.last_mut().unwrap().source = PayloadSource::File(bad.clone());
        let e = pack(&sys, &bins, None).err().expect("broken .dts packed").to_string();
        assert!(
            e.contains("demo-device.dtbo") && e.contains(&bad.display().to_string()),
            "{e}"
        );
    }
}

//! `cellboot dtb` and `cellboot diff` on the real board DTBs.

mod common;

use cellboot_abi::zerocopy::FromZeros;
use cellboot_abi::{CellbootInfo, Staged};
use cellboot_loader::{CellView, Overlay, build_guest_dtb_in, scratch_len};
use cellfdt::Fdt;
use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// dtc's warnings (file name stripped) for dtb -> dts -> dtb; panics when
/// dtc cannot compile the source back.
fn dtc_round_trip_warnings(dtb: &Path, dir: &Path) -> BTreeSet<String> {
    let dts = dir.join(format!("{}.dts", dtb.file_name().unwrap().to_string_lossy()));
    let back = dir.join("back.dtb");
    let mut warnings = BTreeSet::new();
    for (args, input) in [
        (["-I", "dtb", "-O", "dts"], dtb),
        (["-I", "dts", "-O", "dtb"], dts.as_path()),
    ] {
        let output = if args[1] == "dtb" { &dts } else { &back };
        let o = Command::new("dtc")
            .args(args)
            .arg("-o")
            .arg(output)
            .arg(input)
            .output()
            .expect("run dtc");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "dtc {args:?} {}: {err}", input.display());
        for line in err.lines().filter(|l| !l.trim().is_empty()) {
            // "<file>: Warning (check): /path: text" -> "Warning (check): /path: text"
            let l = line
                .split_once(": Warning")
                .map_or(line.to_string(), |(_, w)| format!("Warning{w}"));
            warnings.insert(l);
        }
    }
    warnings
}

#[test]
fn dtb_for_both_boards_compiles_back_without_new_dtc_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    for (board, fixture) in [("qemu-virt", VIRT_DTB), ("rpi4b", PI_DTB)] {
        let (path, blob) = build_guest(board, tmp.path());
        let f = Fdt::new(&blob).unwrap();
        f.check_full().unwrap_or_else(|e| panic!("{board}: check_full: {e:?}"));
        assert_eq!(f.totalsize(), blob.len(), "{board}: packed");
        let before = dtc_round_trip_warnings(&repo_file(fixture), tmp.path());
        let after = dtc_round_trip_warnings(&path, tmp.path());
        let new: Vec<_> = after.difference(&before).collect();
        assert!(new.is_empty(), "{board}: new dtc warnings: {new:#?}");
    }
}

fn node<'a>(f: &Fdt<'a>, path: &str) -> usize {
    f.path_offset(path).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

fn prop<'a>(f: &Fdt<'a>, path: &str, name: &str) -> &'a [u8] {
    f.getprop(node(f, path), name)
        .unwrap_or_else(|e| panic!("{path} {name}: {e:?}"))
}

fn cells(v: &[u8]) -> Vec<u32> {
    v.chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn virt_guest_has_the_cells_view_of_the_board() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, blob) = build_guest("qemu-virt", tmp.path());
    let f = Fdt::new(&blob).unwrap();
    assert_eq!(prop(&f, "/pci@8e00000", "compatible"), b"pci-host-ecam-generic\0");
    assert_eq!(
        cells(prop(&f, "/memory@48000000", "reg")),
        [0, 0x4800_0000, 0, 0x1800_0000]
    );
    assert!(f.path_offset("/memory@40000000").is_err());
    assert!(f.path_offset("/cpus/cpu@1").is_ok() && f.path_offset("/cpus/cpu@2").is_err());
    assert_eq!(prop(&f, "/pcie@10000000", "status"), b"disabled\0");
    assert!(
        f.getprop(node(&f, "/pl011@9000000"), "status").is_err(),
        "the cell's UART stays enabled"
    );
    assert_eq!(prop(&f, "/psci", "method"), b"hvc\0");
    // docs/boot-flow.md staging: the board DTB's used part at the top of
    // RAM, 4 KiB aligned down, the initrd below it.
    let (_, _, initrd) = virt_staging();
    assert_eq!(cells(prop(&f, "/chosen", "linux,initrd-start")), [0, initrd as u32]);
    assert_eq!(
        cells(prop(&f, "/chosen", "linux,initrd-end")),
        [0, initrd as u32 + 0x20_0000]
    );
    assert!(prop(&f, "/chosen", "bootargs").starts_with(b"console=ttyAMA0 earlycon"));
}

#[test]
fn pi_guest_uses_psci_and_keeps_its_uart() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, blob) = build_guest("rpi4b", tmp.path());
    let f = Fdt::new(&blob).unwrap();
    assert_eq!(prop(&f, "/pci@ff900000", "compatible"), b"pci-host-ecam-generic\0");
    assert_eq!(prop(&f, "/cpus/cpu@0", "enable-method"), b"psci\0");
    assert!(f.getprop(node(&f, "/cpus/cpu@0"), "cpu-release-addr").is_err());
    assert!(f.path_offset("/cpus/cpu@2").is_err());
    assert_eq!(prop(&f, "/psci", "method"), b"hvc\0");
    assert!(
        f.getprop(node(&f, "/soc/serial@7e201000"), "status")
            .map_or(true, |s| s == b"okay\0")
    );
    assert_eq!(prop(&f, "/soc/hvs@7e400000", "status"), b"disabled\0");
}

/// The CLI's output equals the loader library fed the comm region the shim
/// writes — filled in here by hand from boot-flow.md's staging rule.
#[test]
fn virt_guest_equals_the_loader_library_on_the_shims_comm_region() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, cli) = build_guest("qemu-virt", tmp.path());
    let sys = cellboot_config::load_system(&repo_file(VIRT_SYSTEM)).unwrap();
    let board = std::fs::read(repo_file(VIRT_DTB)).unwrap();
    let (used, dtb_ipa, initrd_ipa) = virt_staging();
    let mut trimmed = board[..used as usize].to_vec(); // the shim keeps the used part ...
    trimmed[4..8].copy_from_slice(&(used as u32).to_be_bytes()); // ... and says so in totalsize
    let mut info = CellbootInfo::new_zeroed();
    info.board = sys.config.board;
    info.cell = sys.config.cells[0];
    info.board_dtb = Staged {
        ipa: dtb_ipa,
        size: used,
    };
    info.initrd = Staged {
        ipa: initrd_ipa,
        size: 0x20_0000,
    };
    info.num_vpci_devices = 1; // link 0, device 0
    // the board's template and the cell's overlay, compiled as packed
    let dtc = |rel: &str| cellboot_config::dtc::compile_dts(&repo_file(rel)).unwrap();
    let template = dtc("boards/qemu-virt/vpci-template.dts");
    let overlay = dtc("boards/qemu-virt/overlays/cellboot-demo.dts");
    let overlays = [Overlay {
        name: "cellboot-demo.dtbo",
        blob: &overlay,
    }];
    let mut view = CellView::from_info(&info);
    view.vpci_template = Some(&template);
    view.overlays = &overlays;
    let mut out = vec![0u8; 2 << 20];
    let mut scratch = vec![0u8; scratch_len(&view, out.len())];
    let n = build_guest_dtb_in(&trimmed, &mut out, &mut scratch, &view).unwrap();
    assert!(
        Fdt::new(&out[..n]).unwrap().path_offset("/cellboot-demo").is_ok(),
        "overlay not applied"
    );
    assert!(out[..n] == cli[..], "CLI output differs from the loader library's");
}

#[test]
fn dts_flag_prints_dtcs_source_of_the_same_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = build_guest("qemu-virt", tmp.path());
    let mut args = vec!["dtb".to_string()];
    args.extend(guest_args("qemu-virt"));
    args.push("--dts".into());
    let o = cellboot(&args);
    assert_exit(&o, 0);
    let dtc = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(stdout(&o), String::from_utf8(dtc.stdout).unwrap());
    assert!(stdout(&o).contains("compatible = \"pci-host-ecam-generic\";"));
}

#[test]
fn diff_shows_nodes_properties_and_status_flips() {
    let mut args = vec!["diff".to_string()];
    args.extend(guest_args("qemu-virt"));
    let o = cellboot(&args);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for want in [
        "+ /pci@8e00000\n    compatible = \"pci-host-ecam-generic\"\n",
        "- /memory@40000000\n",
        "+ /cellboot-demo\n    marker = \"cellboot overlay\"\n", // the cell's user overlay
        "+ /memory@48000000\n    reg = <0x0 0x48000000 0x0 0x18000000>\n",
        "- /cpus/cpu@2\n",
        "~ /psci\n    ~ method: \"smc\" -> \"hvc\"\n",
        "~ /pcie@10000000\n    status: (absent: okay) -> \"disabled\"\n",
        "~ /chosen\n    + bootargs = \"console=ttyAMA0",
        format!("    + linux,initrd-start = <0x0 {:#x}>\n", virt_staging().2).as_str(),
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("/pl011@9000000"), "the cell's UART is unchanged:\n{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("summary: 3 node(s) added, 5 removed"),
        "{out}"
    );

    args.push("--dts".into());
    let o = cellboot(&args);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("\n+\tpci@8e00000 {\n"), "{}", stdout(&o));
}

#[test]
fn bad_inputs_exit_with_a_message_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let with_dtb = |dtb: &str| {
        let mut a = vec!["dtb".to_string()];
        a.extend(guest_args("qemu-virt"));
        let i = a.iter().position(|s| s == "--dtb").unwrap();
        a[i + 1] = dtb.to_string();
        a.push("--dts".into());
        cellboot(&a)
    };
    // Missing file: I/O error, 2.
    let o = with_dtb("build/fixtures/nope.dtb");
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("build/fixtures/nope.dtb: cannot read"),
        "{}",
        stderr(&o)
    );
    // Not a DTB / a truncated one: problem with the input, 1.
    let junk = tmp.path().join("junk.dtb");
    std::fs::write(&junk, b"not a device tree at all, but long enough for a header....").unwrap();
    let o = with_dtb(&junk.display().to_string());
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("junk.dtb: magic"), "{}", stderr(&o));
    let cut = tmp.path().join("cut.dtb");
    std::fs::write(&cut, &std::fs::read(repo_file(VIRT_DTB)).unwrap()[..4000]).unwrap();
    assert_exit(&with_dtb(&cut.display().to_string()), 1);
    // Unknown cell: usage, 2.
    let mut a = vec!["dtb".to_string()];
    a.extend(guest_args("qemu-virt"));
    a[4] = "nope".into();
    a.push("--dts".into());
    let o = cellboot(&a);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("--cell \"nope\": no such cell (cells: \"linux\")"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_disable_path_typo_is_the_loaders_error() {
    let text = replace_once(
        &read(&repo_file(VIRT_SYSTEM)),
        "disable = [\"/pcie@10000000\"]",
        "disable = [\"/pcie@1000000\"]",
    );
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let o = cellboot(["dtb", "--system"].iter().map(|s| s.to_string()).chain([
        cfg.system().display().to_string(),
        "--dtb".into(),
        VIRT_DTB.into(),
        "--initrd-size".into(),
        "4096".into(),
        "--dts".into(),
    ]));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("guest dtb: devices: /pcie@1000000"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn initrd_size_comes_from_the_config_file_or_is_asked_for() {
    let text = replace_once(
        &read(&repo_file(VIRT_SYSTEM)),
        "initrd = \"../../build/guest/initramfs.cpio.gz\"",
        "initrd = \"initrd.img\"",
    );
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let run = |extra: &[&str]| {
        let mut a = vec![
            "dtb".to_string(),
            "--system".into(),
            cfg.system().display().to_string(),
            "--dtb".into(),
            VIRT_DTB.into(),
            "-o".into(),
            cfg.path("g.dtb").display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        cellboot(&a)
    };
    let o = run(&[]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("initrd.img: cannot read") && stderr(&o).contains("--initrd-size"),
        "{}",
        stderr(&o)
    );
    std::fs::write(cfg.path("initrd.img"), vec![0u8; 0x20_0000]).unwrap();
    assert_exit(&run(&[]), 0);
    let from_file = std::fs::read(cfg.path("g.dtb")).unwrap();
    assert_exit(&run(&["--initrd-size", "0x200000"]), 0);
    assert_eq!(from_file, std::fs::read(cfg.path("g.dtb")).unwrap());
    assert_exit(&run(&["--initrd-size", "0x300000"]), 0);
    assert_ne!(
        from_file,
        std::fs::read(cfg.path("g.dtb")).unwrap(),
        "the initrd's size moves it"
    );
}

/// The virt linux-demo system in `dir` with `edit` applied to its text; the
/// board (and its vPCI template) stays in boards/qemu-virt.
fn virt_system_with(dir: &Path, edit: &dyn Fn(String) -> String) -> Vec<String> {
    let text = edit(read(&repo_file(VIRT_SYSTEM)));
    let sys = dir.join("sys.toml");
    std::fs::write(&sys, text).unwrap();
    copy_board_sources("qemu-virt", dir);
    let mut args = guest_args("qemu-virt");
    args[1] = sys.display().to_string();
    args.extend([
        "--board".into(),
        repo_file("boards/qemu-virt/board.toml").display().to_string(),
    ]);
    args
}

fn overlay_line(path: &str) -> impl Fn(String) -> String + '_ {
    move |t: String| {
        let t = t
            .lines()
            .filter(|l| !l.starts_with("overlays ="))
            .collect::<Vec<_>>()
            .join("\n");
        replace_once(&t, "disable = [", &format!("overlays = [{path:?}]\ndisable = ["))
    }
}

#[test]
fn dtb_applies_the_cells_overlays_like_the_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let ovl = repo_file("boards/qemu-virt/overlays/demo-device.dts");
    let args = virt_system_with(tmp.path(), &overlay_line(&ovl.display().to_string()));
    let o = cellboot(["dtb".to_string(), "--dts".into()].into_iter().chain(args));
    assert_exit(&o, 0);
    let dts = stdout(&o);
    assert!(dts.contains("demo-uart@9040000") && dts.contains("loglevel=8"), "{dts}");
    // the vPCI node still comes out (from the board's template)
    assert!(dts.contains("pci@8e00000"), "{dts}");
}

#[test]
fn dtb_names_the_overlay_and_fragment_that_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let ovl = repo_file("boards/qemu-virt/overlays/missing-label.dts");
    let args = virt_system_with(tmp.path(), &overlay_line(&ovl.display().to_string()));
    let o = cellboot(["dtb".to_string(), "--dts".into()].into_iter().chain(args));
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("missing-label.dtbo") && err.contains("fragment 1"),
        "{err}"
    );
}

#[test]
fn template_and_direct_writer_preview_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let build = |edit: &dyn Fn(String) -> String, name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let out = d.join("g.dtb");
        let args = virt_system_with(&d, edit);
        let o = cellboot(
            ["dtb".to_string(), "-o".into(), out.display().to_string()]
                .into_iter()
                .chain(args),
        );
        assert_exit(&o, 0);
        std::fs::read(out).unwrap()
    };
    let with_template = build(&|t| t, "t");
    let direct = build(
        &|t| replace_once(&t, "disable = [", "vpci_template = false\ndisable = ["),
        "d",
    );
    assert!(with_template == direct, "template and direct writer differ");
}

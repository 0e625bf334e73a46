//! Overlays on the guest tree: the boards' vPCI templates give the same guest
//! tree as the direct writer; user overlays apply in order after the loader's
//! edits; a broken overlay is named (overlay, fragment, target) and leaves
//! the tree untouched.

mod common;

use cellboot_loader::{
    Cause, CellView, FixupError, Overlay, Step, TEMPLATE_NAME, apply_overlay, build_guest_dtb, build_guest_dtb_in,
    scratch_len,
};
use cellfdt::{Error, Fdt, FdtMut};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A temp-file path no other test thread uses.
fn temp(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("cellboot-loader-ov-{}-{n}-{what}", std::process::id()))
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// `dtc -@ -I dts -O dtb` of DTS source text (what xtask does with
/// boards/<board>/*.dts), dtc's warnings ignored (it cannot know a
/// fragment's target's #address-cells).
fn compile(src: &str, tag: &str) -> Vec<u8> {
    let (dts, dtb) = (temp("src.dts"), temp("out.dtbo"));
    std::fs::write(&dts, src).unwrap();
    let out = Command::new("dtc")
        .args(["-@", "-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&dtb)
        .arg(&dts)
        .output()
        .expect("dtc (device-tree-compiler) is installed");
    assert!(
        out.status.success(),
        "dtc {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blob = std::fs::read(&dtb).unwrap();
    let _ = (std::fs::remove_file(dts), std::fs::remove_file(dtb));
    blob
}

fn compile_file(rel: &str) -> Vec<u8> {
    let src = std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    compile(&src, &rel.replace('/', "_"))
}

fn dts(blob: &[u8]) -> String {
    let path = temp("dts.dtb");
    std::fs::write(&path, blob).unwrap();
    let out = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = std::fs::remove_file(path);
    String::from_utf8(out.stdout).unwrap()
}

/// Builds with scratch (as the firmware does), checks the result with
/// cellfdt and libfdt.
fn build_in(board: &[u8], view: &CellView) -> Result<Vec<u8>, FixupError> {
    let mut out = vec![0u8; 2 << 20];
    let mut scratch = vec![0u8; scratch_len(view, out.len())];
    let n = build_guest_dtb_in(board, &mut out, &mut scratch, view)?;
    out.truncate(n);
    Fdt::new(&out).unwrap().check_full().expect("cellfdt check_full");
    fdt_conformance::libfdt::check_full(&out).expect("libfdt fdt_check_full");
    Ok(out)
}

fn view<'a>(b: &'a Board, c: &'a CellConfig, devices: &'a [u8]) -> CellView<'a> {
    CellView {
        board: b,
        cell: c,
        initrd: Some((0x0400_0000, 0x1000)),
        vpci_devices: devices,
        vpci_template: None,
        overlays: &[],
    }
}

fn boards() -> [(&'static str, Vec<u8>, Board, CellConfig); 2] {
    let (qb, qc) = qemu();
    let (pb, pc) = pi();
    [
        ("qemu-virt", fixture("qemu-virt.dtb"), qb, qc),
        ("rpi4b", fixture("bcm2711-rpi-4-b.dtb"), pb, pc),
    ]
}

/// The template path runs the direct writer's edit sequence (same node, same
/// properties in the same setprop order, see the templates' header) on the
/// same base, and libfdt-exact edits make equal sequences give equal bytes:
/// so the comparison is on bytes, the strongest claim. dtc's text is
/// compared as well, for a readable diff if the bytes ever part.
#[test]
fn template_and_direct_writer_give_the_same_guest_tree() {
    for (board_name, board, b, c) in boards() {
        let template = compile_file(&format!("boards/{board_name}/vpci-template.dts"));
        for devices in [&[][..], &[0], &[0, 3], &[0, 1, 2, 3, 4, 5, 6, 7], &[31, 5]] {
            let direct = view(&b, &c, devices);
            let mut tv = direct;
            tv.vpci_template = Some(&template);
            let a = build_in(&board, &direct).unwrap();
            let t = build_in(&board, &tv).unwrap_or_else(|e| panic!("{board_name}: {e}"));
            assert_eq!(dts(&a), dts(&t), "{board_name} devices {devices:?}: dtc text differs");
            assert!(a == t, "{board_name} devices {devices:?}: bytes differ");
            // and the template path did make the node (not a vacuous pass)
            let f = Fdt::new(&t).unwrap();
            let pci = f.path_offset(&format!("/pci@{:x}", c.vpci.ecam_base)).unwrap();
            assert_eq!(f.getprop(pci, "interrupt-map").unwrap().len() % 4, 0);
            assert_eq!(f.getprop_str(pci, "compatible").unwrap(), "pci-host-ecam-generic");
        }
        // The template is only read: the staged copy stays reusable.
        let pristine = compile_file(&format!("boards/{board_name}/vpci-template.dts"));
        assert_eq!(template, pristine);
    }
}

#[test]
fn template_of_the_other_board_is_refused_by_size() {
    // QEMU's template (reg 4 cells, 10-cell map rows) on the Pi (reg 3, 8).
    let template = compile_file("boards/qemu-virt/vpci-template.dts");
    let (b, c) = pi();
    let mut v = view(&b, &c, &[0]);
    v.vpci_template = Some(&template);
    let e = build_in(&fixture("bcm2711-rpi-4-b.dtb"), &v).unwrap_err();
    assert_eq!((e.step, e.cause), (Step::VirtualPci, Cause::TemplateSize));
    assert_eq!(e.overlay(), TEMPLATE_NAME);
    assert_eq!(e.prop, "reg");
    assert!(e.to_string().contains("vpci-template"), "{e}");
}

#[test]
fn template_without_scratch_names_it() {
    let template = compile_file("boards/qemu-virt/vpci-template.dts");
    let (b, c) = qemu();
    let mut v = view(&b, &c, &[0]);
    v.vpci_template = Some(&template);
    let mut out = vec![0u8; 1 << 20];
    let e = build_guest_dtb(&fixture("qemu-virt.dtb"), &mut out, &v).unwrap_err();
    assert_eq!((e.step, e.fdt_error()), (Step::VirtualPci, Some(Error::NoSpace)));
    assert_eq!(e.overlay(), TEMPLATE_NAME);
}

#[test]
fn user_overlays_apply_in_order_after_the_loaders_edits() {
    let board = fixture("qemu-virt.dtb");
    let (b, c) = qemu();
    let demo = compile_file("boards/qemu-virt/overlays/demo-device.dts");
    // A second overlay that depends on the first one's result: order matters.
    let later = compile(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target-path = "/demo-uart@9040000";
              __overlay__ { status = "okay"; }; }; };"#,
        "later",
    );
    let overlays = [
        Overlay {
            name: "demo-device.dtbo",
            blob: &demo,
        },
        Overlay {
            name: "later.dtbo",
            blob: &later,
        },
    ];
    let mut v = view(&b, &c, &[0]);
    v.overlays = &overlays;
    let out = build_in(&board, &v).unwrap();
    let f = Fdt::new(&out).unwrap();
    let chosen = f.path_offset("/chosen").unwrap();
    // the overlay's bootargs win over the cell's (step 3 ran first)
    assert_eq!(
        f.getprop_str(chosen, "bootargs").unwrap(),
        "console=ttyAMA0 earlycon rdinit=/init loglevel=8"
    );
    // the loader's other /chosen edits are kept
    assert!(f.getprop(chosen, "linux,initrd-start").is_ok());
    let uart = f.path_offset("/demo-uart@9040000").unwrap();
    assert_eq!(f.getprop_str(uart, "status").unwrap(), "okay");
    // the overlay-local phandle was renumbered above the base's and resolved
    let clk = f.path_offset("/demo-clock").unwrap();
    let ph = f.get_phandle(clk).unwrap();
    assert!(ph > Fdt::new(&board).unwrap().find_max_phandle().unwrap());
    assert_eq!(
        f.getprop(uart, "clocks").unwrap(),
        [ph.to_be_bytes(), ph.to_be_bytes()].concat()
    );
    // the overlay's label is in the guest's __symbols__
    let sym = f.path_offset("/__symbols__").unwrap();
    assert_eq!(f.getprop_str(sym, "demo_clk").unwrap(), "/demo-clock");
    // the loader's own vPCI node is still there
    assert!(f.path_offset("/pci@8e00000").is_ok());
    // staged blobs are not consumed: the loader applied copies
    assert_eq!(demo, compile_file("boards/qemu-virt/overlays/demo-device.dts"));

    // Same result as libfdt's fdtoverlay on the direct-path guest tree
    // (without the overlays), up to packing: compare dtc text.
    let mut v0 = v;
    v0.overlays = &[];
    let base = build_in(&board, &v0).unwrap();
    let expect = fdtoverlay(&base, &[&demo, &later]);
    assert_eq!(dts(&expect), dts(&out));
}

#[test]
fn pi_example_overlay_applies_with_the_template() {
    let (b, c) = pi();
    let template = compile_file("boards/rpi4b/vpci-template.dts");
    let pins = compile_file("boards/rpi4b/overlays/uart0-pins.dts");
    let overlays = [Overlay {
        name: "uart0-pins.dtbo",
        blob: &pins,
    }];
    let mut v = view(&b, &c, &[0, 1]);
    v.vpci_template = Some(&template);
    v.overlays = &overlays;
    let out = build_in(&fixture("bcm2711-rpi-4-b.dtb"), &v).unwrap();
    let f = Fdt::new(&out).unwrap();
    let pins = f.path_offset("/soc/gpio@7e200000/cell-uart0-pins").unwrap();
    let serial = f.path_offset("/soc/serial@7e201000").unwrap();
    assert_eq!(
        f.getprop(serial, "pinctrl-0").unwrap(),
        f.get_phandle(pins).unwrap().to_be_bytes()
    );
    assert!(f.path_offset("/pci@ff900000").is_ok());
    assert_eq!(
        f.getprop_str(f.path_offset("/chosen").unwrap(), "bootargs").unwrap(),
        "console=ttyAMA0,115200 clk_ignore_unused loglevel=7"
    );
}

/// libfdt's `fdtoverlay` applying `overlays` to `base`.
fn fdtoverlay(base: &[u8], overlays: &[&[u8]]) -> Vec<u8> {
    let (b, o) = (temp("base.dtb"), temp("fdtoverlay.dtb"));
    std::fs::write(&b, base).unwrap();
    let mut cmd = Command::new("fdtoverlay");
    cmd.arg("-i").arg(&b).arg("-o").arg(&o);
    for (i, ov) in overlays.iter().enumerate() {
        let p = temp(&format!("{i}.dtbo"));
        std::fs::write(&p, ov).unwrap();
        cmd.arg(p);
    }
    let r = cmd.output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let out = std::fs::read(&o).unwrap();
    let _ = (std::fs::remove_file(b), std::fs::remove_file(o));
    out
}

/// A built guest tree reopened with room, as step 7 sees it.
fn guest_with_room() -> Vec<u8> {
    let (b, c) = qemu();
    let guest = build_in(&fixture("qemu-virt.dtb"), &view(&b, &c, &[0])).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    FdtMut::open_into(&guest, &mut buf).unwrap();
    buf
}

const GOOD: &str = r#"/dts-v1/; /plugin/;
    / { fragment@0 { target-path = "/chosen"; __overlay__ { bootargs = "x"; }; }; };"#;

/// Applies `src` to a guest tree; returns the error and checks the tree is
/// byte-for-byte what it was, and still takes a good overlay afterwards.
fn broken(src: &str, tag: &str) -> FixupError {
    let mut out = guest_with_room();
    let before = out.clone();
    let blob = compile(src, tag);
    let o = Overlay { name: tag, blob: &blob };
    let mut scratch = vec![0u8; blob.len() + 8 + out.len()];
    let e = apply_overlay(&mut out, &o, &mut scratch).unwrap_err();
    assert!(out == before, "{tag}: the failed overlay changed the guest tree");
    assert_eq!(e.step, Step::Overlays);
    assert_eq!(e.overlay(), tag);
    let good = compile(GOOD, "good");
    let g = Overlay {
        name: "good",
        blob: &good,
    };
    apply_overlay(&mut out, &g, &mut scratch).unwrap();
    let f = Fdt::new(&out).unwrap();
    assert_eq!(
        f.getprop_str(f.path_offset("/chosen").unwrap(), "bootargs").unwrap(),
        "x"
    );
    e
}

#[test]
fn bad_target_path_names_overlay_and_fragment() {
    let e = broken(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target-path = "/chosen"; __overlay__ { bootargs = "a"; }; };
            fragment@1 { target-path = "/soc/no-such-node"; __overlay__ { status = "okay"; }; }; };"#,
        "bad-path.dtbo",
    );
    assert_eq!(e.fdt_error(), Some(Error::NotFound));
    assert_eq!(e.fragment(), Some(1));
    assert_eq!(e.path(), "target-path /soc/no-such-node");
    assert_eq!(
        e.to_string(),
        "guest dtb: overlays: overlay bad-path.dtbo fragment 1 target-path /soc/no-such-node FDT_ERR_NOTFOUND (a node or property it needs is missing)"
    );
}

#[test]
fn missing_target_label_names_overlay_and_fragment() {
    // The guest tree has no __symbols__ (QEMU's DTB has none): any &label
    // target fails.
    let e = broken(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target = <&uart0>; __overlay__ { status = "okay"; }; }; };"#,
        "label-target.dtbo",
    );
    assert_eq!(e.fdt_error(), Some(Error::NotFound));
    assert_eq!(e.fragment(), Some(0));
    assert_eq!(e.path(), "target &uart0");
}

#[test]
fn missing_label_in_a_property_names_the_fragment_using_it() {
    let e = broken(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target-path = "/chosen"; __overlay__ { bootargs = "a"; }; };
            fragment@1 { target-path = "/";
                __overlay__ { dev { interrupt-parent = <&no_such_label>; }; }; }; };"#,
        "label-prop.dtbo",
    );
    assert_eq!(e.fdt_error(), Some(Error::NotFound));
    assert_eq!(e.fragment(), Some(1));
    assert_eq!(e.path(), "target-path / uses &no_such_label");
}

#[test]
fn bad_target_phandle_and_malformed_fragment() {
    let e = broken(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target = <0x7777>; __overlay__ { status = "okay"; }; }; };"#,
        "phandle.dtbo",
    );
    assert_eq!((e.fragment(), e.path()), (Some(0), "target <0x7777>"));
    let e = broken(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { __overlay__ { status = "okay"; }; }; };"#,
        "no-target.dtbo",
    );
    assert_eq!(e.fdt_error(), Some(Error::BadOverlay));
    assert_eq!((e.fragment(), e.path()), (Some(0), "no target or target-path"));
}

#[test]
fn a_failing_overlay_stops_the_build_and_is_named() {
    let board = fixture("qemu-virt.dtb");
    let (b, c) = qemu();
    let good = compile(GOOD, "good");
    let bad = compile(
        r#"/dts-v1/; /plugin/;
        / { fragment@0 { target-path = "/nope"; __overlay__ { x; }; }; };"#,
        "bad",
    );
    let overlays = [
        Overlay {
            name: "good.dtbo",
            blob: &good,
        },
        Overlay {
            name: "bad.dtbo",
            blob: &bad,
        },
    ];
    let mut v = view(&b, &c, &[0]);
    v.overlays = &overlays;
    let e = build_in(&board, &v).unwrap_err();
    assert_eq!(
        (e.step, e.overlay(), e.fragment()),
        (Step::Overlays, "bad.dtbo", Some(0))
    );
    assert_eq!(e.path(), "target-path /nope");
    // Scratch too small for the copy: named, not a panic.
    let mut out = vec![0u8; 1 << 20];
    let mut scratch = vec![0u8; 64];
    let e = build_guest_dtb_in(&board, &mut out, &mut scratch, &v).unwrap_err();
    assert_eq!(
        (e.step, e.overlay(), e.fdt_error()),
        (Step::Overlays, "good.dtbo", Some(Error::NoSpace))
    );
}

//! `build_guest_dtb` on the real board DTBs (QEMU virt, Raspberry Pi 4) with
//! the cells of boards/*: every edit read back, the blob checked by cellfdt,
//! libfdt and dtc, and the error paths.

mod common;

use cellboot_loader::{Cause, CellView, Step, build_guest_dtb, build_guest_dtb_with};
use cellfdt::{Error, Fdt};
use common::*;
use std::path::PathBuf;
use std::process::Command;

fn build(board_dtb: &[u8], view: &CellView) -> Vec<u8> {
    let before = board_dtb.to_vec();
    let mut out = vec![0u8; 2 << 20];
    let n = build_guest_dtb(board_dtb, &mut out, view).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(board_dtb, &before[..], "the board DTB must not change");
    out.truncate(n);
    Fdt::new(&out).unwrap().check_full().expect("cellfdt check_full");
    fdt_conformance::libfdt::check_full(&out).expect("libfdt fdt_check_full");
    assert_eq!(Fdt::new(&out).unwrap().totalsize(), n);
    out
}

/// dtc's warnings for a blob, without the file-name prefix.
fn dtc_warnings(blob: &[u8], tag: &str) -> Vec<String> {
    let path = std::env::temp_dir().join(format!("cellboot-loader-{}-{tag}.dtb", std::process::id()));
    std::fs::write(&path, blob).unwrap();
    let out = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-o", "/dev/null"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.expect("dtc is installed");
    assert!(
        out.status.success(),
        "dtc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

fn assert_no_new_dtc_warnings(board: &[u8], guest: &[u8], tag: &str) {
    let base = dtc_warnings(board, &format!("{tag}-board"));
    let new: Vec<_> = dtc_warnings(guest, tag)
        .into_iter()
        .filter(|w| !base.contains(w))
        .collect();
    assert!(new.is_empty(), "new dtc warnings: {new:#?}");
}

fn node(f: &Fdt, path: &str) -> usize {
    f.path_offset(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cells(v: &[u8]) -> Vec<u32> {
    v.chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect()
}

fn prop(f: &Fdt, path: &str, name: &str) -> Vec<u32> {
    cells(
        f.getprop(node(f, path), name)
            .unwrap_or_else(|e| panic!("{path} {name}: {e}")),
    )
}

fn status(f: &Fdt, path: &str) -> Option<String> {
    f.getprop_str(node(f, path), "status").ok().map(str::to_string)
}

fn disabled(f: &Fdt, path: &str) -> bool {
    status(f, path).as_deref() == Some("disabled")
}

#[test]
fn qemu_virt_linux_cell() {
    let board = fixture("qemu-virt.dtb");
    let (b, c) = qemu();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: Some((0x5c00_0000, 0x12_3456)),
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let out = build(&board, &view);
    assert_no_new_dtc_warnings(&board, &out, "qemu");
    let f = Fdt::new(&out).unwrap();
    let gic = f.get_phandle(node(&f, "/intc@8000000")).unwrap();
    // GICR trimmed to the board's 4 frames, clear of the ECAM window.
    assert_eq!(
        prop(&f, "/intc@8000000", "reg"),
        [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0x8_0000]
    );

    // vPCI host
    let pci = "/pci@8e00000";
    assert_eq!(
        f.getprop_str(node(&f, pci), "compatible").unwrap(),
        "pci-host-ecam-generic"
    );
    assert_eq!(f.getprop_str(node(&f, pci), "device_type").unwrap(), "pci");
    assert_eq!(prop(&f, pci, "#address-cells"), [3]);
    assert_eq!(prop(&f, pci, "#size-cells"), [2]);
    assert_eq!(prop(&f, pci, "#interrupt-cells"), [1]);
    assert_eq!(prop(&f, pci, "bus-range"), [0, 0]);
    assert_eq!(prop(&f, pci, "reg"), [0, 0x08e0_0000, 0, 0x10_0000]);
    assert_eq!(
        prop(&f, pci, "ranges"),
        [0x0200_0000, 0, 0x1000_0000, 0, 0x1000_0000, 0, 0x1_0000]
    );
    assert_eq!(prop(&f, pci, "interrupt-map-mask"), [0xf800, 0, 0, 7]);
    // 3 + 1 + 1 + GIC #address-cells (2) + #interrupt-cells (3) = 10 cells
    assert_eq!(prop(&f, pci, "interrupt-map"), [0, 0, 0, 1, gic, 0, 0, 0, 140 - 32, 1]);
    // No interrupt-parent: the binding forbids it next to interrupt-map (the
    // rows carry the GIC phandle), and dt-validate says so.
    assert_eq!(f.getprop(node(&f, pci), "interrupt-parent"), Err(Error::NotFound));
    assert_eq!(prop(&f, pci, "linux,pci-domain"), [1]);
    assert!(f.getprop(node(&f, pci), "dma-coherent").unwrap().is_empty());
    assert!(!disabled(&f, pci));

    // memory: one node, the cell's RAM only (not the shared or IO regions)
    assert_eq!(prop(&f, "/memory@48000000", "reg"), [0, 0x4800_0000, 0, 0x1800_0000]);
    assert_eq!(f.path_offset("/memory@40000000"), Err(Error::NotFound));

    // chosen
    let chosen = node(&f, "/chosen");
    assert_eq!(
        f.getprop_str(chosen, "bootargs").unwrap(),
        "console=ttyAMA0 earlycon rdinit=/init"
    );
    assert_eq!(f.getprop_str(chosen, "stdout-path").unwrap(), "/pl011@9000000");
    assert_eq!(f.getprop_u64(chosen, "linux,initrd-start").unwrap(), 0x5c00_0000);
    assert_eq!(f.getprop_u64(chosen, "linux,initrd-end").unwrap(), 0x5c12_3456);

    // cpus and cpu-map
    assert!(f.path_offset("/cpus/cpu@0").is_ok() && f.path_offset("/cpus/cpu@1").is_ok());
    assert_eq!(f.path_offset("/cpus/cpu@2"), Err(Error::NotFound));
    assert_eq!(f.path_offset("/cpus/cpu@3"), Err(Error::NotFound));
    let map = "/cpus/cpu-map/socket0/cluster0";
    let cpu0 = f.get_phandle(node(&f, "/cpus/cpu@0")).unwrap();
    let cpu1 = f.get_phandle(node(&f, "/cpus/cpu@1")).unwrap();
    assert_eq!(prop(&f, &format!("{map}/core0"), "cpu"), [cpu0]);
    assert_eq!(prop(&f, &format!("{map}/core1"), "cpu"), [cpu1]);
    assert_eq!(f.path_offset(&format!("{map}/core2")), Err(Error::NotFound));
    assert_eq!(f.path_offset(&format!("{map}/core3")), Err(Error::NotFound));

    // devices: owned and structural ones stay, the rest is disabled
    for kept in [
        "/pl011@9000000",
        "/intc@8000000",
        "/psci",
        "/timer",
        "/pmu",
        "/apb-pclk",
    ] {
        assert!(!disabled(&f, kept), "{kept} must stay enabled");
    }
    for gone in [
        "/pcie@10000000",
        "/virtio_mmio@a000000",
        "/virtio_mmio@a003e00",
        "/fw-cfg@9020000",
        "/pl061@9030000",
        "/pl031@9010000",
        "/flash@0",
        "/intc@8000000/its@8080000",
    ] {
        assert!(disabled(&f, gone), "{gone} must be disabled");
    }

    // psci over HVC
    assert_eq!(f.getprop_str(node(&f, "/psci"), "method").unwrap(), "hvc");
    assert_eq!(f.getprop_str(node(&f, "/cpus/cpu@0"), "enable-method").unwrap(), "psci");
}

#[test]
fn raspberry_pi4_cell() {
    let board = fixture("bcm2711-rpi-4-b.dtb");
    let (b, c) = pi();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0, 1],
        vpci_template: None,
        overlays: &[],
    };
    let out = build(&board, &view);
    assert_no_new_dtc_warnings(&board, &out, "pi");
    let f = Fdt::new(&out).unwrap();
    let gic_node = node(&f, "/soc/interrupt-controller@40041000");
    let gic = f.get_phandle(gic_node).unwrap();
    assert!(!disabled(&f, "/soc/interrupt-controller@40041000"));

    // root #address-cells 2, #size-cells 1; GIC-400 without #address-cells: 8-cell rows
    let pci = "/pci@ff900000";
    assert_eq!(prop(&f, pci, "reg"), [0, 0xff90_0000, 0x10_0000]);
    assert_eq!(
        prop(&f, pci, "ranges"),
        [0x0200_0000, 0, 0x2000_0000, 0, 0x2000_0000, 0, 0x1_0000]
    );
    assert_eq!(
        prop(&f, pci, "interrupt-map"),
        [0, 0, 0, 1, gic, 0, 153, 1, 0x800, 0, 0, 1, gic, 0, 154, 1],
        "device d INTA -> SPI 153 + d % 4"
    );
    // The board's own PCIe has no linux,pci-domain: ours keeps the configured one.
    assert_eq!(prop(&f, pci, "linux,pci-domain"), [1]);

    assert_eq!(prop(&f, "/memory@0", "reg"), [0, 0, 0x0800_0000]);
    let chosen = node(&f, "/chosen");
    assert_eq!(f.getprop_str(chosen, "stdout-path").unwrap(), "serial0:115200n8");
    assert_eq!(
        f.getprop_str(chosen, "bootargs").unwrap(),
        "console=ttyAMA0 clk_ignore_unused"
    );
    assert_eq!(f.getprop(chosen, "linux,initrd-start"), Err(Error::NotFound));

    // spin-table -> PSCI over HVC
    for cpu in ["/cpus/cpu@0", "/cpus/cpu@1"] {
        assert_eq!(f.getprop_str(node(&f, cpu), "enable-method").unwrap(), "psci");
        assert_eq!(f.getprop(node(&f, cpu), "cpu-release-addr"), Err(Error::NotFound));
    }
    assert_eq!(f.path_offset("/cpus/cpu@2"), Err(Error::NotFound));
    let psci = node(&f, "/psci");
    assert_eq!(f.getprop(psci, "compatible").unwrap(), b"arm,psci-1.0\0arm,psci-0.2\0");
    assert_eq!(f.getprop_str(psci, "method").unwrap(), "hvc");

    // the PMU's per-CPU SPIs follow the CPUs that remain
    let cpu0 = f.get_phandle(node(&f, "/cpus/cpu@0")).unwrap();
    let cpu1 = f.get_phandle(node(&f, "/cpus/cpu@1")).unwrap();
    assert_eq!(prop(&f, "/arm-pmu", "interrupt-affinity"), [cpu0, cpu1]);
    assert_eq!(prop(&f, "/arm-pmu", "interrupts"), [0, 0x10, 4, 0, 0x11, 4]);

    // devices
    for kept in [
        "/soc/serial@7e201000",
        "/soc/gpio@7e200000",
        "/emmc2bus/mmc@7e340000",
        "/soc/timer@7e003000",
    ] {
        assert!(!disabled(&f, kept), "{kept} must stay enabled");
    }
    let outside = [
        "/soc/interrupt-controller@7ef00100",
        "/soc/hdmi@7ef00700",
        "/soc/hdmi@7ef05700",
        "/soc/i2c@7ef04500",
        "/soc/i2c@7ef09500",
        "/soc/local_intc@40000000",
        "/scb/pcie@7d500000",
        "/scb/ethernet@7d580000",
    ];
    for gone in outside.iter().chain(PI_DISABLE.iter()) {
        assert!(disabled(&f, gone), "{gone} must be disabled");
    }
}

#[test]
fn output_does_not_depend_on_buffer_size() {
    // Host preview and target must agree byte for byte; the target's buffer
    // is whatever room the layout leaves.
    let board = fixture("qemu-virt.dtb");
    let (b, c) = qemu();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0, 3],
        vpci_template: None,
        overlays: &[],
    };
    let a = build(&board, &view);
    let mut out = vec![0xa5u8; board.len() + 64 * 1024];
    let n = build_guest_dtb(&board, &mut out, &view).unwrap();
    assert_eq!(&out[..n], &a[..]);
}

#[test]
fn overlay_hook_runs_last_and_its_errors_are_named() {
    let board = fixture("qemu-virt.dtb");
    let (b, c) = qemu();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[],
        vpci_template: None,
        overlays: &[],
    };
    let mut out = vec![0u8; 2 << 20];
    let n = build_guest_dtb_with(&board, &mut out, &view, &mut |fdt| {
        // the loader's edits are visible to the hook
        let pci = fdt.as_fdt().path_offset("/pci@8e00000")?;
        fdt.setprop_str(pci, "status", "okay")
    })
    .unwrap();
    let f = Fdt::new(&out[..n]).unwrap();
    assert_eq!(status(&f, "/pci@8e00000").as_deref(), Some("okay"));
    let e = build_guest_dtb_with(&board, &mut out, &view, &mut |_| Err(Error::BadOverlay)).unwrap_err();
    assert_eq!((e.step, e.fdt_error()), (Step::Overlays, Some(Error::BadOverlay)));
}

#[test]
fn corrupt_board_dtb() {
    let mut board = fixture("qemu-virt.dtb");
    board[0] ^= 0xff;
    let (b, c) = qemu();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let e = build_guest_dtb(&board, &mut vec![0u8; 2 << 20], &view).unwrap_err();
    assert_eq!((e.step, e.fdt_error()), (Step::Open, Some(Error::BadMagic)));
    assert_eq!(
        e.to_string(),
        "guest dtb: open: FDT_ERR_BADMAGIC (no device tree magic (0xd00dfeed))"
    );
}

#[test]
fn out_buffer_too_small() {
    let board = fixture("bcm2711-rpi-4-b.dtb");
    let (b, c) = pi();
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    // Smaller than the board DTB: open_into refuses.
    let e = build_guest_dtb(&board, &mut vec![0u8; board.len() - 1], &view).unwrap_err();
    assert_eq!((e.step, e.fdt_error()), (Step::Open, Some(Error::NoSpace)));
    // Room for the board DTB but not for the new node: the first growing step names itself.
    let e = build_guest_dtb(&board, &mut vec![0u8; board.len() + 16], &view).unwrap_err();
    assert_eq!((e.step, e.fdt_error()), (Step::VirtualPci, Some(Error::NoSpace)));
    assert!(e.to_string().starts_with("guest dtb: vpci: /pci@ff900000"), "{e}");
}

#[test]
fn missing_disable_path_is_named() {
    let board = fixture("qemu-virt.dtb");
    let (b, mut c) = qemu();
    c.num_disable = 2;
    set_str_field(&mut c.disable[1], "/no-such-device@0");
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let e = build_guest_dtb(&board, &mut vec![0u8; 2 << 20], &view).unwrap_err();
    assert_eq!(
        (e.step, e.cause, e.path()),
        (Step::Devices, Cause::PathNotFound, "/no-such-device@0")
    );
}

#[test]
fn cell_without_described_cpus_fails() {
    let board = fixture("qemu-virt.dtb");
    let (mut b, c) = qemu();
    b.mpidr[..4].copy_from_slice(&[0x100, 0x101, 0x102, 0x103]);
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let e = build_guest_dtb(&board, &mut vec![0u8; 2 << 20], &view).unwrap_err();
    assert_eq!((e.step, e.cause), (Step::Cpus, Cause::NoCpu));
}

#[test]
fn no_vpci_window_means_no_pci_node() {
    let board = fixture("qemu-virt.dtb");
    let (b, mut c) = qemu();
    c.vpci.ecam_size = 0;
    let view = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[],
        vpci_template: None,
        overlays: &[],
    };
    let out = build(&board, &view);
    let f = Fdt::new(&out).unwrap();
    assert_eq!(f.path_offset("/pci@8e00000"), Err(Error::NotFound));
}

/// `CELLBOOT_DUMP=dir cargo test -p cellboot-loader dump` writes the guest DTBs for inspection.
#[test]
fn dump_for_inspection() {
    let Some(dir) = std::env::var_os("CELLBOOT_DUMP") else {
        return;
    };
    let (b, c) = qemu();
    let v = CellView {
        board: &b,
        cell: &c,
        initrd: Some((0x5c00_0000, 0x1000)),
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    std::fs::write(
        PathBuf::from(&dir).join("qemu-guest.dtb"),
        build(&fixture("qemu-virt.dtb"), &v),
    )
    .unwrap();
    let (b, c) = pi();
    let v = CellView {
        board: &b,
        cell: &c,
        initrd: None,
        vpci_devices: &[0, 1],
        vpci_template: None,
        overlays: &[],
    };
    std::fs::write(
        PathBuf::from(&dir).join("pi-guest.dtb"),
        build(&fixture("bcm2711-rpi-4-b.dtb"), &v),
    )
    .unwrap();
}

#[test]
fn overflowing_config_values_neither_panic_nor_wrap() {
    // The shim's validation refuses these; the loader's arithmetic must not
    // wrap on them either (firmware release builds do not trap overflow).
    let board = fixture("qemu-virt.dtb");
    for stride in [u64::MAX, 1 << 62, 1 << 40] {
        let (mut b, c) = qemu();
        b.gicr_stride = stride;
        let view = CellView {
            board: &b,
            cell: &c,
            initrd: None,
            vpci_devices: &[0],
            vpci_template: None,
            overlays: &[],
        };
        let out = build(&board, &view);
        let f = Fdt::new(&out).unwrap();
        // No multiple of the stride fits below the declared size: untouched.
        assert_eq!(
            prop(&f, "/intc@8000000", "reg"),
            [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0xf6_0000],
            "stride {stride:#x}"
        );
    }
    for irq_base in [0xffff_ffff, 0xffff_fffd, 0x10] {
        let (b, mut c) = qemu();
        c.vpci.irq_base = irq_base;
        let view = CellView {
            board: &b,
            cell: &c,
            initrd: None,
            vpci_devices: &[0],
            vpci_template: None,
            overlays: &[],
        };
        let mut out = vec![0u8; 2 << 20];
        let e = build_guest_dtb(&board, &mut out, &view).unwrap_err();
        assert!(e.to_string().contains("interrupt-map"), "{irq_base:#x}: {e}");
    }
}

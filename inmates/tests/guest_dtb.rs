//! The inmates' DTB discovery against the DTB the loader really writes for
//! the rtos and attacker cells of boards/<board>/two-cell.toml / hostile.toml
//! (loader library on the host, the board DTBs from `cargo xtask fetch`:
//! QEMU virt's own, Debian's bcm2711-rpi-4-b.dtb).

use cellboot_abi::attack_targets::Targets;
use cellboot_inmates::dtb;
use cellboot_loader::CellView;
use std::path::Path;

fn guest_dtb(fixture: &str, system: &str, cell: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixture = root.join("build/fixtures").join(fixture);
    let board =
        std::fs::read(&fixture).unwrap_or_else(|_| panic!("{} missing: run `cargo xtask fetch`", fixture.display()));
    let sys =
        cellboot_config::load_system(&root.join("boards").join(system)).unwrap_or_else(|e| panic!("{system}: {e:?}"));
    let ci = sys
        .cell_names
        .iter()
        .position(|n| n == cell)
        .expect("cell in the system");
    let view = CellView {
        board: &sys.config.board,
        cell: &sys.config.cells[ci],
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let mut out = vec![0u8; board.len() + 64 * 1024];
    let n = cellboot_loader::build_guest_dtb(&board, &mut out, &view).expect("loader builds the cell's DTB");
    out.truncate(n);
    out
}

fn rtos_guest_dtb() -> Vec<u8> {
    guest_dtb("qemu-virt.dtb", "qemu-virt/two-cell.toml", "rtos")
}

#[test]
fn rtos_cell_finds_its_vpci_host_gic_and_timer() {
    let blob = rtos_guest_dtb();
    let fdt = cellfdt::Fdt::new(&blob).unwrap();
    let host = dtb::vpci_host(&fdt).expect("the enabled virtual host, not the board's disabled pcie@10000000");
    assert_eq!((host.ecam, host.ecam_size), (0x08e0_0000, 0x10_0000));
    assert_eq!(
        (host.mem_pci, host.mem_cpu, host.mem_size),
        (0x1000_0000, 0x1000_0000, 0x1_0000)
    );
    // Device 0 INTA -> the rtos cell's irq_base (144), as vdev raises it.
    assert_eq!(dtb::intx_intid(&fdt, host.node, 0, 1), Some(144));
    assert_eq!(
        dtb::intx_intid(&fdt, host.node, 1, 1),
        None,
        "no row for an absent device"
    );
    let g = dtb::gic(&fdt).unwrap();
    assert!(
        matches!(
            g,
            dtb::Gic::V3 {
                gicd: 0x0800_0000,
                gicr: 0x080a_0000,
                ..
            }
        ),
        "{g:?}"
    );
    assert_eq!(dtb::virt_timer_intid(&fdt), Some(27));
    let head: [u8; 8] = blob[..8].try_into().unwrap();
    assert_eq!(dtb::totalsize(&head), Some(blob.len()));
}

#[test]
fn pi_rtos_cell_finds_the_gic400_through_the_soc_ranges() {
    let blob = guest_dtb("bcm2711-rpi-4-b.dtb", "rpi4b/two-cell.toml", "rtos");
    let fdt = cellfdt::Fdt::new(&blob).unwrap();
    let host = dtb::vpci_host(&fdt).expect("the virtual host");
    assert_eq!((host.ecam, host.ecam_size), (0xff90_0000, 0x10_0000));
    assert_eq!(
        (host.mem_pci, host.mem_cpu, host.mem_size),
        (0x2000_0000, 0x2000_0000, 0x1_0000)
    );
    assert_eq!(dtb::intx_intid(&fdt, host.node, 0, 1), Some(192));
    // The node says 0x40041000 in /soc's bus space; /soc's ranges map it to 0xff841000.
    assert_eq!(
        dtb::gic(&fdt),
        Some(dtb::Gic::V2 {
            gicd: 0xff84_1000,
            gicc: 0xff84_2000,
            gich: Some(0xff84_4000)
        })
    );
    assert_eq!(dtb::virt_timer_intid(&fdt), Some(27));
}

#[test]
fn attacker_reads_its_targets_from_bootargs() {
    for (fixture, system, linux_ram) in [
        ("qemu-virt.dtb", "qemu-virt/hostile.toml", 0x4800_0000),
        ("bcm2711-rpi-4-b.dtb", "rpi4b/hostile.toml", 0x0800_0000),
    ] {
        let blob = guest_dtb(fixture, system, "attacker");
        let fdt = cellfdt::Fdt::new(&blob).unwrap();
        let args = dtb::bootargs(&fdt);
        // The words as they reach the cell, through the same parser the attacker uses.
        let t = Targets::parse(args).unwrap_or_else(|e| panic!("{system}: {e}: {args}"));
        assert_eq!(t.linux_ram, linux_ram, "{system}: {args}");
        assert_eq!(t.release.is_some(), system.starts_with("rpi4b"));
    }
}

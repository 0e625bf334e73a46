//! The inmates' DTB discovery against the DTB the loader really writes for
//! the rtos cell of boards/qemu-virt/two-cell.toml (loader library on the
//! host, QEMU's own board DTB from `cargo xtask fetch`).

use cellboot_inmates::dtb;
use cellboot_loader::CellView;
use std::path::Path;

fn rtos_guest_dtb() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixture = root.join("build/fixtures/qemu-virt.dtb");
    let board = std::fs::read(&fixture).unwrap_or_else(|_| panic!("{} missing: run `cargo xtask fetch`", fixture.display()));
    let sys = cellboot_config::load_system(&root.join("boards/qemu-virt/two-cell.toml")).expect("two-cell.toml compiles");
    let view = CellView {
        board: &sys.config.board,
        cell: &sys.config.cells[1],
        initrd: None,
        vpci_devices: &[0],
        vpci_template: None,
        overlays: &[],
    };
    let mut out = vec![0u8; board.len() + 64 * 1024];
    let n = cellboot_loader::build_guest_dtb(&board, &mut out, &view).expect("loader builds the rtos DTB");
    out.truncate(n);
    out
}

#[test]
fn rtos_cell_finds_its_vpci_host_gic_and_timer() {
    let blob = rtos_guest_dtb();
    let fdt = cellfdt::Fdt::new(&blob).unwrap();
    let host = dtb::vpci_host(&fdt).expect("the enabled virtual host, not the board's disabled pcie@10000000");
    assert_eq!((host.ecam, host.ecam_size), (0x08e0_0000, 0x10_0000));
    assert_eq!((host.mem_pci, host.mem_cpu, host.mem_size), (0x1000_0000, 0x1000_0000, 0x1_0000));
    // Device 0 INTA -> the rtos cell's irq_base (144), as vdev raises it.
    assert_eq!(dtb::intx_intid(&fdt, host.node, 0, 1), Some(144));
    assert_eq!(dtb::intx_intid(&fdt, host.node, 1, 1), None, "no row for an absent device");
    let g = dtb::gic_v3(&fdt).unwrap();
    assert_eq!((g.gicd, g.gicr), (0x0800_0000, 0x080a_0000));
    assert_eq!(dtb::virt_timer_intid(&fdt), Some(27));
    let head: [u8; 8] = blob[..8].try_into().unwrap();
    assert_eq!(dtb::totalsize(&head), Some(blob.len()));
}

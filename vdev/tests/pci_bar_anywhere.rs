//! BAR0 outside the vPCI MEM window (Jailhouse's ivshmem-demo puts it at
//! 0xff00_0000): decoded where it collides with nothing the cell's address
//! space means, refused (and reported by the enabling config write) over
//! the cell's RAM, another cell's memory, the shim and the GIC.

use cellboot_abi::{IvshmemLink, MemRegion, SystemConfig, mem};
use cellboot_vdev::pci::{EcamOutcome, REG_ID, VirtualPciBus};

const SHMEM: u64 = 0x6000_0000;
const OTHER_RAM: u64 = 0x4900_0000;
const HV: u64 = 0x4000_0000;
const GICD: u64 = 0x0800_0000;

fn system() -> SystemConfig {
    let mut s = SystemConfig::empty();
    s.hypervisor = MemRegion {
        phys: HV,
        virt: HV,
        size: 0x800_0000,
        flags: 0,
    };
    s.board.gicd_base = GICD;
    s.board.gicd_size = 0x1_0000;
    s.num_cells = 2;
    for (i, ram) in [(0usize, 0x4800_0000u64), (1, OTHER_RAM)] {
        let c = &mut s.cells[i];
        c.vpci.mmio_base = 0x1000_0000;
        c.vpci.mmio_size = 0x1_0000;
        c.vpci.irq_base = 140 + 4 * i as u32;
        c.comm_region_ipa = 0x8000_0000;
        c.mem[0] = MemRegion {
            phys: ram,
            virt: 0,
            size: 0x10_0000,
            flags: mem::RAM | mem::READ | mem::WRITE,
        };
        c.mem[1] = MemRegion {
            phys: SHMEM,
            virt: SHMEM,
            size: 0x10_0000,
            flags: mem::SHARED | mem::READ | mem::WRITE,
        };
        c.num_mem = 2;
    }
    s.num_links = 1;
    s.links[0] = IvshmemLink {
        shmem_phys: SHMEM,
        state_size: 0x1000,
        rw_size: 0x1_0000,
        out_size: 0x1_0000,
        peers: [0, 1],
        device: 0,
        protocol: 0,
    };
    s
}

/// Programs BAR0 = `bar`, then enables memory decode; returns the second
/// write's outcome and whether a register read at the BAR decodes.
fn place(bus: &mut VirtualPciBus, bar: u64) -> (EcamOutcome, bool) {
    let _ = bus.ecam_write(0x10, 4, bar);
    let out = bus.ecam_write(0x04, 2, 0x6);
    let decodes = bus.mmio_read(bar + REG_ID, 4).is_some();
    (out, decodes)
}

#[test]
fn jailhouse_demo_address_decodes() {
    let mut bus = VirtualPciBus::build_from_config(0, &system());
    let (out, decodes) = place(&mut bus, 0xff00_0000);
    assert_eq!(out, EcamOutcome::Done);
    assert!(decodes);
    assert_eq!(bus.device_at(0xff00_0004), Some(0));
}

#[test]
fn inside_the_window_still_decodes() {
    let mut bus = VirtualPciBus::build_from_config(1, &system());
    assert_eq!(place(&mut bus, 0x1000_1000), (EcamOutcome::Done, true));
}

#[test]
fn colliding_placements_are_refused_and_named() {
    for (bar, what) in [
        (0x0, "the cell's own memory"),
        (0xf_f000, "the cell's own memory"),
        (SHMEM + 0x1000, "the cell's own memory"),
        (OTHER_RAM + 0x2000, "another cell's memory"),
        (HV + 0x20_0000, "the shim's memory"),
        (GICD, "the GIC distributor"),
        (0x8000_0000, "the cell's comm region"),
    ] {
        let mut bus = VirtualPciBus::build_from_config(0, &system());
        let (out, decodes) = place(&mut bus, bar);
        assert_eq!(
            out,
            EcamOutcome::BarNotDecoded {
                bar0: bar,
                collides_with: what
            },
            "BAR at {bar:#x}"
        );
        assert!(!decodes, "BAR at {bar:#x} must not decode");
        assert_eq!(bus.device_at(bar), None);
    }
}

#[test]
fn a_bus_without_the_list_keeps_bars_in_the_window() {
    let sys = system();
    let mut bus = VirtualPciBus::new(&sys.cells[0].vpci);
    bus.add_ivshmem(
        0,
        cellboot_vdev::pci::IvshmemParams {
            peer_id: 0,
            max_peers: 2,
            shmem_ipa: SHMEM,
            state_size: 0x1000,
            rw_size: 0,
            out_size: 0x1000,
            protocol: 0,
        },
    )
    .unwrap();
    let (out, decodes) = place(&mut bus, 0xff00_0000);
    assert!(matches!(out, EcamOutcome::BarNotDecoded { bar0: 0xff00_0000, .. }));
    assert!(!decodes);
}

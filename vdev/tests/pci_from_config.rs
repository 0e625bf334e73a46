//! Building each cell's bus from a system config.

use cellboot_abi::{IvshmemLink, MemRegion, NO_PEER, SystemConfig, mem};
use cellboot_vdev::pci::VirtualPciBus;

const SHMEM: u64 = 0x6000_0000;

fn link(device: u32, peers: [u32; 2]) -> IvshmemLink {
    IvshmemLink {
        shmem_phys: SHMEM,
        state_size: 0x1000,
        rw_size: 0x3000,
        out_size: 0x2000,
        peers,
        device,
        protocol: 2,
    }
}

fn system() -> SystemConfig {
    let mut s = SystemConfig::empty();
    s.num_cells = 3;
    for (i, ipa) in [(0usize, 0x9000_0000u64), (1, 0x2000_0000)] {
        let c = &mut s.cells[i];
        c.vpci.mmio_base = 0x1000_0000;
        c.vpci.mmio_size = 0x1_0000;
        c.vpci.irq_base = 108 + i as u32 * 8;
        c.mem[0] = MemRegion {
            phys: 0x4800_0000,
            virt: 0x4800_0000,
            size: 0x1000_0000,
            flags: mem::RAM,
        };
        // The shared region is larger than the link and starts below it.
        c.mem[1] = MemRegion {
            phys: SHMEM - 0x1000,
            virt: ipa,
            size: 0x10_0000,
            flags: mem::SHARED | mem::READ,
        };
        c.num_mem = 2;
    }
    s.num_links = 2;
    s.links[0] = link(0, [0, 1]);
    s.links[1] = link(3, [1, NO_PEER]);
    s
}

#[test]
fn each_peer_gets_its_endpoint() {
    let s = system();
    let b0 = VirtualPciBus::build_from_config(0, &s);
    assert_eq!(b0.devices().collect::<Vec<_>>(), [0]);
    let p = b0.params(0).unwrap();
    assert_eq!((p.peer_id, p.max_peers, p.protocol), (0, 2, 2));
    assert_eq!(p.shmem_ipa, 0x9000_1000);
    assert_eq!((p.state_size, p.rw_size, p.out_size), (0x1000, 0x3000, 0x2000));
    assert_eq!(b0.irq_for_device(0), 108);

    let b1 = VirtualPciBus::build_from_config(1, &s);
    assert_eq!(b1.devices().collect::<Vec<_>>(), [0, 3]);
    assert_eq!(b1.params(0).unwrap().peer_id, 1);
    assert_eq!(b1.params(0).unwrap().shmem_ipa, 0x2000_1000);
    assert_eq!(b1.params(3).unwrap().peer_id, 0);
    assert_eq!(b1.irq_for_device(3), 116 + 3);
}

#[test]
fn cells_without_links_or_mappings_get_no_device() {
    let mut s = system();
    assert_eq!(VirtualPciBus::build_from_config(2, &s).devices().count(), 0);
    assert_eq!(VirtualPciBus::build_from_config(9, &s).devices().count(), 0);
    // Not SHARED → not a mapping of the link.
    s.cells[0].mem[1].flags = mem::RAM;
    assert_eq!(VirtualPciBus::build_from_config(0, &s).devices().count(), 0);
    // Hostile sizes and device numbers are skipped, not trusted.
    let mut s = system();
    s.links[0].out_size = u64::MAX;
    s.links[1].device = 256;
    assert_eq!(VirtualPciBus::build_from_config(1, &s).devices().count(), 0);
}

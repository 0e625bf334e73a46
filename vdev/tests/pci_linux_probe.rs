//! The virtual PCI bus walked the way Linux's generic ECAM host driver and
//! PCI core do: enumerate, size and assign BAR0, walk capabilities, enable
//! memory decode, then use the ivshmem register page.

use cellboot_abi::VpciConfig;
use cellboot_vdev::pci::{
    EcamOutcome, IvshmemParams, MmioEffect, REG_DOORBELL, REG_ID, REG_INT_CONTROL, REG_MAX_PEERS, REG_STATE,
    VirtualPciBus, VpciError,
};

const MMIO_BASE: u64 = 0x1000_0000;

fn cfg() -> VpciConfig {
    VpciConfig {
        ecam_base: 0x08e0_0000,
        ecam_size: 1 << 20,
        mmio_base: MMIO_BASE,
        mmio_size: 0x1_0000,
        irq_base: 108,
        domain: 1,
    }
}

fn params(peer_id: u32) -> IvshmemParams {
    IvshmemParams {
        peer_id,
        max_peers: 2,
        shmem_ipa: 0x1_6000_0000,
        state_size: 0x1000,
        rw_size: 0x1_0000_3000,
        out_size: 0x4000,
        protocol: 0x4a48,
    }
}

fn ecam(dev: u64, func: u64, reg: u64) -> u64 {
    dev << 15 | func << 12 | reg
}

fn bus_with(dev: u8, peer_id: u32) -> VirtualPciBus {
    let mut b = VirtualPciBus::new(&cfg());
    b.add_ivshmem(dev, params(peer_id)).unwrap();
    b
}

/// Linux's sizing + assignment of BAR0, then memory-space enable.
fn assign_bar0(b: &mut VirtualPciBus, dev: u64, addr: u32) {
    let cmd = b.ecam_read(ecam(dev, 0, 4), 2);
    assert_eq!(b.ecam_write(ecam(dev, 0, 4), 2, cmd & !2), EcamOutcome::Done);
    b.ecam_write(ecam(dev, 0, 0x10), 4, 0xffff_ffff);
    let mask = b.ecam_read(ecam(dev, 0, 0x10), 4) as u32;
    assert_eq!(mask, 0xffff_f000, "4 KiB, 32-bit, non-prefetchable memory");
    assert_eq!(!(mask & !0xf) + 1, 0x1000);
    b.ecam_write(ecam(dev, 0, 0x10), 4, u64::from(addr));
    assert_eq!(b.ecam_read(ecam(dev, 0, 0x10), 4), u64::from(addr));
    b.ecam_write(ecam(dev, 0, 4), 2, cmd | 2);
}

#[test]
fn enumeration_finds_exactly_the_configured_device() {
    let mut b = bus_with(2, 0);
    for dev in 0..32 {
        for func in 0..8 {
            let id = b.ecam_read(ecam(dev, func, 0), 4);
            if dev == 2 && func == 0 {
                assert_eq!(id, 0x4106_110a);
            } else {
                assert_eq!(id, 0xffff_ffff, "{dev}.{func} absent");
                assert_eq!(b.ecam_read(ecam(dev, func, 0), 2), 0xffff);
                assert_eq!(b.ecam_read(ecam(dev, func, 0xe), 1), 0xff);
            }
        }
    }
    assert_eq!(b.ecam_read(ecam(2, 0, 0xe), 1), 0, "header type 0, single function");
    assert_eq!(b.ecam_read(1 << 20, 4), 0xffff_ffff, "bus 1 does not exist");
    assert_eq!(b.devices().collect::<Vec<_>>(), [2]);
}

#[test]
fn header_fields() {
    let mut b = bus_with(0, 1);
    assert_eq!(b.ecam_read(ecam(0, 0, 0), 2), 0x110a);
    assert_eq!(b.ecam_read(ecam(0, 0, 2), 2), 0x4106);
    assert_eq!(
        b.ecam_read(ecam(0, 0, 8), 4),
        0xff4a_4800,
        "class ff, protocol 4a48, revision 0"
    );
    assert_eq!(b.ecam_read(ecam(0, 0, 0xb), 1), 0xff);
    assert_eq!(b.ecam_read(ecam(0, 0, 0xa), 1), 0x4a);
    assert_eq!(b.ecam_read(ecam(0, 0, 9), 1), 0x48);
    assert_eq!(b.ecam_read(ecam(0, 0, 6), 2), 0x0010, "status: capability list");
    assert_eq!(b.ecam_read(ecam(0, 0, 0x2c), 4), 0x4106_110a, "subsystem");
    assert_eq!(b.ecam_read(ecam(0, 0, 0x3d), 1), 1, "INTA");
    for bar in 1..6 {
        let r = ecam(0, 0, 0x10 + 4 * bar);
        b.ecam_write(r, 4, 0xffff_ffff);
        assert_eq!(b.ecam_read(r, 4), 0, "BAR{bar} not implemented");
    }
    b.ecam_write(ecam(0, 0, 0x30), 4, 0xffff_f800);
    assert_eq!(b.ecam_read(ecam(0, 0, 0x30), 4), 0, "no expansion ROM");
    assert_eq!(b.ecam_read(ecam(0, 0, 0x100), 4), 0, "no extended capabilities");
}

#[test]
fn writes_to_read_only_fields_are_ignored() {
    let mut b = bus_with(0, 0);
    for (reg, size) in [
        (0, 4),
        (2, 2),
        (8, 4),
        (0xe, 1),
        (0x34, 1),
        (0x3d, 1),
        (0x44, 4),
        (0x58, 4),
        (6, 2),
    ] {
        let before = b.ecam_read(ecam(0, 0, reg), size);
        assert_eq!(b.ecam_write(ecam(0, 0, reg), size, 0x1234_5678), EcamOutcome::Done);
        assert_eq!(b.ecam_read(ecam(0, 0, reg), size), before, "reg {reg:#x}");
    }
    // Command: only memory, bus master and INTx-disable stick.
    b.ecam_write(ecam(0, 0, 4), 2, 0xffff);
    assert_eq!(b.ecam_read(ecam(0, 0, 4), 2), 0x0406);
    // Interrupt line is writable, pin is not.
    b.ecam_write(ecam(0, 0, 0x3c), 2, 0x0355);
    assert_eq!(b.ecam_read(ecam(0, 0, 0x3c), 2), 0x0155);
}

#[test]
fn capability_walk_finds_the_ivshmem_vendor_capability() {
    let mut b = bus_with(0, 1);
    assert_ne!(b.ecam_read(ecam(0, 0, 6), 2) & 0x10, 0);
    let mut ptr = b.ecam_read(ecam(0, 0, 0x34), 1) & !3;
    let mut found = None;
    let mut hops = 0;
    while ptr != 0 && hops < 48 {
        let id = b.ecam_read(ecam(0, 0, ptr), 1);
        if id == 0x09 {
            found = Some(ptr);
        }
        ptr = b.ecam_read(ecam(0, 0, ptr + 1), 1) & !3;
        hops += 1;
    }
    let cap = found.expect("vendor capability");
    assert_eq!(cap, 0x40);
    let rd = |b: &mut VirtualPciBus, off: u64, size: u8| b.ecam_read(ecam(0, 0, cap + off), size);
    let rd64 = |b: &mut VirtualPciBus, off: u64| rd(b, off, 4) | rd(b, off + 4, 4) << 32;
    assert_eq!(rd(&mut b, 2, 1), 0x20, "length with base address");
    assert_eq!(rd(&mut b, 4, 4), 0x1000, "state table size");
    assert_eq!(rd64(&mut b, 8), 0x1_0000_3000, "R/W section size");
    assert_eq!(rd64(&mut b, 0x10), 0x4000, "output section size");
    assert_eq!(rd64(&mut b, 0x18), 0x1_6000_0000, "shared memory address");
    // One-shot is the only writable bit there.
    assert_eq!(rd(&mut b, 3, 1), 0);
    b.ecam_write(ecam(0, 0, cap + 3), 1, 0xff);
    assert_eq!(rd(&mut b, 3, 1), 1);
    assert_eq!(rd(&mut b, 0, 4), 0x0120_0009);
}

#[test]
fn bad_config_accesses_read_all_ones_and_write_nothing() {
    let mut b = bus_with(0, 0);
    assert_eq!(b.ecam_read(ecam(0, 0, 0), 8), u64::MAX);
    assert_eq!(b.ecam_read(ecam(0, 0, 2), 4), 0xffff_ffff, "dword-crossing");
    assert_eq!(b.ecam_read(ecam(0, 0, 3), 2), 0xffff);
    assert_eq!(b.ecam_read(ecam(0, 0, 1), 2), 0x0611, "byte enables 1..2 are fine");
    assert!(matches!(
        b.ecam_write(ecam(0, 0, 0x10), 8, u64::MAX),
        EcamOutcome::Ignored { .. }
    ));
    assert!(matches!(
        b.ecam_write(ecam(0, 0, 0x0e), 4, u64::MAX),
        EcamOutcome::Ignored { .. }
    ));
    assert!(matches!(b.ecam_write(ecam(1, 0, 4), 2, 2), EcamOutcome::Ignored { .. }));
    assert!(matches!(b.ecam_write(ecam(0, 1, 4), 2, 2), EcamOutcome::Ignored { .. }));
    assert!(matches!(b.ecam_write(u64::MAX, 4, 0), EcamOutcome::Ignored { .. }));
    assert_eq!(b.ecam_read(ecam(0, 0, 0x10), 4), 0, "BAR untouched");
}

#[test]
fn bar0_registers_after_assignment() {
    let mut b = bus_with(0, 1);
    let bar = MMIO_BASE as u32 + 0x2000;
    assert_eq!(b.mmio_read(u64::from(bar), 4), None, "not decoded before assignment");
    assign_bar0(&mut b, 0, bar);
    let at = |r: u64| u64::from(bar) + r;
    assert_eq!(b.device_at(at(0)), Some(0));
    assert_eq!(b.mmio_read(at(REG_ID), 4), Some(1));
    assert_eq!(b.mmio_read(at(REG_MAX_PEERS), 4), Some(2));
    assert_eq!(b.mmio_read(at(REG_INT_CONTROL), 4), Some(0));
    assert_eq!(b.mmio_read(at(REG_DOORBELL), 4), Some(0));
    assert_eq!(b.mmio_read(at(0x800), 4), Some(0), "unbacked offsets read 0");
    assert_eq!(b.mmio_read(at(REG_ID), 2), Some(0), "only 32-bit accesses");
    assert_eq!(b.mmio_read(at(0x1000), 4), None, "past the page");
    assert_eq!(b.mmio_read(at(0) - 4, 4), None);

    assert!(matches!(
        b.mmio_write(at(REG_ID), 4, 7),
        Some(MmioEffect::Ignored { .. })
    ));
    assert_eq!(b.mmio_read(at(REG_ID), 4), Some(1));

    assert_eq!(
        b.mmio_write(at(REG_DOORBELL), 4, 0 << 16),
        Some(MmioEffect::Doorbell { peer: 0, vector: 0 })
    );
    assert!(
        matches!(
            b.mmio_write(at(REG_DOORBELL), 4, 2 << 16),
            Some(MmioEffect::Ignored { .. })
        ),
        "no peer 2"
    );
    assert!(
        matches!(b.mmio_write(at(REG_DOORBELL), 4, 1), Some(MmioEffect::Ignored { .. })),
        "INTx: vector 0 only"
    );
    assert!(matches!(
        b.mmio_write(at(REG_DOORBELL), 2, 0),
        Some(MmioEffect::Ignored { .. })
    ));

    assert_eq!(
        b.mmio_write(at(REG_STATE), 4, 5),
        Some(MmioEffect::StateChanged { state: 5 })
    );
    assert_eq!(
        b.mmio_write(at(REG_STATE), 4, 5),
        Some(MmioEffect::None),
        "unchanged: no notification"
    );
    assert_eq!(b.mmio_read(at(REG_STATE), 4), Some(5));
    assert_eq!(b.state(0), Some(5));

    // Memory decode off: the page is no longer ours.
    b.ecam_write(ecam(0, 0, 4), 2, 0);
    assert_eq!(b.mmio_read(at(REG_ID), 4), None);
    assert_eq!(b.mmio_write(at(REG_STATE), 4, 1), None);
}

#[test]
fn bar_outside_the_window_is_not_decoded() {
    let mut b = bus_with(0, 0);
    assign_bar0(&mut b, 0, 0x0800_0000); // the GICD, say
    assert_eq!(b.mmio_read(0x0800_0000, 4), None);
    assign_bar0(&mut b, 0, (MMIO_BASE + 0x1_0000 - 0x1000) as u32);
    assert_eq!(b.mmio_read(MMIO_BASE + 0xf000, 4), Some(0), "last page of the window");
}

#[test]
fn receiver_interrupt_gating_and_one_shot() {
    let mut b = bus_with(1, 1);
    let bar = MMIO_BASE as u32;
    assign_bar0(&mut b, 1, bar);
    assert!(!b.interrupts_enabled(1));
    assert!(!b.take_interrupt(1));
    b.mmio_write(u64::from(bar) + REG_INT_CONTROL, 4, 0xffff_ffff);
    assert_eq!(
        b.mmio_read(u64::from(bar) + REG_INT_CONTROL, 4),
        Some(1),
        "reserved bits read 0"
    );
    assert!(b.interrupts_enabled(1));
    assert!(b.take_interrupt(1));
    assert_eq!(b.ecam_read(ecam(1, 0, 6), 2) & 0x8, 0x8, "Interrupt Status latched");
    assert!(b.take_interrupt(1), "stays enabled without one-shot");
    // INTx masked in the command register (what uio_pci_generic does in its handler).
    let cmd = b.ecam_read(ecam(1, 0, 4), 2);
    b.ecam_write(ecam(1, 0, 4), 2, cmd | 1 << 10);
    assert_eq!(b.ecam_read(ecam(1, 0, 6), 2) & 0x8, 0, "masking clears the latch");
    assert!(!b.interrupts_enabled(1));
    b.ecam_write(ecam(1, 0, 4), 2, cmd);
    // One-shot: delivery clears INT_CONTROL.
    b.ecam_write(ecam(1, 0, 0x43), 1, 1);
    assert!(b.take_interrupt(1));
    assert!(!b.interrupts_enabled(1));
    assert_eq!(b.mmio_read(u64::from(bar) + REG_INT_CONTROL, 4), Some(0));
    assert!(!b.take_interrupt(1));
    assert!(!b.interrupts_enabled(7) && !b.take_interrupt(7), "absent device");
}

#[test]
fn irq_rotation_and_reset() {
    let mut b = VirtualPciBus::new(&cfg());
    for d in [0, 1, 5, 31] {
        b.add_ivshmem(d, params(0)).unwrap();
    }
    assert_eq!([0, 1, 5, 31].map(|d| b.irq_for_device(d)), [108, 109, 109, 111]);
    assign_bar0(&mut b, 5, MMIO_BASE as u32);
    b.mmio_write(MMIO_BASE + REG_STATE, 4, 9);
    b.reset();
    assert_eq!(b.state(5), Some(0));
    assert_eq!(b.ecam_read(ecam(5, 0, 0x10), 4), 0);
    assert_eq!(b.mmio_read(MMIO_BASE, 4), None);
}

#[test]
fn add_ivshmem_rejects_bad_input() {
    let mut b = VirtualPciBus::new(&cfg());
    assert_eq!(b.add_ivshmem(32, params(0)), Err(VpciError::DeviceOutOfRange(32)));
    assert!(matches!(
        b.add_ivshmem(
            0,
            IvshmemParams {
                peer_id: 2,
                ..params(0)
            }
        ),
        Err(VpciError::BadParams(_))
    ));
    assert!(matches!(
        b.add_ivshmem(
            0,
            IvshmemParams {
                max_peers: 1,
                ..params(0)
            }
        ),
        Err(VpciError::BadParams(_))
    ));
    assert!(matches!(
        b.add_ivshmem(
            0,
            IvshmemParams {
                state_size: 4,
                ..params(0)
            }
        ),
        Err(VpciError::BadParams(_))
    ));
    assert!(matches!(
        b.add_ivshmem(
            0,
            IvshmemParams {
                state_size: 1 << 32,
                ..params(0)
            }
        ),
        Err(VpciError::BadParams(_))
    ));
    b.add_ivshmem(0, params(0)).unwrap();
    assert_eq!(b.add_ivshmem(0, params(1)), Err(VpciError::DeviceInUse(0)));
    for d in 1..4 {
        b.add_ivshmem(d, params(0)).unwrap();
    }
    assert_eq!(b.add_ivshmem(9, params(0)), Err(VpciError::Full));
}

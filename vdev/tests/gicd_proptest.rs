//! Property: no sequence of arbitrary distributor accesses by a cell panics,
//! issues an access the GIC does not allow, or changes any state of an IRQ
//! the cell does not own; routing of owned IRQs only ever names the cell's CPUs.

mod support;

use cellboot_vdev::gicd::{AFF_MASK, CellIrqs, IROUTER_IRM, mediate_read, mediate_write};
use proptest::prelude::*;
use support::fake_gicd::FakeGicd;

#[derive(Clone, Debug)]
struct Op {
    write: bool,
    off: u64,
    size: u8,
    value: u64,
}

fn op() -> impl Strategy<Value = Op> {
    let off = prop_oneof![
        4 => 0u64..0x1000,
        2 => 0x6000u64..0x8000,
        1 => 0xffc0u64..0x10040,
        1 => any::<u64>(),
    ];
    let size = prop_oneof![4 => Just(4u8), 2 => Just(1u8), 2 => Just(8u8), 1 => Just(2u8), 1 => 0u8..=16];
    let value = prop_oneof![3 => any::<u64>(), 1 => Just(u64::MAX), 1 => 0u64..8, 1 => Just(1u64 << 31)];
    (any::<bool>(), off, size, any::<bool>(), value).prop_map(|(write, off, size, align, value)| {
        let off = if align && size.is_power_of_two() {
            off & !(u64::from(size) - 1)
        } else {
            off
        };
        Op {
            write,
            off,
            size,
            value,
        }
    })
}

fn check_foreign_unchanged(version: u32, owned: &dyn Fn(u32) -> bool, a: &FakeGicd, b: &FakeGicd) {
    // GICv2 banks INTIDs 0..31 per CPU: the trapping CPU is the cell's own.
    let first = if version == 2 { 32 } else { 0 };
    for i in first..1020usize {
        if i >= 32 && owned(i as u32) {
            continue;
        }
        let bit = |x: &FakeGicd, f: fn(&FakeGicd) -> &[u32; 32]| FakeGicd::bit(f(x), i);
        for (name, f) in [
            ("group", (|x| &x.group) as fn(&FakeGicd) -> &[u32; 32]),
            ("grpmod", |x| &x.grpmod),
            ("enable", |x| &x.enable),
            ("pend", |x| &x.pend),
            ("active", |x| &x.active),
        ] {
            assert_eq!(bit(a, f), bit(b, f), "foreign INTID {i}: {name} changed");
        }
        assert_eq!(a.cfg_of(i), b.cfg_of(i), "foreign INTID {i}: ICFGR changed");
        assert_eq!(a.prio[i], b.prio[i], "foreign INTID {i}: priority changed");
        assert_eq!(a.targets[i], b.targets[i], "foreign INTID {i}: targets changed");
        assert_eq!(a.router[i], b.router[i], "foreign INTID {i}: IROUTER changed");
    }
    if version == 3 {
        assert_eq!(a.sgi_pend, b.sgi_pend);
    }
    assert_eq!(a.ctlr & !b.ctlr, 0, "CTLR bits cleared: {:#x} -> {:#x}", a.ctlr, b.ctlr);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn foreign_irq_state_never_changes(
        version in 2u32..=3,
        seed in any::<u64>(),
        owned_map in any::<[u64; 4]>(),
        if_mask in any::<u8>(),
        affs in proptest::collection::vec(0u64..4, 0..3),
        ops in proptest::collection::vec(op(), 1..96),
    ) {
        let owned = move |i: u32| i < 256 && owned_map[(i / 64) as usize] >> (i % 64) & 1 != 0;
        let cell = CellIrqs { owns: &owned, cpu_affinities: &affs, cpu_if_mask: if_mask };
        let mut g = FakeGicd::new(version);
        g.scramble(seed);
        g.self_if = 1 << (seed % 8);
        let before = g.clone();
        for o in &ops {
            if o.write {
                mediate_write(&mut g, version, o.off, o.size, o.value, &cell);
            } else {
                let v = mediate_read(&mut g, version, o.off, o.size, &cell);
                // Reads never show more than the access size.
                if o.size < 8 && o.size > 0 {
                    prop_assert_eq!(v >> (8 * u32::from(o.size)), 0);
                }
            }
        }
        check_foreign_unchanged(version, &owned, &before, &g);
        for i in 32..1020usize {
            if !owned(i as u32) {
                continue;
            }
            if version == 2 && g.targets[i] != before.targets[i] {
                prop_assert_eq!(g.targets[i] & !if_mask, 0, "INTID {} targets a foreign CPU", i);
            }
            if version == 3 && g.router[i] != before.router[i] {
                let r = g.router[i];
                prop_assert_eq!(r & IROUTER_IRM, 0);
                prop_assert!(affs.iter().any(|&a| a & AFF_MASK == r & AFF_MASK), "INTID {} routed to {:#x}", i, r);
            }
        }
        for &s in &g.sgir_log {
            let (filter, list) = (s >> 24 & 3, (s >> 16) as u8);
            prop_assert!(filter == 2 || (filter == 0 && list != 0 && list & !if_mask == 0), "SGIR {:#x}", s);
        }
    }
}

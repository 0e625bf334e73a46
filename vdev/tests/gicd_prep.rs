//! Cell-start preparation of a cell's SPIs against the fake distributor:
//! exactly the owned SPIs get group 1 (GICv3), the cell priority and a route
//! to the cell; nothing else changes but the distributor enables; nothing
//! gets enabled.

mod support;

use cellboot_vdev::gicd::{CELL_IRQ_PRIORITY, CellIrqs, prepare_banked_v2, prepare_cell_spis};
use support::fake_gicd::FakeGicd;

fn owned(intid: u32) -> bool {
    (140..144).contains(&intid) || intid == 33
}

fn check(version: u32) {
    for seed in 1..20u64 {
        let mut g = FakeGicd::new(version);
        g.scramble(seed);
        g.ctlr = 0;
        let before = g.clone();
        let affs = [0x01_0000_0102u64, 0x3];
        let cell = CellIrqs {
            owns: &owned,
            cpu_affinities: &affs,
            cpu_if_mask: 0b0110,
        };
        let n = prepare_cell_spis(&mut g, version, &cell);
        assert_eq!(n, 5, "seed {seed}: prepared count");
        let mut want = before.clone();
        for i in (32..1020usize).filter(|&i| owned(i as u32)) {
            want.prio[i] = CELL_IRQ_PRIORITY;
            if version == 3 {
                want.group[i / 32] |= 1 << (i % 32);
                want.router[i] = 0x01_0000_0102;
            } else {
                want.targets[i] = 0b0110;
            }
        }
        want.ctlr = if version == 3 { 0x12 } else { 0b11 };
        assert_eq!(
            g, want,
            "seed {seed}: GICv{version}: only the owned SPIs and CTLR change"
        );
    }
}

#[test]
fn gicv3_owned_spis_group1_priority_routed() {
    check(3);
}

#[test]
fn gicv2_owned_spis_priority_targeted() {
    check(2);
}

#[test]
fn a_cell_without_cpus_prepares_nothing() {
    let mut g = FakeGicd::new(3);
    g.scramble(7);
    let before = g.clone();
    let cell = CellIrqs {
        owns: &owned,
        cpu_affinities: &[],
        cpu_if_mask: 0,
    };
    assert_eq!(prepare_cell_spis(&mut g, 3, &cell), 0);
    assert_eq!(g, before);
}

#[test]
fn gicv2_banked_priorities() {
    let mut g = FakeGicd::new(2);
    g.scramble(3);
    prepare_banked_v2(&mut g);
    assert!(g.prio[..32].iter().all(|&p| p == CELL_IRQ_PRIORITY));
}

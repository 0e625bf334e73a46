//! GICD mediation against the fake distributor: what a cell sees and what
//! its writes change, for the patterns Linux's GIC drivers use.

mod support;

use cellboot_vdev::gicd::{CellIrqs, GicdOutcome, mediate_read, mediate_write, set_spi_pending};
use support::fake_gicd::FakeGicd;

/// The cell owns SPIs 40..48 and 100; runs on CPU interface 1 (bit 1) and
/// CPU interface 2 (bit 2); GICv3 affinities 0.0.0.1 and 0.0.0.2.
fn owns(i: u32) -> bool {
    (40..48).contains(&i) || i == 100
}
const AFFS: [u64; 2] = [0x8000_0001, 0x8000_0002]; // MPIDR with RES1 bit 31
fn cell() -> CellIrqs<'static> {
    CellIrqs {
        owns: &owns,
        cpu_affinities: &AFFS,
        cpu_if_mask: 0b110,
    }
}

fn denied(o: GicdOutcome) -> bool {
    matches!(o, GicdOutcome::Denied { .. })
}

#[test]
fn foreign_enable_bits_read_as_zero() {
    let mut g = FakeGicd::new(2);
    g.enable[1] = 0xffff_ffff; // INTIDs 32..63
    assert_eq!(mediate_read(&mut g, 2, 0x104, 4, &cell()), 0x0000_ff00);
    assert_eq!(mediate_read(&mut g, 2, 0x184, 4, &cell()), 0x0000_ff00);
    assert_eq!(
        mediate_read(&mut g, 2, 0x108, 4, &cell()),
        0,
        "INTIDs 64..95: none owned"
    );
}

#[test]
fn linux_v2_dist_init_touches_only_owned_spis() {
    let mut g = FakeGicd::new(2);
    g.scramble(7);
    g.ctlr = 1;
    let before = g.clone();
    let c = cell();
    // gic_dist_init: disable, then for every SPI word: ICENABLER/ICACTIVER all
    // ones, ICFGR level, priority 0xa0, targets = this CPU; then enable.
    assert!(denied(mediate_write(&mut g, 2, 0x000, 4, 0, &c)), "disable is refused");
    assert_eq!(g.ctlr, 1, "distributor stays enabled for the other cells");
    for w in 1..8u64 {
        mediate_write(&mut g, 2, 0x180 + 4 * w, 4, 0xffff_ffff, &c);
        mediate_write(&mut g, 2, 0x380 + 4 * w, 4, 0xffff_ffff, &c);
    }
    for w in 2..16u64 {
        mediate_write(&mut g, 2, 0xc00 + 4 * w, 4, 0, &c);
    }
    for w in 8..64u64 {
        mediate_write(&mut g, 2, 0x400 + 4 * w, 4, 0xa0a0_a0a0, &c);
        mediate_write(&mut g, 2, 0x800 + 4 * w, 4, 0x0202_0202, &c);
    }
    assert_eq!(mediate_write(&mut g, 2, 0x000, 4, 1, &c), GicdOutcome::Done);
    for i in 32..256usize {
        let o = owns(i as u32);
        let same = |a: &[u32]| FakeGicd::bit(a, i);
        if o {
            assert!(!same(&g.enable) && !same(&g.active), "owned {i} cleared");
            assert_eq!(g.cfg_of(i), 0);
            assert_eq!(g.prio[i], 0xa0);
            assert_eq!(g.targets[i], 0x02);
        } else {
            assert_eq!(same(&g.enable), same(&before.enable), "foreign {i} enable");
            assert_eq!(same(&g.active), same(&before.active), "foreign {i} active");
            assert_eq!(g.cfg_of(i), before.cfg_of(i), "foreign {i} cfg");
            assert_eq!(g.prio[i], before.prio[i], "foreign {i} prio");
            assert_eq!(g.targets[i], before.targets[i], "foreign {i} targets");
        }
    }
}

#[test]
fn set_clear_reports_the_first_foreign_irq() {
    let mut g = FakeGicd::new(3);
    let o = mediate_write(&mut g, 3, 0x104, 4, 1 << 9 | 1 << 3, &cell());
    assert_eq!(
        o,
        GicdOutcome::Denied {
            irq: Some(35),
            reason: o_reason(o)
        }
    );
    assert!(FakeGicd::bit(&g.enable, 41));
    assert!(!FakeGicd::bit(&g.enable, 35));
    assert_eq!(mediate_write(&mut g, 3, 0x104, 4, 1 << 8, &cell()), GicdOutcome::Done);
}

fn o_reason(o: GicdOutcome) -> &'static str {
    match o {
        GicdOutcome::Denied { reason, .. } => reason,
        GicdOutcome::Done => "",
    }
}

#[test]
fn group_rmw_keeps_foreign_bits() {
    let mut g = FakeGicd::new(3);
    g.group[1] = 0xffff_0000; // foreign 48..63 set
    assert_eq!(
        mediate_write(&mut g, 3, 0x084, 4, 0x0000_0f00, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.group[1], 0xffff_0f00);
    // The guest writes back what it read (foreign = 0): still no change to them.
    let seen = mediate_read(&mut g, 3, 0x084, 4, &cell());
    mediate_write(&mut g, 3, 0x084, 4, seen & !0x100, &cell());
    assert_eq!(g.group[1], 0xffff_0e00);
    // IGRPMODR is GICv3 only.
    assert_eq!(mediate_write(&mut g, 3, 0xd04, 4, 0x100, &cell()), GicdOutcome::Done);
    assert_eq!(g.grpmod[1], 0x100);
    assert!(denied(mediate_write(&mut g, 2, 0xd04, 4, 0x100, &cell())));
}

#[test]
fn icfgr_two_bits_per_irq() {
    let mut g = FakeGicd::new(2);
    g.cfg[2] = 0x5555_5555; // INTIDs 32..47
    // Owned 40..47 are the upper half of word 2.
    assert_eq!(mediate_read(&mut g, 2, 0xc08, 4, &cell()), 0x5555_0000);
    assert_eq!(
        mediate_write(&mut g, 2, 0xc08, 4, 0xaaaa_0000, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.cfg[2], 0xaaaa_5555);
    assert!(denied(mediate_write(&mut g, 2, 0xc08, 4, 0xffff_ffff, &cell())));
    assert_eq!(g.cfg[2], 0xffff_5555);
}

#[test]
fn priority_byte_and_word_access() {
    let mut g = FakeGicd::new(3);
    g.prio[39] = 0x11;
    g.prio[40] = 0x22;
    assert_eq!(mediate_read(&mut g, 3, 0x400 + 40, 1, &cell()), 0x22);
    assert_eq!(mediate_read(&mut g, 3, 0x400 + 39, 1, &cell()), 0);
    assert_eq!(mediate_read(&mut g, 3, 0x400 + 36, 4, &cell()), 0, "36..39 foreign");
    assert_eq!(mediate_read(&mut g, 3, 0x400 + 40, 4, &cell()), 0x22);
    assert!(denied(mediate_write(&mut g, 3, 0x400 + 39, 1, 0x80, &cell())));
    assert_eq!(g.prio[39], 0x11);
    assert_eq!(
        mediate_write(&mut g, 3, 0x400 + 44, 4, 0x8070_6050, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.prio[44..48], [0x50, 0x60, 0x70, 0x80]);
    assert!(
        denied(mediate_write(&mut g, 3, 0x401, 2, 0, &cell())),
        "half-word access"
    );
    assert!(denied(mediate_write(&mut g, 3, 0x429, 4, 0, &cell())), "unaligned word");
}

#[test]
fn itargetsr_only_the_cells_cpu_interfaces() {
    let mut g = FakeGicd::new(2);
    let o = mediate_write(&mut g, 2, 0x800 + 40, 1, 0b0000_0111, &cell());
    assert_eq!(
        o,
        GicdOutcome::Denied {
            irq: Some(40),
            reason: o_reason(o)
        }
    );
    assert_eq!(g.targets[40], 0b110);
    assert_eq!(
        mediate_write(&mut g, 2, 0x800 + 41, 1, 0b100, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.targets[41], 0b100);
    // Banked ITARGETSR0..7 read as the trapping CPU's own interface.
    g.self_if = 0b10;
    assert_eq!(mediate_read(&mut g, 2, 0x800, 4, &cell()), 0x0202_0202);
    // GICv3: ITARGETSR is not mediated (RES0 with ARE).
    let mut g3 = FakeGicd::new(3);
    assert!(denied(mediate_write(&mut g3, 3, 0x800 + 40, 1, 1, &cell())));
    assert_eq!(mediate_read(&mut g3, 3, 0x800 + 40, 1, &cell()), 0);
}

#[test]
fn sgi_ppi_registers_banked_on_v2_raz_wi_on_v3() {
    let mut g = FakeGicd::new(2);
    assert_eq!(
        mediate_write(&mut g, 2, 0x100, 4, 0x8000_ffff, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.enable[0], 0x8000_ffff);
    assert_eq!(mediate_read(&mut g, 2, 0x100, 4, &cell()), 0x8000_ffff);
    assert_eq!(
        mediate_write(&mut g, 2, 0x400 + 27, 1, 0x40, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.prio[27], 0x40);
    assert_eq!(
        mediate_write(&mut g, 2, 0xf20, 4, 0x0101_0101, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.sgi_pend[0..4], [1, 1, 1, 1]);

    let mut g = FakeGicd::new(3);
    g.enable[0] = 0xffff;
    assert_eq!(mediate_read(&mut g, 3, 0x100, 4, &cell()), 0);
    assert_eq!(
        mediate_write(&mut g, 3, 0x180, 4, 0xffff_ffff, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.enable[0], 0xffff, "redistributor owns SGIs/PPIs on v3");
    mediate_write(&mut g, 3, 0x400, 4, 0xffff_ffff, &cell());
    assert_eq!(g.prio[0..4], [0; 4]);
}

#[test]
fn ctlr_may_only_enable() {
    let mut g = FakeGicd::new(3);
    g.ctlr = 0x12; // Grp1A | ARE_NS
    assert_eq!(mediate_read(&mut g, 3, 0, 4, &cell()), 0x12);
    assert_eq!(mediate_write(&mut g, 3, 0, 4, 0x13, &cell()), GicdOutcome::Done);
    assert_eq!(g.ctlr, 0x13);
    assert!(denied(mediate_write(&mut g, 3, 0, 4, 0, &cell())));
    assert_eq!(g.ctlr, 0x13);
    assert!(
        denied(mediate_write(&mut g, 3, 0, 4, 0x13 | 1 << 6, &cell())),
        "DS is not settable"
    );
    assert_eq!(g.ctlr, 0x13);
}

#[test]
fn read_only_id_registers() {
    let mut g = FakeGicd::new(2);
    assert_eq!(mediate_read(&mut g, 2, 0x004, 4, &cell()), 0x1f);
    assert_eq!(mediate_read(&mut g, 2, 0xfe8, 4, &cell()), 0x44);
    assert!(denied(mediate_write(&mut g, 2, 0x004, 4, 0, &cell())));
    let mut g = FakeGicd::new(3);
    assert_eq!(mediate_read(&mut g, 3, 0xffe8, 4, &cell()), 0x44);
    assert_eq!(
        mediate_read(&mut g, 3, 0xfe8, 4, &cell()),
        0,
        "v2 location is not an ID register on v3"
    );
}

#[test]
fn irouter_only_the_cells_cpus() {
    let mut g = FakeGicd::new(3);
    let r = |n: u64| 0x6000 + 8 * n;
    assert_eq!(mediate_write(&mut g, 3, r(40), 8, 2, &cell()), GicdOutcome::Done);
    assert_eq!(g.router[40], 2);
    assert_eq!(mediate_read(&mut g, 3, r(40), 8, &cell()), 2);
    assert_eq!(
        mediate_write(&mut g, 3, r(40), 8, 1 << 40 | 1 << 30 | 2, &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.router[40], 2, "reserved bits written as 0");
    assert!(
        denied(mediate_write(&mut g, 3, r(40), 8, 3, &cell())),
        "CPU 0.0.0.3 is foreign"
    );
    assert!(
        denied(mediate_write(&mut g, 3, r(40), 8, 1 << 31 | 2, &cell())),
        "IRM=1"
    );
    assert!(
        denied(mediate_write(&mut g, 3, r(40), 8, 1 << 32 | 1, &cell())),
        "Aff3 differs"
    );
    assert_eq!(g.router[40], 2);
    g.router[50] = 0xff;
    assert!(denied(mediate_write(&mut g, 3, r(50), 8, 1, &cell())), "foreign SPI");
    assert_eq!(mediate_read(&mut g, 3, r(50), 8, &cell()), 0);
    assert_eq!(g.router[50], 0xff);
    // 32-bit halves (lo_hi_writeq).
    assert_eq!(mediate_write(&mut g, 3, r(41), 4, 1, &cell()), GicdOutcome::Done);
    assert_eq!(mediate_write(&mut g, 3, r(41) + 4, 4, 0, &cell()), GicdOutcome::Done);
    assert_eq!(g.router[41], 1);
    assert_eq!(mediate_read(&mut g, 3, r(41), 4, &cell()), 1);
    assert!(denied(mediate_write(&mut g, 3, r(41) + 4, 4, 1, &cell())));
    assert!(
        denied(mediate_write(&mut g, 3, r(41) + 4, 8, 1, &cell())),
        "unaligned 64-bit"
    );
    assert!(
        denied(mediate_write(&mut g, 3, r(20), 8, 1, &cell())),
        "no IROUTER for PPIs"
    );
    assert!(
        denied(mediate_write(&mut g, 2, r(40), 8, 1, &cell())),
        "GICv2 has no IROUTER"
    );
}

#[test]
fn sgir_targets_filtered() {
    let mut g = FakeGicd::new(2);
    g.self_if = 0b010;
    let sgir = |filter: u32, list: u32, id: u32| filter << 24 | list << 16 | id;
    let o = mediate_write(&mut g, 2, 0xf00, 4, u64::from(sgir(0, 0b1111, 3)), &cell());
    assert!(denied(o));
    assert_eq!(g.sgir_log.pop(), Some(sgir(0, 0b0110, 3)));
    // "All but self" becomes the cell's other CPUs.
    assert_eq!(
        mediate_write(&mut g, 2, 0xf00, 4, u64::from(sgir(1, 0, 5)), &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.sgir_log.pop(), Some(sgir(0, 0b0100, 5)));
    assert_eq!(
        mediate_write(&mut g, 2, 0xf00, 4, u64::from(sgir(2, 0xff, 1)), &cell()),
        GicdOutcome::Done
    );
    assert_eq!(g.sgir_log.pop(), Some(sgir(2, 0, 1)));
    assert!(denied(mediate_write(
        &mut g,
        2,
        0xf00,
        4,
        u64::from(sgir(3, 0, 1)),
        &cell()
    )));
    // Only foreign targets: nothing is sent at all.
    assert!(denied(mediate_write(
        &mut g,
        2,
        0xf00,
        4,
        u64::from(sgir(0, 0b1001, 1)),
        &cell()
    )));
    assert!(g.sgir_log.is_empty());
    assert_eq!(mediate_read(&mut g, 2, 0xf00, 4, &cell()), 0);
}

#[test]
fn bad_sizes_and_unknown_registers() {
    let mut g = FakeGicd::new(2);
    g.enable[1] = u32::MAX;
    assert_eq!(
        mediate_read(&mut g, 2, 0x105, 1, &cell()),
        0,
        "byte access to a bit register"
    );
    assert!(denied(mediate_write(&mut g, 2, 0x105, 1, 0xff, &cell())));
    assert!(denied(mediate_write(&mut g, 2, 0x104, 8, 0, &cell())));
    assert!(denied(mediate_write(&mut g, 2, 0x104, 3, 0, &cell())));
    assert!(denied(mediate_write(&mut g, 2, 0xe00, 4, 0, &cell())), "NSACR");
    assert!(denied(mediate_write(&mut g, 2, u64::MAX - 3, 4, 0, &cell())));
    assert_eq!(mediate_read(&mut g, 2, u64::MAX, 8, &cell()), 0);
    assert!(
        denied(mediate_write(&mut g, 5, 0x104, 4, 0, &cell())),
        "unknown GIC version"
    );
}

#[test]
fn spi_pending_from_the_shim() {
    let mut g = FakeGicd::new(3);
    set_spi_pending(&mut g, 108);
    assert!(FakeGicd::bit(&g.pend, 108));
    assert_eq!(g.pend.iter().map(|w| w.count_ones()).sum::<u32>(), 1);
    set_spi_pending(&mut g, 5);
    set_spi_pending(&mut g, 1020);
    set_spi_pending(&mut g, u32::MAX);
    assert_eq!(
        g.pend.iter().map(|w| w.count_ones()).sum::<u32>(),
        1,
        "non-SPIs ignored"
    );
}

/// Linux's GICv3 `gic_dist_init` for a 288-line distributor, run by a cell
/// owning the UART SPI 33 and the vPCI INTx SPIs 108..111 on CPU 0.0.0.1.
#[test]
fn linux_v3_dist_init_configures_owned_spis_only() {
    let owns_v3 = |i: u32| i == 33 || (108..112).contains(&i);
    let c = CellIrqs {
        owns: &owns_v3,
        cpu_affinities: &AFFS[..1],
        cpu_if_mask: 0,
    };
    let mut g = FakeGicd::new(3);
    g.scramble(99);
    g.ctlr = 0x12;
    let before = g.clone();
    let lines = 288u64;
    let mut denied_count = 0;
    let mut w = |g: &mut FakeGicd, off: u64, size: u8, v: u64| {
        if denied(mediate_write(g, 3, off, size, v, &c)) {
            denied_count += 1;
        }
    };
    w(&mut g, 0, 4, 0);
    for i in (32..lines).step_by(32) {
        w(&mut g, 0x080 + i / 8, 4, 0xffff_ffff);
    }
    for i in (32..lines).step_by(16) {
        w(&mut g, 0xc00 + i / 4, 4, 0);
    }
    for i in (32..lines).step_by(4) {
        w(&mut g, 0x400 + i, 4, 0xa0a0_a0a0);
    }
    for i in (32..lines).step_by(32) {
        w(&mut g, 0x380 + i / 8, 4, 0xffff_ffff);
        w(&mut g, 0x180 + i / 8, 4, 0xffff_ffff);
    }
    w(&mut g, 0, 4, 0x13);
    for i in 32..lines {
        w(&mut g, 0x6000 + 8 * i, 8, 1);
    }
    for i in 32..lines as usize {
        if owns_v3(i as u32) {
            assert!(FakeGicd::bit(&g.group, i) && !FakeGicd::bit(&g.enable, i) && !FakeGicd::bit(&g.active, i));
            assert_eq!((g.cfg_of(i), g.prio[i], g.router[i]), (0, 0xa0, 1), "owned {i}");
        } else {
            assert_eq!(g.router[i], before.router[i]);
            assert_eq!(g.prio[i], before.prio[i]);
            assert_eq!(FakeGicd::bit(&g.enable, i), FakeGicd::bit(&before.enable, i));
        }
    }
    assert_eq!(g.ctlr, 0x13);
    // Every blanket write that touches a foreign IRQ is reported: the shim
    // should log these at debug level or rate-limit them.
    assert_eq!(
        denied_count,
        1 + 8 + (64 - 1) + 16 + 251,
        "CTLR, IGROUPR, IPRIORITYR, IC*R, IROUTER"
    );
}

//! Waking a CPU with an SPI (cell restart) against the fake distributor:
//! what `wake_spi` sets, and that `restore_spi` leaves the distributor as it
//! was but for the SPI's pending bit.

mod support;

use cellboot_vdev::gicd::{restore_spi, wake_spi};
use support::fake_gicd::FakeGicd;

const SPI: u32 = 185;

fn woken_and_restored(version: u32, target: u64) {
    for seed in 1..50u64 {
        let mut g = FakeGicd::new(version);
        g.scramble(seed);
        let before = g.clone();
        let w = wake_spi(&mut g, version, SPI, target).expect("an SPI");
        let i = SPI as usize;
        assert_eq!(g.prio[i], 0, "top priority");
        assert!(
            FakeGicd::bit(&g.enable, i) && FakeGicd::bit(&g.pend, i),
            "enabled and pending"
        );
        if version == 3 {
            assert_eq!(g.router[i], target);
        } else {
            assert_eq!(u64::from(g.targets[i]), target);
        }
        restore_spi(&mut g, version, &w);
        assert!(!FakeGicd::bit(&g.pend, i), "not left pending");
        let mut want = before;
        want.pend[i / 32] &= !(1 << (i % 32));
        assert_eq!(g, want, "seed {seed}: only the pending bit of SPI {SPI} differs");
    }
}

#[test]
fn gicv3_spi_routed_to_the_cpu_then_put_back() {
    woken_and_restored(3, 0x0000_0100_0002);
}

#[test]
fn gicv2_spi_targeted_at_the_interface_then_put_back() {
    woken_and_restored(2, 0b0100);
}

#[test]
fn no_spi_no_change() {
    for intid in [0, 16, 31, 1020, 1023] {
        let mut g = FakeGicd::new(3);
        g.scramble(7);
        let before = g.clone();
        assert_eq!(wake_spi(&mut g, 3, intid, 1), None);
        assert_eq!(g, before, "INTID {intid}");
    }
}

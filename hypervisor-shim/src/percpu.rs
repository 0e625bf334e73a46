//! One physical CPU's shim state, in one struct: its PSCI power state, the
//! cell it belongs to, where a CPU_ON sends it, its spin-table hand-off and
//! its GICv2 CPU interface. Plain atomics (no lock: each field has one
//! writer at a time, the state machine below says which), so host tests
//! drive the state machine as the shim does.

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

/// A CPU's power state as PSCI reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    Off,
    /// A CPU_ON was accepted; the CPU has not entered its cell yet.
    OnPending,
    On,
}

impl Power {
    const fn code(self) -> u8 {
        match self {
            Power::Off => 0,
            Power::OnPending => 1,
            Power::On => 2,
        }
    }
    const fn of(code: u8) -> Power {
        match code {
            1 => Power::OnPending,
            2 => Power::On,
            _ => Power::Off,
        }
    }
}

/// No cell owns the CPU (yet).
#[cfg(test)]
const NO_CELL: usize = usize::MAX;

pub struct PerCpu {
    power: AtomicU8,
    /// The owning cell's index + 1, 0 for none (all-zero: the array is BSS).
    cell_plus_1: AtomicUsize,
    /// What the CPU does when a CPU_ON starts it: entry IPA and x0, set
    /// before the start (`cpu_power`) and read by the CPU once started.
    entry: AtomicU64,
    x0: AtomicU64,
    /// Spin-table boards: the CPU has left the firmware's spin loop (it runs
    /// or waits in the shim).
    in_shim: AtomicBool,
    /// Spin-table boards: a CPU_ON was posted for the CPU, parked in the shim.
    wake: AtomicBool,
    /// GICv2: the CPU interface mask the CPU read itself (0 = not yet).
    gic_if: AtomicU8,
}

impl PerCpu {
    pub const fn new() -> PerCpu {
        PerCpu {
            power: AtomicU8::new(Power::Off.code()),
            cell_plus_1: AtomicUsize::new(0),
            entry: AtomicU64::new(0),
            x0: AtomicU64::new(0),
            in_shim: AtomicBool::new(false),
            wake: AtomicBool::new(false),
            gic_if: AtomicU8::new(0),
        }
    }

    pub fn power(&self) -> Power {
        Power::of(self.power.load(Ordering::SeqCst))
    }

    pub fn set_power(&self, p: Power) {
        self.power.store(p.code(), Ordering::SeqCst);
    }

    /// A CPU_ON takes the CPU from Off to OnPending; any other state is
    /// returned as the reason it cannot.
    pub fn claim_for_on(&self) -> Result<(), Power> {
        self.power
            .compare_exchange(
                Power::Off.code(),
                Power::OnPending.code(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .map(|_| ())
            .map_err(Power::of)
    }

    /// PSCI AFFINITY_INFO from this bookkeeping: 0 ON, 1 OFF, 2 ON_PENDING.
    pub fn affinity_info(&self) -> i64 {
        match self.power() {
            Power::On => 0,
            Power::OnPending => 2,
            Power::Off => 1,
        }
    }

    /// The owning cell's index, `usize::MAX` when none.
    pub fn cell(&self) -> usize {
        self.cell_plus_1.load(Ordering::SeqCst).wrapping_sub(1)
    }

    pub fn set_cell(&self, ci: usize) {
        self.cell_plus_1.store(ci.wrapping_add(1), Ordering::SeqCst);
    }

    pub fn set_boot(&self, entry: u64, x0: u64) {
        self.entry.store(entry, Ordering::SeqCst);
        self.x0.store(x0, Ordering::SeqCst);
    }

    pub fn boot(&self) -> (u64, u64) {
        (self.entry.load(Ordering::SeqCst), self.x0.load(Ordering::SeqCst))
    }

    /// Marks the CPU as in the shim; true when it already was.
    pub fn enter_shim(&self) -> bool {
        self.in_shim.swap(true, Ordering::SeqCst)
    }

    pub fn post_wake(&self) {
        self.wake.store(true, Ordering::SeqCst);
    }

    /// Takes a posted wake. A plain load while nothing is posted: no
    /// exclusive pair in every round of a wait, only when there is a start.
    pub fn take_wake(&self) -> bool {
        self.wake.load(Ordering::Acquire) && self.wake.swap(false, Ordering::SeqCst)
    }

    pub fn set_gic_interface(&self, mask: u8) {
        self.gic_if.store(mask, Ordering::SeqCst);
    }

    /// The interface mask the CPU recorded, 0 before it has run.
    pub fn gic_interface(&self) -> u8 {
        self.gic_if.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_on_claims_only_an_off_cpu() {
        let c = PerCpu::new();
        assert_eq!(c.power(), Power::Off);
        assert_eq!(c.claim_for_on(), Ok(()));
        assert_eq!(c.power(), Power::OnPending);
        assert_eq!(c.claim_for_on(), Err(Power::OnPending));
        c.set_power(Power::On);
        assert_eq!(c.claim_for_on(), Err(Power::On));
        c.set_power(Power::Off);
        assert_eq!(c.claim_for_on(), Ok(()));
    }

    #[test]
    fn affinity_info_follows_the_power_state() {
        let c = PerCpu::new();
        assert_eq!(c.affinity_info(), 1);
        c.set_power(Power::OnPending);
        assert_eq!(c.affinity_info(), 2);
        c.set_power(Power::On);
        assert_eq!(c.affinity_info(), 0);
    }

    #[test]
    fn a_wake_is_taken_once() {
        let c = PerCpu::new();
        assert!(!c.take_wake());
        c.post_wake();
        assert!(c.take_wake());
        assert!(!c.take_wake());
    }

    #[test]
    fn only_the_first_entry_into_the_shim_is_new() {
        let c = PerCpu::new();
        assert!(!c.enter_shim());
        assert!(c.enter_shim());
    }

    #[test]
    fn cell_boot_and_interface_are_kept() {
        let c = PerCpu::new();
        assert_eq!(c.cell(), NO_CELL);
        c.set_cell(2);
        assert_eq!(c.cell(), 2);
        c.set_boot(0x4000_0000, 0x1234);
        assert_eq!(c.boot(), (0x4000_0000, 0x1234));
        assert_eq!(c.gic_interface(), 0);
        c.set_gic_interface(0x4);
        assert_eq!(c.gic_interface(), 0x4);
    }
}

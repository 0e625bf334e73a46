//! Per-cell exit counters for the management function's STATS
//! (`cellboot_abi::mgmt::exit`): what the shim did for a cell, by kind.
//!
//! Cheap on the trap path: each CPU has its own row and only that CPU
//! writes it (a plain load and store, no atomic read-modify-write, no
//! lock); a reader sums the rows of a cell's CPUs (a CPU belongs to one
//! cell for the life of the shim). Interrupts raised in a cell by its
//! peers are counted per cell, by the peers' CPUs (atomic add: rare).
//! Built without the `mgmt` feature, counting costs nothing: the bench's
//! before/after of the trap floor.

use crate::arch::{self, MAX_CPUS};
use cellboot_abi::MAX_CELLS;
use cellboot_abi::mgmt::exit;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

static PER_CPU: [[AtomicU64; exit::COUNT]; MAX_CPUS] = [const { [const { AtomicU64::new(0) }; exit::COUNT] }; MAX_CPUS];
static RECEIVED: [AtomicU64; MAX_CELLS] = [const { AtomicU64::new(0) }; MAX_CELLS];

/// One exit of `kind` on this CPU.
#[inline(always)]
pub fn count(kind: usize) {
    if cfg!(feature = "mgmt")
        && let Some(c) = PER_CPU.get(arch::cpu_index()).and_then(|row| row.get(kind))
    {
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }
}

/// A doorbell or state interrupt raised in cell `ci`.
pub fn received(ci: usize) {
    if cfg!(feature = "mgmt")
        && let Some(c) = RECEIVED.get(ci)
    {
        c.fetch_add(1, Relaxed);
    }
}

/// The counters of the cell with CPUs `cpu_mask` and index `ci`.
#[cfg(feature = "mgmt")]
pub fn totals(cpu_mask: u64, ci: usize) -> [u64; exit::COUNT] {
    let mut t = [0u64; exit::COUNT];
    for (_, row) in PER_CPU.iter().enumerate().filter(|&(n, _)| cpu_mask >> n & 1 != 0) {
        for (sum, c) in t.iter_mut().zip(row) {
            *sum = sum.wrapping_add(c.load(Relaxed));
        }
    }
    if let (Some(r), Some(c)) = (t.get_mut(exit::DOORBELL_RECEIVED), RECEIVED.get(ci)) {
        *r = c.load(Relaxed);
    }
    t
}

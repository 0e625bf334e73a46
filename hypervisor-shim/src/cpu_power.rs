//! Who switches CPUs on and off: PSCI firmware (SMC conduit) or, on boards
//! without it, the shim itself through the spin-table (`spin_table`).
//! Chosen once at boot from `board.cpu_start`; every caller goes through
//! [`get`] and this one `match` per operation.

use crate::arch;
use crate::psci::fid;
use crate::spin_table;
use crate::state;
use cellboot_abi::{Board, cpu_start};
use core::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CpuPower {
    /// Firmware takes PSCI calls (QEMU virt, TF-A boards).
    Psci,
    /// The firmware leaves secondaries in a spin loop and offers no PSCI
    /// (the Raspberry Pi 4): the shim is the only power manager.
    SpinTable,
}

/// The choice: false (PSCI) until `choose`, as a refused config still
/// powers off through PSCI where the build says firmware has it.
static SPIN_TABLE: AtomicBool = AtomicBool::new(false);

/// Picks the method for `board` (once, at boot, right after its config is
/// validated).
pub fn choose(board: &Board) -> CpuPower {
    let spin = board.cpu_start == cpu_start::SPIN_TABLE;
    SPIN_TABLE.store(spin, Ordering::Relaxed);
    crate::off::set_psci_firmware(!spin);
    get()
}

pub fn get() -> CpuPower {
    if SPIN_TABLE.load(Ordering::Relaxed) {
        CpuPower::SpinTable
    } else {
        CpuPower::Psci
    }
}

impl CpuPower {
    /// Starts physical CPU `cpu` in the shim's secondary entry (real PSCI
    /// CPU_ON, or the spin-table), which then enters `entry` at EL1 with
    /// `x0`. A PSCI result.
    pub fn start_cpu(self, cpu: usize, mpidr: u64, entry: u64, x0: u64) -> i64 {
        state::cpu(cpu).set_boot(entry, x0);
        arch::dsb();
        match self {
            CpuPower::SpinTable => spin_table::start(cpu),
            CpuPower::Psci => arch::smc(
                (fid::CPU_ON | fid::SMC64) as u64,
                mpidr,
                arch::secondary_entry_pa(),
                cpu as u64,
            ) as i64,
        }
    }

    /// Switches the calling CPU off: real PSCI CPU_OFF, or a wait in the
    /// shim for the next CPU_ON. Returns only on failure.
    pub fn cpu_off_self(self) {
        match self {
            CpuPower::SpinTable => spin_table::park(),
            CpuPower::Psci => {
                arch::smc(fid::CPU_OFF as u64, 0, 0, 0);
            }
        }
    }

    /// PSCI AFFINITY_INFO (level 0) for physical CPU `target`.
    pub fn affinity_info(self, target: usize, mpidr: u64) -> i64 {
        match self {
            CpuPower::SpinTable => state::cpu(target).affinity_info(),
            // Firmware knows when a CPU that called CPU_OFF is really off.
            CpuPower::Psci => arch::smc((fid::AFFINITY_INFO | fid::SMC64) as u64, mpidr, 0, 0) as i64,
        }
    }
}

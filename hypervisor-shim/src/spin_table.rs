//! CPU power control on boards without PSCI firmware (`cpu_start =
//! spin-table`, the Raspberry Pi 4): the shim is the only power manager.
//!
//! A secondary CPU starts out in the boot firmware's spin loop (Pi armstub8,
//! QEMU raspi4b's boot stub: EL2, polling its release address). The first
//! CPU_ON for it writes the shim's `spin_entry` there; from then on the CPU
//! belongs to the shim for good. A CPU that is switched off (guest PSCI
//! CPU_OFF, its cell stopped) waits in `park` for the next CPU_ON, which
//! restarts it at the shim's secondary entry. There is no way to power the
//! board off: SYSTEM_OFF halts the calling CPU.

use crate::arch::{self, MAX_CPUS};
use crate::cell::{self, CPU_STATE, cpu};
use core::sync::atomic::{AtomicBool, Ordering};

/// CPU `i` has left the firmware's spin loop (it runs or waits in the shim).
static IN_SHIM: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// A CPU_ON was posted for CPU `i`, parked in `park`.
static WAKE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Whether the board starts CPUs through a spin-table.
/// False while no config is validated: a refused config must still power the
/// machine off (PSCI) instead of recursing into `cfg()`'s fatal path.
pub fn in_use() -> bool {
    cell::try_cfg().is_some_and(|c| c.board.cpu_start == cellboot_abi::cpu_start::SPIN_TABLE)
}

/// The boot CPU is in the shim from the start.
pub fn claim_boot_cpu(cpu: usize) {
    if cpu < MAX_CPUS {
        IN_SHIM[cpu].store(true, Ordering::SeqCst);
    }
}

/// Every release address must be an aligned word inside the hypervisor's own
/// memory: a cell that could write one could send a waiting CPU to code of
/// its choice at EL2. Returns the first offending (CPU, address).
pub fn check_release_addrs() -> Result<(), (usize, u64)> {
    let sys = cell::cfg();
    let b = &sys.board;
    let hv = &sys.hypervisor;
    let (img_start, img_end) = arch::image_bounds();
    for cpu in 0..(b.num_cpus as usize).min(MAX_CPUS) {
        let a = b.release_addr[cpu];
        let inside = a >= hv.phys && a.checked_add(8).is_some_and(|e| e <= hv.phys_end());
        let in_image = a < img_end && a + 8 > img_start;
        if !a.is_multiple_of(8) || !inside || in_image {
            return Err((cpu, a));
        }
    }
    Ok(())
}

/// Starts CPU `target` (state already ON_PENDING, `CPU_BOOT` filled): out of
/// the firmware's loop the first time, out of `park` afterwards. PSCI result.
pub fn start(target: usize) -> i64 {
    if target >= MAX_CPUS {
        return crate::psci::INVALID_PARAMETERS;
    }
    if IN_SHIM[target].swap(true, Ordering::SeqCst) {
        WAKE[target].store(true, Ordering::SeqCst);
        arch::dsb();
        arch::send_event();
    } else {
        let addr = cell::cfg().board.release_addr[target];
        // SAFETY: `addr` is CPU `target`'s release word (checked at boot by
        // check_release_addrs: aligned, in hypervisor memory outside the
        // image), and the CPU is still in the firmware's loop (IN_SHIM was
        // false, and only this swap sets it).
        unsafe { arch::spin_table_release(addr, arch::spin_entry_pa()) };
    }
    crate::psci::SUCCESS
}

/// Switches this CPU off: it waits in the shim until a CPU_ON posts a start.
pub fn park() -> ! {
    let me = arch::cpu_index();
    IN_SHIM[me].store(true, Ordering::SeqCst);
    loop {
        // A plain load while nothing is posted: no exclusive pair in every
        // round of the wait, only when a start is there to take.
        if WAKE[me].load(Ordering::Acquire) && WAKE[me].swap(false, Ordering::SeqCst) {
            arch::restart_secondary(me)
        }
        arch::wait_for_event();
    }
}

/// PSCI AFFINITY_INFO from the shim's own bookkeeping: 0 ON, 1 OFF, 2 ON_PENDING.
pub fn affinity_info(target: usize) -> i64 {
    match CPU_STATE[target].load(Ordering::SeqCst) {
        cpu::ON => 0,
        cpu::ON_PENDING => 2,
        _ => 1,
    }
}

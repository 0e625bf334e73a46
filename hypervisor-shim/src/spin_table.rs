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
use crate::state;

/// The boot CPU is in the shim from the start.
pub fn claim_boot_cpu(cpu: usize) {
    if let Some(c) = state::try_cpu(cpu) {
        c.enter_shim();
    }
}

/// Every release address must be an aligned word inside the hypervisor's own
/// memory: a cell that could write one could send a waiting CPU to code of
/// its choice at EL2. Returns the first offending (CPU, address).
pub fn check_release_addrs() -> Result<(), (usize, u64)> {
    let sys = state::cfg();
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

/// Starts CPU `target` (state already ON_PENDING, its boot pair set): out of
/// the firmware's loop the first time, out of `park` afterwards. PSCI result.
pub fn start(target: usize) -> i64 {
    let Some(t) = state::try_cpu(target) else {
        return crate::psci::INVALID_PARAMETERS;
    };
    if t.enter_shim() {
        t.post_wake();
        arch::dsb();
        arch::send_event();
    } else {
        let addr = state::cfg().board.release_addr[target];
        // SAFETY: `addr` is CPU `target`'s release word (checked at boot by
        // check_release_addrs: aligned, in hypervisor memory outside the
        // image), and the CPU is still in the firmware's loop (it was not in
        // the shim, and only this `enter_shim` marks it).
        unsafe { arch::spin_table_release(addr, arch::spin_entry_pa()) };
    }
    crate::psci::SUCCESS
}

/// Switches this CPU off: it waits in the shim until a CPU_ON posts a start.
pub fn park() -> ! {
    let me = arch::cpu_index();
    let this = state::cpu(me);
    this.enter_shim();
    loop {
        if this.take_wake() {
            arch::restart_secondary(me)
        }
        arch::wait_for_event();
    }
}

//! The PSCI 1.0 service the shim offers cells (trapped SMC, or HVC #0):
//! CPU power within the cell's own CPUs, and the cell's own off and reset.

use crate::arch::{self, GuestFrame};
use crate::cpu_power;
use crate::percpu::Power;
use crate::psci::{self, ALREADY_ON, DENIED, INVALID_PARAMETERS, NOT_SUPPORTED, ON_PENDING, SUCCESS, fid};
use crate::state::{self, cpu, name};
use cellboot_abi::cell_state;

/// Handles a PSCI / SMCCC call from cell `ci`; the result goes into x0.
pub fn handle(frame: &mut GuestFrame, ci: usize) {
    let f = frame.x[0] as u32;
    let r = match f & !fid::SMC64 {
        fid::VERSION if f == fid::VERSION => psci::VERSION_1_0,
        fid::FEATURES if f == fid::FEATURES => psci::features(frame.x[1] as u32),
        fid::CPU_ON => cpu_on(ci, frame.x[1], frame.x[2], frame.x[3]),
        fid::CPU_OFF if f == fid::CPU_OFF => {
            let me = cpu(arch::cpu_index());
            me.set_power(Power::Off);
            cpu_power::get().cpu_off_self();
            me.set_power(Power::On);
            DENIED
        }
        fid::CPU_SUSPEND => {
            // Standby only: wait for an interrupt (it is taken at EL1 on return).
            arch::wait_for_interrupt();
            SUCCESS
        }
        fid::AFFINITY_INFO => affinity_info(ci, frame.x[1], frame.x[2]),
        fid::MIGRATE_INFO_TYPE if f == fid::MIGRATE_INFO_TYPE => psci::NO_TRUSTED_OS,
        fid::SYSTEM_OFF if f == fid::SYSTEM_OFF => {
            cell_info!(name(ci), "PSCI SYSTEM_OFF: cell shut down");
            crate::cell::stop(ci, cell_state::SHUT_DOWN, cellboot_abi::mgmt::reason::SHUT_DOWN);
            crate::cell::park_this_cpu()
        }
        fid::SYSTEM_RESET if f == fid::SYSTEM_RESET => {
            cell_info!(
                name(ci),
                "PSCI SYSTEM_RESET on CPU {}: restarting the cell",
                arch::cpu_index()
            );
            crate::reset::restart(ci)
        }
        _ => {
            cell_info!(name(ci), "SMCCC/PSCI function {:#010x} not supported", f);
            NOT_SUPPORTED
        }
    };
    frame.x[0] = r as u64;
}

fn cpu_on(ci: usize, mpidr: u64, entry: u64, ctx: u64) -> i64 {
    let Some(target) = state::cpu_of_mpidr(mpidr) else {
        cell_info!(name(ci), "PSCI CPU_ON for unknown MPIDR {:#x}", mpidr);
        return INVALID_PARAMETERS;
    };
    let c = &state::cfg().cells()[ci];
    if !c.owns_cpu(target) {
        cell_info!(
            name(ci),
            "PSCI CPU_ON for CPU {} (MPIDR {:#x}), which it does not own: denied",
            target,
            mpidr
        );
        return DENIED;
    }
    match cpu(target).claim_for_on() {
        Ok(()) => {}
        Err(Power::OnPending) => return ON_PENDING,
        Err(_) => return ALREADY_ON,
    }
    let r = cpu_power::get().start_cpu(target, state::cfg().board.mpidr[target], entry, ctx);
    if r != SUCCESS {
        cpu(target).set_power(Power::Off);
        cell_info!(
            name(ci),
            "firmware CPU_ON for CPU {} failed (-{})",
            target,
            r.unsigned_abs()
        );
    }
    r
}

fn affinity_info(ci: usize, mpidr: u64, level: u64) -> i64 {
    if level != 0 {
        return INVALID_PARAMETERS;
    }
    let Some(target) = state::cpu_of_mpidr(mpidr) else {
        return INVALID_PARAMETERS;
    };
    if !state::cfg().cells()[ci].owns_cpu(target) {
        cell_info!(
            name(ci),
            "PSCI AFFINITY_INFO for CPU {}, which it does not own: denied",
            target
        );
        return INVALID_PARAMETERS;
    }
    cpu_power::get().affinity_info(target, mpidr)
}

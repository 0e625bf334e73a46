//! PSCI: the shim's own calls into firmware (SMC conduit) and the PSCI 1.0
//! service it offers cells (trapped SMC, or HVC #0).

use crate::arch::{self, GuestFrame};
use crate::cell::{self, CPU_BOOT, CPU_STATE, cpu};
use crate::spin_table;
use cellboot_abi::cell_state;
use core::sync::atomic::{AtomicBool, Ordering};

pub use cellboot_abi::psci::{ALREADY_ON, DENIED, INVALID_PARAMETERS, NOT_SUPPORTED, ON_PENDING, SUCCESS, fid};

/// Set on the first power-off: an error on the way (a fault, a fatal
/// report) halts instead of powering off again, which could loop for ever.
/// A plain load and store: no exclusives, which may not work this early.
static POWERING_OFF: AtomicBool = AtomicBool::new(false);

/// Real PSCI SYSTEM_OFF (QEMU virt exits). Does not return. Spin-table
/// boards have no firmware to ask (an SMC there is UNDEFINED with the Pi's
/// SCR_EL3.SMD = 1, or enters QEMU raspi4b's EL3 stub): the CPU halts.
pub fn system_off() -> ! {
    if POWERING_OFF.load(Ordering::Relaxed) {
        arch::halt()
    }
    POWERING_OFF.store(true, Ordering::Relaxed);
    if psci_firmware() {
        arch::smc(fid::SYSTEM_OFF as u64, 0, 0, 0);
    }
    info!("no PSCI power-off: halting (power off by hand)");
    arch::halt()
}

/// Whether firmware takes PSCI calls: from the validated config, and
/// before there is one from the board the shim was built for (an SMC on
/// the Pi is UNDEFINED, or under QEMU raspi4b enters an EL3 with no vectors).
fn psci_firmware() -> bool {
    match cell::try_cfg() {
        Some(_) => !spin_table::in_use(),
        None => env!("SHIM_PSCI_FIRMWARE").as_bytes() == b"1",
    }
}

/// Switches the calling CPU off: real PSCI CPU_OFF, or on spin-table boards
/// a wait in the shim for the next CPU_ON. Returns only on failure.
pub fn cpu_off_self() {
    if spin_table::in_use() {
        spin_table::park()
    }
    arch::smc(fid::CPU_OFF as u64, 0, 0, 0);
}

/// Starts physical CPU `cpu` in the shim's secondary entry (real PSCI CPU_ON,
/// or the spin-table), which then enters `entry` at EL1 with `x0`.
pub fn start_cpu(cpu: usize, mpidr: u64, entry: u64, x0: u64) -> i64 {
    *CPU_BOOT[cpu].lock() = (entry, x0);
    arch::dsb();
    if spin_table::in_use() {
        return spin_table::start(cpu);
    }
    arch::smc(
        (fid::CPU_ON | fid::SMC64) as u64,
        mpidr,
        arch::secondary_entry_pa(),
        cpu as u64,
    ) as i64
}

/// Handles a PSCI / SMCCC call from cell `ci`; the result goes into x0.
pub fn handle(frame: &mut GuestFrame, ci: usize) {
    let f = frame.x[0] as u32;
    let r = match f & !fid::SMC64 {
        fid::VERSION if f == fid::VERSION => cellboot_abi::psci::VERSION_1_0,
        fid::FEATURES if f == fid::FEATURES => features(frame.x[1] as u32),
        fid::CPU_ON => cpu_on(ci, frame.x[1], frame.x[2], frame.x[3]),
        fid::CPU_OFF if f == fid::CPU_OFF => {
            CPU_STATE[arch::cpu_index()].store(cpu::OFF, Ordering::SeqCst);
            cpu_off_self();
            CPU_STATE[arch::cpu_index()].store(cpu::ON, Ordering::SeqCst);
            DENIED
        }
        fid::CPU_SUSPEND => {
            // Standby only: wait for an interrupt (it is taken at EL1 on return).
            arch::wait_for_interrupt();
            SUCCESS
        }
        fid::AFFINITY_INFO => affinity_info(ci, frame.x[1], frame.x[2]),
        fid::MIGRATE_INFO_TYPE if f == fid::MIGRATE_INFO_TYPE => 2, // no trusted OS to migrate
        fid::SYSTEM_OFF if f == fid::SYSTEM_OFF => {
            info!("cell {}: PSCI SYSTEM_OFF: cell shut down", cell::name(ci));
            cell::stop(ci, cell_state::SHUT_DOWN);
            cell::park_this_cpu()
        }
        fid::SYSTEM_RESET if f == fid::SYSTEM_RESET => {
            info!(
                "cell {}: PSCI SYSTEM_RESET on CPU {}: restarting the cell",
                cell::name(ci),
                arch::cpu_index()
            );
            crate::reset::restart(ci)
        }
        _ => {
            info!("cell {}: SMCCC/PSCI function {:#010x} not supported", cell::name(ci), f);
            NOT_SUPPORTED
        }
    };
    frame.x[0] = r as u64;
}

fn features(f: u32) -> i64 {
    match f & !fid::SMC64 {
        fid::VERSION | fid::CPU_OFF | fid::MIGRATE_INFO_TYPE | fid::SYSTEM_OFF | fid::SYSTEM_RESET | fid::FEATURES
            if f & fid::SMC64 == 0 =>
        {
            SUCCESS
        }
        fid::CPU_ON | fid::AFFINITY_INFO => SUCCESS,
        fid::CPU_SUSPEND => 0, // original power_state format, no OS-initiated mode
        _ => NOT_SUPPORTED,
    }
}

fn cpu_on(ci: usize, mpidr: u64, entry: u64, ctx: u64) -> i64 {
    let Some(target) = cell::cpu_of_mpidr(mpidr) else {
        info!("cell {}: PSCI CPU_ON for unknown MPIDR {:#x}", cell::name(ci), mpidr);
        return INVALID_PARAMETERS;
    };
    let c = &cell::cfg().cells()[ci];
    if !c.owns_cpu(target) {
        info!(
            "cell {}: PSCI CPU_ON for CPU {target} (MPIDR {mpidr:#x}), which it does not own: denied",
            cell::name(ci)
        );
        return DENIED;
    }
    match CPU_STATE[target].compare_exchange(cpu::OFF, cpu::ON_PENDING, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(cpu::ON_PENDING) => return ON_PENDING,
        Err(_) => return ALREADY_ON,
    }
    let r = start_cpu(target, cell::cfg().board.mpidr[target], entry, ctx);
    if r != SUCCESS {
        CPU_STATE[target].store(cpu::OFF, Ordering::SeqCst);
        info!(
            "cell {}: firmware CPU_ON for CPU {target} failed (-{})",
            cell::name(ci),
            r.unsigned_abs()
        );
    }
    r
}

fn affinity_info(ci: usize, mpidr: u64, level: u64) -> i64 {
    if level != 0 {
        return INVALID_PARAMETERS;
    }
    let Some(target) = cell::cpu_of_mpidr(mpidr) else {
        return INVALID_PARAMETERS;
    };
    if !cell::cfg().cells()[ci].owns_cpu(target) {
        info!(
            "cell {}: PSCI AFFINITY_INFO for CPU {target}, which it does not own: denied",
            cell::name(ci)
        );
        return INVALID_PARAMETERS;
    }
    if spin_table::in_use() {
        return spin_table::affinity_info(target);
    }
    // Firmware knows when a CPU that called CPU_OFF is really off.
    arch::smc((fid::AFFINITY_INFO | fid::SMC64) as u64, mpidr, 0, 0) as i64
}

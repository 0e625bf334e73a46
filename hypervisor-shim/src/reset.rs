//! PSCI SYSTEM_RESET: a cell starts over from its loader while the others
//! run on (docs/cell-reset.md says how and why).

use crate::arch::{self, MAX_CPUS};
use crate::cell::{self, park_this_cpu};
use crate::cpu_power;
use crate::payload::SetupError;
use crate::percpu::Power;
use crate::psci;
use crate::state::{self, boot_cpu, cell_rt as rt, cpu, name};
use cellboot_abi::cell_state;

/// How long a restart waits for the cell's other CPUs to come back, then
/// for firmware to take the boot CPU's CPU_ON.
const GATHER_MS: u64 = 2000;

/// PSCI SYSTEM_RESET from cell `ci` on this CPU: the cell starts over from
/// its loader with every payload staged again, as at power-on. Its stage 2
/// is emptied first, the payloads staged, then its other CPUs woken (Linux
/// leaves them in `cpu_park_loop` inside an IPI handler, never calling
/// CPU_OFF), so each traps on its next access and parks (`el2_trap`). A CPU
/// that does not come back leaves the cell failed. Peers on ivshmem links
/// see this side's state go to 0, with an interrupt, as the ivshmem spec asks.
pub fn restart(ci: usize) -> ! {
    let c = &state::cfg().cells()[ci];
    let me = arch::cpu_index();
    {
        let mut rt = rt(ci).lock();
        if !rt.is_running() {
            drop(rt);
            park_this_cpu()
        }
        rt.set_state(cell_state::SHUT_DOWN);
        rt.hide_tables();
        arch::tlb_flush_vm(rt.vttbr());
    }
    // Staged first: rewriting the cell's code also makes QEMU drop the
    // translated blocks a woken vCPU would otherwise go on running without
    // another stage-2 walk (hardware faults at once after the TLBI).
    if let Err(SetupError(what, at)) = restage(ci) {
        restart_failed(ci, what, at)
    }
    if let Err(n) = gather(ci, me) {
        restart_failed(ci, "a CPU did not stop: CPU", n as u64)
    }
    resume(ci);
    let boot = boot_cpu(c);
    if boot == me {
        let (entry, x0) = cell::entry(c);
        cell::run_on_this_cpu(ci, entry, x0)
    }
    match start_boot_cpu(ci) {
        Ok(()) => park_this_cpu(),
        Err(n) => restart_failed(ci, "firmware refused CPU_ON for CPU", n as u64),
    }
}

/// Stages cell `ci` (stopped, its lock free) again as at power-on, from
/// the payloads or the images a manager loaded; its vPCI devices reset.
pub fn restage(ci: usize) -> Result<(), SetupError> {
    let (devices, life) = {
        let mut rt = rt(ci).lock();
        if let Some(bus) = rt.vpci_mut() {
            bus.reset();
        }
        (rt.vpci_devices(), *rt.life())
    };
    let Some(pl) = state::payloads() else {
        fatal!("restart before the payloads were kept")
    };
    // The previous run's cache lines go before anything is staged.
    cell::load_flushed(ci, devices, pl, life.loaded())
}

/// Wakes each CPU of cell `ci` but `me` (see gic::kick) and waits until it
/// parked on its next trap (its stage 2 is empty); the first CPU that did
/// not, as the error.
pub fn gather(ci: usize, me: usize) -> Result<(), usize> {
    let c = &state::cfg().cells()[ci];
    // An SPI of its own: its vPCI INTA, else the first it was given.
    let vpci = (c.vpci.ecam_size != 0).then_some(c.vpci.irq_base);
    let kick_irq = vpci.or_else(|| {
        c.irq_ranges()
            .iter()
            .find(|r| r.count != 0 && r.first >= 32)
            .map(|r| r.first)
    });
    for n in (0..MAX_CPUS).filter(|&n| n != me && c.owns_cpu(n)) {
        let deadline = arch::deadline_ms(GATHER_MS);
        let kick = kick_irq
            .filter(|_| cpu(n).power() != Power::Off)
            .and_then(|i| crate::gic::kick(n, i));
        while cpu(n).power() != Power::Off && !arch::passed(deadline) {
            core::hint::spin_loop();
        }
        if let Some(k) = kick {
            crate::gic::unkick(&k);
        }
        if cpu(n).power() != Power::Off {
            return Err(n);
        }
    }
    Ok(())
}

/// Cell `ci` (staged, its CPUs parked) runs again: its stage 2 back, one
/// more start counted, its ivshmem peers told its state is 0.
pub fn resume(ci: usize) {
    {
        let mut rt = rt(ci).lock();
        rt.show_tables();
        rt.set_state(cell_state::RUNNING);
        // Only run-time management reports these.
        #[cfg(feature = "mgmt")]
        {
            let life = rt.life_mut();
            life.reason = 0;
            life.restarts = life.restarts.saturating_add(1);
            life.started_at = arch::counter().0;
        }
    }
    crate::ivshmem::link_reset(ci);
}

/// Starts cell `ci`'s boot CPU (not this CPU) at the cell's entry. The CPU
/// called CPU_OFF on its way out; firmware may still be finishing that when
/// CPU_ON comes. The CPU firmware refused, as the error.
pub fn start_boot_cpu(ci: usize) -> Result<(), usize> {
    let c = &state::cfg().cells()[ci];
    let boot = boot_cpu(c);
    cpu(boot).set_power(Power::OnPending);
    let deadline = arch::deadline_ms(GATHER_MS);
    loop {
        let (entry, x0) = cell::entry(c);
        let r = cpu_power::get().start_cpu(boot, state::cfg().board.mpidr[boot], entry, x0);
        if r == psci::SUCCESS {
            return Ok(());
        }
        if r != psci::ALREADY_ON || arch::passed(deadline) {
            cpu(boot).set_power(Power::Off);
            return Err(boot);
        }
    }
}

/// Ends a restart that could not finish: the cell is left failed, with
/// nothing mapped, and this CPU parks. Out of line: three call sites.
#[inline(never)]
fn restart_failed(ci: usize, what: &str, n: u64) -> ! {
    cell_info!(name(ci), "restart failed: {} {:#x}", what, n);
    cell::end(
        ci,
        rt(ci).lock(),
        cell_state::FAILED,
        cellboot_abi::mgmt::reason::START_FAILED,
    );
    park_this_cpu()
}

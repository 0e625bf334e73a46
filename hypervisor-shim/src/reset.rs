//! PSCI SYSTEM_RESET: a cell starts over from its loader while the others
//! run on (docs/cell-reset.md says how and why).

use crate::arch::{self, MAX_CPUS};
use crate::cell::{self, park_this_cpu};
use crate::cpu_power;
use crate::payload::SetupError;
use crate::percpu::Power;
use crate::psci;
use crate::stage2::POOL;
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
        POOL.lock().stash(rt.root(), rt.stash());
        arch::tlb_flush_vm(rt.vttbr());
    }
    // Staged first: rewriting the cell's code also makes QEMU drop the
    // translated blocks a woken vCPU would otherwise go on running without
    // another stage-2 walk (hardware faults at once after the TLBI).
    let devices = {
        let mut rt = rt(ci).lock();
        if let Some(bus) = rt.vpci_mut() {
            bus.reset();
        }
        rt.vpci_devices()
    };
    let Some(pl) = state::payloads() else {
        fatal!("restart before the payloads were kept")
    };
    // The previous run's cache lines go before anything is staged.
    if let Err(SetupError(what, at)) = cell::load_flushed(ci, devices, pl) {
        restart_failed(ci, what, at)
    }
    // Each other CPU is woken (see gic::kick) and parks on its next trap.
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
            restart_failed(ci, "a CPU did not stop: CPU", n as u64)
        }
    }
    {
        let mut rt = rt(ci).lock();
        POOL.lock().unstash(rt.root(), rt.stash());
        rt.set_state(cell_state::RUNNING);
    }
    crate::ivshmem::link_reset(ci);
    let boot = boot_cpu(c);
    if boot == me {
        let (entry, x0) = cell::entry(c);
        cell::run_on_this_cpu(ci, entry, x0)
    }
    // The boot CPU called CPU_OFF on its way out; firmware may still be
    // finishing that when CPU_ON comes.
    cpu(boot).set_power(Power::OnPending);
    let deadline = arch::deadline_ms(GATHER_MS);
    loop {
        let (entry, x0) = cell::entry(c);
        let r = cpu_power::get().start_cpu(boot, state::cfg().board.mpidr[boot], entry, x0);
        if r == psci::SUCCESS {
            park_this_cpu()
        }
        if r != psci::ALREADY_ON || arch::passed(deadline) {
            cpu(boot).set_power(Power::Off);
            restart_failed(ci, "firmware refused CPU_ON for CPU", boot as u64)
        }
    }
}

/// Ends a restart that could not finish: the cell is left failed, with
/// nothing mapped, and this CPU parks. Out of line: three call sites.
#[inline(never)]
fn restart_failed(ci: usize, what: &str, n: u64) -> ! {
    cell_info!(name(ci), "restart failed: {} {:#x}", what, n);
    cell::end(ci, rt(ci).lock(), cell_state::FAILED);
    park_this_cpu()
}

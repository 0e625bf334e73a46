//! PSCI SYSTEM_RESET: a cell starts over from its loader while the others
//! run on (docs/cell-reset.md says how and why).

use crate::arch::{self, MAX_CPUS};
use crate::cell::{self, CPU_STATE, SetupError, boot_cpu, comm_pa, comm_region, cpu, name, park_this_cpu, rt};
use crate::stage2::POOL;
use cellboot_abi::{COMM_REGION_SIZE, cell_state};
use core::sync::atomic::Ordering;

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
    let c = &cell::cfg().cells()[ci];
    let me = arch::cpu_index();
    {
        let mut rt = rt(ci).lock();
        if rt.state != cell_state::RUNNING {
            drop(rt);
            park_this_cpu()
        }
        rt.state = cell_state::SHUT_DOWN;
        POOL.lock().stash(rt.root, rt.stash);
        arch::tlb_flush_vm(rt.vttbr);
    }
    // Staged first: rewriting the cell's code also makes QEMU drop the
    // translated blocks a woken vCPU would otherwise go on running without
    // another stage-2 walk (hardware faults at once after the TLBI).
    let devices = {
        let mut rt = rt(ci).lock();
        if let Some(bus) = rt.vpci.as_mut() {
            bus.reset();
        }
        cell::vpci_devices(&rt)
    };
    let Some(pl) = cell::payloads() else {
        crate::fatal(format_args!("restart before the payloads were kept"))
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
            .filter(|_| CPU_STATE[n].load(Ordering::SeqCst) != cpu::OFF)
            .and_then(|i| crate::gic::kick(n, i));
        while CPU_STATE[n].load(Ordering::SeqCst) != cpu::OFF && !arch::passed(deadline) {
            core::hint::spin_loop();
        }
        if let Some(k) = kick {
            crate::gic::unkick(&k);
        }
        if CPU_STATE[n].load(Ordering::SeqCst) != cpu::OFF {
            restart_failed(ci, "a CPU did not stop: CPU", n as u64)
        }
    }
    {
        let mut rt = rt(ci).lock();
        POOL.lock().unstash(rt.root, rt.stash);
        rt.state = cell_state::RUNNING;
    }
    crate::mmio::link_reset(ci);
    let boot = boot_cpu(c);
    if boot == me {
        let (entry, x0) = cell::entry(c);
        cell::run_on_this_cpu(ci, entry, x0)
    }
    // The boot CPU called CPU_OFF on its way out; firmware may still be
    // finishing that when CPU_ON comes.
    CPU_STATE[boot].store(cpu::ON_PENDING, Ordering::SeqCst);
    let deadline = arch::deadline_ms(GATHER_MS);
    loop {
        let (entry, x0) = cell::entry(c);
        let r = crate::psci::start_cpu(boot, cell::cfg().board.mpidr[boot], entry, x0);
        if r == crate::psci::SUCCESS {
            park_this_cpu()
        }
        if r != crate::psci::ALREADY_ON || arch::passed(deadline) {
            CPU_STATE[boot].store(cpu::OFF, Ordering::SeqCst);
            restart_failed(ci, "firmware refused CPU_ON for CPU", boot as u64)
        }
    }
}

/// Ends a restart that could not finish: the cell is left failed, with
/// nothing mapped, and this CPU parks. Out of line: three call sites.
#[inline(never)]
fn restart_failed(ci: usize, what: &str, n: u64) -> ! {
    info!("cell {}: restart failed: {what} {n:#x}", name(ci));
    {
        let mut rt = rt(ci).lock();
        rt.state = cell_state::FAILED;
        POOL.lock().unmap_all(rt.root);
        arch::tlb_flush_vm(rt.vttbr);
    }
    comm_region(ci).header.cell_state = cell_state::FAILED;
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);
    cell::retire();
    park_this_cpu()
}

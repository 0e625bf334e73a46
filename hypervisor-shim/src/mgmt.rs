//! Run-time management (docs/management.md): the management function's
//! BAR0 on a granted cell's bus (the model and its checks are vdev's,
//! `cellboot_vdev::pci::mgmt`), and what its commands do to the target:
//! INFO and STATS read, STOP parks the target's CPUs and empties its
//! stage 2 (its ivshmem peers see state 0), START stages it again and
//! starts its boot CPU, LOAD copies an image from the manager's staging
//! window into the stopped target. Every refusal is logged with the
//! requesting cell's name.
//!
//! A command runs on the manager's CPU with the manager's lock dropped
//! (the target's is taken: never two at once); the target is marked busy
//! while it is stopped or started, so a second manager cannot interleave.

use crate::cell;
use crate::guest_mem::GuestRange;
use crate::payload::SetupError;
use crate::percpu::Power;
use crate::reset;
use crate::state::{self, cell_rt, cfg, name};
use crate::{arch, guest_mem, stats};
use cellboot_abi::cell_state;
use cellboot_abi::mgmt::{self, CellStats, cmd, exit, info_flags, reason, status};
use cellboot_vdev::pci::{MgmtWrite, Reply, Request, info_from_config};

/// A trapped access at `ipa` in cell `ci`: `None` when it is not the
/// management function's BAR0; else the value a read returns (0 for a write).
pub fn access(ci: usize, ipa: u64, size: u8, write: bool, value: u64) -> Option<u64> {
    let mut rt = cell_rt(ci).lock();
    let bus = rt.vpci_mut()?;
    bus.mgmt_hit(ipa)?;
    if !write {
        return bus.mgmt_read(ipa, size);
    }
    let w = bus.mgmt_write(ipa, size, value, cfg())?;
    drop(rt);
    match w {
        MgmtWrite::Done => {}
        MgmtWrite::Ignored { reason } => cell_info!(name(ci), "{}", reason),
        MgmtWrite::Refused { command, cell, status } => refused(ci, command, cell, status),
        MgmtWrite::Run(r) => {
            let (st, reply) = carry_out(ci, r);
            let code = code_of(&r);
            if st != status::OK {
                refused(ci, code, r.cell(), st);
            } else if !matches!(code, cmd::INFO | cmd::STATS) {
                cell_info!(
                    name(ci),
                    "mgmt {} of cell {}: done",
                    cmd::name(code),
                    name(r.cell() as usize)
                );
            }
            if let Some(bus) = cell_rt(ci).lock().vpci_mut() {
                bus.mgmt_complete(st, reply);
            }
        }
    }
    Some(0)
}

#[inline(never)]
fn refused(ci: usize, command: u32, target: u32, st: u32) {
    stats::count(exit::DENIED);
    let t = name(target as usize);
    cell_info!(
        name(ci),
        "mgmt {} of cell {} refused: {} (status {})",
        cmd::name(command),
        t,
        status::message(st),
        st as u64
    );
}

fn code_of(r: &Request) -> u32 {
    match r {
        Request::Info { .. } => cmd::INFO,
        Request::Stats { .. } => cmd::STATS,
        Request::Stop { .. } => cmd::STOP,
        Request::Start { .. } => cmd::START,
        Request::Restart { .. } => cmd::RESTART,
        Request::Load { .. } => cmd::LOAD,
        Request::Unload { .. } => cmd::UNLOAD,
    }
}

fn carry_out(me: usize, r: Request) -> (u32, Reply) {
    let t = r.cell() as usize;
    let done = |st| (st, Reply::None);
    match r {
        Request::Info { .. } => match info(t, me) {
            Some(i) => (status::OK, Reply::Info(i)),
            None => done(status::NO_SUCH_CELL),
        },
        Request::Stats { .. } => (status::OK, Reply::Stats(cell_stats(t))),
        Request::Stop { .. } => done(stop(me, t)),
        Request::Start { .. } => done(start(me, t)),
        Request::Restart { .. } => match stop(me, t) {
            status::OK | status::NOT_RUNNING => done(start(me, t)),
            st => done(st),
        },
        Request::Load {
            ipa,
            pa,
            window_pa,
            size,
            first,
            ..
        } => done(load(t, ipa, pa, window_pa, size, first)),
        Request::Unload { .. } => {
            let mut rt = cell_rt(t).lock();
            if rt.is_running() || rt.life().busy {
                return done(status::RUNNING);
            }
            rt.life_mut().num_loaded = 0;
            done(status::OK)
        }
    }
}

fn info(t: usize, me: usize) -> Option<mgmt::CellInfo> {
    let mut i = info_from_config(cfg(), t, me)?;
    let rt = cell_rt(t).lock();
    let life = rt.life();
    i.state = rt.state();
    i.reason = life.reason;
    i.restarts = life.restarts;
    i.loaded_bytes = life.loaded().iter().fold(0u64, |n, &(_, s)| n.saturating_add(s));
    if life.num_loaded != 0 {
        i.flags |= info_flags::LOADED;
    }
    Some(i)
}

fn cell_stats(t: usize) -> CellStats {
    let c = &cfg().cells()[t];
    let (now, hz) = arch::counter();
    let rt = cell_rt(t).lock();
    let life = rt.life();
    CellStats {
        index: t as u32,
        restarts: life.restarts,
        exits: stats::totals(c.cpu_mask, t),
        uptime_ticks: if rt.is_running() {
            now.wrapping_sub(life.started_at)
        } else {
            0
        },
        timer_hz: hz,
    }
}

/// STOP: the target's stage 2 emptied, its CPUs woken to park, its vPCI
/// reset and its ivshmem peers told its state is 0.
fn stop(me: usize, t: usize) -> u32 {
    {
        let mut rt = cell_rt(t).lock();
        if rt.life().busy {
            return status::BUSY;
        }
        if !rt.is_running() {
            return status::NOT_RUNNING;
        }
        rt.set_state(cell_state::SHUT_DOWN);
        rt.life_mut().reason = reason::STOPPED;
        rt.life_mut().busy = true;
        rt.hide_tables();
        arch::tlb_flush_vm(rt.vttbr());
        if let Some(bus) = rt.vpci_mut() {
            bus.reset();
        }
    }
    guest_mem::comm_set_cell_state(t, cell_state::SHUT_DOWN);
    // The manager runs on: never the last cell.
    let _ = state::cell_ended();
    let gathered = reset::gather(t, arch::cpu_index());
    crate::ivshmem::link_reset(t);
    let mut rt = cell_rt(t).lock();
    rt.life_mut().busy = false;
    match gathered {
        Ok(()) => status::OK,
        Err(n) => {
            rt.set_state(cell_state::FAILED);
            rt.life_mut().reason = reason::START_FAILED;
            drop(rt);
            cell_info!(name(me), "mgmt: cell {}: CPU {} did not stop", name(t), n as u64);
            status::FAILED
        }
    }
}

/// START: the target (stopped, every CPU parked) staged again, its
/// stage 2 back, its boot CPU started.
fn start(me: usize, t: usize) -> u32 {
    let c = &cfg().cells()[t];
    {
        let mut rt = cell_rt(t).lock();
        if rt.life().busy {
            return status::BUSY;
        }
        if rt.is_running() {
            return status::RUNNING;
        }
        if (0..arch::MAX_CPUS).any(|n| c.owns_cpu(n) && state::cpu(n).power() != Power::Off) {
            return status::BUSY;
        }
        rt.life_mut().busy = true;
    }
    let staged = reset::restage(t);
    if let Err(SetupError(what, at)) = staged {
        cell_info!(name(me), "mgmt: start of {} failed: {} {:#x}", name(t), what, at);
        return fail(t);
    }
    reset::resume(t);
    state::cell_started();
    if let Err(n) = reset::start_boot_cpu(t) {
        cell_info!(
            name(me),
            "mgmt: start of {}: CPU_ON refused for CPU {}",
            name(t),
            n as u64
        );
        cell::end(t, cell_rt(t).lock(), cell_state::FAILED, reason::START_FAILED);
        cell_rt(t).lock().life_mut().busy = false;
        return status::FAILED;
    }
    cell_rt(t).lock().life_mut().busy = false;
    status::OK
}

fn fail(t: usize) -> u32 {
    let mut rt = cell_rt(t).lock();
    rt.set_state(cell_state::FAILED);
    let life = rt.life_mut();
    life.reason = reason::START_FAILED;
    life.busy = false;
    status::FAILED
}

/// LOAD: `size` bytes from the manager's window (physical `window_pa`) to
/// the stopped target at `pa` (its `ipa`; both ranges checked by the model
/// against the config), remembered for its next start.
fn load(t: usize, ipa: u64, pa: u64, window_pa: u64, size: u64, first: bool) -> u32 {
    let c = &cfg().cells()[t];
    {
        let mut rt = cell_rt(t).lock();
        if rt.life().busy || rt.is_running() {
            return status::RUNNING;
        }
        let life = rt.life_mut();
        // One kernel for a linux or raw cell; images for a jailhouse one.
        let room = if cellboot_abi::is_jailhouse(c) {
            cellboot_abi::MAX_IMAGES
        } else {
            1
        };
        if first || room == 1 {
            life.num_loaded = 0;
        }
        if life.num_loaded >= room {
            return status::TOO_MANY_IMAGES;
        }
        life.busy = true;
    }
    // SAFETY: both ranges are cell memory from the validated config (the
    // model checked them: the target's own RAM, the manager's staging
    // window), outside the shim's, mapped at EL2.
    let (src, dst) = unsafe { (GuestRange::new(window_pa, size), GuestRange::new(pa, size)) };
    dst.copy_from(&src);
    let mut rt = cell_rt(t).lock();
    let life = rt.life_mut();
    let n = life.num_loaded;
    life.loaded[n] = (ipa, size);
    life.num_loaded = n + 1;
    life.busy = false;
    drop(rt);
    status::OK
}

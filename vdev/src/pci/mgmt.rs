//! The management function (`cellboot_abi::mgmt`): its config space and
//! its BAR0 mailbox. The model checks everything the config decides
//! (grants, the target's memory, the window's size) and hands the shim a
//! [`Request`] to carry out; what only the running system knows (is the
//! target running?) the shim decides, then calls [`Mgmt::complete`].
//!
//! Mailbox: IDLE → (COMMAND written, accepted) → BUSY → (`complete`) →
//! DONE. A command written while BUSY is refused with `status::BUSY`
//! (another CPU of the manager got there first); a refused command goes
//! straight to DONE with its status.

use cellboot_abi::mgmt::{self, cmd, load_flags, mailbox, reg, status};
use cellboot_abi::zerocopy::IntoBytes;
use cellboot_abi::{CellConfig, SystemConfig, mem};

use super::config_space::{CMD_MEMORY, REG_BAR0, REG_CAP_PTR, REG_CLASS, REG_COMMAND, REG_HEADER, REG_ID};
use super::config_space::{REG_INTERRUPT, REG_SUBSYSTEM, STS_CAP_LIST, VNDR_CAP_ID};

/// BAR0 address bits: 4 KiB, 32-bit non-prefetchable memory.
const BAR0_ADDR_MASK: u32 = !(mgmt::BAR0_SIZE as u32 - 1);

/// What the function's config space and registers show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MgmtParams {
    /// The manager's own cell index.
    pub self_index: u32,
    pub num_cells: u32,
    /// `CellConfig::manage` of the manager.
    pub grants: u32,
    pub window_ipa: u64,
    pub window_size: u64,
}

impl MgmtParams {
    /// The function of cell `ci` in `sys`, when it was granted any cell and
    /// has a staging window (validation asks for both).
    pub fn from_config(sys: &SystemConfig, ci: usize) -> Option<Self> {
        let c = sys.cells().get(ci)?;
        let w = c.staging_window()?;
        (c.manage != 0).then_some(Self {
            self_index: ci as u32,
            num_cells: sys.num_cells,
            grants: c.manage,
            window_ipa: w.virt,
            window_size: w.size,
        })
    }
}

/// A command the model accepted, for the shim to carry out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Info {
        cell: u32,
    },
    Stats {
        cell: u32,
    },
    Stop {
        cell: u32,
    },
    Start {
        cell: u32,
    },
    Restart {
        cell: u32,
    },
    /// Copy `size` bytes from the start of the staging window (`window_pa`,
    /// the manager's physical address of it) to `pa`, which is `ipa` in the
    /// target: checked to lie in one of the target's own writable RAM
    /// regions. `first`: forget images loaded before.
    Load {
        cell: u32,
        ipa: u64,
        pa: u64,
        window_pa: u64,
        size: u64,
        first: bool,
    },
    Unload {
        cell: u32,
    },
}

impl Request {
    pub fn cell(&self) -> u32 {
        match *self {
            Request::Info { cell }
            | Request::Stats { cell }
            | Request::Stop { cell }
            | Request::Start { cell }
            | Request::Restart { cell }
            | Request::Load { cell, .. }
            | Request::Unload { cell } => cell,
        }
    }
}

/// What a BAR0 write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MgmtWrite {
    /// A register took the value (or a read-only one dropped it silently).
    Done,
    /// An access the registers do not take; `reason` is for the log.
    Ignored { reason: &'static str },
    /// The command was refused with `status` (the shim logs it with the
    /// requesting cell's name: [`Mgmt::refusal`] has the words).
    Refused { command: u32, cell: u32, status: u32 },
    /// Carry this out, then [`Mgmt::complete`].
    Run(Request),
}

/// A command's result record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    None,
    Info(mgmt::CellInfo),
    Stats(mgmt::CellStats),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Mgmt {
    pub params: MgmtParams,
    pub command: u16,
    pub bar0: u32,
    pub interrupt_line: u8,
    arg_cell: u32,
    arg_flags: u32,
    arg_ipa: u64,
    arg_size: u64,
    mailbox: u32,
    status: u32,
    seq: u32,
    result: [u8; mgmt::RESULT_LEN],
}

impl Mgmt {
    pub fn new(params: MgmtParams) -> Self {
        Self {
            params,
            command: 0,
            bar0: 0,
            interrupt_line: 0,
            arg_cell: 0,
            arg_flags: 0,
            arg_ipa: 0,
            arg_size: 0,
            mailbox: mailbox::IDLE,
            status: status::OK,
            seq: 0,
            result: [0; mgmt::RESULT_LEN],
        }
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.params);
    }

    pub fn memory_enabled(&self) -> bool {
        self.command & CMD_MEMORY != 0
    }

    pub fn bar0(&self) -> u32 {
        self.bar0
    }

    // --- config space -----------------------------------------------------

    pub fn cfg_read_dword(&self, reg: u16) -> u32 {
        let p = &self.params;
        let id = u32::from(mgmt::DEVICE_ID) << 16 | u32::from(mgmt::VENDOR_ID);
        let cap = |off: u16| reg & !3 == mgmt::CAP_OFFSET + off;
        match reg & !3 {
            REG_ID | REG_SUBSYSTEM => id,
            REG_COMMAND => u32::from(STS_CAP_LIST) << 16 | u32::from(self.command),
            REG_CLASS => mgmt::CLASS_CODE << 8,
            REG_HEADER => 0,
            REG_BAR0 => self.bar0,
            REG_CAP_PTR => u32::from(mgmt::CAP_OFFSET),
            // No interrupt pin: commands complete inside the trapped store.
            REG_INTERRUPT => u32::from(self.interrupt_line),
            r if r == mgmt::CAP_OFFSET => u32::from(mgmt::CAP_LEN) << 16 | u32::from(VNDR_CAP_ID),
            _ if cap(0x04) => mgmt::VERSION,
            _ if cap(0x08) => p.window_ipa as u32,
            _ if cap(0x0c) => (p.window_ipa >> 32) as u32,
            _ if cap(0x10) => p.window_size as u32,
            _ if cap(0x14) => (p.window_size >> 32) as u32,
            _ => 0,
        }
    }

    pub fn cfg_write_dword(&mut self, reg: u16, value: u32, mask: u32) {
        let merged = (self.cfg_read_dword(reg) & !mask) | (value & mask);
        match reg & !3 {
            REG_COMMAND if mask & 0xffff != 0 => self.command = merged as u16 & CMD_MEMORY,
            REG_BAR0 => self.bar0 = merged & BAR0_ADDR_MASK,
            REG_INTERRUPT => self.interrupt_line = merged as u8,
            _ => {}
        }
    }

    // --- BAR0 ---------------------------------------------------------------

    /// A register read at `off` (< 4 KiB): 4-byte registers take aligned 4-byte
    /// reads, 64-bit ones 8-byte reads or their 4-byte halves, the result
    /// area any aligned 1/2/4/8-byte read. Anything else reads 0.
    pub fn reg_read(&self, off: u64, size: u8) -> u64 {
        if !matches!(size, 1 | 2 | 4 | 8) || !off.is_multiple_of(u64::from(size)) {
            return 0;
        }
        let result_end = reg::RESULT + mgmt::RESULT_LEN as u64;
        if (reg::RESULT..result_end).contains(&off) {
            let at = (off - reg::RESULT) as usize;
            return self.result[at..at + usize::from(size)]
                .iter()
                .rev()
                .fold(0u64, |v, &b| v << 8 | u64::from(b));
        }
        let p = &self.params;
        let wide = |r: u64, v: u64| -> Option<u64> {
            match (off.checked_sub(r)?, size) {
                (0, 8) => Some(v),
                (0, 4) => Some(v & 0xffff_ffff),
                (4, 4) => Some(v >> 32),
                _ => None,
            }
        };
        let narrow = |v: u32| (size == 4).then_some(u64::from(v));
        let v = match off & !7 {
            reg::ARG_IPA => wide(reg::ARG_IPA, self.arg_ipa),
            reg::ARG_SIZE => wide(reg::ARG_SIZE, self.arg_size),
            reg::WINDOW_IPA => wide(reg::WINDOW_IPA, p.window_ipa),
            reg::WINDOW_SIZE => wide(reg::WINDOW_SIZE, p.window_size),
            _ => match off {
                reg::MAGIC => narrow(mgmt::MAGIC),
                reg::VERSION => narrow(mgmt::VERSION),
                reg::NUM_CELLS => narrow(p.num_cells),
                reg::SELF => narrow(p.self_index),
                reg::GRANTS => narrow(p.grants),
                reg::MAILBOX => narrow(self.mailbox),
                reg::STATUS => narrow(self.status),
                reg::SEQ => narrow(self.seq),
                reg::ARG_CELL => narrow(self.arg_cell),
                reg::ARG_FLAGS => narrow(self.arg_flags),
                _ => None,
            },
        };
        v.unwrap_or(0)
    }

    /// A register write. `sys` is the validated system config (the
    /// target's memory regions, where the staging window is).
    pub fn reg_write(&mut self, off: u64, size: u8, value: u64, sys: &SystemConfig) -> MgmtWrite {
        let set_wide = |cur: &mut u64, r: u64| -> bool {
            match (off.checked_sub(r), size) {
                (Some(0), 8) => *cur = value,
                (Some(0), 4) => *cur = (*cur & !0xffff_ffff) | (value & 0xffff_ffff),
                (Some(4), 4) => *cur = (*cur & 0xffff_ffff) | (value << 32),
                _ => return false,
            }
            true
        };
        let ok = match off & !7 {
            reg::ARG_IPA => set_wide(&mut self.arg_ipa, reg::ARG_IPA),
            reg::ARG_SIZE => set_wide(&mut self.arg_size, reg::ARG_SIZE),
            _ if size != 4 || !off.is_multiple_of(4) => false,
            _ => match off {
                reg::ARG_CELL => {
                    self.arg_cell = value as u32;
                    true
                }
                reg::ARG_FLAGS => {
                    self.arg_flags = value as u32;
                    true
                }
                reg::COMMAND => return self.command(value as u32, sys),
                _ if off < reg::RESULT => return MgmtWrite::Done, // read-only registers
                _ => false,
            },
        };
        if ok {
            MgmtWrite::Done
        } else {
            MgmtWrite::Ignored {
                reason: "mgmt: no register takes this access (offset/size)",
            }
        }
    }

    fn command(&mut self, code: u32, sys: &SystemConfig) -> MgmtWrite {
        let cell = self.arg_cell;
        if self.mailbox == mailbox::BUSY {
            // The running command's result stays where it will land.
            return MgmtWrite::Refused {
                command: code,
                cell,
                status: status::BUSY,
            };
        }
        match self.accept(code, sys) {
            Ok(r) => {
                self.mailbox = mailbox::BUSY;
                MgmtWrite::Run(r)
            }
            Err(s) => {
                self.finish(s, Reply::None);
                MgmtWrite::Refused {
                    command: code,
                    cell,
                    status: s,
                }
            }
        }
    }

    /// The checks the config decides.
    fn accept(&self, code: u32, sys: &SystemConfig) -> Result<Request, u32> {
        let p = &self.params;
        let cell = self.arg_cell;
        if !matches!(
            code,
            cmd::INFO | cmd::STATS | cmd::STOP | cmd::START | cmd::RESTART | cmd::LOAD | cmd::UNLOAD
        ) {
            return Err(status::UNKNOWN_COMMAND);
        }
        let target = sys
            .cells()
            .get(cell as usize)
            .filter(|_| cell < p.num_cells)
            .ok_or(status::NO_SUCH_CELL)?;
        if code == cmd::INFO {
            return Ok(Request::Info { cell });
        }
        let granted = cell < 32 && p.grants & (1 << cell) != 0;
        if code == cmd::STATS && (granted || cell == p.self_index) {
            return Ok(Request::Stats { cell });
        }
        if cell == p.self_index {
            return Err(status::SELF);
        }
        if !granted {
            return Err(status::NOT_GRANTED);
        }
        Ok(match code {
            cmd::STOP => Request::Stop { cell },
            cmd::START => Request::Start { cell },
            cmd::RESTART => Request::Restart { cell },
            cmd::UNLOAD => Request::Unload { cell },
            _ => {
                let (ipa, size) = (self.arg_ipa, self.arg_size);
                if size == 0 {
                    return Err(status::EMPTY);
                }
                if size > p.window_size {
                    return Err(status::TOO_LARGE);
                }
                let pa = load_target(target, ipa, size).ok_or(status::OUTSIDE_RAM)?;
                if over_loader(target, ipa, size) {
                    return Err(status::LOADER_AREA);
                }
                let me = &sys.cells()[p.self_index as usize];
                let window_pa = me.staging_window().ok_or(status::FAILED)?.phys;
                Request::Load {
                    cell,
                    ipa,
                    pa,
                    window_pa,
                    size,
                    first: self.arg_flags & load_flags::FIRST != 0,
                }
            }
        })
    }

    /// The shim's answer to the [`Request`] it was handed.
    pub fn complete(&mut self, status: u32, reply: Reply) {
        self.finish(status, reply);
    }

    fn finish(&mut self, status: u32, reply: Reply) {
        self.result = [0; mgmt::RESULT_LEN];
        let bytes = match &reply {
            Reply::None => &[][..],
            Reply::Info(i) => i.as_bytes(),
            Reply::Stats(s) => s.as_bytes(),
        };
        self.result[..bytes.len()].copy_from_slice(bytes);
        self.status = status;
        self.mailbox = mailbox::DONE;
        self.seq = self.seq.wrapping_add(1);
    }
}

/// The physical address of `[ipa, ipa + size)` when it lies in one of
/// `target`'s own writable memory regions: not a device, not memory
/// shared with another cell (a load would reach the peer), not a
/// staging window.
pub fn load_target(target: &CellConfig, ipa: u64, size: u64) -> Option<u64> {
    let end = ipa.checked_add(size)?;
    target.mem_regions().iter().find_map(|r| {
        let own = r.flags & (mem::IO | mem::SHARED | mem::STAGING) == 0 && r.flags & mem::WRITE != 0;
        (own && ipa >= r.virt && end <= r.virt_end()).then(|| r.phys + (ipa - r.virt))
    })
}

/// Whether `[ipa, ipa + size)` covers the 2 MiB at a linux or raw cell's
/// `loader_ipa`, where every start copies the loader first.
pub fn over_loader(target: &CellConfig, ipa: u64, size: u64) -> bool {
    const LOADER_ROOM: u64 = 2 << 20;
    !cellboot_abi::is_jailhouse(target)
        && ipa < target.loader_ipa.saturating_add(LOADER_ROOM)
        && target.loader_ipa < ipa.saturating_add(size)
}

/// The static part of a cell's [`mgmt::CellInfo`] as manager `me` sees it:
/// name, index, boot kind, CPUs, RAM, flags MANAGED/SELF. The shim fills
/// in state, reason, restarts, loaded bytes (and `LOADED`).
pub fn info_from_config(sys: &SystemConfig, cell: usize, me: usize) -> Option<mgmt::CellInfo> {
    let c = sys.cells().get(cell)?;
    let ram = c
        .mem_regions()
        .iter()
        .filter(|r| r.flags & mem::RAM != 0 && r.flags & (mem::IO | mem::SHARED) == 0);
    let mut flags = 0;
    if sys.cells().get(me).is_some_and(|m| m.manages(cell)) {
        flags |= mgmt::info_flags::MANAGED;
    }
    if cell == me {
        flags |= mgmt::info_flags::SELF;
    }
    Some(mgmt::CellInfo {
        name: c.name,
        index: cell as u32,
        state: 0,
        reason: 0,
        restarts: 0,
        boot_kind: c.boot.kind,
        flags,
        cpu_mask: c.cpu_mask,
        ram_bytes: ram.clone().fold(0u64, |n, r| n.saturating_add(r.size)),
        ram_ipa: ram.map(|r| r.virt).next().unwrap_or(0),
        loaded_bytes: 0,
    })
}

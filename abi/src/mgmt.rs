//! The management PCI function: how a cell granted control of others
//! (`CellConfig::manage`) lists, inspects, stops, starts and loads them
//! from its user space, with no kernel module (docs/management.md).
//!
//! The function sits on the manager's virtual bus only, at device
//! [`PCI_DEVICE`]. BAR0 is one 4 KiB page of registers, trapped like
//! ivshmem's: a command is a mailbox transaction (arguments, then the
//! command word; the shim carries it out before the store returns; status
//! and result record read back). Images travel through the staging window,
//! a region of the manager's own memory flagged [`crate::mem::STAGING`],
//! whose IPA and size BAR0 and the vendor capability give: the manager
//! writes an image there, the shim copies it into the stopped target.
//! Nothing ever copies the other way.
//!
//! Every record here is `repr(C)`, little-endian, read with `zerocopy` by
//! the shim, `cellctl` and the tests alike.

use crate::config::NAME_LEN;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// PCI vendor ID of the function. cellboot has no PCI-SIG vendor ID; the
/// function only ever exists on a cell's virtual bus, beside cellboot's
/// own ivshmem functions, so what matters is that no driver binds it and
/// that nothing else answers to it there. 0xce11 ("cell") is no vendor in
/// the pci.ids database and matches no Linux driver (docs/management.md).
pub const VENDOR_ID: u16 = 0xce11;
/// PCI device ID: the management function, protocol [`VERSION`].
pub const DEVICE_ID: u16 = 0x0001;
/// Class code: base class 0x08 (system peripheral), sub-class 0x80
/// (other), programming interface 0.
pub const CLASS_CODE: u32 = 0x08_80_00;
/// Device number on the manager's bus 0 (function 0): the last one, so
/// ivshmem links keep numbering from 0.
pub const PCI_DEVICE: u8 = 31;
/// Vendor-specific capability (id 0x09) at config offset 0x40:
/// +2 length, +4 protocol version (u32), +8 staging window IPA (u64),
/// +0x10 staging window size (u64).
pub const CAP_OFFSET: u16 = 0x40;
pub const CAP_LEN: u8 = 0x18;
/// Protocol version in [`reg::VERSION`] and the capability.
pub const VERSION: u32 = 1;
/// `reg::MAGIC` reads "CBMG".
pub const MAGIC: u32 = u32::from_le_bytes(*b"CBMG");
/// Size of BAR0 (one page the manager maps).
pub const BAR0_SIZE: u64 = 0x1000;

/// BAR0 register offsets. Registers are 32 bits wide unless said; 64-bit
/// ones may be accessed as one 64-bit or two 32-bit halves (low first).
pub mod reg {
    /// RO [`super::MAGIC`].
    pub const MAGIC: u64 = 0x00;
    /// RO [`super::VERSION`].
    pub const VERSION: u64 = 0x04;
    /// RO: cells in the system.
    pub const NUM_CELLS: u64 = 0x08;
    /// RO: the manager's own cell index.
    pub const SELF: u64 = 0x0c;
    /// RO: bit `i` set: this manager may control cell `i`.
    pub const GRANTS: u64 = 0x10;
    /// RO: [`super::mailbox`] state.
    pub const MAILBOX: u64 = 0x14;
    /// RO: status of the last command ([`super::status`]).
    pub const STATUS: u64 = 0x18;
    /// RO: commands completed so far (wraps), so a reader can tell whose
    /// result it sees.
    pub const SEQ: u64 = 0x1c;
    /// RW: the target cell index.
    pub const ARG_CELL: u64 = 0x20;
    /// RW: [`super::load_flags`] for LOAD.
    pub const ARG_FLAGS: u64 = 0x24;
    /// RW 64: target IPA for LOAD.
    pub const ARG_IPA: u64 = 0x28;
    /// RW 64: image size for LOAD (bytes at the start of the window).
    pub const ARG_SIZE: u64 = 0x30;
    /// RO 64: the staging window's IPA in the manager.
    pub const WINDOW_IPA: u64 = 0x38;
    /// RO 64: the staging window's size.
    pub const WINDOW_SIZE: u64 = 0x40;
    /// WO: writing a [`super::cmd`] code runs it.
    pub const COMMAND: u64 = 0x48;
    /// RO: the last command's result record ([`super::CellInfo`] or
    /// [`super::CellStats`]), [`super::RESULT_LEN`] bytes.
    pub const RESULT: u64 = 0x100;
}

/// Bytes of the result area at [`reg::RESULT`].
pub const RESULT_LEN: usize = 0x100;

/// Command codes written to [`reg::COMMAND`].
pub mod cmd {
    /// Result: [`super::CellInfo`] of `ARG_CELL` (any cell: names and
    /// states are no secret to a manager; the `MANAGED` flag says which
    /// it may control).
    pub const INFO: u32 = 1;
    /// Result: [`super::CellStats`] of `ARG_CELL` (a granted cell).
    pub const STATS: u32 = 2;
    /// Parks the target's CPUs and empties its stage 2 (it must be running).
    pub const STOP: u32 = 3;
    /// Boots a stopped target again from its payloads (or its loaded image).
    pub const START: u32 = 4;
    /// STOP then START (a running target) or START (a stopped one).
    pub const RESTART: u32 = 5;
    /// Copies `ARG_SIZE` bytes from the start of the window to `ARG_IPA`
    /// of the stopped target; the next START boots it.
    pub const LOAD: u32 = 6;
    /// Forgets loaded images: the next START uses the config's payloads.
    pub const UNLOAD: u32 = 7;

    /// The name of a command code, for logs and `cellctl`.
    pub fn name(code: u32) -> &'static str {
        match code {
            INFO => "INFO",
            STATS => "STATS",
            STOP => "STOP",
            START => "START",
            RESTART => "RESTART",
            LOAD => "LOAD",
            UNLOAD => "UNLOAD",
            _ => "unknown command",
        }
    }
}

/// [`reg::MAILBOX`] states. A command runs to completion inside the store
/// that writes it, so a reader normally sees IDLE or DONE; BUSY is what
/// another CPU of the manager sees meanwhile (its command is refused).
pub mod mailbox {
    pub const IDLE: u32 = 0;
    pub const BUSY: u32 = 1;
    pub const DONE: u32 = 2;
}

/// [`reg::ARG_FLAGS`] bits for LOAD.
pub mod load_flags {
    /// Forget images loaded before this one (a new set begins).
    pub const FIRST: u32 = 1 << 0;
}

/// [`reg::STATUS`] codes. Every refusal is also logged by the shim with
/// the requesting cell's name.
pub mod status {
    pub const OK: u32 = 0;
    pub const UNKNOWN_COMMAND: u32 = 1;
    pub const NO_SUCH_CELL: u32 = 2;
    /// The manager was not granted this cell.
    pub const NOT_GRANTED: u32 = 3;
    /// A cell cannot manage itself.
    pub const SELF: u32 = 4;
    /// Another command is in progress.
    pub const BUSY: u32 = 5;
    /// LOAD or START needs a stopped target.
    pub const RUNNING: u32 = 6;
    /// STOP needs a running target.
    pub const NOT_RUNNING: u32 = 7;
    /// LOAD: the range is not inside one writable RAM region of the target.
    pub const OUTSIDE_RAM: u32 = 8;
    /// LOAD: the image is larger than the staging window.
    pub const TOO_LARGE: u32 = 9;
    /// LOAD: size 0.
    pub const EMPTY: u32 = 10;
    /// LOAD: no room for another image (jailhouse kind: `MAX_IMAGES`).
    pub const TOO_MANY_IMAGES: u32 = 11;
    /// The shim could not carry it out (the log says why; a START that
    /// fails leaves the target failed).
    pub const FAILED: u32 = 12;
    /// LOAD: the range covers the loader's 2 MiB at `loader_ipa` (a linux
    /// or raw cell's loader is copied there first at every start).
    pub const LOADER_AREA: u32 = 13;

    /// One line for each code, for logs and `cellctl`.
    pub fn message(code: u32) -> &'static str {
        match code {
            OK => "ok",
            UNKNOWN_COMMAND => "unknown command",
            NO_SUCH_CELL => "no such cell",
            NOT_GRANTED => "not granted: the config gives this cell no control of it",
            SELF => "a cell cannot manage itself",
            BUSY => "another command is in progress",
            RUNNING => "the cell is running: stop it first",
            NOT_RUNNING => "the cell is not running",
            OUTSIDE_RAM => "the image range is not inside one of the cell's RAM regions",
            TOO_LARGE => "the image is larger than the staging window",
            EMPTY => "the image is empty",
            TOO_MANY_IMAGES => "no room for another image",
            FAILED => "the shim could not do it (see its log)",
            LOADER_AREA => "the image range covers the cell's loader (2 MiB at loader_ipa)",
            _ => "unknown status",
        }
    }
}

/// Why a cell is not running ([`CellInfo::reason`]).
pub mod reason {
    pub const NONE: u32 = 0;
    /// Stopped by a manager.
    pub const STOPPED: u32 = 1;
    /// It shut itself down (PSCI SYSTEM_OFF or its last CPU off).
    pub const SHUT_DOWN: u32 = 2;
    /// A fatal fault (an access it could not be given an abort for).
    pub const FAULT: u32 = 3;
    /// Its loader gave up (the comm region's error says why).
    pub const LOADER: u32 = 4;
    /// A restart or start could not finish.
    pub const START_FAILED: u32 = 5;

    pub fn name(code: u32) -> &'static str {
        match code {
            NONE => "",
            STOPPED => "stopped by a manager",
            SHUT_DOWN => "shut itself down",
            FAULT => "fatal fault",
            LOADER => "loader failed",
            START_FAILED => "start failed",
            _ => "unknown reason",
        }
    }
}

/// [`CellInfo::flags`] bits.
pub mod info_flags {
    /// The requesting manager may control this cell.
    pub const MANAGED: u32 = 1 << 0;
    /// This is the requesting manager itself.
    pub const SELF: u32 = 1 << 1;
    /// A loaded image replaces the config's kernel at the next start.
    pub const LOADED: u32 = 1 << 2;
}

/// Result of INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CellInfo {
    pub name: [u8; NAME_LEN],
    pub index: u32,
    /// `crate::cell_state` (Jailhouse's values: 0 running, 2 shut down, 3 failed).
    pub state: u32,
    /// [`reason`] when not running.
    pub reason: u32,
    /// Starts after the first (its own resets and managers' restarts).
    pub restarts: u32,
    /// `crate::boot_kind`.
    pub boot_kind: u32,
    /// [`info_flags`].
    pub flags: u32,
    /// Physical CPUs (bit `i`: CPU `i`).
    pub cpu_mask: u64,
    /// Bytes of RAM (its regions flagged RAM).
    pub ram_bytes: u64,
    /// IPA of its first RAM region (what a kernel's run address is
    /// counted from: `crate::staging::run_ipa`).
    pub ram_ipa: u64,
    /// Bytes of images loaded for the next start (0: the config's payloads).
    pub loaded_bytes: u64,
}

/// What [`CellStats::exits`] counts, by index. Kept by the shim per cell,
/// one plain increment per trap on the CPU that took it.
pub mod exit {
    /// Trapped vPCI accesses: ECAM writes and reads beyond bus 0, BAR0
    /// registers (ivshmem and this function).
    pub const MMIO: usize = 0;
    /// Trapped GIC distributor accesses.
    pub const GICD: usize = 1;
    /// PSCI calls (SMC or HVC).
    pub const PSCI: usize = 2;
    /// cellboot / Jailhouse hypercalls.
    pub const HYPERCALL: usize = 3;
    /// Accesses and calls refused (an abort injected or the cell stopped).
    pub const DENIED: usize = 4;
    /// ivshmem doorbells this cell rang.
    pub const DOORBELL_SENT: usize = 5;
    /// ivshmem doorbells and state-change interrupts raised in this cell.
    pub const DOORBELL_RECEIVED: usize = 6;
    /// Other traps (GICv3 SGI register writes, set/way cache maintenance,
    /// system registers).
    pub const OTHER: usize = 7;
    /// Number of counters.
    pub const COUNT: usize = 8;

    /// Column names, in index order (`cellctl stats`, `--json` keys).
    pub const NAMES: [&str; COUNT] = [
        "mmio",
        "gicd",
        "psci",
        "hypercall",
        "denied",
        "doorbells_sent",
        "doorbells_received",
        "other",
    ];
}

/// Result of STATS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CellStats {
    pub index: u32,
    pub restarts: u32,
    /// Counters since boot, by [`exit`] index (they survive restarts).
    pub exits: [u64; exit::COUNT],
    /// CNTVCT_EL0 ticks since the cell last started, and their frequency.
    pub uptime_ticks: u64,
    pub timer_hz: u64,
}

const _: () = assert!(core::mem::size_of::<CellInfo>() <= RESULT_LEN);
const _: () = assert!(core::mem::size_of::<CellStats>() <= RESULT_LEN);

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // fixed test values
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn records_have_the_documented_layout() {
        assert_eq!(offset_of!(CellInfo, name), 0);
        assert_eq!(offset_of!(CellInfo, index), 32);
        assert_eq!(offset_of!(CellInfo, state), 36);
        assert_eq!(offset_of!(CellInfo, reason), 40);
        assert_eq!(offset_of!(CellInfo, restarts), 44);
        assert_eq!(offset_of!(CellInfo, boot_kind), 48);
        assert_eq!(offset_of!(CellInfo, flags), 52);
        assert_eq!(offset_of!(CellInfo, cpu_mask), 56);
        assert_eq!(offset_of!(CellInfo, ram_bytes), 64);
        assert_eq!(offset_of!(CellInfo, ram_ipa), 72);
        assert_eq!(offset_of!(CellInfo, loaded_bytes), 80);
        assert_eq!(size_of::<CellInfo>(), 88);
        assert_eq!(offset_of!(CellStats, exits), 8);
        assert_eq!(offset_of!(CellStats, uptime_ticks), 72);
        assert_eq!(size_of::<CellStats>(), 88);
    }

    #[test]
    fn registers_do_not_overlap_and_64_bit_ones_are_aligned() {
        let regs = [
            (reg::MAGIC, 4),
            (reg::VERSION, 4),
            (reg::NUM_CELLS, 4),
            (reg::SELF, 4),
            (reg::GRANTS, 4),
            (reg::MAILBOX, 4),
            (reg::STATUS, 4),
            (reg::SEQ, 4),
            (reg::ARG_CELL, 4),
            (reg::ARG_FLAGS, 4),
            (reg::ARG_IPA, 8),
            (reg::ARG_SIZE, 8),
            (reg::WINDOW_IPA, 8),
            (reg::WINDOW_SIZE, 8),
            (reg::COMMAND, 4),
            (reg::RESULT, RESULT_LEN as u64),
        ];
        for (i, &(a, la)) in regs.iter().enumerate() {
            assert_eq!(a % la.min(8), 0, "register {a:#x} misaligned");
            assert!(a + la <= BAR0_SIZE);
            for &(b, lb) in &regs[i + 1..] {
                assert!(a + la <= b || b + lb <= a, "{a:#x} and {b:#x} overlap");
            }
        }
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(MAGIC.to_le_bytes(), *b"CBMG");
        assert_ne!((VENDOR_ID, DEVICE_ID), (0x110a, 0x4106), "not ivshmem's ID");
        assert_eq!(CLASS_CODE >> 16, 0x08, "system peripheral");
        for c in [
            cmd::INFO,
            cmd::STATS,
            cmd::STOP,
            cmd::START,
            cmd::RESTART,
            cmd::LOAD,
            cmd::UNLOAD,
        ] {
            assert_ne!(cmd::name(c), "unknown command");
        }
        assert_eq!(cmd::name(0), "unknown command");
        for s in 0..=status::LOADER_AREA {
            assert_ne!(status::message(s), "unknown status", "status {s}");
        }
        assert_eq!(status::message(status::LOADER_AREA + 1), "unknown status");
        assert_eq!(exit::NAMES.len(), exit::COUNT);
    }
}

//! The shim's shared state, the layer every other module builds on: the
//! validated config (the registry of cells, CPUs and links), one
//! [`PerCpu`] per physical CPU, one [`CellRt`] per cell behind its lock,
//! how many cells run, and the payloads kept for restarts.
//!
//! Lock order (the shim's only locks; take them in this order, release
//! before taking an earlier one):
//! 1. one cell's runtime lock ([`cell_rt`]); never two cells' at once (a
//!    doorbell to a peer drops its own first);
//! 2. the stage-2 table pool (`stage2::POOL`);
//! 3. the GIC distributor lock (`gic`), taken with no other lock held;
//! 4. the console lock (`console`), innermost: lines are printed under any
//!    of the above.
//!
//! The comm-region scratch (`cell`) is a leaf taken under 1 and 2 with
//! nothing else taken while it is held.
//!
//! `PerCpu` and the run counter are atomics, no lock.

use crate::arch::MAX_CPUS;
use crate::payload::Payloads;
use crate::percpu::PerCpu;
use cellboot_abi::{CellConfig, MAX_CELLS, SystemConfig, bytes_field, cell_state};
use cellboot_vdev::pci::{EcamImage, VirtualPciBus};
use core::sync::atomic::{AtomicU32, Ordering};

static CONFIG: spin::Once<&'static SystemConfig> = spin::Once::new();

pub fn set_config(cfg: &'static SystemConfig) {
    CONFIG.call_once(|| cfg);
}

/// The validated system config (set once at boot, before any cell runs).
pub fn cfg() -> &'static SystemConfig {
    match CONFIG.get() {
        Some(c) => c,
        None => fatal!("system config used before it was validated"),
    }
}

pub fn name(ci: usize) -> &'static [u8] {
    cfg().cells().get(ci).map_or(b"?", |c| bytes_field(&c.name))
}

/// Physical CPU index of an MPIDR affinity value.
pub fn cpu_of_mpidr(mpidr: u64) -> Option<usize> {
    let b = &cfg().board;
    let n = (b.num_cpus as usize).min(MAX_CPUS);
    b.mpidr[..n]
        .iter()
        .position(|&m| m & 0xff_00ff_ffff == mpidr & 0xff_00ff_ffff)
}

/// The cell's boot CPU (lowest CPU it owns).
pub fn boot_cpu(c: &CellConfig) -> usize {
    c.cpu_mask.trailing_zeros() as usize
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];

/// Physical CPU `i`'s state.
pub fn cpu(i: usize) -> &'static PerCpu {
    &CPUS[i]
}

/// Physical CPU `i`'s state, `None` past the last CPU the shim supports.
pub fn try_cpu(i: usize) -> Option<&'static PerCpu> {
    CPUS.get(i)
}

/// Per-cell runtime state, one lock per cell ([`cell_rt`]).
pub struct CellRt {
    state: u32,
    vttbr: u64,
    root: usize,
    /// Stage-2 table that keeps the root's entries while a restart has
    /// taken them away from the cell's CPUs.
    stash: usize,
    /// DEBUG_CONSOLE_PUTC line buffer.
    line: [u8; 160],
    line_len: usize,
    vpci: Option<VirtualPciBus>,
    /// Mediation refusals seen (only the first few are logged: Linux's GIC
    /// init touches every SPI of the board).
    gicd_denials: u32,
    /// The stage-2 root's entries are in the stash table (the cell stopped).
    #[cfg(feature = "mgmt")]
    stashed: bool,
    /// Run-time management (`mgmt`): why the cell is not running, starts
    /// after the first, when the last began (CNTPCT), a start/stop under
    /// way, images loaded for the next start.
    life: Life,
}

/// What run-time management reports and changes of a cell (`mgmt`).
#[cfg(feature = "mgmt")]
#[derive(Clone, Copy)]
pub struct Life {
    /// `cellboot_abi::mgmt::reason`.
    pub reason: u32,
    pub restarts: u32,
    pub started_at: u64,
    /// A manager is stopping or starting the cell (its lock is dropped
    /// meanwhile): other commands on it are refused.
    pub busy: bool,
    /// Images `cellctl load` put into the cell's RAM: (IPA, size); the next
    /// start boots them instead of the config's kernel (jailhouse kind:
    /// images).
    pub loaded: [(u64, u64); cellboot_abi::MAX_IMAGES],
    pub num_loaded: usize,
}

#[cfg(feature = "mgmt")]
impl Life {
    pub const NEW: Life = Life {
        reason: 0,
        restarts: 0,
        started_at: 0,
        busy: false,
        loaded: [(0, 0); cellboot_abi::MAX_IMAGES],
        num_loaded: 0,
    };

    pub fn loaded(&self) -> &[(u64, u64)] {
        &self.loaded[..self.num_loaded.min(cellboot_abi::MAX_IMAGES)]
    }
}

/// Without run-time management there is nothing to keep.
#[cfg(not(feature = "mgmt"))]
#[derive(Clone, Copy)]
pub struct Life;

#[cfg(not(feature = "mgmt"))]
impl Life {
    pub const NEW: Life = Life;

    pub fn loaded(&self) -> &[(u64, u64)] {
        &[]
    }
}

impl CellRt {
    /// Built field by field at run time, not a `const`: a constant would be
    /// a 2.8 KiB template in the image, copied in (see [`cell_rt`]).
    fn empty(state: u32) -> CellRt {
        CellRt {
            state,
            vttbr: 0,
            root: 0,
            stash: 0,
            line: [0; 160],
            line_len: 0,
            vpci: None,
            gicd_denials: 0,
            #[cfg(feature = "mgmt")]
            stashed: false,
            life: Life::NEW,
        }
    }

    /// `cellboot_abi::cell_state` of the cell.
    pub fn state(&self) -> u32 {
        self.state
    }

    pub fn set_state(&mut self, s: u32) {
        self.state = s;
    }

    pub fn is_running(&self) -> bool {
        self.state == cell_state::RUNNING
    }

    /// The cell's stage-2 root and stash tables and its VTTBR_EL2, set once
    /// when the cell is built.
    pub fn set_tables(&mut self, root: usize, stash: usize, vttbr: u64) {
        (self.root, self.stash, self.vttbr) = (root, stash, vttbr);
    }

    pub fn root(&self) -> usize {
        self.root
    }

    pub fn vttbr(&self) -> u64 {
        self.vttbr
    }

    /// Takes every stage-2 mapping away from the cell (after a TLB flush
    /// its CPUs fault and park); `show_tables` gives them back unchanged.
    /// With run-time management a stopped or failed cell may start again,
    /// so the entries are kept aside once, whoever stops it first.
    #[inline(always)]
    pub fn hide_tables(&mut self) {
        #[cfg(feature = "mgmt")]
        {
            if self.stashed {
                return;
            }
            self.stashed = true;
        }
        crate::stage2::POOL.lock().stash(self.root, self.stash);
    }

    #[inline(always)]
    pub fn show_tables(&mut self) {
        #[cfg(feature = "mgmt")]
        {
            self.stashed = false;
        }
        crate::stage2::POOL.lock().unstash(self.root, self.stash);
    }

    pub fn life(&self) -> &Life {
        &self.life
    }

    #[cfg(feature = "mgmt")]
    pub fn life_mut(&mut self) -> &mut Life {
        &mut self.life
    }

    pub fn set_vpci(&mut self, bus: VirtualPciBus) {
        self.vpci = Some(bus);
    }

    pub fn vpci(&self) -> Option<&VirtualPciBus> {
        self.vpci.as_ref()
    }

    pub fn vpci_mut(&mut self) -> Option<&mut VirtualPciBus> {
        self.vpci.as_mut()
    }

    /// The device numbers on the cell's vPCI bus (at most 8, as the comm
    /// region lists them), and how many.
    pub fn vpci_devices(&self) -> ([u8; 8], usize) {
        let mut devices = [0u8; 8];
        let mut ndev = 0;
        for d in self.vpci.iter().flat_map(|bus| bus.devices()) {
            if ndev < devices.len() {
                devices[ndev] = d;
                ndev += 1;
            }
        }
        (devices, ndev)
    }

    /// Counts one more GICD refusal; the count so far.
    pub fn count_gicd_denial(&mut self) -> u32 {
        self.gicd_denials = self.gicd_denials.saturating_add(1);
        self.gicd_denials
    }

    /// One DEBUG_CONSOLE_PUTC byte: `emit` gets the line when `b` ends it
    /// or the buffer is full.
    pub fn put_console_byte(&mut self, b: u8, emit: impl FnOnce(&[u8])) {
        if b == b'\n' || self.line_len == self.line.len() {
            emit(&self.line[..self.line_len]);
            self.line_len = 0;
            if b == b'\n' {
                return;
            }
        }
        self.line[self.line_len] = b;
        self.line_len += 1;
    }
}

// Made on first use so the array is BSS, not 2 KiB of the shim's 64 KiB
// image: an empty CellRt is not all-zero bytes (its `None` bus).
static CELLS: [spin::Once<crate::lock::Mutex<CellRt>>; MAX_CELLS] = [const { spin::Once::new() }; MAX_CELLS];

/// Cell `ci`'s runtime state (lock order: see the module head).
pub fn cell_rt(ci: usize) -> &'static crate::lock::Mutex<CellRt> {
    CELLS[ci].call_once(|| crate::lock::Mutex::new(CellRt::empty(cell_state::SHUT_DOWN)))
}

/// Each cell's config-space pages, mapped read-only at its virtual ECAM
/// window so config reads never trap; its bus keeps them current.
pub static ECAM_IMAGES: [EcamImage; MAX_CELLS] = [const { EcamImage::new() }; MAX_CELLS];

static RUNNING_CELLS: AtomicU32 = AtomicU32::new(0);

/// One more cell runs.
pub fn cell_started() {
    RUNNING_CELLS.fetch_add(1, Ordering::SeqCst);
}

/// One cell fewer runs; true when it was the last.
pub fn cell_ended() -> bool {
    RUNNING_CELLS.fetch_sub(1, Ordering::SeqCst) == 1
}

static PAYLOADS: spin::Once<Payloads> = spin::Once::new();

/// Keeps the image's payloads for the life of the shim: a cell restart
/// stages them again.
pub fn keep_payloads(pl: Payloads) -> &'static Payloads {
    PAYLOADS.call_once(|| pl)
}

/// The payloads kept at boot (`None` only before `keep_payloads`).
pub fn payloads() -> Option<&'static Payloads> {
    PAYLOADS.get()
}

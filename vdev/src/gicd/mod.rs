//! GIC distributor mediation for GICv2 (GIC-400) and GICv3: the GICD page is
//! shared by all cells, so the shim traps it and a cell may only see and
//! change state of the SPIs it owns.
//!
//! Callers must (a) perform the hardware accesses on the CPU that trapped
//! (GICv2 banks SGI/PPI registers per CPU) and (b) serialise all mediated
//! GICD accesses with one lock: read-modify-write of shared words
//! (IGROUPR, ICFGR, …) is only atomic under it.

mod bits;
mod bytes;
mod control;
mod ownership;
mod prep;
pub mod regs;
mod routing;
mod wake;

use bits::Word;
use regs::Reg;

pub use prep::{CELL_IRQ_PRIORITY, ctlr_enable_bits, prepare_banked_v2, prepare_cell_spis};
pub use routing::{AFF_MASK, IROUTER_IRM};
pub use wake::{WokenSpi, restore_spi, wake_spi};

/// Real distributor accesses, done by the shim with device-memory MMIO.
/// Offsets are relative to the GICD base.
pub trait GicdHw {
    fn read32(&mut self, off: u64) -> u32;
    fn write32(&mut self, off: u64, v: u32);
    fn read64(&mut self, off: u64) -> u64;
    fn write64(&mut self, off: u64, v: u64);
    fn read8(&mut self, off: u64) -> u8;
    fn write8(&mut self, off: u64, v: u8);
}

/// What the trapping cell owns.
pub struct CellIrqs<'a> {
    /// Whether the cell owns SPI `intid` (only asked for INTIDs >= 32).
    pub owns: &'a dyn Fn(u32) -> bool,
    /// MPIDR affinity (Aff3..Aff0 in MPIDR bit positions) of the cell's CPUs.
    pub cpu_affinities: &'a [u64],
    /// GICv2 CPU interface bits (ITARGETSR/SGIR encoding) of the cell's CPUs.
    pub cpu_if_mask: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicdOutcome {
    /// Applied in full.
    Done,
    /// All or part of the write was dropped (the cell's own part, if any,
    /// was applied). For the shim's log; the guest is never faulted.
    Denied { irq: Option<u32>, reason: &'static str },
}

/// A mediated distributor read (`size` 1, 2, 4 or 8 bytes at `off`).
/// Foreign state, unknown registers and bad accesses read 0 (RAZ).
pub fn mediate_read(hw: &mut dyn GicdHw, version: u32, off: u64, size: u8, cell: &CellIrqs) -> u64 {
    let Some(reg) = checked(version, off, size) else {
        return 0;
    };
    match reg {
        Reg::Ctlr | Reg::ReadOnly => u64::from(hw.read32(off)),
        Reg::BitsRmw { base } | Reg::BitsSetClear { base } => {
            u64::from(bits::read(hw, version, Word::new(off, base, 1), cell))
        }
        Reg::Cfg => u64::from(bits::read(hw, version, Word::new(off, regs::ICFGR, 2), cell)),
        Reg::Priority => bytes::read(hw, version, bytes::Kind::Priority, off, size, cell),
        Reg::Targets => bytes::read(hw, version, bytes::Kind::Targets, off, size, cell),
        Reg::Router => routing::router_read(hw, off, size, cell),
        // Write-only.
        Reg::Sgir => 0,
        Reg::SgiPending => {
            if size == 1 {
                u64::from(hw.read8(off))
            } else {
                u64::from(hw.read32(off))
            }
        }
    }
}

/// A mediated distributor write (`size` 1, 2, 4 or 8 bytes at `off`).
/// `Denied` when any part was dropped: foreign IRQs or CPUs, read-only or
/// unknown registers, bad size or alignment.
pub fn mediate_write(
    hw: &mut dyn GicdHw,
    version: u32,
    off: u64,
    size: u8,
    value: u64,
    cell: &CellIrqs,
) -> GicdOutcome {
    let Some(reg) = checked(version, off, size) else {
        return GicdOutcome::Denied {
            irq: None,
            reason: "gicd: unknown register, bad size or unaligned access",
        };
    };
    let v32 = value as u32;
    match reg {
        Reg::Ctlr => control::ctlr_write(hw, version, v32),
        Reg::ReadOnly => GicdOutcome::Denied {
            irq: None,
            reason: "gicd: write to a read-only register",
        },
        Reg::BitsRmw { base } => bits::write_rmw(hw, version, Word::new(off, base, 1), v32, cell),
        Reg::BitsSetClear { base } => bits::write_set_clear(hw, version, Word::new(off, base, 1), v32, cell),
        Reg::Cfg => bits::write_rmw(hw, version, Word::new(off, regs::ICFGR, 2), v32, cell),
        Reg::Priority => bytes::write(hw, version, bytes::Kind::Priority, off, size, v32, cell),
        Reg::Targets => bytes::write(hw, version, bytes::Kind::Targets, off, size, v32, cell),
        Reg::Router => routing::router_write(hw, off, size, value, cell),
        Reg::Sgir => routing::sgir_write(hw, v32, cell),
        Reg::SgiPending => {
            // Banked per CPU: only the trapping CPU's SGI state changes.
            if size == 1 {
                hw.write8(off, value as u8)
            } else {
                hw.write32(off, v32)
            }
            GicdOutcome::Done
        }
    }
}

/// The register `off` names, if `size` is one it takes and `off` is
/// naturally aligned: 32-bit everywhere, plus byte access to the byte-per-
/// INTID registers and 64-bit access to IROUTER.
fn checked(version: u32, off: u64, size: u8) -> Option<Reg> {
    if !matches!(size, 1 | 2 | 4 | 8) || !off.is_multiple_of(u64::from(size)) {
        return None;
    }
    let reg = regs::classify(version, off)?;
    let ok = match reg {
        Reg::Priority | Reg::Targets | Reg::SgiPending => size == 1 || size == 4,
        Reg::Router => size == 4 || size == 8,
        _ => size == 4,
    };
    ok.then_some(reg)
}

/// Makes SPI `intid` pending (ivshmem doorbell delivery). INTIDs outside the
/// SPI range 32..1020 are ignored.
pub fn set_spi_pending(hw: &mut dyn GicdHw, intid: u32) {
    if ownership::SPI_RANGE.contains(&intid) {
        hw.write32(regs::ISPENDR + 4 * u64::from(intid / 32), 1 << (intid % 32));
    }
}

//! Where interrupts go: GICv3 IROUTER (per SPI) and GICv2 SGIR (SGIs to CPU
//! interfaces). A cell may only aim at its own CPUs.

use super::ownership::owns_spi;
use super::regs::{IROUTER, ITARGETSR};
use super::{CellIrqs, GicdHw, GicdOutcome};

/// IROUTER / MPIDR affinity fields: Aff3 [39:32], Aff2..Aff0 [23:0].
pub const AFF_MASK: u64 = 0xff_00ff_ffff;
/// Interrupt Routing Mode: 1 = "any participating PE", which includes
/// CPUs of other cells, so it is refused.
pub const IROUTER_IRM: u64 = 1 << 31;

fn router_intid(off: u64) -> u32 {
    // Callers pass offsets inside IROUTER32..IROUTER1019.
    ((off - IROUTER) / 8) as u32
}

/// `size` is 8 (whole register) or 4 (either half); `off` aligned to it.
pub fn router_read(hw: &mut dyn GicdHw, off: u64, size: u8, cell: &CellIrqs) -> u64 {
    if !owns_spi(cell, router_intid(off)) {
        return 0;
    }
    if size == 8 {
        hw.read64(off)
    } else {
        u64::from(hw.read32(off))
    }
}

pub fn router_write(hw: &mut dyn GicdHw, off: u64, size: u8, value: u64, cell: &CellIrqs) -> GicdOutcome {
    let intid = router_intid(off);
    if !owns_spi(cell, intid) {
        return GicdOutcome::Denied {
            irq: Some(intid),
            reason: "gicd: routing an IRQ the cell does not own",
        };
    }
    let reg = off & !7;
    // A 32-bit write changes one half; judge the register it would leave.
    let new = match (size, off & 4) {
        (8, _) => value,
        (_, 0) => (hw.read64(reg) & !0xffff_ffff) | (value & 0xffff_ffff),
        _ => (hw.read64(reg) & 0xffff_ffff) | (value << 32),
    };
    if new & IROUTER_IRM != 0 {
        return GicdOutcome::Denied {
            irq: Some(intid),
            reason: "gicd: IROUTER.IRM=1 (any CPU) would reach other cells' CPUs",
        };
    }
    let aff = new & AFF_MASK;
    if !cell.cpu_affinities.iter().any(|&a| a & AFF_MASK == aff) {
        return GicdOutcome::Denied {
            irq: Some(intid),
            reason: "gicd: IROUTER names a CPU outside the cell",
        };
    }
    // Reserved bits are written as 0.
    if size == 8 {
        hw.write64(reg, aff);
    } else {
        hw.write32(off, (aff >> (8 * (off & 4))) as u32);
    }
    GicdOutcome::Done
}

const SGIR_FILTER_SHIFT: u32 = 24;
const SGIR_LIST_SHIFT: u32 = 16;
const SGIR_KEEP: u32 = (1 << 15) | 0xf; // NSATT + SGI INTID
const FILTER_LIST: u32 = 0;
const FILTER_OTHERS: u32 = 1;
const FILTER_SELF: u32 = 2;

/// GICv2 SGIR: the target list is cut to the cell's CPU interfaces.
/// "All but self" is rewritten to an explicit list of the cell's other CPUs,
/// since it would otherwise reach every CPU of the board.
pub fn sgir_write(hw: &mut dyn GicdHw, value: u32, cell: &CellIrqs) -> GicdOutcome {
    let keep = value & SGIR_KEEP;
    let list = (value >> SGIR_LIST_SHIFT) as u8;
    let targets = match (value >> SGIR_FILTER_SHIFT) & 3 {
        FILTER_LIST => list & cell.cpu_if_mask,
        FILTER_OTHERS => {
            // ITARGETSR0 is banked and reads as the trapping CPU's own
            // interface bit (how Linux learns its GICv2 CPU mask).
            let me = hw.read8(ITARGETSR);
            cell.cpu_if_mask & !me
        }
        FILTER_SELF => {
            hw.write32(super::regs::SGIR, FILTER_SELF << SGIR_FILTER_SHIFT | keep);
            return GicdOutcome::Done;
        }
        _ => {
            return GicdOutcome::Denied {
                irq: None,
                reason: "gicd: SGIR reserved target filter",
            };
        }
    };
    if targets != 0 {
        hw.write32(
            super::regs::SGIR,
            FILTER_LIST << SGIR_FILTER_SHIFT | u32::from(targets) << SGIR_LIST_SHIFT | keep,
        );
    }
    let dropped = (value >> SGIR_FILTER_SHIFT) & 3 == FILTER_LIST && list & !cell.cpu_if_mask != 0;
    super::ownership::denied_if(
        dropped,
        Some(value & 0xf),
        "gicd: SGI to CPU interfaces outside the cell (dropped)",
    )
}

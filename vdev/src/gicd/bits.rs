//! Registers with a field of 1 bit (IGROUPR, IGRPMODR, IS/ICENABLER,
//! IS/ICPENDR, IS/ICACTIVER) or 2 bits (ICFGR) per INTID.
//! Foreign fields read 0. Set/clear registers get the written value masked
//! to owned bits (hardware ignores 0 bits there); RMW registers merge the
//! owned fields into the current hardware value so foreign fields keep theirs.

use super::ownership::{Banked, banked, denied_if, first_irq, owned_mask};
use super::{CellIrqs, GicdHw, GicdOutcome};

/// Field geometry of one register word.
#[derive(Clone, Copy)]
pub struct Word {
    pub off: u64,
    /// First INTID the word covers.
    pub first: u32,
    pub bits: u32,
}

impl Word {
    pub fn new(off: u64, base: u64, bits: u32) -> Self {
        // off - base < 0x400 for every caller, so this fits u32.
        let first = ((off - base) * 8) as u32 / bits;
        Self { off, first, bits }
    }
}

pub fn read(hw: &mut dyn GicdHw, version: u32, w: Word, cell: &CellIrqs) -> u32 {
    if w.first < 32 {
        return match banked(version) {
            Banked::PassThrough => hw.read32(w.off),
            Banked::RazWi => 0,
        };
    }
    let m = owned_mask(cell, w.first, w.bits);
    if m == 0 { 0 } else { hw.read32(w.off) & m }
}

/// SGIs/PPIs (IRQs 0-31): banked per CPU on GICv2, so the trapping CPU's own
/// copy is written; RAZ/WI in a GICv3 distributor.
fn write_banked(hw: &mut dyn GicdHw, version: u32, w: Word, value: u32) -> GicdOutcome {
    if banked(version) == Banked::PassThrough {
        hw.write32(w.off, value);
    }
    GicdOutcome::Done
}

pub fn write_set_clear(hw: &mut dyn GicdHw, version: u32, w: Word, value: u32, cell: &CellIrqs) -> GicdOutcome {
    if w.first < 32 {
        return write_banked(hw, version, w, value);
    }
    let m = owned_mask(cell, w.first, w.bits);
    if value & m != 0 {
        hw.write32(w.off, value & m);
    }
    let dropped = value & !m;
    denied_if(
        dropped != 0,
        first_irq(w.first, w.bits, dropped),
        "gicd: set/clear of IRQs the cell does not own",
    )
}

pub fn write_rmw(hw: &mut dyn GicdHw, version: u32, w: Word, value: u32, cell: &CellIrqs) -> GicdOutcome {
    if w.first < 32 {
        return write_banked(hw, version, w, value);
    }
    let m = owned_mask(cell, w.first, w.bits);
    if m != 0 {
        let cur = hw.read32(w.off);
        let new = (cur & !m) | (value & m);
        if new != cur {
            hw.write32(w.off, new);
        }
    }
    // Foreign fields read as 0, so a guest's own read-modify-write leaves
    // them 0; only a non-zero foreign field is an attempt worth reporting.
    let dropped = value & !m;
    denied_if(
        dropped != 0,
        first_irq(w.first, w.bits, dropped),
        "gicd: configuring IRQs the cell does not own",
    )
}

//! Registers with one byte per INTID: IPRIORITYR and (GICv2) ITARGETSR.
//! Byte and word accesses. Writes go to hardware one byte at a time, so a
//! word write never rewrites a foreign byte — not even with its own value,
//! which could race another cell's update.

use super::ownership::{Banked, banked, denied_if, owns_spi};
use super::regs::{IPRIORITYR, ITARGETSR};
use super::{CellIrqs, GicdHw, GicdOutcome};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Priority,
    Targets,
}

impl Kind {
    /// INTID of the byte at `off` (inside this kind's 0x400-byte bank).
    fn intid(self, off: u64) -> u32 {
        let base = match self {
            Kind::Priority => IPRIORITYR,
            Kind::Targets => ITARGETSR,
        };
        (off - base) as u32
    }
}

/// `off` is aligned to `size` (1 or 4).
pub fn read(hw: &mut dyn GicdHw, version: u32, kind: Kind, off: u64, size: u8, cell: &CellIrqs) -> u64 {
    let first = kind.intid(off);
    if first < 32 {
        return match (banked(version), size) {
            (Banked::RazWi, _) => 0,
            (Banked::PassThrough, 1) => u64::from(hw.read8(off)),
            (Banked::PassThrough, _) => u64::from(hw.read32(off)),
        };
    }
    if size == 1 {
        return if owns_spi(cell, first) {
            u64::from(hw.read8(off))
        } else {
            0
        };
    }
    let m = super::ownership::owned_mask(cell, first, 8);
    if m == 0 { 0 } else { u64::from(hw.read32(off) & m) }
}

pub fn write(
    hw: &mut dyn GicdHw,
    version: u32,
    kind: Kind,
    off: u64,
    size: u8,
    value: u32,
    cell: &CellIrqs,
) -> GicdOutcome {
    let first = kind.intid(off);
    if first < 32 {
        // GICv2 banks these per CPU (ITARGETSR0..7 are read-only anyway);
        // GICv3 with ARE: RAZ/WI.
        if banked(version) == Banked::PassThrough {
            if size == 1 {
                hw.write8(off, value as u8)
            } else {
                hw.write32(off, value)
            }
        }
        return GicdOutcome::Done;
    }
    let mut foreign_irq = None;
    let mut foreign_cpu = None;
    for i in 0..u32::from(size) {
        let intid = first + i;
        let byte = (value >> (8 * i)) as u8;
        if !owns_spi(cell, intid) {
            if byte != 0 && foreign_irq.is_none() {
                foreign_irq = Some(intid);
            }
            continue;
        }
        let byte = match kind {
            Kind::Priority => byte,
            Kind::Targets => {
                // Only the cell's own CPU interfaces may receive its SPIs.
                if byte & !cell.cpu_if_mask != 0 && foreign_cpu.is_none() {
                    foreign_cpu = Some(intid);
                }
                byte & cell.cpu_if_mask
            }
        };
        hw.write8(off + u64::from(i), byte);
    }
    if foreign_irq.is_some() {
        return GicdOutcome::Denied {
            irq: foreign_irq,
            reason: "gicd: priority/target of IRQs the cell does not own",
        };
    }
    denied_if(
        foreign_cpu.is_some(),
        foreign_cpu,
        "gicd: ITARGETSR named CPU interfaces outside the cell (dropped)",
    )
}

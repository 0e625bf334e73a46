//! Which INTIDs an access touches and which of them the cell may see.

use super::{CellIrqs, GicdOutcome};

/// SPIs are INTIDs 32..1020; 1020..1023 are special and never owned.
pub const SPI_RANGE: core::ops::Range<u32> = 32..1020;

/// INTIDs 0..31 (SGIs, PPIs) are per CPU. On GICv2 the distributor banks
/// their registers per CPU interface, so the trapping CPU (the cell's own)
/// only reaches its own bank: pass through. On GICv3 with ARE they live in
/// the redistributor and the GICD copies are RAZ/WI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Banked {
    PassThrough,
    RazWi,
}

pub fn banked(version: u32) -> Banked {
    if version == 2 {
        Banked::PassThrough
    } else {
        Banked::RazWi
    }
}

pub fn owns_spi(cell: &CellIrqs, intid: u32) -> bool {
    SPI_RANGE.contains(&intid) && (cell.owns)(intid)
}

/// Mask of the fields of INTIDs `first..` the cell owns in a 32-bit
/// register holding `bits` bits per INTID (1, 2 or 8).
pub fn owned_mask(cell: &CellIrqs, first: u32, bits: u32) -> u32 {
    let field = if bits >= 32 { u32::MAX } else { (1u32 << bits) - 1 };
    (0..32 / bits)
        .filter(|&i| owns_spi(cell, first + i))
        .fold(0, |m, i| m | field << (i * bits))
}

/// The first INTID whose field in `dropped` is non-zero.
pub fn first_irq(first: u32, bits: u32, dropped: u32) -> Option<u32> {
    (dropped != 0).then(|| first + dropped.trailing_zeros() / bits)
}

pub fn denied_if(dropped: bool, irq: Option<u32>, reason: &'static str) -> GicdOutcome {
    if dropped {
        GicdOutcome::Denied { irq, reason }
    } else {
        GicdOutcome::Done
    }
}

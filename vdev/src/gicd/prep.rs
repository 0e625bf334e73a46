//! A cell's SPIs made deliverable at cell start, as Jailhouse's hypervisor
//! and root cell leave them for an inmate: its inmate library only writes
//! the CPU interface (ICC_* / GICC_*) and GICD_ISENABLER, so group, priority,
//! routing and the distributor's enables must already be right
//! (Jailhouse `hypervisor/arch/arm-common/irqchip.c`, `gic-v3.c`). Guests
//! that configure the GIC themselves (Linux, rtos-demo) overwrite it all.

use super::{CellIrqs, GicdHw, ownership, regs};

/// Given to every interrupt of a cell at its start: numerically below the
/// 0xf0 priority mask Jailhouse's inmate library sets (and Linux's).
pub const CELL_IRQ_PRIORITY: u8 = 0xa0;

/// GICD_CTLR bits a cell start sets. GICv3: EnableGrp1(NS) and ARE(_NS),
/// the same bits whether or not the GIC has two security states. GICv2:
/// Enable (non-secure view) / EnableGrp0+EnableGrp1 (no security extensions).
pub fn ctlr_enable_bits(version: u32) -> u32 {
    if version == 3 { 1 << 4 | 1 << 1 } else { 0b11 }
}

/// Number of INTIDs the distributor implements (GICD_TYPER.ITLinesNumber).
fn implemented(hw: &mut dyn GicdHw) -> u32 {
    ((hw.read32(regs::TYPER) & 0x1f) + 1)
        .saturating_mul(32)
        .min(ownership::SPI_RANGE.end)
}

/// Prepares every SPI `cell` owns: group 1 (GICv3; on GICv2 the group
/// registers are the secure side's, and a GIC without security extensions
/// delivers group 0 to a CPU interface enabled with GICC_CTLR = 1, which is
/// what the inmate library writes), [`CELL_IRQ_PRIORITY`], routed to the
/// cell's first CPU (GICv3 IROUTER) or to all its CPU interfaces (GICv2
/// ITARGETSR), then the distributor's group enables. Enables no interrupt
/// and touches no SPI the cell does not own. Returns how many it prepared.
pub fn prepare_cell_spis(hw: &mut dyn GicdHw, version: u32, cell: &CellIrqs) -> u32 {
    let Some(&first_cpu) = cell.cpu_affinities.first() else {
        return 0;
    };
    let mut n = 0;
    for intid in ownership::SPI_RANGE.start..implemented(hw) {
        if !(cell.owns)(intid) {
            continue;
        }
        let (i, word, bit) = (u64::from(intid), 4 * u64::from(intid / 32), 1u32 << (intid % 32));
        if version == 3 {
            let g = hw.read32(regs::IGROUPR + word);
            hw.write32(regs::IGROUPR + word, g | bit);
            hw.write64(regs::IROUTER + 8 * i, first_cpu & super::AFF_MASK);
        } else {
            hw.write8(regs::ITARGETSR + i, cell.cpu_if_mask);
        }
        hw.write8(regs::IPRIORITYR + i, CELL_IRQ_PRIORITY);
        n += 1;
    }
    let ctlr = hw.read32(regs::CTLR) & !(1 << 31); // not RWP
    let want = ctlr | ctlr_enable_bits(version);
    if want != ctlr {
        hw.write32(regs::CTLR, want);
    }
    n
}

/// GICv2: the calling CPU's banked SGIs and PPIs at [`CELL_IRQ_PRIORITY`]
/// (GICD_IPRIORITYR0..7 are per CPU). Call on the CPU entering the cell.
pub fn prepare_banked_v2(hw: &mut dyn GicdHw) {
    for intid in 0..32u64 {
        hw.write8(regs::IPRIORITYR + intid, CELL_IRQ_PRIORITY);
    }
}

//! GICv3 for one CPU: its own redistributor (found by affinity, mapped into
//! the cell by the shim), the ICC system-register CPU interface, and the
//! distributor's per-SPI registers (trapped and mediated by the shim: only
//! SPIs the cell owns, routed only to its CPUs).

use crate::arch::{self, rd32, rd64, wr32, wr8};
use crate::dtb::Gic3;

const GICR_STRIDE: u64 = 0x2_0000;
const GICR_TYPER: u64 = 0x08;
const GICR_WAKER: u64 = 0x14;
const SGI: u64 = 0x1_0000;
const IGROUPR0: u64 = 0x080;
const ISENABLER0: u64 = 0x100;
const IPRIORITYR: u64 = 0x400;

const GICD_CTLR: u64 = 0x0000;
const GICD_IGROUPR: u64 = 0x0080;
const GICD_ISENABLER: u64 = 0x0100;
const GICD_IPRIORITYR: u64 = 0x0400;
const GICD_ICFGR: u64 = 0x0c00;
const GICD_IROUTER: u64 = 0x6000;

pub const SPURIOUS: u32 = 1023;

fn affinity(mpidr: u64) -> u64 {
    (mpidr >> 32 & 0xff) << 24 | mpidr & 0xff_ffff
}

/// This CPU's redistributor frame: the one whose GICR_TYPER affinity
/// matches MPIDR_EL1 (other CPUs' frames answer reads of TYPER only).
pub fn my_redistributor(g: &Gic3) -> Option<u64> {
    let me = affinity(arch::mpidr());
    let mut frame = g.gicr;
    while frame + GICR_STRIDE <= g.gicr + g.gicr_size {
        let typer = rd64(frame + GICR_TYPER);
        if typer >> 32 == me {
            return Some(frame);
        }
        if typer & 1 << 4 != 0 {
            break; // Last
        }
        frame += GICR_STRIDE;
    }
    None
}

/// Wakes the redistributor and enables the CPU interface (group 1, all priorities).
pub fn init_cpu(rd: u64) {
    wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & !(1 << 1));
    let mut spins = 0;
    while rd32(rd + GICR_WAKER) & 1 << 2 != 0 && spins < 1_000_000 {
        spins += 1;
    }
    arch::set_icc_sre(arch::icc_sre() | 1);
    arch::set_icc_pmr(0xff);
    arch::set_icc_bpr1(0);
    arch::set_icc_igrpen1(1);
}

/// Enables a PPI (16..31) as group 1 at this CPU's redistributor.
pub fn enable_ppi(rd: u64, intid: u32) {
    let bit = 1 << (intid % 32);
    wr32(rd + SGI + IGROUPR0, rd32(rd + SGI + IGROUPR0) | bit);
    wr8(rd + SGI + IPRIORITYR + u64::from(intid), 0x80);
    wr32(rd + SGI + ISENABLER0, bit);
}

/// Configures an SPI the cell owns: group 1, edge, routed to this CPU,
/// enabled; and the distributor's group-1 and affinity routing enabled
/// (the shim only lets a cell set enable bits).
pub fn enable_spi(g: &Gic3, intid: u32) {
    let (word, bit) = (u64::from(intid / 32) * 4, 1u32 << (intid % 32));
    wr32(g.gicd + GICD_CTLR, 1 << 4 | 1 << 1);
    wr32(g.gicd + GICD_IGROUPR + word, rd32(g.gicd + GICD_IGROUPR + word) | bit);
    wr8(g.gicd + GICD_IPRIORITYR + u64::from(intid), 0x80);
    let cfg = g.gicd + GICD_ICFGR + u64::from(intid / 16) * 4;
    wr32(cfg, rd32(cfg) | 2 << (2 * (intid % 16)));
    crate::arch::wr64(g.gicd + GICD_IROUTER + 8 * u64::from(intid), affinity(arch::mpidr()) & 0xff_ffff | (affinity(arch::mpidr()) >> 24) << 32);
    wr32(g.gicd + GICD_ISENABLER + word, bit);
}

/// Acknowledges the highest-priority pending interrupt (SPURIOUS if none).
pub fn ack() -> u32 {
    (arch::icc_iar1() & 0xff_ffff) as u32
}

pub fn eoi(intid: u32) {
    arch::set_icc_eoir1(intid.into());
}

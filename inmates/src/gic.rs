//! The GIC for one CPU, GICv3 or GICv2 behind one interface:
//! [`init_cpu`] once on the CPU, then [`enable_ppi`] / [`enable_spi`], and
//! [`ack`] / [`eoi`] in the IRQ handler.
//!
//! - GICv3: this CPU's redistributor (found by affinity, mapped into the
//!   cell by the shim), the ICC system-register CPU interface.
//! - GICv2 (the Pi 4's GIC-400): the memory-mapped CPU interface GICC
//!   (banked per CPU, mapped into the cell), SPIs aimed with GICD_ITARGETSR
//!   at this CPU's interface bit, read from the banked GICD_ITARGETSR0.
//!
//! The distributor is trapped and mediated by the shim in both cases: only
//! SPIs the cell owns, aimed only at its CPUs; SGI/PPI registers (banked on
//! v2) reach the trapping CPU's bank.
//!
//! Every register access here is to a GIC frame the cell's DTB names
//! (distributor, this CPU's redistributor or CPU interface): device memory
//! that no Rust object occupies, hence the `unsafe` blocks' one reason.

use crate::arch::{self, rd8, rd32, rd64, wr8, wr32};
use crate::dtb::Gic;
use core::sync::atomic::{AtomicU64, Ordering};

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
const GICD_ITARGETSR: u64 = 0x0800;
const GICD_ICFGR: u64 = 0x0c00;
const GICD_IROUTER: u64 = 0x6000;

const GICC_CTLR: u64 = 0x00;
const GICC_PMR: u64 = 0x04;
const GICC_IAR: u64 = 0x0c;
const GICC_EOIR: u64 = 0x10;

pub const SPURIOUS: u32 = 1023;
/// Priority of everything an inmate enables: above the PMR threshold on
/// both versions (GIC-400 implements the top 4 or 5 bits only).
const PRIORITY: u8 = 0xa0;

/// GICv2 CPU interface base for [`ack`] / [`eoi`]; 0 = GICv3 (system registers).
static GICC: AtomicU64 = AtomicU64::new(0);

/// This CPU's view of the GIC after [`init_cpu`].
#[derive(Clone, Copy, Debug)]
pub struct CpuGic {
    gic: Gic,
    /// GICv3: this CPU's redistributor frame; GICv2: its CPU interface bit.
    local: u64,
}

impl CpuGic {
    /// For the log: "GICR 0x..." or "GICC 0x... (interface mask 0x4)".
    pub fn describe(&self) -> Describe {
        Describe(*self)
    }
}

pub struct Describe(CpuGic);

impl core::fmt::Display for Describe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0.gic {
            Gic::V3 { .. } => write!(f, "GICv3, GICR {:#x}", self.0.local),
            Gic::V2 { gicc, .. } => write!(f, "GICv2, GICC {gicc:#x}, CPU interface mask {:#x}", self.0.local),
        }
    }
}

fn affinity(mpidr: u64) -> u64 {
    (mpidr >> 32 & 0xff) << 24 | mpidr & 0xff_ffff
}

/// This CPU's redistributor frame: the one whose GICR_TYPER affinity
/// matches MPIDR_EL1 (other CPUs' frames answer reads of TYPER only).
fn my_redistributor(gicr: u64, gicr_size: u64) -> Option<u64> {
    let me = affinity(arch::mpidr());
    let mut frame = gicr;
    while frame + GICR_STRIDE <= gicr + gicr_size {
        // SAFETY: a redistributor frame inside the DTB's GICR range (module docs).
        let typer = unsafe { rd64(frame + GICR_TYPER) };
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

/// Enables this CPU's interface (all priorities); on GICv3 wakes its
/// redistributor first.
pub fn init_cpu(gic: Gic) -> Result<CpuGic, &'static str> {
    match gic {
        Gic::V3 { gicr, gicr_size, .. } => {
            let rd = my_redistributor(gicr, gicr_size).ok_or("no redistributor frame for this CPU")?;
            // SAFETY: this CPU's redistributor (module docs).
            unsafe {
                wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & !(1 << 1));
                let mut spins = 0;
                while rd32(rd + GICR_WAKER) & 1 << 2 != 0 && spins < 1_000_000 {
                    spins += 1;
                }
            }
            arch::set_icc_sre(arch::icc_sre() | 1);
            arch::set_icc_pmr(0xff);
            arch::set_icc_bpr1(0);
            arch::set_icc_igrpen1(1);
            GICC.store(0, Ordering::SeqCst);
            Ok(CpuGic { gic, local: rd })
        }
        Gic::V2 { gicd, gicc, .. } => {
            // Banked: SGI 0's target byte names the reading CPU's interface.
            // SAFETY: the distributor and CPU interface (module docs).
            let me = unsafe { rd8(gicd + GICD_ITARGETSR) };
            if me == 0 {
                return Err("GICD_ITARGETSR0 reads 0: no CPU interface bit for this CPU");
            }
            // SAFETY: this CPU's interface (module docs).
            unsafe {
                wr32(gicc + GICC_PMR, 0xff);
                // Enable (the group this world owns: NS group 1, or both groups
                // on a GIC without security extensions); no FIQ, no bypass.
                wr32(gicc + GICC_CTLR, 1);
            }
            GICC.store(gicc, Ordering::SeqCst);
            Ok(CpuGic {
                gic,
                local: u64::from(me),
            })
        }
    }
}

/// Enables a PPI (16..31) for this CPU.
pub fn enable_ppi(g: &CpuGic, intid: u32) {
    let bit = 1 << (intid % 32);
    // SAFETY: this CPU's redistributor, or the distributor (module docs).
    unsafe { enable_ppi_regs(g, intid, bit) }
}

/// # Safety
/// `g` describes the cell's GIC (module docs).
unsafe fn enable_ppi_regs(g: &CpuGic, intid: u32, bit: u32) {
    // SAFETY: the caller's contract.
    unsafe {
        match g.gic {
            Gic::V3 { .. } => {
                let rd = g.local;
                wr32(rd + SGI + IGROUPR0, rd32(rd + SGI + IGROUPR0) | bit);
                wr8(rd + SGI + IPRIORITYR + u64::from(intid), PRIORITY);
                wr32(rd + SGI + ISENABLER0, bit);
            }
            Gic::V2 { gicd, .. } => {
                // GICD's SGI/PPI words are banked per CPU: the shim passes them
                // through on the trapping CPU, ours.
                wr8(gicd + GICD_IPRIORITYR + u64::from(intid), PRIORITY);
                wr32(gicd + GICD_ISENABLER, bit);
            }
        }
    }
}

/// Configures an SPI the cell owns: edge-triggered, aimed at this CPU,
/// enabled; and the distributor enabled (the shim only lets a cell set
/// enable bits).
pub fn enable_spi(g: &CpuGic, intid: u32) {
    // SAFETY: the distributor the DTB names (module docs).
    unsafe { enable_spi_regs(g, intid) }
}

/// # Safety
/// `g` describes the cell's GIC (module docs).
unsafe fn enable_spi_regs(g: &CpuGic, intid: u32) {
    // SAFETY: the caller's contract.
    unsafe {
        let gicd = g.gic.gicd();
        let (word, bit) = (u64::from(intid / 32) * 4, 1u32 << (intid % 32));
        match g.gic {
            Gic::V3 { .. } => {
                wr32(gicd + GICD_CTLR, 1 << 4 | 1 << 1);
                wr32(gicd + GICD_IGROUPR + word, rd32(gicd + GICD_IGROUPR + word) | bit);
                let aff = affinity(arch::mpidr());
                arch::wr64(
                    gicd + GICD_IROUTER + 8 * u64::from(intid),
                    aff & 0xff_ffff | (aff >> 24) << 32,
                );
            }
            Gic::V2 { .. } => {
                // Group left as the firmware set it (as Linux's GICv2 driver does).
                wr32(gicd + GICD_CTLR, 1);
                wr8(gicd + GICD_ITARGETSR + u64::from(intid), g.local as u8);
            }
        }
        wr8(gicd + GICD_IPRIORITYR + u64::from(intid), PRIORITY);
        let cfg = gicd + GICD_ICFGR + u64::from(intid / 16) * 4;
        wr32(cfg, rd32(cfg) | 2 << (2 * (intid % 16)));
        wr32(gicd + GICD_ISENABLER + word, bit);
    }
}

/// Acknowledges the highest-priority pending interrupt (SPURIOUS if none).
pub fn ack() -> u32 {
    match GICC.load(Ordering::Relaxed) {
        0 => (arch::icc_iar1() & 0xff_ffff) as u32,
        // SAFETY: the CPU interface `init_cpu` stored (module docs).
        gicc => (unsafe { rd32(gicc + GICC_IAR) }) & 0x3ff,
    }
}

pub fn eoi(intid: u32) {
    match GICC.load(Ordering::Relaxed) {
        0 => arch::set_icc_eoir1(intid.into()),
        // SAFETY: the CPU interface `init_cpu` stored (module docs).
        gicc => unsafe { wr32(gicc + GICC_EOIR, intid) },
    }
}

//! Cell start: the cell's own interrupts made deliverable the way
//! Jailhouse leaves them for an inmate, so a guest that only programs its
//! CPU interface and GICD/GICR_ISENABLER gets its timer and vPCI
//! interrupts. Runs on each CPU as it enters its cell (power-on, PSCI
//! CPU_ON, restart); guests that configure the GIC themselves overwrite it.

use crate::gic::{self, Gic};
use crate::state;
use cellboot_vdev::gicd::CELL_IRQ_PRIORITY;

/// GICv3 redistributor registers (RD_base frame, then SGI_base = +64 KiB).
const GICR_WAKER: u64 = 0x14;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const GICR_SGI_BASE: u64 = 0x1_0000;
const GICR_IGROUPR0: u64 = GICR_SGI_BASE + 0x80;
const GICR_IPRIORITYR: u64 = GICR_SGI_BASE + 0x400;
/// Bounded wait for the redistributor to wake (microseconds of polling).
const WAKE_SPINS: u32 = 1_000_000;

/// Prepares this CPU's banked interrupts (SGIs/PPIs: group 1 on GICv3,
/// priority, redistributor awake) and, on the cell's boot CPU, the cell's
/// SPIs and the distributor's group enables.
pub fn at_cell_start(ci: usize, cpu: usize) {
    let sys = state::cfg();
    let (b, c) = (&sys.board, &sys.cells()[ci]);
    if gic::get() == Gic::V3 {
        let rd = b.gicr_base + cpu as u64 * b.gicr_stride;
        // SAFETY: `rd` is this CPU's redistributor frame (validated board
        // config: gicr_base + cpu * stride), Device memory in the EL2 map;
        // only this CPU touches its own frame here, with aligned accesses.
        unsafe {
            let waker = (rd + GICR_WAKER) as *mut u32;
            waker.write_volatile(waker.read_volatile() & !WAKER_PROCESSOR_SLEEP);
            let mut spins = 0;
            while waker.read_volatile() & WAKER_CHILDREN_ASLEEP != 0 && spins < WAKE_SPINS {
                spins += 1;
                core::hint::spin_loop();
            }
            ((rd + GICR_IGROUPR0) as *mut u32).write_volatile(u32::MAX);
            let prio = u32::from_le_bytes([CELL_IRQ_PRIORITY; 4]);
            for word in 0..8u64 {
                ((rd + GICR_IPRIORITYR + 4 * word) as *mut u32).write_volatile(prio);
            }
        }
    } else {
        gic::prepare_banked_v2();
    }
    if state::boot_cpu(c) == cpu {
        gic::prepare_cell_spis(ci);
    }
}

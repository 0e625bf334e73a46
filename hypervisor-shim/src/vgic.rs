//! GICv3: every physical interrupt of a cell's CPU is taken at EL2
//! (HCR_EL2.IMO/FMO) and handed to the cell through the list registers of
//! its virtual CPU interface, so the shim sees, and checks, every SGI a cell
//! generates (`sysreg`). docs/partitioning.md says why this mechanism.
//!
//! Delivery: the shim acknowledges (ICC_IAR1_EL1) and drops priority
//! (EOImode 1). Interrupt n >= 16 goes into a list register with HW = 1,
//! pINTID n: the cell's virtual EOI deactivates the physical one. SGIs have
//! no physical interrupt a guest could deactivate (their source is the
//! sending CPU): the shim deactivates them at once and injects a virtual SGI
//! (HW = 0); a second while one is still pending merges, as on hardware.
//! When the list registers are full, the INTID waits in this CPU's pending
//! set and the underflow maintenance interrupt asks for a refill; every
//! other exit on this CPU refills too.

use crate::arch::gicv3 as hw;
use crate::arch::{self, MAX_CPUS};
use crate::vgic_lrs::{self as lrs, ListRegs, PendingSet};
use core::sync::atomic::AtomicU64;

/// The GIC maintenance interrupt: PPI 9 on every GICv3 board (the Arm Base
/// System Architecture fixes it; QEMU virt and the DTB bindings agree).
const MAINTENANCE: u32 = 25;

/// List registers used: the Cortex-A CPU interfaces (and QEMU's) have 4;
/// more would only postpone use of the pending set.
const MAX_LRS: usize = 4;

/// Interrupts no list register had room for, one bit per INTID < 1024, per
/// CPU (only the CPU itself touches its set, at EL2, interrupts masked).
static PENDING: [PendingSet; MAX_CPUS] = [const { [const { AtomicU64::new(0) }; 16] }; MAX_CPUS];

/// Whether GICv3 cells get their interrupts through the shim: always, but
/// in the `direct-irqs` bench build (the path before, for comparison).
pub const ON_GICV3: bool = !cfg!(feature = "direct-irqs");

/// This CPU takes its interrupts at EL2 from now on, with an empty virtual
/// interface: called on every entry into a cell (power-on, CPU_ON, restart).
pub fn init_this_cpu() {
    release_this_cpu();
    hw::init_cpu_interface();
}

/// Forgets what this CPU had not delivered, deactivating each physical
/// interrupt still held for the cell (else it would stay active, and
/// silent, for the next guest on this CPU).
pub fn release_this_cpu() {
    lrs::release(&mut Hw, &PENDING[arch::cpu_index()], hw::deactivate);
    hw::set_underflow_irq(false);
}

/// An IRQ exception from the cell on this CPU: take every pending physical
/// interrupt and pass it on.
pub fn handle_irq() {
    loop {
        let intid = hw::ack();
        if intid >= 1020 {
            break;
        }
        hw::priority_drop(intid);
        if intid < 16 || intid == MAINTENANCE {
            hw::deactivate(intid);
        }
        if intid != MAINTENANCE {
            inject(intid);
        }
    }
    refill();
}

/// Puts `intid` into a list register, or into the pending set when none
/// is free.
fn inject(intid: u32) {
    if !lrs::place(&mut Hw, intid) {
        lrs::queue(&PENDING[arch::cpu_index()], intid);
        enable_maintenance();
    }
}

/// Moves what waits in the pending set into free list registers (called on
/// every exit from the cell on this CPU).
#[inline(never)]
pub fn refill() {
    let left = lrs::refill(&mut Hw, &PENDING[arch::cpu_index()]);
    hw::set_underflow_irq(left);
}

/// This CPU's list registers.
struct Hw;

impl ListRegs for Hw {
    fn len(&self) -> usize {
        hw::list_regs().min(MAX_LRS)
    }
    fn get(&self, n: usize) -> u64 {
        hw::read_lr(n)
    }
    fn set(&mut self, n: usize, v: u64) {
        hw::write_lr(n, v)
    }
}

/// The maintenance interrupt as a group 1 PPI, enabled in this CPU's
/// redistributor: a guest's GIC driver disables every PPI it does not use
/// (Linux's does at CPU bring-up), so it is enabled again whenever the shim
/// needs it. A cell that turns it off only delays its own interrupts to its
/// next exit.
fn enable_maintenance() {
    let b = &crate::state::cfg().board;
    let sgi_frame = b.gicr_base + arch::cpu_index() as u64 * b.gicr_stride + 0x1_0000;
    // SAFETY: this CPU's redistributor SGI frame (validated board config,
    // Device memory in the EL2 map); GICR_IGROUPR0 (+0x80) and
    // GICR_ISENABLER0 (+0x100) are naturally aligned 32-bit registers.
    unsafe {
        let group = (sgi_frame + 0x80) as *mut u32;
        group.write_volatile(group.read_volatile() | 1 << MAINTENANCE);
        ((sgi_frame + 0x100) as *mut u32).write_volatile(1 << MAINTENANCE);
    }
}

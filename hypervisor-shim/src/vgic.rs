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
use core::sync::atomic::{AtomicU64, Ordering};

/// The GIC maintenance interrupt: PPI 9 on every GICv3 board (the Arm Base
/// System Architecture fixes it; QEMU virt and the DTB bindings agree).
const MAINTENANCE: u32 = 25;

/// List registers used: the Cortex-A CPU interfaces (and QEMU's) have 4;
/// more would only postpone use of the pending set.
const MAX_LRS: usize = 4;

/// Interrupts no list register had room for, one bit per INTID < 1024, per
/// CPU (only the CPU itself touches its set, at EL2, interrupts masked).
static PENDING: [[AtomicU64; 16]; MAX_CPUS] =
    [const { [const { AtomicU64::new(0) }; 16] }; MAX_CPUS];

/// List register fields (ICH_LR<n>_EL2).
mod lr {
    pub const STATE_SHIFT: u32 = 62;
    pub const PENDING: u64 = 1 << 62;
    pub const HW: u64 = 1 << 61;
    pub const GROUP1: u64 = 1 << 60;
    /// The priority every virtual interrupt gets: Linux's default
    /// (GICD_INT_DEF_PRI), under any priority mask a guest uses to let
    /// interrupts in.
    pub const PRIORITY: u64 = 0xa0 << 48;
    pub const PINTID_SHIFT: u32 = 32;
    pub const VINTID: u64 = 0xffff_ffff;
}

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
    let cpu = arch::cpu_index();
    for n in 0..hw::list_regs().min(MAX_LRS) {
        let v = hw::read_lr(n);
        if v >> lr::STATE_SHIFT != 0 && v & lr::HW != 0 {
            hw::deactivate(((v >> lr::PINTID_SHIFT) & 0x3ff) as u32);
        }
        hw::write_lr(n, 0);
    }
    for (w, word) in PENDING[cpu].iter().enumerate() {
        let mut bits = word.swap(0, Ordering::Relaxed);
        while bits != 0 {
            let intid = (w * 64) as u32 + bits.trailing_zeros();
            bits &= bits - 1;
            if intid >= 16 {
                hw::deactivate(intid);
            }
        }
    }
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
    if !place(intid) {
        let cpu = arch::cpu_index();
        PENDING[cpu][(intid / 64) as usize].fetch_or(1 << (intid % 64), Ordering::Relaxed);
        enable_maintenance();
    }
}

/// Moves what waits in the pending set into free list registers (called on
/// every exit from the cell on this CPU).
#[inline(never)]
pub fn refill() {
    let cpu = arch::cpu_index();
    let mut left = false;
    for (w, word) in PENDING[cpu].iter().enumerate() {
        let mut bits = word.load(Ordering::Relaxed);
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            if place((w * 64) as u32 + bit) {
                word.fetch_and(!(1 << bit), Ordering::Relaxed);
            } else {
                left = true;
            }
        }
    }
    hw::set_underflow_irq(left);
}

/// One list register for `intid`: an SGI already listed gets its pending
/// state back (merged), else the first empty register. False: all full.
#[inline(never)]
fn place(intid: u32) -> bool {
    let sgi = intid < 16;
    let mut free = None;
    for n in 0..hw::list_regs().min(MAX_LRS) {
        let v = hw::read_lr(n);
        if v >> lr::STATE_SHIFT == 0 {
            free = free.or(Some(n));
        } else if sgi && v & lr::VINTID == u64::from(intid) && v & lr::HW == 0 {
            hw::write_lr(n, v | lr::PENDING);
            return true;
        }
    }
    let Some(n) = free else { return false };
    let hw_bits = if sgi {
        0
    } else {
        lr::HW | u64::from(intid) << lr::PINTID_SHIFT
    };
    hw::write_lr(
        n,
        lr::PENDING | lr::GROUP1 | lr::PRIORITY | hw_bits | u64::from(intid),
    );
    true
}

/// The maintenance interrupt as a group 1 PPI, enabled in this CPU's
/// redistributor: a guest's GIC driver disables every PPI it does not use
/// (Linux's does at CPU bring-up), so it is enabled again whenever the shim
/// needs it. A cell that turns it off only delays its own interrupts to its
/// next exit.
fn enable_maintenance() {
    let b = &crate::cell::cfg().board;
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

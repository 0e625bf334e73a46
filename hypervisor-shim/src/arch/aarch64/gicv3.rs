//! GICv3 CPU interface registers at EL2: the physical interface (ICC_*, the
//! shim takes every interrupt) and the virtual one it feeds (ICH_*).
//! `vgic.rs` holds the policy.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;
use core::arch::asm;

/// Physical interface of this CPU, owned by EL2: group 1 on, every priority
/// let through, EOImode 1 (EOIR drops priority, DIR or a guest's virtual
/// EOI through a HW list register deactivates). Virtual interface on, empty:
/// no list register holds anything, no active priorities, VMCR at reset.
pub fn init_cpu_interface() {
    // SAFETY: (every asm in this file) GIC system registers of this CPU at
    // EL2, which exist on a GICv3 board (callers act only when the board's
    // gic_version is 3) with ICC_SRE_EL2.SRE set by setup_el2_for_cell; no
    // memory is touched.
    unsafe {
        // ICC_CTLR_EL1.EOImode, bit 1.
        asm!("msr icc_ctlr_el1, {0}", in(reg) 2u64, options(nostack));
        asm!("msr icc_pmr_el1, {0}", in(reg) 0xffu64, options(nostack));
        asm!("msr icc_bpr1_el1, xzr", options(nostack));
        asm!("msr icc_igrpen1_el1, {0}", in(reg) 1u64, options(nostack));
    }
    ICH_VMCR_EL2.set(0);
    ICH_AP0R0_EL2.set(0);
    ICH_AP1R0_EL2.set(0);
    ICH_HCR_EL2.write(ICH_HCR_EL2::En::SET);
    barrier::isb(barrier::SY);
}

/// Number of list registers (ICH_VTR_EL2.ListRegs + 1).
pub fn list_regs() -> usize {
    ICH_VTR_EL2.read(ICH_VTR_EL2::ListRegs) as usize + 1
}

/// Acknowledges the highest-priority pending group 1 interrupt (1023: none).
pub fn ack() -> u32 {
    let v: u64;
    // SAFETY: see `init_cpu_interface`.
    unsafe { asm!("mrs {0}, icc_iar1_el1", out(reg) v, options(nostack)) };
    v as u32
}

/// Priority drop of `intid` (EOImode 1: it stays active).
pub fn priority_drop(intid: u32) {
    // SAFETY: see `init_cpu_interface`.
    unsafe { asm!("msr icc_eoir1_el1, {0}", "isb", in(reg) u64::from(intid), options(nostack)) };
}

/// Deactivates physical `intid` (after its priority drop).
pub fn deactivate(intid: u32) {
    // SAFETY: see `init_cpu_interface`.
    unsafe { asm!("msr icc_dir_el1, {0}", "isb", in(reg) u64::from(intid), options(nostack)) };
}

/// Sends the SGI(s) a checked ICC_SGI1R_EL1 value describes.
pub fn send_sgi1(value: u64) {
    // SAFETY: see `init_cpu_interface`; the caller checked the targets.
    unsafe { asm!("msr icc_sgi1r_el1, {0}", "isb", in(reg) value, options(nostack)) };
}

/// Enables or disables the underflow maintenance interrupt.
pub fn set_underflow_irq(on: bool) {
    ICH_HCR_EL2.modify(if on {
        ICH_HCR_EL2::UIE::SET
    } else {
        ICH_HCR_EL2::UIE::CLEAR
    });
    barrier::isb(barrier::SY);
}

/// Reads list register `n` (< 4, at most `list_regs()`).
pub fn read_lr(n: usize) -> u64 {
    match n {
        0 => ICH_LR0_EL2.get(),
        1 => ICH_LR1_EL2.get(),
        2 => ICH_LR2_EL2.get(),
        _ => ICH_LR3_EL2.get(),
    }
}

/// Writes list register `n` (< 4, at most `list_regs()`).
pub fn write_lr(n: usize, v: u64) {
    match n {
        0 => ICH_LR0_EL2.set(v),
        1 => ICH_LR1_EL2.set(v),
        2 => ICH_LR2_EL2.set(v),
        _ => ICH_LR3_EL2.set(v),
    }
}

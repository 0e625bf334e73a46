//! Everything that touches the hardware: startup, EL1 exception vectors,
//! system registers (timer, GICv3 CPU interface, fault state), hypercalls
//! and PSCI, raw memory/MMIO. Entered at EL1h with MMU and caches off (so
//! data accesses are Device memory: aligned only; the target is built with
//! +strict-align), x0 = DTB.

use core::arch::{asm, global_asm};

// Startup: refuse to run away from the link address (absolute pointers in
// .rodata would be wrong), zero BSS, set SP and VBAR_EL1, call
// `inmate_main(dtb)` which each binary defines.
global_asm!(
    ".section .text.head, \"ax\"",
    ".global _start",
    "_start:",
    "    mov   x19, x0",
    "    adr   x1, _start",
    "    ldr   x2, =_start",
    "    cmp   x1, x2",
    "    b.eq  1f",
    "    mov   x0, #{CELL_FAILED}", // loaded at the wrong address
    "    hvc   #{HVC_IMM}",
    "0:  wfe",
    "    b     0b",
    "1:  ldr   x1, =__bss_start",
    "    ldr   x2, =__bss_end",
    "2:  cmp   x1, x2",
    "    b.hs  3f",
    "    str   xzr, [x1], #8",
    "    b     2b",
    "3:  ldr   x1, =__stack_top",
    "    mov   sp, x1",
    "    ldr   x1, =inmate_vectors",
    "    msr   vbar_el1, x1",
    "    isb",
    "    mov   x0, x19",
    "    bl    inmate_main",
    "4:  wfe",
    "    b     4b",
    CELL_FAILED = const cellboot_abi::hypercall::CELL_FAILED,
    HVC_IMM = const cellboot_abi::hypercall::HVC_IMM,
);

// Vectors: every entry saves a Frame on SP_EL1 and calls
// inmate_exception(frame, kind); the frame (ELR/SPSR possibly changed) is
// restored on return.
global_asm!(
    ".equ FRAME, {FRAME}",
    ".macro VENTRY kind",
    "    .balign 0x80",
    "    sub   sp, sp, #FRAME",
    "    stp   x0, x1, [sp, #0]",
    "    mov   x1, #\\kind",
    "    b     inmate_save_rest",
    ".endm",
    ".section .text.vectors, \"ax\"",
    ".balign 0x800",
    ".global inmate_vectors",
    "inmate_vectors:",
    "    VENTRY 0",
    "    VENTRY 1",
    "    VENTRY 2",
    "    VENTRY 3",
    "    VENTRY 4",
    "    VENTRY 5",
    "    VENTRY 6",
    "    VENTRY 7",
    "    VENTRY 8",
    "    VENTRY 9",
    "    VENTRY 10",
    "    VENTRY 11",
    "    VENTRY 12",
    "    VENTRY 13",
    "    VENTRY 14",
    "    VENTRY 15",
    "inmate_save_rest:",
    "    stp   x2, x3, [sp, #16]",
    "    stp   x4, x5, [sp, #32]",
    "    stp   x6, x7, [sp, #48]",
    "    stp   x8, x9, [sp, #64]",
    "    stp   x10, x11, [sp, #80]",
    "    stp   x12, x13, [sp, #96]",
    "    stp   x14, x15, [sp, #112]",
    "    stp   x16, x17, [sp, #128]",
    "    stp   x18, x19, [sp, #144]",
    "    stp   x20, x21, [sp, #160]",
    "    stp   x22, x23, [sp, #176]",
    "    stp   x24, x25, [sp, #192]",
    "    stp   x26, x27, [sp, #208]",
    "    stp   x28, x29, [sp, #224]",
    "    mrs   x2, elr_el1",
    "    stp   x30, x2, [sp, #240]",
    "    mrs   x2, spsr_el1",
    "    str   x2, [sp, #256]",
    "    mov   x0, sp",
    "    bl    inmate_exception",
    "    ldp   x30, x2, [sp, #240]",
    "    msr   elr_el1, x2",
    "    ldr   x2, [sp, #256]",
    "    msr   spsr_el1, x2",
    "    ldp   x0, x1, [sp, #0]",
    "    ldp   x2, x3, [sp, #16]",
    "    ldp   x4, x5, [sp, #32]",
    "    ldp   x6, x7, [sp, #48]",
    "    ldp   x8, x9, [sp, #64]",
    "    ldp   x10, x11, [sp, #80]",
    "    ldp   x12, x13, [sp, #96]",
    "    ldp   x14, x15, [sp, #112]",
    "    ldp   x16, x17, [sp, #128]",
    "    ldp   x18, x19, [sp, #144]",
    "    ldp   x20, x21, [sp, #160]",
    "    ldp   x22, x23, [sp, #176]",
    "    ldp   x24, x25, [sp, #192]",
    "    ldp   x26, x27, [sp, #208]",
    "    ldp   x28, x29, [sp, #224]",
    "    add   sp, sp, #FRAME",
    "    eret",
    FRAME = const Frame::SIZE,
);

/// Registers saved by the vectors (the shim's EL2 vectors save the same).
pub use cellboot_abi::TrapFrame as Frame;

/// Vector kinds: 4 = current EL (SPx) sync, 5 = IRQ; others are unexpected.
pub const KIND_SYNC: u64 = 4;
pub const KIND_IRQ: u64 = 5;

unsafe extern "Rust" {
    /// Each binary's exception handler (sync aborts, IRQs).
    fn inmate_handle(frame: &mut Frame, kind: u64);
}

#[unsafe(no_mangle)]
extern "C" fn inmate_exception(frame: &mut Frame, kind: u64) {
    // SAFETY: defined by the binary with exactly this signature.
    unsafe { inmate_handle(frame, kind) }
}

// Separate read and write accessors: the assembler rejects `mrs` of a
// write-only register (ICC_EOIR1_EL1) and `msr` of a read-only one (MPIDR_EL1),
// and a debug build assembles every accessor, used or not.
macro_rules! sysreg_r {
    ($get:ident, $name:literal) => {
        pub fn $get() -> u64 {
            let v: u64;
            // SAFETY: reads a system register EL1 may access.
            unsafe { asm!(concat!("mrs {0}, ", $name), out(reg) v, options(nomem, nostack)) };
            v
        }
    };
}

macro_rules! sysreg_w {
    ($set:ident, $name:literal) => {
        pub fn $set(v: u64) {
            // SAFETY: writes a system register EL1 owns; callers pick values
            // per the architecture (timer, GIC CPU interface, vectors).
            unsafe { asm!(concat!("msr ", $name, ", {0}"), "isb", in(reg) v, options(nostack)) };
        }
    };
}

sysreg_r!(cntfrq, "cntfrq_el0");
sysreg_r!(cntvct, "cntvct_el0");
sysreg_r!(cntv_cval, "cntv_cval_el0");
sysreg_w!(set_cntv_tval, "cntv_tval_el0");
sysreg_w!(set_cntv_ctl, "cntv_ctl_el0");
sysreg_r!(mpidr, "mpidr_el1");
sysreg_r!(esr_el1, "esr_el1");
sysreg_r!(far_el1, "far_el1");
sysreg_w!(set_vbar_el1, "vbar_el1");
sysreg_r!(icc_sre, "icc_sre_el1");
sysreg_w!(set_icc_sre, "icc_sre_el1");
sysreg_w!(set_icc_ctlr, "icc_ctlr_el1");
sysreg_w!(set_icc_pmr, "icc_pmr_el1");
sysreg_w!(set_icc_bpr1, "icc_bpr1_el1");
sysreg_w!(set_icc_igrpen1, "icc_igrpen1_el1");
sysreg_r!(icc_iar1, "icc_iar1_el1");
sysreg_w!(set_icc_eoir1, "icc_eoir1_el1");

/// Unmasks IRQs at EL1.
pub fn irqs_on() {
    // SAFETY: only changes PSTATE.I; handlers are installed at startup.
    unsafe { asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Waits for an interrupt (taken through the vectors when unmasked).
pub fn wfi() {
    // SAFETY: no memory effects.
    unsafe { asm!("dsb sy", "wfi", options(nostack)) };
}

/// An `hvc` with an immediate that is no service (the shim must refuse it).
pub fn hvc_imm1(code: u64) -> i64 {
    const _: () = assert!(cellboot_abi::hypercall::HVC_IMM != 1 && cellboot_abi::psci::HVC_IMM != 1);
    let r: u64;
    // SAFETY: as `hypercall`.
    unsafe { asm!("hvc #1", inlateout("x0") code => r, options(nostack)) };
    r as i64
}

// Hypercalls, PSCI and raw guest-physical accesses: the guest runtime
// (shared with the shim's test payload).
pub use cellboot_guest_rt::{hypercall, psci_hvc, rd8, rd32, rd64, smc, wr8, wr32, wr64};

/// A 32-bit load at any address (Device memory: misaligned ones fault at
/// stage 1, in the cell itself).
///
/// # Safety
/// As [`rd32`], alignment aside.
pub unsafe fn rd32_unaligned(a: u64) -> u32 {
    let v: u32;
    // SAFETY: as rd32; alignment is the hardware's business here, not a
    // language precondition (inline assembly, no Rust reference).
    unsafe { asm!("ldr {0:w}, [{1}]", out(reg) v, in(reg) a, options(nostack)) };
    v
}

/// A load pair (`ldp`): no syndrome (ISV = 0) when it traps to EL2.
///
/// # Safety
/// As [`rd64`], for 16 bytes.
pub unsafe fn ldp(a: u64) -> (u64, u64) {
    let (x, y): (u64, u64);
    // SAFETY: as rd64.
    unsafe { asm!("ldp {0}, {1}, [{2}]", out(reg) x, out(reg) y, in(reg) a, options(nostack)) };
    (x, y)
}

/// Jumps to `a` (never returns if `a` is not code the cell may run).
pub fn jump(a: u64) -> ! {
    // SAFETY: deliberately transfers control; used by the attacker's last,
    // fatal attempt.
    unsafe { asm!("br {0}", in(reg) a, options(noreturn)) }
}

/// The DTB the loader handed over in x0.
pub fn dtb(addr: u64) -> Option<&'static [u8]> {
    let mut head = [0u8; 8];
    for (i, b) in head.iter_mut().enumerate() {
        // SAFETY: the loader's DTB in our RAM (below); a short one ends
        // inside the RAM all the same.
        *b = unsafe { rd8(addr + i as u64) };
    }
    let n = crate::dtb::totalsize(&head)?;
    // SAFETY: the loader wrote the DTB into our RAM at `addr` (x0 of the
    // boot protocol) and nothing writes it afterwards.
    Some(unsafe { core::slice::from_raw_parts(addr as *const u8, n) })
}

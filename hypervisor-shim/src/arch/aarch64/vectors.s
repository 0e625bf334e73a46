// EL2 exception vectors. Every entry saves a full GuestFrame (x0..x30, ELR,
// SPSR) on SP_EL2 and calls el2_trap(frame, kind); el2_return restores it.
// The guest's FP/SIMD state (q0..q31, FPSR, FPCR) is not saved: the shim is
// built for aarch64-unknown-none-softfloat, so its code never names those
// registers (a NEON target would use them for memset, zeroed arrays and
// formatting, corrupting what the guest held there on any trap). The shim
// QEMU test's payload checks that q0..q31 survive traps.
.equ FRAME_SIZE, {FRAME_SIZE}

.macro VENTRY kind
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #\kind
    b       el2_save_rest
.endm

.section .text.vectors, "ax"
.balign 0x800
.global el2_vectors
el2_vectors:
    VENTRY 0    // current EL, SP0: sync
    VENTRY 1    //   irq
    VENTRY 2    //   fiq
    VENTRY 3    //   serror
    VENTRY 4    // current EL, SPx: sync
    VENTRY 5    //   irq
    VENTRY 6    //   fiq
    VENTRY 7    //   serror
    VENTRY 8    // lower EL AArch64: sync
    VENTRY 9    //   irq
    VENTRY 10   //   fiq
    VENTRY 11   //   serror
    VENTRY 12   // lower EL AArch32: sync
    VENTRY 13
    VENTRY 14
    VENTRY 15

.global el2_save_rest
el2_save_rest:     // x0, x1 saved; x1 = kind
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, elr_el2
    stp     x30, x2, [sp, #240]
    mrs     x2, spsr_el2
    str     x2, [sp, #256]
    mov     x0, sp
    bl      el2_trap
    // fall through

.global el2_return
el2_return:
    ldp     x30, x2, [sp, #240]
    msr     elr_el2, x2
    ldr     x2, [sp, #256]
    msr     spsr_el2, x2
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret

// enter_guest(frame): frame sits at the top of this CPU's stack.
.global el2_enter_guest
el2_enter_guest:
    mov     sp, x0
    b       el2_return

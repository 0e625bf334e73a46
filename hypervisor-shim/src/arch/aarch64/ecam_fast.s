// Lower-EL AArch64 synchronous exceptions enter here (vectors.s, VENTRY 8
// slot). A plain config read of a present device on the cell's virtual ECAM
// is answered from the cell's published EcamImage (vdev/src/pci/image.rs)
// using x0..x5 only: no full frame, no Rust, no lock. Its cost under TCG is
// then little more than the exception round trip itself. Everything else
// restores x2..x5 and continues into the full save (el2_save_rest, kind 8):
// writes, sign-extending or pair loads, misaligned or 8-byte accesses,
// absent devices and functions, other traps.
//
// The checks are EcamImage::read's, in the same order; the host tests hold
// that function to the model, the e2e cases hold this code to the guests.
//
// Operands from ecam_fast.rs: CPU_CELL, ECAM_IMAGES (symbols), FRAME_SIZE,
// MAX_CPUS, MAX_CELLS and the EcamImage layout (IMG_*).

.section .text.el2_fast, "ax"
.global el2_lower_sync
el2_lower_sync:
    // sp already lowered by a frame, x0/x1 saved at [sp, #0] (VENTRY).
    mrs     x0, esr_el2
    lsr     x1, x0, #26
    cmp     x1, #0x24                   // EC: data abort from a lower EL
    b.ne    .Lother                     // (hvc, smc, ...: before touching x2..)
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    // ISV (24) set; SSE (21), FnV (10: FAR not valid), CM (8: cache
    // maintenance), S1PTW (7), WnR (6) clear.
    movz    x1, #0x05c0
    movk    x1, #0x0120, lsl #16
    and     x1, x0, x1
    movz    x3, #0x0100, lsl #16
    cmp     x1, x3
    b.ne    .Lslow

    // x2 = &ECAM_IMAGES[CPU_CELL[this cpu]]
    mrs     x1, tpidr_el2
    cmp     x1, #{MAX_CPUS}
    b.hs    .Lslow
    adrp    x2, {CPU_CELL}
    add     x2, x2, :lo12:{CPU_CELL}
    ldr     x1, [x2, x1, lsl #3]
    cmp     x1, #{MAX_CELLS}
    b.hs    .Lslow
    adrp    x2, {ECAM_IMAGES}
    add     x2, x2, :lo12:{ECAM_IMAGES}
    mov     x3, #{IMG_SIZE}
    madd    x2, x1, x3, x2

    // x1 = ECAM offset of the faulting IPA (HPFAR page | FAR page offset)
    mrs     x1, hpfar_el2
    ubfx    x1, x1, #4, #40
    lsl     x1, x1, #12
    mrs     x3, far_el2
    bfxil   x1, x3, #0, #12
    ldr     x3, [x2, #{IMG_BASE}]
    sub     x1, x1, x3
    ldr     x3, [x2, #{IMG_SPAN}]
    cmp     x1, x3
    b.hs    .Lslow
    tst     x1, #0x7000                 // function 0 only
    b.ne    .Lslow
    ubfx    x3, x1, #15, #5             // device
    ldr     w4, [x2, #{IMG_PRESENT}]
    lsr     w4, w4, w3
    tbz     w4, #0, .Lslow

    // x4 = SAS (log2 bytes): 1, 2 or 4 bytes, naturally aligned
    ubfx    x4, x0, #22, #2
    cmp     x4, #3
    b.eq    .Lslow
    mov     x5, #1
    lsl     x5, x5, x4
    sub     x5, x5, #1
    tst     x1, x5
    b.ne    .Lslow

    // x5 = value: zero past the imaged header, else the dword shifted down
    // to the accessed bytes and cut to the access size
    and     x1, x1, #0xfff              // register
    mov     x5, #0
    cmp     x1, #{IMG_BYTES}
    b.hs    .Lvalue
    add     x2, x2, #{IMG_DWORDS}
    add     x2, x2, x3, lsl #{IMG_ROW_SHIFT}
    lsr     x3, x1, #2
    ldr     w5, [x2, x3, lsl #2]
    and     x1, x1, #3
    lsl     x1, x1, #3
    lsr     w5, w5, w1
    mov     x1, #8
    lsl     x1, x1, x4                  // bits: 8, 16, 32
    mov     x3, #1
    lsl     x3, x3, x1
    sub     x3, x3, #1
    and     x5, x5, x3
.Lvalue:
    mrs     x1, elr_el2
    add     x1, x1, #4
    msr     elr_el2, x1
    ubfx    x1, x0, #16, #5             // SRT
    cmp     x1, #6
    b.hs    .Lhigh
    str     x5, [sp, x1, lsl #3]        // x0..x5: into the saved slot
    b       .Lreturn
.Lhigh:
    cmp     x1, #31                     // XZR: nothing to write
    b.eq    .Lreturn
    adr     x2, .Lset_x6
    sub     x1, x1, #6
    add     x2, x2, x1, lsl #3
    br      x2
.Lset_x6:
    .irp n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    mov     x\n, x5
    b       .Lreturn
    .endr
.Lreturn:
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    add     sp, sp, #{FRAME_SIZE}
    eret

.Lslow:
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
.Lother:
    mov     x1, #8
    b       el2_save_rest

//! A stand-in for the Raspberry Pi 4 firmware's armstub that does *not*
//! drop to EL2: the e2e case `rpi4b/el3-entry` loads it at 0 on QEMU
//! raspi4b, where (like the BCM2711 after the VideoCore releases the ARM
//! cores) all four cores start at 0 in secure EL3 with the MMU off.
//!
//! What it does is what armstub8 does before it hands over, minus the drop:
//! make every GIC-400 interrupt non-secure (group 1) and open the CPU
//! interface on each core when the GIC has Security Extensions (the real
//! GIC-400 does, QEMU's model does not: there every interrupt already is the
//! non-secure world's), then core 0 enters the image at `kernel_entry32`
//! with x0 = `dtb_ptr32`, and cores 1-3 wait in WFE on their spin-table word
//! (0xd8 + 8 * core) and jump to what is written there, still at EL3.
//! The counter frequency is left as QEMU set it (CNTFRQ_EL0 must match
//! QEMU's real tick rate; the real armstub writes the board's 54 MHz).
//!
//! xtask patches the words after 0xf8 (the real firmware patches
//! `dtb_ptr32`/`kernel_entry32` the same way); GIC bases come from the
//! board file.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
.section .text.start, "ax"
.global _start
_start:
    mrs     x6, mpidr_el1
    and     x6, x6, #0xff
    ldr     x2, gicd_base
    ldr     x3, gicc_base
    ldr     w4, [x2, #4]            // GICD_TYPER
    tbz     w4, #10, 5f             // no Security Extensions (QEMU's model): nothing is secure
    mov     w1, #-1
    str     w1, [x2, #0x80]         // GICD_IGROUPR0 (banked: this core's SGIs/PPIs) -> group 1
    cbnz    x6, 2f
    and     w4, w4, #0x1f           // ITLinesNumber: 32 * (N + 1) interrupts
    add     x5, x2, #0x84
1:  cbz     w4, 2f                  // GICD_IGROUPR1..N: every SPI -> group 1
    str     w1, [x5], #4
    sub     w4, w4, #1
    b       1b
2:  mov     w1, #3
    str     w1, [x2]                // GICD_CTLR: forward group 0 and group 1
    mov     w1, #0x1e7
    str     w1, [x3]                // GICC_CTLR (secure view): both groups, as armstub8
    mov     w1, #0xff
    str     w1, [x3, #4]            // GICC_PMR: no priority masked
5:  mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    cbnz    x6, 3f
    ldr     w0, dtb_ptr32
    ldr     w4, kernel_entry32
    br      x4
3:  adr     x5, spin_cpu0
    add     x5, x5, x6, lsl #3
4:  wfe
    ldr     x4, [x5]
    cbz     x4, 4b
    mov     x0, xzr
    br      x4

.org 0xd8
spin_cpu0: .quad 0
spin_cpu1: .quad 0
spin_cpu2: .quad 0
spin_cpu3: .quad 0
.org 0xf8
dtb_ptr32: .word 0
kernel_entry32: .word 0
gicd_base: .quad 0
gicc_base: .quad 0
"#
);

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

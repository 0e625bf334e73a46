// arm64 Image header + boot paths. Everything else is Rust.
// Symbols from Rust: {STACKS}, {STACK_SIZE}, {MAX_CPUS}, {BOOT_STACK}.

.section .text.head, "ax"
.global _start
_start:
    b       primary_entry           // code0/code1
    .long   0
    .quad   0x200000                // text_offset
    .quad   _image_size             // image_size (xtask patches it to the whole file)
    .quad   0x2                     // flags: little endian, 4 KiB pages, 2 MiB aligned base
    .quad   0, 0, 0                 // res2..res4
    .ascii  "ARM\x64"               // magic at 0x38
    .long   0                       // res5

primary_entry:
    mov     x19, x0                 // board DTB
    mrs     x21, CurrentEL          // the EL the firmware gave us, for the log
    lsr     x21, x21, #2
    bl      drop_from_el3
    mrs     x20, CurrentEL
    lsr     x20, x20, #2
    msr     daifset, #0xf
    // Invalidate BSS (DC IVAC, no clean) before zeroing it with the MMU off:
    // a dirty line a previous loader left there would be written back over
    // the zeros at any time (Linux's head.S invalidates before its MMU-off
    // writes too). __bss_start is page aligned, so no neighbour shares a line.
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
    bl      dcache_inval_range
    // zero BSS (16-byte aligned, bounds from the link script)
    ldr     x2, =__bss_start
    ldr     x3, =__bss_end
2:  cmp     x2, x3
    b.hs    3f
    stp     xzr, xzr, [x2], #16
    b       2b
3:
    ldr     x2, ={BOOT_STACK}
    add     sp, x2, #{STACK_SIZE}
    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    bl      shim_main
4:  wfe
    b       4b

// Entered from the board firmware's spin-table (Raspberry Pi 4: armstub8 /
// QEMU raspi4b's boot stub): EL2 (or EL3, see drop_from_el3), MMU off,
// x0..x3 = 0. The CPU index is
// MPIDR.Aff0 (one cluster; shim_secondary_main checks it against the board).
.section .text, "ax"
.global spin_entry
spin_entry:
    msr     daifset, #0xf
    bl      drop_from_el3           // a firmware that parks its cores at EL3
    mrs     x0, mpidr_el1
    and     x0, x0, #0xff
    b       secondary_entry

// Entered through real PSCI CPU_ON issued by the shim: EL2, MMU off,
// x0 = context id = physical CPU index. Also the restart of a CPU the shim
// parked itself (MMU already on: switching it on again is harmless).
.global secondary_entry
secondary_entry:
    msr     daifset, #0xf
    mov     x19, x0
    bl      el2_mmu_on              // before the first store: the stack is cached memory
    mov     x0, x19
    cmp     x0, #{MAX_CPUS}
    b.hs    5f
    ldr     x1, ={STACKS}
    mov     x2, #{STACK_SIZE}
    madd    x1, x0, x2, x1
    add     sp, x1, x2
    bl      shim_secondary_main
5:  wfe
    b       5b

// Loads MAIR/TCR/TTBR0/SCTLR_EL2 from EL2_MMU (arch/aarch64/mmu.rs, written
// by the boot CPU before it switched its own MMU on) and switches this CPU's
// EL2 MMU and caches on. No stack, clobbers x1..x5: secondaries call it
// first thing. SCTLR 0 there: no map yet, stay off.
.global el2_mmu_on
el2_mmu_on:
    ldr     x1, =EL2_MMU
    ldp     x2, x3, [x1]
    ldp     x4, x5, [x1, #16]
    cbz     x5, 1f
    msr     mair_el2, x2
    msr     tcr_el2, x3
    msr     ttbr0_el2, x4
    isb
    tlbi    alle2                   // nothing cached from an earlier life of this CPU
    dsb     ish
    ic      iallu                   // nor instructions fetched while the I-cache was off
    dsb     ish
    isb
    msr     sctlr_el2, x5
    isb
1:  ret

// Returns to x30 at EL2. A core that runs at EL3 (a firmware that does not
// drop to EL2 itself: bare Raspberry Pi boot, custom armstub) is made a
// non-secure AArch64 EL2 with known EL2 control state first; the platform's
// secure setup (GIC groups, CNTFRQ, SMPEN) stays the firmware's job. Clobbers
// x1 only; no stack.
drop_from_el3:
    mrs     x1, CurrentEL
    cmp     x1, #(3 << 2)
    b.ne    1f
    mov     x1, #0x5b1              // SCR_EL3: RW | HCE | SMD | RES1(5:4) | NS
    msr     scr_el3, x1
    msr     cptr_el3, xzr           // no FP/SIMD or trace traps to EL3
    mov     x1, #(1 << 31)          // HCR_EL2: RW only (resets UNKNOWN, E2H included)
    msr     hcr_el2, x1
    ldr     x1, =0x30c50830         // SCTLR_EL2: RES1 only, MMU/caches off, little endian
    msr     sctlr_el2, x1
    mov     x1, #0x3c9              // SPSR_EL3: EL2h, DAIF masked
    msr     spsr_el3, x1
    msr     elr_el3, x30
    isb
    eret
1:  ret

// dcache_inval_range(start x0, end x1): DC IVAC over the lines of
// [x0, x1), then DSB SY. For memory whose newest data is in memory (written
// with the MMU off); x0 line aligned, or a neighbour's dirty data in a
// shared line is lost. No stack; clobbers x0, x2, x3.
.global dcache_inval_range
dcache_inval_range:
    mrs     x3, ctr_el0
    ubfx    x3, x3, #16, #4         // CTR_EL0.DminLine: log2(words per line)
    mov     x2, #4
    lsl     x2, x2, x3
    dsb     sy
1:  cmp     x0, x1
    b.hs    2f
    dc      ivac, x0
    add     x0, x0, x2
    b       1b
2:  dsb     sy
    ret

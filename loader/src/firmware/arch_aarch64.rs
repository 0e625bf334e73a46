//! Everything the loader does to the hardware: startup, hypercalls, raw
//! memory, cache maintenance and the jump. Entered at EL1h with the MMU and
//! D-cache off, so every data access is Device memory: the assembly only uses
//! aligned accesses and Rust is built with +strict-align.

use cellboot_abi::hypercall;
use core::arch::{asm, global_asm};

// Startup: save x0, apply our own relative relocations (linked at 0,
// running wherever the shim put us), zero BSS, set SP, call Rust. Every
// symbol is within `adr`'s 1 MiB, as the tiny code model the Rust code is
// built with assumes (xtask/src/firmware.rs); the link fails otherwise.
// The linker packs them as RELR (build.rs): an even entry is the offset of
// one word to rebase, an odd one a bitmap of which of the next 63 words
// after the last offset to rebase; the addend is the word itself. Anything
// it cannot pack (unaligned) stays in .rela.dyn, applied after.
global_asm!(
    ".section .text.head, \"ax\"",
    ".global _start",
    "_start:",
    "    mov   x19, x0", // comm region IPA
    // I-cache on: allowed with the MMU off (fetches are then Normal
    // cacheable), else every instruction is a memory read on silicon. The
    // shim invalidated the I-caches after staging us (IC IALLUIS).
    "    mrs   x1, sctlr_el1",
    "    orr   x1, x1, #(1 << 12)",
    "    msr   sctlr_el1, x1",
    "    isb",
    "    adr   x20, _start", // runtime base (link address 0)
    "    adr   x1, __relr_start",
    "    adr   x2, __relr_end",
    "7:  cmp   x1, x2",
    "    b.hs  0f",
    "    ldr   x3, [x1], #8",
    "    tbnz  x3, #0, 8f",
    "    add   x4, x20, x3", // offset entry: rebase that word
    "    ldr   x5, [x4]",
    "    add   x5, x5, x20",
    "    str   x5, [x4], #8", // x4: the word after it, where a bitmap starts
    "    b     7b",
    "8:  mov   x6, x4", // bitmap entry: bit k (k >= 1) is the word x4 + 8(k-1)
    "9:  lsr   x3, x3, #1",
    "    cbz   x3, 10f",
    "    tbz   x3, #0, 11f",
    "    ldr   x5, [x6]",
    "    add   x5, x5, x20",
    "    str   x5, [x6]",
    "11: add   x6, x6, #8",
    "    b     9b",
    "10: add   x4, x4, #504", // 63 words on
    "    b     7b",
    "0:  adr   x1, __rela_start",
    "    adr   x2, __rela_end",
    "1:  cmp   x1, x2",
    "    b.hs  3f",
    "    ldp   x3, x4, [x1]",  // r_offset, r_info
    "    ldr   x5, [x1, #16]", // r_addend
    "    add   x1, x1, #24",
    "    cmp   x4, #1027", // R_AARCH64_RELATIVE (symbol 0)
    "    b.ne  2f",
    "    add   x5, x5, x20",
    "    str   x5, [x20, x3]",
    "    b     1b",
    "2:  wfe", // any other relocation: the link is broken
    "    b     2b",
    "3:  adr   x1, __bss_start",
    "    adr   x2, __bss_end",
    "4:  cmp   x1, x2",
    "    b.hs  5f",
    "    str   xzr, [x1], #8", // BSS is 8-aligned at both ends (loader.ld)
    "    b     4b",
    "5:  adr   x1, __stack_top",
    "    mov   sp, x1",
    "    mov   x0, x19",
    "    bl    loader_main",
    "6:  wfe",
    "    b     6b",
);

unsafe extern "C" {
    static _start: u8;
    static _end: u8;
}

/// Runtime [start, end) of the loader image including BSS and stack.
pub fn image_bounds() -> (u64, u64) {
    (core::ptr::addr_of!(_start) as u64, core::ptr::addr_of!(_end) as u64)
}

/// `hvc #HVC_IMM` with x0..x2; returns x0.
pub fn hvc(code: u64, a1: u64, a2: u64) -> u64 {
    let ret: u64;
    // SAFETY: the hypercall ABI (cellboot_abi::hypercall) only reads the
    // registers and the memory we point it at; it clobbers nothing else
    // we rely on (the shim preserves x1..x30 and SP).
    unsafe {
        asm!("hvc #{imm}", imm = const hypercall::HVC_IMM, inlateout("x0") code => ret, in("x1") a1, in("x2") a2,
            options(nostack));
    }
    ret
}

/// Prints through the shim's console (it prefixes the cell name). `s` must
/// end in memory the shim can read: our stack is inside the cell's RAM.
pub fn console_write(s: &[u8]) {
    hvc(hypercall::DEBUG_CONSOLE_WRITE, s.as_ptr() as u64, s.len() as u64);
}

/// A view of guest memory.
///
/// # Safety
/// `[ipa, ipa + len)` must be mapped and not written through any other
/// reference while the slice lives.
pub unsafe fn mem(ipa: u64, len: u64) -> &'static [u8] {
    // SAFETY: MMU off: IPA = address; validity is the caller's promise.
    unsafe { core::slice::from_raw_parts(ipa as *const u8, len as usize) }
}

/// A mutable view of guest memory.
///
/// # Safety
/// `[ipa, ipa + len)` must be mapped RAM that no other live reference covers.
pub unsafe fn mem_mut(ipa: u64, len: u64) -> &'static mut [u8] {
    // SAFETY: as for `mem`, plus exclusivity promised by the caller.
    unsafe { core::slice::from_raw_parts_mut(ipa as *mut u8, len as usize) }
}

/// memmove of `len` bytes from `src` to `dst`.
///
/// # Safety
/// Both ranges must be mapped RAM not referenced by any live slice.
pub unsafe fn move_bytes(src: u64, dst: u64, len: u64) {
    // SAFETY: the caller's promise; `copy` handles overlap like memmove.
    unsafe { core::ptr::copy(src as *const u8, dst as *mut u8, len as usize) }
}

/// Stores bytes one at a time with volatile writes (the comm region is
/// shared with the shim, which reads it after our hypercall).
pub fn write_bytes(ipa: u64, bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        // SAFETY: only called on the comm region's `error` field, which the
        // shim maps writable for the cell and nothing else references now.
        unsafe { core::ptr::write_volatile((ipa + i as u64) as *mut u8, b) };
    }
}

pub fn write_u32(ipa: u64, v: u32) {
    // SAFETY: only called on the comm region's 4-byte aligned `cell_state`.
    unsafe { core::ptr::write_volatile(ipa as *mut u32, v) };
}

fn dcache_line() -> u64 {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    4 << ((ctr >> 16) & 0xf) // DminLine: log2 of words
}

/// `dc cvac` per line over the range, then `dsb sy`: the payload and DTB
/// reach the point of coherency before the kernel runs with caches off.
pub fn clean_dcache_to_poc(start: u64, len: u64) {
    let line = dcache_line();
    let mut a = start & !(line - 1);
    while a < start + len {
        // SAFETY: cleaning a line is harmless for any address we can access.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack, preserves_flags)) };
        a += line;
    }
    // SAFETY: barrier only.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// Microseconds on the physical counter (the shim lets EL1 read it; it
/// starts at 0 with the machine under QEMU): boot-phase timestamps.
#[cfg(feature = "boot-timing")]
pub fn counter_us() -> u64 {
    let (t, f): (u64, u64);
    // SAFETY: reading the counter and its frequency has no side effects.
    unsafe {
        asm!("isb", "mrs {}, cntpct_el0", "mrs {}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack, preserves_flags))
    };
    (t as u128 * 1_000_000 / f.max(1) as u128) as u64
}

/// Enters the payload: x0 = DTB, x1..x3 = 0 (arm64 boot protocol), with
/// the I-cache off again (the state the shim gave us) and invalidated, so
/// no stale instructions for the new payload remain.
///
/// # Safety
/// `entry` must hold the payload, cleaned to PoC; never returns.
pub unsafe fn enter(entry: u64, dtb: u64) -> ! {
    // SAFETY: the caller's promise; the loader's state is abandoned.
    unsafe {
        asm!(
            "mrs x1, sctlr_el1", "bic x1, x1, #(1 << 12)", "msr sctlr_el1, x1", "isb",
            "ic iallu", "dsb nsh", "isb",
            // x4, not a free register: x1..x3 are zeroed first.
            "mov x1, xzr", "mov x2, xzr", "mov x3, xzr", "br x4",
            in("x4") entry, in("x0") dtb, options(noreturn, nostack),
        )
    }
}

/// Parks this CPU for good.
pub fn park() -> ! {
    loop {
        // SAFETY: waiting for an event has no effect on memory.
        unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
    }
}

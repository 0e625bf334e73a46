use cellboot_abi::{hypercall, psci};
use core::arch::asm;
use core::fmt::Write;

/// `hvc #HVC_IMM`: x0 = code, x1..x2 = args; returns x0.
pub fn hypercall(code: u64, a1: u64, a2: u64) -> i64 {
    let r: u64;
    // SAFETY: the shim's hypercall ABI reads registers (and the memory x1
    // names for console writes) and clobbers only x0.
    unsafe {
        asm!("hvc #{imm}", imm = const hypercall::HVC_IMM, inlateout("x0") code => r, in("x1") a1, in("x2") a2,
            options(nostack))
    };
    r as i64
}

/// A PSCI / SMCCC call, function `f`, through `smc #0` (trapped by the shim).
pub fn smc(f: u32, a1: u64, a2: u64, a3: u64) -> i64 {
    let r: u64;
    // SAFETY: SMCCC: clobbers x0..x17 at most.
    unsafe {
        asm!("smc #0", inlateout("x0") u64::from(f) => r, inlateout("x1") a1 => _, inlateout("x2") a2 => _,
            inlateout("x3") a3 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _, options(nostack));
    }
    r as i64
}

/// The same call through `hvc #0`, the PSCI conduit cells may also use.
pub fn psci_hvc(f: u32) -> i64 {
    let r: u64;
    // SAFETY: as `smc`; the shim answers in x0.
    unsafe {
        asm!("hvc #{imm}", imm = const psci::HVC_IMM, inlateout("x0") u64::from(f) => r,
            out("x1") _, out("x2") _, out("x3") _, options(nostack))
    };
    r as i64
}

// Raw guest-physical accesses (MMU off: VA = IPA). Callers name device
// registers, their own RAM or the shared memory; hostile callers name
// anything on purpose, and the shim contains it.

/// A volatile 8-bit load.
///
/// # Safety
/// `a` is a device register, or memory no Rust object of the program lives
/// in (with the MMU off, nothing is cached).
pub unsafe fn rd8(a: u64) -> u8 {
    // SAFETY: the caller's contract.
    unsafe { (a as *const u8).read_volatile() }
}
/// A volatile 8-bit store.
///
/// # Safety
/// As [`rd8`].
pub unsafe fn wr8(a: u64, v: u8) {
    // SAFETY: the caller's contract.
    unsafe { (a as *mut u8).write_volatile(v) }
}
/// A volatile 32-bit load.
///
/// # Safety
/// As [`rd8`], and `a` 4-byte aligned.
pub unsafe fn rd32(a: u64) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { (a as *const u32).read_volatile() }
}
/// A volatile 32-bit store.
///
/// # Safety
/// As [`rd32`].
pub unsafe fn wr32(a: u64, v: u32) {
    // SAFETY: the caller's contract.
    unsafe { (a as *mut u32).write_volatile(v) }
}
/// A volatile 64-bit load.
///
/// # Safety
/// As [`rd8`], and `a` 8-byte aligned.
pub unsafe fn rd64(a: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { (a as *const u64).read_volatile() }
}
/// A volatile 64-bit store.
///
/// # Safety
/// As [`rd64`].
pub unsafe fn wr64(a: u64, v: u64) {
    // SAFETY: the caller's contract.
    unsafe { (a as *mut u64).write_volatile(v) }
}

/// One console line, cut at the buffer's end (the shim takes one write).
struct Line {
    buf: [u8; 240],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// `prefix` then `args` through the console hypercall (the shim prefixes
/// the cell name).
pub fn console_write(prefix: &str, args: core::fmt::Arguments) {
    let mut l = Line { buf: [0; 240], len: 0 };
    let _ = l.write_str(prefix);
    let _ = l.write_fmt(args);
    hypercall(hypercall::DEBUG_CONSOLE_WRITE, l.buf.as_ptr() as u64, l.len as u64);
}

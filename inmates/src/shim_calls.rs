//! The shim's guest interface without startup code: hypercalls, PSCI/SMCCC,
//! raw guest-physical accesses and the console line. Only `core` and
//! `cellboot_abi`, because the shim's QEMU test payload
//! (hypervisor-shim/tests-payload) includes this file by path: the library's
//! `arch` carries `_start` and the vectors, which would clash with the
//! payload's own. `arch` and `console` re-export it for the inmates.

use core::arch::asm;
use core::fmt::Write;

/// `hvc #0x4a48`: x0 = code, x1..x2 = args; returns x0.
pub fn hypercall(code: u64, a1: u64, a2: u64) -> i64 {
    let r: u64;
    // SAFETY: the shim's hypercall ABI reads registers (and the memory x1
    // names for console writes) and clobbers only x0.
    unsafe { asm!("hvc #0x4a48", inlateout("x0") code => r, in("x1") a1, in("x2") a2, options(nostack)) };
    r as i64
}

/// PSCI / SMCCC through `smc #0` (trapped by the shim).
pub fn smc(f: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let r: u64;
    // SAFETY: SMCCC: clobbers x0..x17 at most.
    unsafe {
        asm!("smc #0", inlateout("x0") f => r, inlateout("x1") a1 => _, inlateout("x2") a2 => _,
            inlateout("x3") a3 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _, options(nostack));
    }
    r as i64
}

// Raw guest-physical accesses (MMU off: VA = IPA). Callers name device
// registers, their own RAM or the shared memory; hostile callers name
// anything on purpose, and the shim contains it.
// Each access: volatile accesses to addresses the caller names; with the
// MMU off nothing is cached and no Rust object is aliased by these ranges
// (the inmates keep their own data in statics/stack, never at these addresses).
pub fn rd8(a: u64) -> u8 {
    // SAFETY: an access the caller names (see above).
    unsafe { (a as *const u8).read_volatile() }
}
pub fn wr8(a: u64, v: u8) {
    // SAFETY: an access the caller names (see above).
    unsafe { (a as *mut u8).write_volatile(v) }
}
pub fn rd32(a: u64) -> u32 {
    // SAFETY: an access the caller names (see above).
    unsafe { (a as *const u32).read_volatile() }
}
pub fn wr32(a: u64, v: u32) {
    // SAFETY: an access the caller names (see above).
    unsafe { (a as *mut u32).write_volatile(v) }
}
pub fn rd64(a: u64) -> u64 {
    // SAFETY: an access the caller names (see above).
    unsafe { (a as *const u64).read_volatile() }
}
pub fn wr64(a: u64, v: u64) {
    // SAFETY: an access the caller names (see above).
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
    hypercall(
        cellboot_abi::hypercall::DEBUG_CONSOLE_WRITE,
        l.buf.as_ptr() as u64,
        l.len as u64,
    );
}

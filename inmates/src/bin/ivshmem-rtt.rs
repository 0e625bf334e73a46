//! ivshmem-rtt: a tiny static Linux (arm64) program for the Linux cell's
//! initramfs: times ivshmem round trips to the rtos-demo peer with the
//! generic timer instead of a shell. Built for aarch64-unknown-none (no C
//! cross compiler needed): raw system calls, no libc, entered at `_start`.
//!
//! `ivshmem-rtt <bar0> <shmem> <state_size> <rw_size> <out_size> <id> <n>`
//! (numbers in decimal or 0x-hex, as the peer script reads them from sysfs).
//! Maps BAR0 and the shared memory through /dev/mem (O_SYNC: uncached, like
//! the inmate's MMU-off view), then per round trip: request into our output
//! section, CNTVCT, doorbell, spin until the peer's answer carries our seq,
//! CNTVCT. Prints `CELLBOOT: rtt-native n=.. min_us=.. median_us=.. max_us=..`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

// The protocol source itself, not the library (whose startup code and
// vectors belong to the bare-metal inmates).
#[cfg(target_os = "none")]
#[path = "../proto.rs"]
#[allow(dead_code)]
mod proto;

#[cfg(target_os = "none")]
mod rtt {
    use super::proto;
    use core::arch::{asm, global_asm};
    use core::fmt::Write;

    // Linux starts us with sp -> argc, argv[0..argc], NULL, envp...
    global_asm!(
        ".section .text._start, \"ax\"",
        ".global _start",
        "_start:",
        "    mov x0, sp",
        "    bl  rtt_main",
        "0:  b   0b",
    );

    fn syscall(n: u64, a: [u64; 6]) -> i64 {
        let r: u64;
        // SAFETY: a Linux arm64 system call; arguments are checked by the kernel.
        unsafe {
            asm!("svc #0", in("x8") n, inlateout("x0") a[0] => r, in("x1") a[1], in("x2") a[2],
                in("x3") a[3], in("x4") a[4], in("x5") a[5], options(nostack));
        }
        r as i64
    }
    const OPENAT: u64 = 56;
    const WRITE: u64 = 64;
    const EXIT_GROUP: u64 = 94;
    const MMAP: u64 = 222;
    const AT_FDCWD: i64 = -100;
    const O_RDWR_SYNC: u64 = 0o2 | 0o4010000;

    fn exit(code: u64) -> ! {
        syscall(EXIT_GROUP, [code, 0, 0, 0, 0, 0]);
        loop {
            core::hint::spin_loop() // exit_group does not return
        }
    }

    struct Out {
        buf: [u8; 256],
        len: usize,
    }
    impl Write for Out {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
    fn print(args: core::fmt::Arguments) {
        let mut o = Out { buf: [0; 256], len: 0 };
        let _ = o.write_fmt(args);
        let _ = o.write_str("\n");
        syscall(WRITE, [1, o.buf.as_ptr() as u64, o.len as u64, 0, 0, 0]);
    }
    macro_rules! out { ($($t:tt)*) => { print(format_args!($($t)*)) } }
    fn die(args: core::fmt::Arguments) -> ! {
        print(format_args!("CELLBOOT: FAIL ivshmem-rtt: {args}"));
        exit(1)
    }

    fn cntvct() -> u64 {
        let v: u64;
        // SAFETY: Linux lets EL0 read the virtual counter (vDSO does too).
        unsafe { asm!("isb", "mrs {0}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
        v
    }
    fn cntfrq() -> u64 {
        let v: u64;
        // SAFETY: readable at EL0 whenever the counter is.
        unsafe { asm!("mrs {0}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
        v
    }

    fn parse(s: &[u8]) -> Option<u64> {
        core::str::from_utf8(s).ok().and_then(cellboot_abi::parse_u64)
    }

    /// argv[i] as bytes (NUL-terminated C string from the kernel).
    fn arg(argv: *const *const u8, i: usize) -> &'static [u8] {
        // SAFETY: the kernel placed argc valid NUL-terminated strings; callers
        // check i < argc.
        unsafe {
            let p = *argv.add(i);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            core::slice::from_raw_parts(p, n)
        }
    }

    fn map(fd: i64, phys: u64, len: u64) -> u64 {
        let r = syscall(MMAP, [0, len, 3 /* RW */, 1 /* SHARED */, fd as u64, phys]);
        if r < 0 {
            die(format_args!("mmap /dev/mem at {phys:#x}+{len:#x}: errno {}", -r));
        }
        r as u64
    }

    fn rd(a: u64) -> u32 {
        // SAFETY: inside a /dev/mem mapping this program made.
        unsafe { (a as *const u32).read_volatile() }
    }
    fn wr(a: u64, v: u32) {
        // SAFETY: as rd.
        unsafe { (a as *mut u32).write_volatile(v) }
    }

    const MAX_N: usize = 2000;

    #[unsafe(no_mangle)]
    extern "C" fn rtt_main(sp: *const u64) -> ! {
        // SAFETY: the initial stack layout of a Linux process.
        let argc = unsafe { *sp } as usize;
        // SAFETY: argv follows argc in that layout.
        let argv = unsafe { sp.add(1) } as *const *const u8;
        if argc != 8 {
            die(format_args!(
                "usage: ivshmem-rtt bar0 shmem state_size rw_size out_size id n"
            ));
        }
        let mut v = [0u64; 7];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = parse(arg(argv, i + 1)).unwrap_or_else(|| die(format_args!("argument {} is not a number", i + 1)));
        }
        let [bar0_pa, shmem_pa, state, rwsz, outsz, id, n] = v;
        let n = (n as usize).clamp(1, MAX_N);
        let path = b"/dev/mem\0";
        let fd = syscall(OPENAT, [AT_FDCWD as u64, path.as_ptr() as u64, O_RDWR_SYNC, 0, 0, 0]);
        if fd < 0 {
            die(format_args!("open /dev/mem: errno {}", -fd));
        }
        let bar0 = map(fd, bar0_pa, 0x1000);
        let shmem = map(fd, shmem_pa, state + rwsz + 2 * outsz);
        let other = 1 - id as u32;
        let mine = shmem + proto::out_section(state, rwsz, outsz, id as u32);
        let theirs = shmem + proto::out_section(state, rwsz, outsz, other);
        let freq = cntfrq().max(1);
        let timeout = 5 * freq;
        let mut seq = rd(mine + 4).wrapping_add(1000);
        let mut t = [0u64; MAX_N];
        for (i, slot) in t.iter_mut().take(n).enumerate() {
            seq = seq.wrapping_add(1).max(1);
            let (a, b) = (i as u32, 7u32);
            wr(mine + 8, a);
            wr(mine + 12, b);
            wr(mine + 4, seq);
            wr(mine, proto::PING);
            let t0 = cntvct();
            wr(bar0 + 0x0c, other << 16);
            while rd(theirs + 4) != seq {
                if cntvct() - t0 > timeout {
                    die(format_args!("round trip {i}: no answer within 5 s"));
                }
            }
            *slot = cntvct() - t0;
            if rd(theirs) != proto::PONG || rd(theirs + 8) != proto::answer(a, b) {
                die(format_args!(
                    "round trip {i}: answer {} != {}",
                    rd(theirs + 8),
                    proto::answer(a, b)
                ));
            }
        }
        let t = &mut t[..n];
        t.sort_unstable();
        let us = |ticks: u64| ticks * 1_000_000 / freq;
        out!(
            "CELLBOOT: rtt-native n={n} min_us={} median_us={} max_us={} (CNTVCT at {freq} Hz, /dev/mem, TCG)",
            us(t[0]),
            us(t[n / 2]),
            us(t[n - 1])
        );
        exit(0)
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        die(format_args!("panic"))
    }
}

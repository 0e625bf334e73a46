//! PL011 console shared by the shim and the cells' debug hypercalls. One spin
//! lock around it, so lines from different CPUs never interleave; none
//! while the MMU is off, when only the boot CPU runs the shim and the lock's
//! exclusives would act on Device memory, where the architecture does not
//! guarantee them (every data access is Device-nGnRnE with the MMU off).

use cellboot_abi::text::{self, Arg, Sink};
use cellboot_abi::uart_driver;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_bitfields! [u32,
    FR [
        TXFF OFFSET(5) NUMBITS(1) [],
        BUSY OFFSET(3) NUMBITS(1) [],
    ],
];

register_structs! {
    Pl011Regs {
        (0x00 => dr: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1c => @END),
    }
}

const fn parse_hex(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = if b.len() > 2 && b[0] == b'0' && b[1] == b'x' {
        2
    } else {
        0
    };
    let mut v = 0usize;
    while i < b.len() {
        let d = match b[i] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("SHIM_EARLY_UART is not hex"),
        };
        v = v * 16 + d as usize;
        i += 1;
    }
    v
}

/// UART used before the system config is validated (build-time board fact).
pub const EARLY_UART: usize = parse_hex(env!("SHIM_EARLY_UART"));

/// Its driver (`uart_driver::*`, a single digit from the build script).
const EARLY_UART_DRIVER: u32 = (env!("SHIM_EARLY_UART_DRIVER").as_bytes()[0] - b'0') as u32;

static UART_BASE: AtomicUsize = AtomicUsize::new(EARLY_UART);
static UART_DRIVER: AtomicU32 = AtomicU32::new(EARLY_UART_DRIVER);
static LOCK: crate::lock::Mutex<()> = crate::lock::Mutex::new(());

/// Switches to the board's UART from the validated system config.
pub fn set_uart(base: u64, driver: u32) {
    if base != 0 {
        UART_BASE.store(base as usize, Ordering::Relaxed);
        UART_DRIVER.store(driver, Ordering::Relaxed);
    }
}

pub struct Uart;

impl Uart {
    fn regs(&self) -> &Pl011Regs {
        // SAFETY: the PL011 MMIO block at UART_BASE (a board fact) is
        // identity-mapped as Device memory (el2_map; 1:1 anyway before the
        // MMU is on); it is never handed out as Rust memory.
        unsafe { &*(UART_BASE.load(Ordering::Relaxed) as *const Pl011Regs) }
    }
    pub fn putb(&mut self, b: u8) {
        if UART_DRIVER.load(Ordering::Relaxed) == uart_driver::CDNS {
            return crate::uart_cdns::putb(UART_BASE.load(Ordering::Relaxed), b);
        }
        let r = self.regs();
        while r.fr.is_set(FR::TXFF) {}
        r.dr.set(b as u32);
    }
    /// Writes bytes, replacing control characters other than tab so a guest
    /// cannot drive the terminal.
    pub fn put_sanitized(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\t' | 0x20..=0x7e => self.putb(b),
                b'\r' => {}
                _ => self.putb(b'.'),
            }
        }
    }
}

impl Uart {
    /// Writes `s`, each `\n` as `\r\n`.
    #[inline(never)]
    pub fn puts(&mut self, s: &[u8]) {
        for &b in s {
            if b == b'\n' {
                self.putb(b'\r');
            }
            self.putb(b);
        }
    }
}

/// The console as the sink of `cellboot_abi::text::write`: one small
/// interpreter for every message instead of `core::fmt` (about 10 KiB of
/// the shim's 64 KiB budget).
struct Console;

impl Sink for Console {
    fn put(&mut self, bytes: &[u8]) {
        Uart.puts(bytes);
    }
}

#[inline(never)]
fn lock() -> Option<crate::lock::MutexGuard<'static, ()>> {
    crate::arch::data_cache_on().then(|| LOCK.lock())
}

/// `[shim] <message>` on its own line (`info!`).
#[inline(never)]
pub fn shim_line(fmt: &str, args: &[Arg]) {
    let _g = lock();
    Uart.puts(b"[shim] ");
    text::write(&mut Console, fmt, args);
    Uart.puts(b"\n");
}

/// `[shim] cell <name>: <message>` on its own line (`cell_info!`).
#[inline(never)]
pub fn shim_cell_line(cell: &[u8], fmt: &str, args: &[Arg]) {
    let _g = lock();
    Uart.puts(b"[shim] cell ");
    Uart.puts(cell);
    Uart.puts(b": ");
    text::write(&mut Console, fmt, args);
    Uart.puts(b"\n");
}

/// Runs `f` with the console locked (unlocked before the MMU is on: a
/// refusal or an EL2 exception that early must still print, not hang).
pub fn with<R>(f: impl FnOnce(&mut Uart) -> R) -> R {
    let _g = lock();
    f(&mut Uart)
}

/// `[<cell>] <text>` for each line of a cell's output.
pub fn cell_line(cell: &[u8], text: &[u8]) {
    with(|u| {
        u.puts(b"[");
        u.puts(cell);
        u.puts(b"] ");
        u.put_sanitized(text);
        u.puts(b"\n");
    });
}

/// A format string and its arguments as one argument.
pub struct Message<'a>(pub &'a str, pub &'a [Arg<'a>]);

impl text::Render for Message<'_> {
    fn render(&self, s: &mut dyn Sink) {
        text::write(s, self.0, self.1);
    }
}
cellboot_abi::render_arg!(Message<'_>);

/// For the panic handler: prints without taking the lock (it may be held by
/// the CPU that panicked).
#[cfg(not(debug_assertions))]
pub fn emergency(msg: &str) {
    Uart.puts(b"\n[shim] PANIC: ");
    Uart.puts(msg.as_bytes());
    Uart.puts(b"\n");
}

/// The debug build's panic message and place (`core::fmt`: debug only).
#[cfg(debug_assertions)]
pub fn emergency_fmt(args: core::fmt::Arguments) {
    struct W;
    impl core::fmt::Write for W {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            Uart.puts(s.as_bytes());
            Ok(())
        }
    }
    Uart.puts(b"\n[shim] PANIC: ");
    let _ = core::fmt::Write::write_fmt(&mut W, args);
    Uart.puts(b"\n");
}

/// `[shim] <message>` on its own line. Format syntax of
/// `cellboot_abi::text`: `{}`, `{:x}`, `{:#x}`, `{:#010x}`, positional
/// arguments only.
#[macro_export]
macro_rules! info {
    ($fmt:literal $(, $a:expr)* $(,)?) => {
        {
            const _: () = assert!(
                cellboot_abi::text::valid($fmt, <[&str]>::len(&[$(stringify!($a)),*])),
                "format string and arguments do not match (cellboot_abi::text::valid)"
            );
            $crate::console::shim_line($fmt, &cellboot_abi::args!($($a),*))
        }
    };
}

/// `[shim] cell <name>: <message>`, the name as bytes (`info!` syntax after it).
#[macro_export]
macro_rules! cell_info {
    ($cell:expr, $fmt:literal $(, $a:expr)* $(,)?) => {
        {
            const _: () = assert!(
                cellboot_abi::text::valid($fmt, <[&str]>::len(&[$(stringify!($a)),*])),
                "format string and arguments do not match (cellboot_abi::text::valid)"
            );
            $crate::console::shim_cell_line($cell, $fmt, &cellboot_abi::args!($($a),*))
        }
    };
}

/// `[shim] boot-phase <µs> <what>`: the physical counter at a boot phase,
/// in builds with `--features boot-timing` only (`cargo xtask bench --only
/// boot --phases` reads them); nothing otherwise.
#[macro_export]
macro_rules! phase {
    ($what:expr) => {
        #[cfg(feature = "boot-timing")]
        $crate::console::phase($what);
    };
}

#[cfg(feature = "boot-timing")]
pub fn phase(what: &str) {
    info!("boot-phase {} {}", crate::arch::counter_us(), what);
}

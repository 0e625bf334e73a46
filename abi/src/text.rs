//! Messages rendered once, for two writers: the shim's console and host
//! tooling's `core::fmt::Display` ([`display_via_render!`]), so both print
//! the same text.
//!
//! The shim's 64 KiB cannot afford `core::fmt` (argument tables, padding
//! engine, dynamic dispatch per argument) nor code per message piece: a
//! message here is its format string and a small array of [`Arg`]s, read by
//! one interpreter, [`write`]. Format syntax: `{}` (decimal, text), `{:x}`,
//! `{:#x}`, `{:0Nx}` and `{:#0Nx}` (zero-padded to N including the `0x`),
//! positional arguments only.

use core::fmt;

/// Where rendered bytes go: pieces of `&str`s, and [`Arg::B`] bytes.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

/// A type whose message is written once against a [`Sink`].
pub trait Render {
    fn render(&self, s: &mut dyn Sink);
}

/// One argument of a message.
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    U(u64),
    S(&'a str),
    /// Bytes from a name field, printed as they are.
    B(&'a [u8]),
    R(&'a dyn Render),
}

/// What a message argument can be.
pub trait ToArg {
    fn arg(&self) -> Arg<'_>;
}

macro_rules! unsigned_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            #[inline(always)]
            fn arg(&self) -> Arg<'_> {
                Arg::U(u64::from(*self))
            }
        }
    )*};
}
unsigned_args!(u8, u16, u32, u64);

impl ToArg for usize {
    #[inline(always)]
    fn arg(&self) -> Arg<'_> {
        Arg::U(*self as u64)
    }
}

impl ToArg for str {
    #[inline(always)]
    fn arg(&self) -> Arg<'_> {
        Arg::S(self)
    }
}

impl ToArg for [u8] {
    #[inline(always)]
    fn arg(&self) -> Arg<'_> {
        Arg::B(self)
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    #[inline(always)]
    fn arg(&self) -> Arg<'_> {
        (**self).arg()
    }
}

/// `ToArg` for [`Render`] types.
#[macro_export]
macro_rules! render_arg {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::text::ToArg for $t {
            #[inline(always)]
            fn arg(&self) -> $crate::text::Arg<'_> {
                $crate::text::Arg::R(self)
            }
        }
    )+};
}

/// `[Arg]` from expressions, for [`write`].
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        [$($crate::text::ToArg::arg(&$a)),*]
    };
}

/// Whether `fmt` is a format string [`write`] reads as meant with `args`
/// arguments: only `{}`, `{:x}`, `{:#x}`, `{:0Nx}`, `{:#0Nx}`, no names
/// (`{name}` would print nothing), no `{{`/`}}`, one argument per `{…}`.
/// For compile-time checks in logging macros (`const` evaluation).
pub const fn valid(fmt: &str, args: usize) -> bool {
    let b = fmt.as_bytes();
    let mut i = 0usize;
    let mut n = 0usize;
    while i < b.len() {
        if b[i] == b'}' {
            return false;
        }
        if b[i] == b'{' {
            i = i.saturating_add(1);
            if i < b.len() && b[i] == b':' {
                i = i.saturating_add(1);
                if i < b.len() && b[i] == b'#' {
                    i = i.saturating_add(1);
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i = i.saturating_add(1);
                }
                if i >= b.len() || b[i] != b'x' {
                    return false;
                }
                i = i.saturating_add(1);
            }
            if i >= b.len() || b[i] != b'}' {
                return false;
            }
            n = n.saturating_add(1);
        }
        i = i.saturating_add(1);
    }
    n == args
}

/// Writes `fmt` with `{…}` replaced by `args` in order (module doc).
#[inline(never)]
pub fn write(s: &mut dyn Sink, fmt: &str, args: &[Arg]) {
    let f = fmt.as_bytes();
    let mut args = args.iter();
    // `text`: where the literal text not yet written starts.
    let (mut text, mut i) = (0usize, 0usize);
    while let Some(&b) = f.get(i) {
        if b == b'{' {
            s.put(f.get(text..i).unwrap_or(&[]));
            let spec = i.saturating_add(1);
            while f.get(i).is_some_and(|&b| b != b'}') {
                i = i.saturating_add(1);
            }
            text = i.saturating_add(1);
            match args.next() {
                Some(Arg::S(t)) => s.put(t.as_bytes()),
                Some(Arg::B(b)) => s.put(b),
                Some(Arg::R(r)) => r.render(s),
                Some(Arg::U(v)) => number(s, *v, f.get(spec..i).unwrap_or(&[])),
                None => {}
            }
        }
        i = i.saturating_add(1);
    }
    s.put(f.get(text..).unwrap_or(&[]));
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `v` as `spec` says: decimal, or hex (`x`) with `#` for `0x` and a
/// zero-padded width that includes the prefix, as `core::fmt` does.
fn number(s: &mut dyn Sink, mut v: u64, spec: &[u8]) {
    let hex = spec.last() == Some(&b'x');
    let prefix = spec.get(1) == Some(&b'#');
    // Width digits: at most two in the shim's and tools' messages.
    let width = spec.iter().filter(|b| b.is_ascii_digit()).fold(0usize, |w, &d| {
        w.saturating_mul(10).saturating_add(usize::from(d & 0x0f))
    });
    let mut buf = [b'0'; 20];
    let mut start = buf.len();
    while let Some(i) = start.checked_sub(1) {
        let (digit, rest) = if hex { (v & 0xf, v >> 4) } else { (v % 10, v / 10) };
        buf[i] = DIGITS[digit as usize];
        start = i;
        v = rest;
        if v == 0 {
            break;
        }
    }
    let mut pad = width.saturating_sub(buf.len().saturating_sub(start));
    if prefix {
        s.put(b"0x");
        pad = pad.saturating_sub(2);
    }
    for _ in 0..pad {
        s.put(b"0");
    }
    s.put(&buf[start..]);
}

/// A `core::fmt::Formatter` as a [`Sink`].
pub struct FmtSink<'a, 'b> {
    pub f: &'a mut fmt::Formatter<'b>,
    pub result: fmt::Result,
}

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.result.is_ok() {
            let text = core::str::from_utf8(bytes).unwrap_or("\u{fffd}");
            self.result = self.f.write_str(text);
        }
    }
}

/// `impl core::fmt::Display` (and [`ToArg`]) for [`Render`] types.
#[macro_export]
macro_rules! display_via_render {
    ($($t:ty),+ $(,)?) => {$(
        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let mut s = $crate::text::FmtSink { f, result: Ok(()) };
                $crate::text::Render::render(self, &mut s);
                s.result
            }
        }
        $crate::render_arg!($t);
    )+};
}

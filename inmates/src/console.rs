//! Printing through the shim's console hypercall (it prefixes the cell name).

use core::fmt::Write;

pub struct Line {
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

pub fn print(args: core::fmt::Arguments) {
    let mut l = Line { buf: [0; 240], len: 0 };
    let _ = l.write_fmt(args);
    crate::arch::hypercall(cellboot_abi::hypercall::DEBUG_CONSOLE_WRITE, l.buf.as_ptr() as u64, l.len as u64);
}

#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { $crate::console::print(format_args!($($t)*)) };
}

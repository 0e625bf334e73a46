//! A tiny fixed-capacity text buffer: the loader's messages without
//! `core::fmt`, whose machinery would cost more than the whole size budget.
//! Overlong text is truncated (never an error: a message is best effort).

pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only whole `&str`s and ASCII digits are ever pushed, but truncation
        // may split a UTF-8 sequence: fall back to the valid prefix.
        utf8_prefix(self.as_bytes())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_bytes(&mut self, s: &[u8]) -> &mut Self {
        append(&mut self.buf, &mut self.len, s);
        self
    }

    pub fn push_str(&mut self, s: &str) -> &mut Self {
        self.push_bytes(s.as_bytes())
    }

    /// Lower-case hex without prefix or leading zeros (devicetree unit-address style).
    pub fn push_hex(&mut self, v: u64) -> &mut Self {
        append_digits(&mut self.buf, &mut self.len, v, 16);
        self
    }

    /// `0x`-prefixed hex, for messages.
    pub fn push_addr(&mut self, v: u64) -> &mut Self {
        self.push_str("0x").push_hex(v)
    }

    pub fn push_dec(&mut self, v: u64) -> &mut Self {
        append_digits(&mut self.buf, &mut self.len, v, 10);
        self
    }
}

// The work is done out of line and once for every capacity `N`: a message
// is built from dozens of pushes, each of them a call in the firmware.

/// Appends what fits of `s` to `buf[..*len]`.
#[inline(never)]
fn append(buf: &mut [u8], len: &mut usize, s: &[u8]) {
    let room = buf.get_mut(*len..).unwrap_or_default();
    let n = s.len().min(room.len());
    if let (Some(dst), Some(src)) = (room.get_mut(..n), s.get(..n)) {
        dst.copy_from_slice(src);
        *len += n;
    }
}

/// Appends `v` in `radix` (10 or 16), lower case, no leading zeros.
#[inline(never)]
fn append_digits(buf: &mut [u8], len: &mut usize, mut v: u64, radix: u64) {
    let mut digits = [0u8; 20];
    let mut first = digits.len();
    loop {
        first -= 1;
        digits[first] = b"0123456789abcdef"[(v % radix) as usize];
        v /= radix;
        if v == 0 {
            break;
        }
    }
    append(buf, len, &digits[first..]);
}

/// The valid UTF-8 prefix of `p` (a truncated copy may split a character).
pub(crate) fn utf8_prefix(p: &[u8]) -> &str {
    match core::str::from_utf8(p) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&p[..e.valid_up_to()]).unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_truncation() {
        let mut t = Text::<32>::new();
        t.push_str("pci@")
            .push_hex(0x08e0_0000)
            .push_str(" ")
            .push_addr(0)
            .push_str(" ")
            .push_dec(1234567890);
        assert_eq!(t.as_str(), "pci@8e00000 0x0 1234567890");
        let mut t = Text::<4>::new();
        t.push_str("abcdef").push_hex(u64::MAX);
        assert_eq!(t.as_str(), "abcd");
        let mut t = Text::<24>::new();
        t.push_hex(u64::MAX).push_dec(u64::MAX);
        assert_eq!(t.as_str(), "ffffffffffffffff18446744");
    }
}

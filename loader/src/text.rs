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
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        // Only whole `&str`s and ASCII digits are ever pushed, but truncation
        // may split a UTF-8 sequence: fall back to the valid prefix.
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_bytes(&mut self, s: &[u8]) -> &mut Self {
        let n = s.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
        self
    }

    pub fn push_str(&mut self, s: &str) -> &mut Self {
        self.push_bytes(s.as_bytes())
    }

    /// Lower-case hex without prefix or leading zeros (devicetree unit-address style).
    pub fn push_hex(&mut self, v: u64) -> &mut Self {
        let mut digits = [0u8; 16];
        let mut n = 0;
        let mut v = v;
        loop {
            digits[15 - n] = b"0123456789abcdef"[(v & 0xf) as usize];
            n += 1;
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        self.push_bytes(&digits[16 - n..])
    }

    /// `0x`-prefixed hex, for messages.
    pub fn push_addr(&mut self, v: u64) -> &mut Self {
        self.push_str("0x").push_hex(v)
    }

    pub fn push_dec(&mut self, v: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut v = v;
        loop {
            digits[19 - n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push_bytes(&digits[20 - n..])
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

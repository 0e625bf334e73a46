//! String-list properties (`compatible`, `clock-names`, ...).

use crate::ro::Fdt;
use crate::{Error, Result};

/// Length of the string at the start of `list` including its NUL, or
/// BadValue when the list ends before a NUL.
#[inline]
fn entry_len(list: &[u8]) -> Result<usize> {
    match list.iter().position(|&b| b == 0) {
        Some(n) => Ok(n + 1),
        None => Err(Error::BadValue),
    }
}

impl<'a> Fdt<'a> {
    /// `fdt_stringlist_count`.
    pub fn stringlist_count(&self, node: usize, name: &str) -> Result<usize> {
        let mut list = self.getprop(node, name)?;
        let mut count = 0;
        while !list.is_empty() {
            list = &list[entry_len(list)?..];
            count += 1;
        }
        Ok(count)
    }

    /// `fdt_stringlist_search`: index of `s` in the list, NotFound if absent.
    pub fn stringlist_search(&self, node: usize, name: &str, s: &str) -> Result<usize> {
        let mut list = self.getprop(node, name)?;
        let mut idx = 0;
        while !list.is_empty() {
            let n = entry_len(list)?;
            if &list[..n - 1] == s.as_bytes() {
                return Ok(idx);
            }
            list = &list[n..];
            idx += 1;
        }
        Err(Error::NotFound)
    }

    /// `fdt_stringlist_get`: the `idx`th string. BadValue if not UTF-8.
    pub fn stringlist_get(&self, node: usize, name: &str, idx: usize) -> Result<&'a str> {
        let mut list = self.getprop(node, name)?;
        let mut idx = idx;
        while !list.is_empty() {
            let n = entry_len(list)?;
            if idx == 0 {
                return core::str::from_utf8(&list[..n - 1]).map_err(|_| Error::BadValue);
            }
            list = &list[n..];
            idx -= 1;
        }
        Err(Error::NotFound)
    }

    /// `fdt_stringlist_contains` on the value at `st[start..start + len]`.
    ///
    /// libfdt compares `strlen(s) + 1` bytes even when only `strlen(s)`
    /// remain in the list, so an unterminated last entry matches when the
    /// byte after the value is NUL. We read that byte from the block too,
    /// so the answer is the same.
    pub(crate) fn stringlist_contains_at(&self, start: usize, len: usize, s: &[u8]) -> bool {
        let st = self.st;
        let mut pos = start;
        let mut left = len;
        while left >= s.len() {
            let Some(cand) = st.get(pos..pos + s.len()) else {
                return false;
            };
            if cand == s && st.get(pos + s.len()) == Some(&0) {
                return true;
            }
            let Some(n) = st.get(pos..pos + left).and_then(|r| r.iter().position(|&b| b == 0)) else {
                return false;
            };
            left -= n + 1;
            pos += n + 1;
        }
        false
    }

    /// `fdt_node_check_compatible`: Ok(true) if `compat` is in the node's
    /// "compatible" list; the getprop error (e.g. NotFound) otherwise.
    pub fn node_check_compatible(&self, node: usize, compat: &str) -> Result<bool> {
        let (s, l) = self.getprop_range(node, b"compatible")?;
        Ok(self.stringlist_contains_at(s, l, compat.as_bytes()))
    }

    /// `fdt_node_offset_by_compatible`: first node after `start` (None = from
    /// the root) whose "compatible" contains `compat`.
    pub fn node_offset_by_compatible(&self, start: Option<usize>, compat: &str) -> Result<usize> {
        let mut off = self.next_node_flat(start)?;
        loop {
            match self.getprop_range(off, b"compatible") {
                Ok((s, l)) => {
                    if self.stringlist_contains_at(s, l, compat.as_bytes()) {
                        return Ok(off);
                    }
                }
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
            off = self.next_node_flat(Some(off))?;
        }
    }

    /// `fdt_node_offset_by_prop_value`: first node after `start` with a
    /// property `name` equal to `val`.
    pub fn node_offset_by_prop_value(&self, start: Option<usize>, name: &str, val: &[u8]) -> Result<usize> {
        let mut off = self.next_node_flat(start)?;
        loop {
            if self.getprop_bytes(off, name.as_bytes()) == Ok(val) {
                return Ok(off);
            }
            off = self.next_node_flat(Some(off))?;
        }
    }
}

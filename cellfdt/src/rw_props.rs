//! Property edits on `FdtMut`: setprop / appendprop / delprop and typed
//! variants (libfdt's fdt_rw.c property half, fdt_addresses.c).

use crate::header::*;
use crate::rw::FdtMut;
use crate::{Error, Result};

/// The part of `name` a C caller would pass: up to the first NUL.
#[inline]
pub(crate) fn c_name(name: &str) -> &[u8] {
    let b = name.as_bytes();
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// libfdt's `fdt_find_string_`: the lowest offset at which `s` followed by
/// NUL occurs in `tab` (so a name may reuse the tail of a longer one).
/// Horspool's search for `s` + NUL, left to right, so the first match is
/// the lowest; most windows are skipped by up to the pattern's length.
#[inline]
pub(crate) fn find_string(tab: &[u8], s: &[u8]) -> Option<usize> {
    let m = s.len() + 1; // pattern: s, then NUL
    // shift[c]: distance from c's last place in the pattern (the final NUL
    // excluded) to the pattern's end; capped at 255, which only shortens
    // skips. Everything else moves the whole pattern length.
    let mut shift = [m.min(255) as u8; 256];
    for (i, &c) in s.iter().enumerate() {
        shift[c as usize] = (m - 1 - i).min(255) as u8;
    }
    let mut end = m - 1; // index of the window's last byte
    while let Some(&c) = tab.get(end) {
        if c == 0 && tab.get(end + 1 - m..end) == Some(s) {
            return Some(end + 1 - m);
        }
        end += usize::from(shift[c as usize]);
    }
    None
}

impl<'a> FdtMut<'a> {
    /// Absolute offset of a structure-block offset.
    #[inline]
    fn abs(&self, off: usize) -> usize {
        self.off_struct() + off
    }

    /// `fdt_add_property_`: inserts an empty property of `len` bytes as the
    /// first one of `node`; returns the absolute offset of its value.
    fn add_property(&mut self, node: usize, name: &[u8], len: usize) -> Result<usize> {
        let ro = self.as_fdt();
        let at = ro.check_node_offset(node)?;
        let strings = hdr(self.buf, H_OFF_DT_STRINGS);
        let strings_size = hdr(self.buf, H_SIZE_DT_STRINGS);
        let found = find_string(&self.buf[strings..strings + strings_size], name);
        let proplen = PROP_HDR + tag_align(len);
        let string_len = if found.is_some() { 0 } else { name.len() + 1 };
        // Check room for both the name and the property before writing either.
        let at = self.abs(at);
        let dsize = self.data_size();
        if at > dsize {
            return Err(Error::BadOffset);
        }
        if dsize + string_len + proplen > self.total() {
            return Err(Error::NoSpace);
        }
        let nameoff = match found {
            Some(o) => o,
            None => {
                // libfdt appends the name first, then opens the gap; the
                // order decides which stale bytes end up in padding.
                self.buf[dsize..dsize + name.len()].copy_from_slice(name);
                self.buf[dsize + name.len()] = 0;
                put32(self.buf, H_SIZE_DT_STRINGS, (strings_size + string_len) as u32);
                strings_size
            }
        };
        self.splice_struct(at, 0, proplen)?;
        put32(self.buf, at, FDT_PROP);
        put32(self.buf, at + 4, len as u32);
        put32(self.buf, at + 8, nameoff as u32);
        Ok(at + PROP_HDR)
    }

    /// setprop core (`fdt_setprop_placeholder` on a byte name): resize or
    /// add, returning the absolute offset of the `len`-byte value.
    pub(crate) fn setprop_space(&mut self, node: usize, name: &[u8], len: usize) -> Result<usize> {
        self.rw_probe()?;
        let ro = self.as_fdt();
        let data = match ro.find_prop(node, name) {
            Ok(p) => {
                let (s, old) = ro.prop_value_range(p);
                let s = self.abs(s);
                self.splice_struct(s, tag_align(old), tag_align(len))?;
                put32(self.buf, s - 8, len as u32);
                s
            }
            Err(Error::NotFound) => self.add_property(node, name, len)?,
            Err(e) => return Err(e),
        };
        self.rw_done();
        Ok(data)
    }

    /// `fdt_setprop_placeholder`: makes `name` `len` bytes long and returns
    /// its value for the caller to fill (contents unspecified, as in libfdt).
    pub fn setprop_placeholder(&mut self, node: usize, name: &str, len: usize) -> Result<&mut [u8]> {
        let s = self.setprop_space(node, c_name(name), len)?;
        Ok(&mut self.buf[s..s + len])
    }

    /// `fdt_setprop`: an existing property is resized in place; a new one
    /// is inserted first in the node.
    /// `fdt_setprop`: creates or replaces property `name` of `node`.
    pub fn setprop(&mut self, node: usize, name: &str, val: &[u8]) -> Result<()> {
        self.setprop_placeholder(node, name, val.len())?.copy_from_slice(val);
        Ok(())
    }

    /// `fdt_setprop_u32`: a big-endian 32-bit cell.
    pub fn setprop_u32(&mut self, node: usize, name: &str, v: u32) -> Result<()> {
        self.setprop(node, name, &v.to_be_bytes())
    }

    /// `fdt_setprop_u64`: a big-endian 64-bit value.
    pub fn setprop_u64(&mut self, node: usize, name: &str, v: u64) -> Result<()> {
        self.setprop(node, name, &v.to_be_bytes())
    }

    /// `fdt_setprop_string`: the text plus a NUL.
    pub fn setprop_str(&mut self, node: usize, name: &str, v: &str) -> Result<()> {
        let dst = self.setprop_placeholder(node, name, v.len() + 1)?;
        dst[..v.len()].copy_from_slice(v.as_bytes());
        dst[v.len()] = 0;
        Ok(())
    }

    /// A list of big-endian cells.
    pub fn setprop_cells(&mut self, node: usize, name: &str, cells: &[u32]) -> Result<()> {
        let dst = self.setprop_placeholder(node, name, cells.len() * 4)?;
        for (d, c) in dst.chunks_exact_mut(4).zip(cells) {
            d.copy_from_slice(&c.to_be_bytes());
        }
        Ok(())
    }

    /// `reg` from (address, size) pairs, encoded with the parent's
    /// `#address-cells`/`#size-cells` (the root uses its own). BadValue if a
    /// value does not fit its cells; nothing is written then.
    pub fn setprop_reg(&mut self, node: usize, regs: &[(u64, u64)]) -> Result<()> {
        let ro = self.as_fdt();
        let owner = match ro.parent_offset(node) {
            Err(Error::NotFound) => node,
            r => r?,
        };
        let ac = ro.address_cells(owner)? as usize;
        let sc = ro.size_cells(owner)? as usize;
        let fits = |v: u64, cells: usize| cells >= 2 || (v >> (32 * cells)) == 0;
        if regs.iter().any(|&(a, s)| !fits(a, ac) || !fits(s, sc)) {
            return Err(Error::BadValue);
        }
        let entry = (ac + sc) * 4;
        let dst = self.setprop_placeholder(node, "reg", regs.len() * entry)?;
        for (d, &(a, s)) in dst.chunks_exact_mut(entry).zip(regs) {
            put_cells(&mut d[..ac * 4], a);
            put_cells(&mut d[ac * 4..], s);
        }
        Ok(())
    }

    /// appendprop core: grows (or adds) `name` by `len` bytes and returns
    /// the absolute offset where the new bytes go.
    fn append_space(&mut self, node: usize, name: &[u8], len: usize) -> Result<usize> {
        self.rw_probe()?;
        let ro = self.as_fdt();
        let at = match ro.find_prop(node, name) {
            Ok(p) => {
                let (s, old) = ro.prop_value_range(p);
                let s = self.abs(s);
                let new = old + len;
                self.splice_struct(s, tag_align(old), tag_align(new))?;
                put32(self.buf, s - 8, new as u32);
                s + old
            }
            // libfdt adds the property after any lookup failure; a bad node
            // offset then fails in the add.
            Err(_) => self.add_property(node, name, len)?,
        };
        self.rw_done();
        Ok(at)
    }

    /// `fdt_appendprop`: adds bytes at the end of the value (creating it).
    pub fn appendprop(&mut self, node: usize, name: &str, val: &[u8]) -> Result<()> {
        let at = self.append_space(node, c_name(name), val.len())?;
        self.buf[at..at + val.len()].copy_from_slice(val);
        Ok(())
    }

    /// `fdt_appendprop_u32`.
    pub fn appendprop_u32(&mut self, node: usize, name: &str, v: u32) -> Result<()> {
        self.appendprop(node, name, &v.to_be_bytes())
    }

    /// `fdt_appendprop_u64`.
    pub fn appendprop_u64(&mut self, node: usize, name: &str, v: u64) -> Result<()> {
        self.appendprop(node, name, &v.to_be_bytes())
    }

    /// `fdt_appendprop_string`: the text plus a NUL.
    pub fn appendprop_str(&mut self, node: usize, name: &str, v: &str) -> Result<()> {
        let at = self.append_space(node, c_name(name), v.len() + 1)?;
        self.buf[at..at + v.len()].copy_from_slice(v.as_bytes());
        self.buf[at + v.len()] = 0;
        Ok(())
    }

    /// `fdt_appendprop_addrrange`: appends (addr, size) encoded with
    /// `parent`'s cells, which must be 1 or 2 (BadNCells otherwise);
    /// BadValue if a value does not fit.
    pub fn appendprop_addrrange(&mut self, parent: usize, node: usize, name: &str, addr: u64, size: u64) -> Result<()> {
        let ro = self.as_fdt();
        let ac = ro.address_cells(parent)? as usize;
        let sc = ro.size_cells(parent)? as usize;
        let mut data = [0u8; 16];
        match ac {
            1 => {
                // The range must end at or below 2^32 (libfdt >= 1.7.1; 1.6.1
                // did this subtraction in 32 bits and got it wrong).
                if addr > u64::from(u32::MAX) || (1u64 << 32) - addr < size {
                    return Err(Error::BadValue);
                }
                data[..4].copy_from_slice(&(addr as u32).to_be_bytes());
            }
            2 => data[..8].copy_from_slice(&addr.to_be_bytes()),
            _ => return Err(Error::BadNCells),
        }
        let s = &mut data[ac * 4..];
        match sc {
            1 => {
                if size > u64::from(u32::MAX) {
                    return Err(Error::BadValue);
                }
                s[..4].copy_from_slice(&(size as u32).to_be_bytes());
            }
            2 => s[..8].copy_from_slice(&size.to_be_bytes()),
            _ => return Err(Error::BadNCells),
        }
        self.appendprop(node, name, &data[..(ac + sc) * 4])
    }

    /// `fdt_delprop`. The name stays in the strings block, as in libfdt.
    pub fn delprop(&mut self, node: usize, name: &str) -> Result<()> {
        self.rw_probe()?;
        let ro = self.as_fdt();
        let p = ro.find_prop(node, c_name(name))?;
        let (_, len) = ro.prop_value_range(p);
        let at = self.abs(p);
        self.splice_struct(at, PROP_HDR + tag_align(len), 0)?;
        self.rw_done();
        Ok(())
    }
}

/// Writes `v` big-endian into `dst` (1..=4 cells, high cells zero).
fn put_cells(dst: &mut [u8], v: u64) {
    dst.fill(0);
    let n = dst.len();
    if n >= 8 {
        dst[n - 8..].copy_from_slice(&v.to_be_bytes());
    } else if n == 4 {
        dst.copy_from_slice(&(v as u32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::find_string;

    /// libfdt's loop: every start offset, lowest first.
    fn naive(tab: &[u8], s: &[u8]) -> Option<usize> {
        let m = s.len() + 1;
        (0..(tab.len() + 1).saturating_sub(m)).find(|&p| &tab[p..p + s.len()] == s && tab[p + s.len()] == 0)
    }

    #[test]
    fn find_string_matches_libfdts_scan() {
        let tab = b"compatible\0reg\0#address-cells\0#size-cells\0cells\0s\0\0aa\0aaa\0status\0ab";
        let names: [&[u8]; 16] = [
            b"",
            b"s",
            b"reg",
            b"cells",
            b"size-cells",
            b"#size-cells",
            b"compatible",
            b"patible",
            b"a",
            b"aa",
            b"aaa",
            b"aaaa",
            b"status",
            b"ab",
            b"b",
            b"x",
        ];
        for cut in 0..=tab.len() {
            for from in 0..=cut {
                for n in names {
                    let t = &tab[from..cut];
                    assert_eq!(find_string(t, n), naive(t, n), "{t:?} {n:?}");
                }
            }
        }
    }
}

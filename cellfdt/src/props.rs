//! Property access (libfdt's fdt_ro.c property half).

use crate::header::*;
use crate::ro::Fdt;
use crate::{Error, Result};

/// One property as stored in the structure block.
/// One property as `properties` and `property_at` return it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Property<'a> {
    /// Offset of the FDT_PROP tag (what `first_property`/`next_property` return).
    pub offset: usize,
    /// Its name (from the strings block).
    pub name: &'a str,
    /// Its value, exactly as stored.
    pub value: &'a [u8],
}

impl<'a> Fdt<'a> {
    /// `fdt_get_string`: the NUL-terminated string at `stroff` in the strings block.
    pub(crate) fn string_bytes(&self, stroff: usize) -> Result<&'a [u8]> {
        let rest = self
            .strs
            .get(stroff..)
            .filter(|r| !r.is_empty())
            .ok_or(Error::BadOffset)?;
        match rest.iter().position(|&b| b == 0) {
            Some(n) => Ok(&rest[..n]),
            None => Err(Error::Truncated),
        }
    }

    /// `fdt_string_eq_`, without scanning past `s.len() + 1` bytes.
    #[inline]
    pub(crate) fn string_eq(&self, stroff: usize, s: &[u8]) -> bool {
        match self.strs.get(stroff..) {
            Some(r) => r.len() > s.len() && r[s.len()] == 0 && &r[..s.len()] == s,
            None => false,
        }
    }

    /// `nextprop_`: from `off`, skip NOPs to the next property of this node.
    #[inline]
    fn nextprop(&self, mut off: usize) -> Result<usize> {
        loop {
            let (tag, n) = self.next_tag(off);
            match tag {
                FDT_PROP => return Ok(off),
                FDT_NOP => off = n?,
                FDT_END => return Err(n.err().unwrap_or(Error::BadStructure)),
                _ => return Err(Error::NotFound),
            }
        }
    }

    /// `fdt_first_property_offset`.
    pub fn first_property(&self, node: usize) -> Result<usize> {
        let off = self.check_node_offset(node)?;
        self.nextprop(off)
    }

    /// `fdt_next_property_offset`.
    pub fn next_property(&self, prop: usize) -> Result<usize> {
        let off = self.check_prop_offset(prop)?;
        self.nextprop(off)
    }

    /// Value range (start, len) in the structure block of the property
    /// whose tag is at `prop` (already checked to be a whole FDT_PROP).
    #[inline]
    pub(crate) fn prop_value_range(&self, prop: usize) -> (usize, usize) {
        let len = be32(self.st, prop + 4) as usize;
        let mut start = prop + PROP_HDR;
        if self.version < 0x10 && !start.is_multiple_of(8) && len >= 8 {
            start += 4;
        }
        (start, len)
    }

    /// `fdt_get_property_namelen_`: offset of the first property of `node`
    /// called `name`.
    pub(crate) fn find_prop(&self, node: usize, name: &[u8]) -> Result<usize> {
        let mut off = self.check_node_offset(node)?;
        loop {
            let (tag, n) = self.next_tag(off);
            match tag {
                FDT_PROP => {
                    if self.string_eq(be32(self.st, off + 8) as usize, name) {
                        return Ok(off);
                    }
                }
                FDT_NOP => {}
                FDT_END => return Err(n.err().unwrap_or(Error::BadStructure)),
                _ => return Err(Error::NotFound),
            }
            off = n?;
        }
    }

    /// `fdt_getprop_namelen` on bytes; returns the value range in `st`.
    #[inline]
    pub(crate) fn getprop_range(&self, node: usize, name: &[u8]) -> Result<(usize, usize)> {
        let p = self.find_prop(node, name)?;
        Ok(self.prop_value_range(p))
    }

    pub(crate) fn getprop_bytes(&self, node: usize, name: &[u8]) -> Result<&'a [u8]> {
        self.getprop_at(node, name).map(|(_, v)| v)
    }

    /// `fdt_getprop_namelen` on bytes: (value offset in the structure
    /// block, value), for callers that write the value in place.
    pub(crate) fn getprop_at(&self, node: usize, name: &[u8]) -> Result<(usize, &'a [u8])> {
        let (s, l) = self.getprop_range(node, name)?;
        Ok((s, self.st.get(s..s + l).ok_or(Error::Internal)?))
    }

    /// `fdt_getprop`.
    pub fn getprop(&self, node: usize, name: &str) -> Result<&'a [u8]> {
        self.getprop_bytes(node, name.as_bytes())
    }

    /// A 4-byte property as a big-endian u32; BadValue for any other length.
    pub fn getprop_u32(&self, node: usize, name: &str) -> Result<u32> {
        match *self.getprop(node, name)? {
            [a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(Error::BadValue),
        }
    }

    /// An 8-byte property as a big-endian u64; BadValue for any other length.
    pub fn getprop_u64(&self, node: usize, name: &str) -> Result<u64> {
        let v = self.getprop(node, name)?;
        let a: [u8; 8] = v.try_into().map_err(|_| Error::BadValue)?;
        Ok(u64::from_be_bytes(a))
    }

    /// A string property: the text before the first NUL. BadValue if the
    /// value is not NUL-terminated or not UTF-8.
    pub fn getprop_str(&self, node: usize, name: &str) -> Result<&'a str> {
        let v = self.getprop(node, name)?;
        if v.last() != Some(&0) {
            return Err(Error::BadValue);
        }
        let n = v.iter().position(|&b| b == 0).unwrap_or(0);
        core::str::from_utf8(&v[..n]).map_err(|_| Error::BadValue)
    }

    /// `fdt_getprop_by_offset` with the name as bytes.
    pub fn property_at_bytes(&self, prop: usize) -> Result<(&'a [u8], &'a [u8])> {
        self.property_at_offset(prop).map(|(name, _, value)| (name, value))
    }

    /// `fdt_getprop_by_offset`: (name, value offset in the structure block,
    /// value), for callers that write the value in place.
    pub(crate) fn property_at_offset(&self, prop: usize) -> Result<(&'a [u8], usize, &'a [u8])> {
        self.check_prop_offset(prop)?;
        let name = self.string_bytes(be32(self.st, prop + 8) as usize)?;
        let (s, l) = self.prop_value_range(prop);
        Ok((name, s, self.st.get(s..s + l).ok_or(Error::Internal)?))
    }

    /// `fdt_getprop_by_offset`. BadValue if the name is not UTF-8.
    pub fn property_at(&self, prop: usize) -> Result<Property<'a>> {
        let (name, value) = self.property_at_bytes(prop)?;
        let name = core::str::from_utf8(name).map_err(|_| Error::BadValue)?;
        Ok(Property {
            offset: prop,
            name,
            value,
        })
    }

    /// The properties of `node` in blob order; stops at the first error.
    pub fn properties(&self, node: usize) -> impl Iterator<Item = Property<'a>> + 'a {
        let fdt = *self;
        let mut cur = fdt.first_property(node).ok();
        core::iter::from_fn(move || {
            let this = cur?;
            cur = fdt.next_property(this).ok();
            match fdt.property_at(this) {
                Ok(p) => Some(p),
                Err(_) => {
                    cur = None;
                    None
                }
            }
        })
    }
}

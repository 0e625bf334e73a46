//! The scratch copy of the base that overlay apply edits, with libfdt's
//! fdt_rw.c edits (`fdt_setprop_placeholder`, `fdt_add_subnode`) ported so
//! that every memmove is the one libfdt makes: the result, including the
//! stale bytes libfdt leaves in property padding and past the new end of
//! the data, is byte-identical to applying in place with libfdt.
//!
//! The base is copied into scratch lazily: only bytes below the highest data
//! end reached so far (`filled`) are ever read, so a blob with a large
//! `totalsize` (QEMU's 1 MiB) costs only its used part.

use super::tree::{
    be32, put32, tag_align, Tree, BEGIN_NODE, END_NODE, H_OFF_RSVMAP, H_OFF_STRINGS, H_OFF_STRUCT,
    H_SIZE_STRINGS, H_SIZE_STRUCT, H_TOTALSIZE, H_VERSION, HEADER_V17, NOP, PROP,
};
use crate::{Error, Result};

pub(crate) struct Scratch<'s, 'b> {
    /// Working copy; its length caps growth (min of caller's scratch and
    /// the base's `totalsize`).
    buf: &'s mut [u8],
    base: &'b [u8],
    /// `buf[..filled]` holds the working blob; beyond it `buf` is unused.
    filled: usize,
}

impl<'s, 'b> Scratch<'s, 'b> {
    /// Starts a working copy of `base` (already header-checked) in `scratch`.
    pub(crate) fn new(base: &'b [u8], scratch: &'s mut [u8]) -> Result<Self> {
        let total = be32(base, H_TOTALSIZE) as usize;
        let cap = total.min(scratch.len());
        let mut s = Scratch { buf: &mut scratch[..cap], base, filled: 0 };
        let dsize = data_size(base);
        // The header is always needed; the data end may lie past the header
        // when blocks are misordered (rw_probe reports that later).
        s.fill_to(dsize.max(HEADER_V17))?;
        Ok(s)
    }

    /// The bytes to copy back into the base on success: everything libfdt
    /// would have written (up to the highest data end reached).
    pub(crate) fn written(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    fn fill_to(&mut self, end: usize) -> Result<()> {
        if end > self.filled {
            let src = self.base.get(self.filled..end).ok_or(Error::NoSpace)?;
            self.buf.get_mut(self.filled..end).ok_or(Error::NoSpace)?.copy_from_slice(src);
            self.filled = end;
        }
        Ok(())
    }

    pub(crate) fn tree(&self) -> Result<Tree<'_>> {
        Tree::new(&self.buf[..self.filled])
    }

    fn hdr(&self, field: usize) -> usize {
        be32(self.buf, field) as usize
    }

    fn set_hdr(&mut self, field: usize, v: usize) {
        put32(self.buf, field, v as u32);
    }

    /// fdt_rw_probe_ (the RO part was done on the base up front).
    fn rw_probe(&mut self) -> Result<()> {
        let size_struct = self.hdr(H_SIZE_STRUCT);
        let misordered = self.hdr(H_OFF_RSVMAP) < HEADER_V17
            || self.hdr(H_OFF_STRUCT) < self.hdr(H_OFF_RSVMAP) + 16
            || self.hdr(H_OFF_STRINGS) < self.hdr(H_OFF_STRUCT) + size_struct
            || self.hdr(H_TOTALSIZE) < self.hdr(H_OFF_STRINGS) + self.hdr(H_SIZE_STRINGS);
        if misordered {
            return Err(Error::BadLayout);
        }
        if self.hdr(H_VERSION) > 17 {
            self.set_hdr(H_VERSION, 17);
        }
        Ok(())
    }

    /// fdt_splice_: make `newlen` bytes where `oldlen` were at absolute `p`.
    fn splice(&mut self, p: usize, oldlen: usize, newlen: usize) -> Result<()> {
        let dsize = data_size(self.buf);
        if p.checked_add(oldlen).is_none_or(|e| e > dsize) {
            return Err(Error::BadOffset);
        }
        let new_end = dsize - oldlen + newlen;
        if new_end > self.hdr(H_TOTALSIZE) {
            return Err(Error::NoSpace);
        }
        // Past the caller's scratch but inside totalsize: libfdt would have
        // room, we do not; still NOSPACE, documented in `overlay_apply`.
        self.fill_to(new_end)?;
        self.buf.copy_within(p + oldlen..dsize, p + newlen);
        Ok(())
    }

    fn splice_struct(&mut self, p: usize, oldlen: usize, newlen: usize) -> Result<()> {
        self.splice(p, oldlen, newlen)?;
        let delta = newlen.wrapping_sub(oldlen);
        let ss = self.hdr(H_SIZE_STRUCT).wrapping_add(delta);
        let os = self.hdr(H_OFF_STRINGS).wrapping_add(delta);
        self.set_hdr(H_SIZE_STRUCT, ss);
        self.set_hdr(H_OFF_STRINGS, os);
        Ok(())
    }

    /// fdt_find_add_string_: (string offset, whether it was appended).
    fn find_add_string(&mut self, s: &[u8]) -> Result<(usize, bool)> {
        let ot = self.hdr(H_OFF_STRINGS);
        let sz = self.hdr(H_SIZE_STRINGS);
        if let Some(o) = find_string(&self.buf[ot..ot + sz], s) {
            return Ok((o, false));
        }
        let end = ot + sz;
        self.splice(end, 0, s.len() + 1)?;
        self.set_hdr(H_SIZE_STRINGS, sz + s.len() + 1);
        self.buf[end..end + s.len()].copy_from_slice(s);
        self.buf[end + s.len()] = 0;
        Ok((sz, true))
    }

    /// fdt_setprop_placeholder: absolute offset of the (resized or new)
    /// property's value, `len` bytes long, contents left as libfdt leaves them.
    pub(crate) fn setprop_placeholder(&mut self, node: usize, name: &[u8], len: usize) -> Result<usize> {
        self.rw_probe()?;
        let os = self.hdr(H_OFF_STRUCT);
        let found = self.tree()?.getprop(node, name);
        match found {
            Ok((voff, old)) => {
                // fdt_resize_property_
                let oldlen = old.len();
                self.splice_struct(os + voff, tag_align(oldlen), tag_align(len))?;
                put32(self.buf, os + voff - 8, len as u32);
                Ok(os + voff)
            }
            Err(Error::NotFound) => {
                // fdt_add_property_: new properties go first in the node.
                let next = self.tree()?.check_node(node)?;
                let (stroff, allocated) = self.find_add_string(name)?;
                let at = os + next;
                if let Err(e) = self.splice_struct(at, 0, 12 + tag_align(len)) {
                    if allocated {
                        let sz = self.hdr(H_SIZE_STRINGS);
                        self.set_hdr(H_SIZE_STRINGS, sz - (name.len() + 1));
                    }
                    return Err(e);
                }
                put32(self.buf, at, PROP);
                put32(self.buf, at + 4, len as u32);
                put32(self.buf, at + 8, stroff as u32);
                Ok(at + 12)
            }
            Err(e) => Err(e),
        }
    }

    /// fdt_setprop with a value from another buffer.
    pub(crate) fn setprop(&mut self, node: usize, name: &[u8], val: &[u8]) -> Result<()> {
        let at = self.setprop_placeholder(node, name, val.len())?;
        self.buf[at..at + val.len()].copy_from_slice(val);
        Ok(())
    }

    /// fdt_add_subnode_namelen: the new node goes after the parent's
    /// properties, i.e. before its existing subnodes.
    pub(crate) fn add_subnode(&mut self, parent: usize, name: &[u8]) -> Result<usize> {
        self.rw_probe()?;
        let t = self.tree()?;
        match t.subnode_offset(parent, name) {
            Ok(_) => return Err(Error::Exists),
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
        let (tag, mut next) = t.next_tag(parent);
        if tag != BEGIN_NODE {
            return Err(Error::Internal);
        }
        let offset = loop {
            let off = next?;
            let (tag, n) = t.next_tag(off);
            next = n;
            if tag != PROP && tag != NOP {
                break off;
            }
        };
        let os = self.hdr(H_OFF_STRUCT);
        let namelen = tag_align(name.len() + 1);
        let nodelen = 4 + namelen + 4;
        let at = os + offset;
        self.splice_struct(at, 0, nodelen)?;
        put32(self.buf, at, BEGIN_NODE);
        self.buf[at + 4..at + 4 + namelen].fill(0);
        self.buf[at + 4..at + 4 + name.len()].copy_from_slice(name);
        put32(self.buf, at + nodelen - 4, END_NODE);
        Ok(offset)
    }

    /// Absolute offset of the structure block (for writing found values).
    pub(crate) fn off_struct(&self) -> usize {
        self.hdr(H_OFF_STRUCT)
    }

    /// Copies `len` bytes within the working blob (node names into a value).
    pub(crate) fn copy_within(&mut self, from: usize, len: usize, to: usize) {
        self.buf.copy_within(from..from + len, to);
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }
}

/// End of the strings block: what libfdt's edits treat as the data end.
fn data_size(b: &[u8]) -> usize {
    be32(b, H_OFF_STRINGS) as usize + be32(b, H_SIZE_STRINGS) as usize
}

/// fdt_find_string_: lowest `p` with `tab[p..]` starting with `s` NUL.
/// libfdt tries every byte position with memcmp; a match must end on a NUL,
/// so we visit NULs in order instead (same answer, a fraction of the work).
pub(crate) fn find_string(tab: &[u8], s: &[u8]) -> Option<usize> {
    let len = s.len();
    let mut from = len;
    while from < tab.len() {
        let z = from + tab[from..].iter().position(|&c| c == 0)?;
        if &tab[z - len..z] == s {
            return Some(z - len);
        }
        from = z + 1;
    }
    None
}

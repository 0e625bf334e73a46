//! The scratch copy of the base that overlay apply edits with `FdtMut`'s
//! edits (libfdt's `fdt_setprop_placeholder`, `fdt_add_subnode`): the result,
//! including the stale bytes libfdt leaves in property padding and past the
//! new end of the data, is byte-identical to applying in place with libfdt.
//!
//! What this adds to `FdtMut`:
//! - the base is copied into scratch lazily: before each edit, only up to
//!   the most that edit can grow the data (`reserve`), so a blob with a large
//!   `totalsize` (QEMU's 1 MiB) costs only its used part; bytes past `filled`
//!   are never read;
//! - the scratch copy's header `totalsize` is the room edits may use (the
//!   base's totalsize, or less when the scratch is shorter), restored when
//!   the result is handed back;
//! - libfdt's version downgrade on an `add_subnode` that finds the node.

use crate::header::*;
use crate::ro::Fdt;
use crate::rw::FdtMut;
use crate::{Error, Result};

pub(crate) struct Scratch<'s, 'b> {
    /// Working copy over `min(scratch.len(), totalsize)` bytes.
    fdt: FdtMut<'s>,
    base: &'b [u8],
    /// `fdt.buf[..filled]` holds the working blob; beyond it the scratch is
    /// unused (what libfdt would find there is still in `base`).
    filled: usize,
    /// The base's `totalsize`.
    total: u32,
}

impl<'s, 'b> Scratch<'s, 'b> {
    /// Starts a working copy of `base` (header-checked, its data end within
    /// `scratch`) in `scratch`.
    pub(crate) fn new(base: &'b [u8], scratch: &'s mut [u8]) -> Result<Self> {
        let total = be32(base, H_TOTALSIZE);
        let cap = (total as usize).min(scratch.len());
        // The header is always needed; the data end may lie past the header
        // when blocks are misordered (rw_probe reports that later).
        let dsize = (hdr(base, H_OFF_DT_STRINGS) + hdr(base, H_SIZE_DT_STRINGS)).max(V17_SIZE);
        let buf = scratch.get_mut(..cap).ok_or(Error::NoSpace)?;
        buf.get_mut(..dsize)
            .ok_or(Error::NoSpace)?
            .copy_from_slice(base.get(..dsize).ok_or(Error::NoSpace)?);
        // Past the caller's scratch but inside totalsize, libfdt would have
        // room and we do not: NoSpace, documented in `overlay_apply`.
        put32(buf, H_TOTALSIZE, cap as u32);
        Ok(Scratch {
            fdt: FdtMut::from_checked(buf),
            base,
            filled: dsize,
            total,
        })
    }

    /// The bytes to copy back into the base on success: everything libfdt
    /// would have written (up to the highest data end reached), with the
    /// base's own `totalsize`.
    pub(crate) fn written(&mut self) -> &[u8] {
        put32(self.fdt.buf, H_TOTALSIZE, self.total);
        &self.fdt.buf[..self.filled]
    }

    /// Copies the base into scratch up to what an edit growing the data by
    /// at most `grow` bytes can reach (capped at the room: `FdtMut` reports
    /// NoSpace past it).
    fn reserve(&mut self, grow: usize) -> Result<()> {
        let end = (self.fdt.data_size() + grow).min(self.fdt.buf.len());
        if end > self.filled {
            let src = self.base.get(self.filled..end).ok_or(Error::NoSpace)?;
            self.fdt.buf[self.filled..end].copy_from_slice(src);
            self.filled = end;
        }
        Ok(())
    }

    pub(crate) fn fdt(&self) -> Fdt<'_> {
        self.fdt.as_fdt()
    }

    /// fdt_setprop_placeholder: absolute offset of the (resized or new)
    /// property's value, `len` bytes long, contents left as libfdt leaves them.
    pub(crate) fn setprop_placeholder(&mut self, node: usize, name: &[u8], len: usize) -> Result<usize> {
        self.reserve(PROP_HDR + tag_align(len) + name.len() + 1)?;
        self.fdt.setprop_space(node, name, len)
    }

    /// fdt_setprop with a value from another buffer.
    pub(crate) fn setprop(&mut self, node: usize, name: &[u8], val: &[u8]) -> Result<()> {
        let at = self.setprop_placeholder(node, name, val.len())?;
        self.fdt.buf[at..at + val.len()].copy_from_slice(val);
        Ok(())
    }

    /// fdt_add_subnode_namelen.
    pub(crate) fn add_subnode(&mut self, parent: usize, name: &[u8]) -> Result<usize> {
        self.reserve(2 * TAGSIZE + tag_align(name.len() + 1))?;
        match self.fdt.add_subnode_bytes(parent, name) {
            Err(Error::Exists) => {
                // libfdt's rw probe sets a version > 17 to 17 even when the
                // node exists, which overlay apply does not treat as an error.
                self.fdt.rw_done();
                Err(Error::Exists)
            }
            r => r,
        }
    }

    /// Absolute offset of the structure block (for writing found values).
    pub(crate) fn off_struct(&self) -> usize {
        self.fdt.off_struct()
    }

    /// Copies `len` bytes within the working blob (node names into a value).
    pub(crate) fn copy_within(&mut self, from: usize, len: usize, to: usize) {
        self.fdt.buf.copy_within(from..from + len, to);
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.fdt.buf[..self.filled]
    }
}

//! Write-in-place edits (libfdt's fdt_wip.c): never change any size, so
//! they work on any blob `FdtMut::new` accepts, without free space.

use crate::header::*;
use crate::rw::FdtMut;
use crate::rw_props::c_name;
use crate::{Error, Result};

impl<'a> FdtMut<'a> {
    /// `fdt_setprop_inplace`: NoSpace unless `val` has the property's length.
    pub fn setprop_inplace(&mut self, node: usize, name: &str, val: &[u8]) -> Result<()> {
        let ro = self.as_fdt();
        let (s, len) = ro.getprop_range(node, c_name(name))?;
        if len != val.len() {
            return Err(Error::NoSpace);
        }
        let at = self.off_struct() + s;
        self.buf[at..at + len].copy_from_slice(val);
        Ok(())
    }

    /// `setprop_inplace` of a big-endian 32-bit cell.
    pub fn setprop_inplace_u32(&mut self, node: usize, name: &str, v: u32) -> Result<()> {
        self.setprop_inplace(node, name, &v.to_be_bytes())
    }

    /// `setprop_inplace` of a big-endian 64-bit value.
    pub fn setprop_inplace_u64(&mut self, node: usize, name: &str, v: u64) -> Result<()> {
        self.setprop_inplace(node, name, &v.to_be_bytes())
    }

    /// `fdt_setprop_inplace_namelen_partial`: overwrites `val.len()` bytes at
    /// `idx` within the value; NoSpace if that runs past its end.
    pub fn setprop_inplace_namelen_partial(&mut self, node: usize, name: &str, idx: usize, val: &[u8]) -> Result<()> {
        let ro = self.as_fdt();
        let (s, len) = ro.getprop_range(node, c_name(name))?;
        match idx.checked_add(val.len()) {
            Some(end) if end <= len => {}
            _ => return Err(Error::NoSpace),
        }
        let at = self.off_struct() + s + idx;
        self.buf[at..at + val.len()].copy_from_slice(val);
        Ok(())
    }

    /// Fills [abs, abs + len) with NOP tags, one per started word.
    fn nop_region(&mut self, abs: usize, len: usize) {
        let words = len.div_ceil(TAGSIZE);
        for w in 0..words {
            put32(self.buf, abs + w * TAGSIZE, FDT_NOP);
        }
    }

    /// `fdt_nop_property`: overwrites the property with NOP tags.
    pub fn nop_property(&mut self, node: usize, name: &str) -> Result<()> {
        let ro = self.as_fdt();
        if ro.version < 0x10 {
            return Err(Error::BadVersion);
        }
        let p = ro.find_prop(node, c_name(name))?;
        let (_, len) = ro.prop_value_range(p);
        let at = self.off_struct() + p;
        self.nop_region(at, PROP_HDR + len);
        Ok(())
    }

    /// `fdt_nop_node`: overwrites the node and its subtree with NOP tags.
    pub fn nop_node(&mut self, node: usize) -> Result<()> {
        let end = self.node_end_offset(node)?;
        let at = self.off_struct() + node;
        self.nop_region(at, end - node);
        Ok(())
    }
}

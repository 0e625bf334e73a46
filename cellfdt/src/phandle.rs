//! Phandle lookups.

use crate::ro::Fdt;
use crate::{Error, Result};

impl<'a> Fdt<'a> {
    /// `fdt_get_phandle`: "phandle" (or the legacy "linux,phandle") when it
    /// is 4 bytes long. `None` where libfdt returns 0.
    pub fn get_phandle(&self, node: usize) -> Option<u32> {
        let get = |name: &[u8]| match self.getprop_bytes(node, name) {
            Ok(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        };
        get(b"phandle").or_else(|| get(b"linux,phandle")).filter(|&p| p != 0)
    }

    /// `fdt_node_offset_by_phandle`. BadPhandle for 0 and 0xffffffff.
    pub fn node_offset_by_phandle(&self, ph: u32) -> Result<usize> {
        if ph == 0 || ph == u32::MAX {
            return Err(Error::BadPhandle);
        }
        let mut off = self.next_node_flat(None)?;
        loop {
            if self.get_phandle(off) == Some(ph) {
                return Ok(off);
            }
            off = self.next_node_flat(Some(off))?;
        }
    }

    /// `fdt_find_max_phandle`: the largest phandle in the tree, 0 if none.
    pub fn find_max_phandle(&self) -> Result<u32> {
        let mut max = 0;
        let mut cur = None;
        loop {
            match self.next_node_flat(cur) {
                Ok(off) => {
                    max = max.max(self.get_phandle(off).unwrap_or(0));
                    cur = Some(off);
                }
                Err(Error::NotFound) => return Ok(max),
                Err(e) => return Err(e),
            }
        }
    }

    /// `fdt_generate_phandle`: one more than the largest; NoPhandles when
    /// the largest is already 0xfffffffe.
    pub fn generate_phandle(&self) -> Result<u32> {
        match self.find_max_phandle()? {
            0xffff_fffe => Err(Error::NoPhandles),
            m => Ok(m.wrapping_add(1)),
        }
    }
}

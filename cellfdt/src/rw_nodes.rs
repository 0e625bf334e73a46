//! Node edits on `FdtMut`: add_subnode, del_node, set_name.

use crate::header::*;
use crate::rw::FdtMut;
use crate::rw_props::c_name;
use crate::{Error, Result};

impl<'a> FdtMut<'a> {
    /// `fdt_node_end_offset_`: offset just past the END_NODE closing `node`.
    pub(crate) fn node_end_offset(&self, node: usize) -> Result<usize> {
        let ro = self.as_fdt();
        if let Some(end) = ro.node_end_fast(node) {
            return Ok(end);
        }
        let mut depth = 0;
        let mut off = node;
        loop {
            off = ro.next_node_depth(Some(off), &mut depth)?;
            if depth < 0 {
                return Ok(off);
            }
        }
    }

    /// `fdt_add_subnode`: inserts an empty node right after `parent`'s
    /// properties, i.e. before its existing children. Exists if a child
    /// already matches `name` ("a" matches "a@1", as `subnode_offset` does).
    /// Returns the new node's offset.
    pub fn add_subnode(&mut self, parent: usize, name: &str) -> Result<usize> {
        self.add_subnode_bytes(parent, c_name(name))
    }

    /// `fdt_add_subnode_namelen` on a byte name (no NUL in `name`).
    pub(crate) fn add_subnode_bytes(&mut self, parent: usize, name: &[u8]) -> Result<usize> {
        self.rw_probe()?;
        let ro = self.as_fdt();
        match ro.subnode_offset_bytes(parent, name) {
            Ok(_) => return Err(Error::Exists),
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
        let (tag, mut next) = ro.next_tag(parent);
        if tag != FDT_BEGIN_NODE {
            return Err(Error::Internal);
        }
        let offset = loop {
            let off = next?;
            let (tag, n) = ro.next_tag(off);
            if tag != FDT_PROP && tag != FDT_NOP {
                break off;
            }
            next = n;
        };
        let name_space = tag_align(name.len() + 1);
        let nodelen = TAGSIZE + name_space + TAGSIZE;
        let at = self.off_struct() + offset;
        self.splice_struct(at, 0, nodelen)?;
        put32(self.buf, at, FDT_BEGIN_NODE);
        let name_at = at + TAGSIZE;
        self.buf[name_at..name_at + name_space].fill(0);
        self.buf[name_at..name_at + name.len()].copy_from_slice(name);
        put32(self.buf, at + nodelen - TAGSIZE, FDT_END_NODE);
        self.rw_done();
        Ok(offset)
    }

    /// `fdt_del_node`: removes `node` and everything under it.
    pub fn del_node(&mut self, node: usize) -> Result<()> {
        self.rw_probe()?;
        let end = self.node_end_offset(node)?;
        let at = self.off_struct() + node;
        self.splice_struct(at, end - node, 0)?;
        self.rw_done();
        Ok(())
    }

    /// `fdt_set_name`: renames `node` (no check for a sibling of that name,
    /// as in libfdt). Stale bytes may remain in the name's padding.
    pub fn set_name(&mut self, node: usize, name: &str) -> Result<()> {
        self.rw_probe()?;
        let name = c_name(name);
        let old = self.as_fdt().name_bytes(node)?.len();
        let at = self.off_struct() + node + TAGSIZE;
        self.splice_struct(at, tag_align(old + 1), tag_align(name.len() + 1))?;
        self.buf[at..at + name.len()].copy_from_slice(name);
        self.buf[at + name.len()] = 0;
        self.rw_done();
        Ok(())
    }
}

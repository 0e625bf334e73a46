//! Read-side walk used by overlay apply: a line-by-line port of the libfdt
//! 1.6.1 functions `fdt_overlay_apply` calls (fdt.c / fdt_ro.c).
//!
//! Why not `Fdt` from ro.rs: overlay apply reads a blob that it is editing
//! (the scratch copy) between every edit, must reproduce libfdt's exact
//! offsets and error codes step by step, and is benchmarked against libfdt,
//! so it wants a view that costs nothing to rebuild after each edit.
//! `Tree` is that view: a borrowed slice plus the header fields it needs.
//!
//! Offsets are structure-block offsets, as in libfdt. Every byte access is
//! bounds-checked; malformed input yields an `Error`, never a panic.

use crate::{Error, Result};

pub(crate) const FDT_MAGIC: u32 = 0xd00d_feed;
pub(crate) const BEGIN_NODE: u32 = 1;
pub(crate) const END_NODE: u32 = 2;
pub(crate) const PROP: u32 = 3;
pub(crate) const NOP: u32 = 4;
pub(crate) const END: u32 = 9;
/// Header offsets of the fields we read or write.
pub(crate) const H_TOTALSIZE: usize = 4;
pub(crate) const H_OFF_STRUCT: usize = 8;
pub(crate) const H_OFF_STRINGS: usize = 12;
pub(crate) const H_OFF_RSVMAP: usize = 16;
pub(crate) const H_VERSION: usize = 20;
pub(crate) const H_LAST_COMP: usize = 24;
pub(crate) const H_SIZE_STRINGS: usize = 32;
pub(crate) const H_SIZE_STRUCT: usize = 36;
pub(crate) const HEADER_V17: usize = 40;

#[inline(always)]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off.wrapping_add(4)) {
        Some(&[a, b1, c, d]) => u32::from_be_bytes([a, b1, c, d]),
        _ => 0,
    }
}

#[inline(always)]
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off.wrapping_add(4)) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

#[inline(always)]
pub(crate) const fn tag_align(n: usize) -> usize {
    (n + 3) & !3
}

/// fdt_check_header, restricted to what overlay apply accepts: a finished
/// (FDT_MAGIC) blob of version >= 17 whose blocks lie inside `totalsize`,
/// and `totalsize` inside the buffer (libfdt trusts it blindly).
pub(crate) fn check_header(b: &[u8]) -> Result<()> {
    if b.len() < HEADER_V17 {
        return Err(Error::Truncated);
    }
    if be32(b, 0) != FDT_MAGIC {
        return Err(Error::BadMagic);
    }
    let version = be32(b, H_VERSION);
    let last_comp = be32(b, H_LAST_COMP);
    // Older layouts need libfdt's v16 realignment quirks; dtc has written
    // v17 since 2007, so we refuse them rather than carry the quirks.
    if version < 17 || last_comp > 17 || version < last_comp {
        return Err(Error::BadVersion);
    }
    let total = be32(b, H_TOTALSIZE) as usize;
    if total < HEADER_V17 || total > i32::MAX as usize || total > b.len() {
        return Err(Error::Truncated);
    }
    let inside = |base: usize, size: usize| {
        base >= HEADER_V17 && base.checked_add(size).is_some_and(|end| end <= total)
    };
    if !inside(be32(b, H_OFF_RSVMAP) as usize, 0)
        || !inside(be32(b, H_OFF_STRUCT) as usize, be32(b, H_SIZE_STRUCT) as usize)
        || !inside(be32(b, H_OFF_STRINGS) as usize, be32(b, H_SIZE_STRINGS) as usize)
    {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// What `fdt_next_tag` reports: the tag, and the next offset or the error
/// libfdt stores in `*nextoffset` when it returns FDT_END early.
pub(crate) type Step = (u32, Result<usize>);

#[derive(Clone, Copy)]
pub(crate) struct Tree<'a> {
    /// The structure block.
    st: &'a [u8],
    /// The strings block.
    strs: &'a [u8],
}

impl<'a> Tree<'a> {
    /// A view of a blob that passed `check_header` (re-validated cheaply
    /// here so a view can never index out of range).
    pub(crate) fn new(b: &'a [u8]) -> Result<Tree<'a>> {
        let os = be32(b, H_OFF_STRUCT) as usize;
        let ss = be32(b, H_SIZE_STRUCT) as usize;
        let ot = be32(b, H_OFF_STRINGS) as usize;
        let sz = be32(b, H_SIZE_STRINGS) as usize;
        let st = b.get(os..os.checked_add(ss).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
        let strs = b.get(ot..ot.checked_add(sz).ok_or(Error::Truncated)?).ok_or(Error::Truncated)?;
        Ok(Tree { st, strs })
    }

    #[inline(always)]
    fn u32_at(&self, off: usize) -> Option<u32> {
        match self.st.get(off..off.checked_add(4)?) {
            Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// fdt_next_tag.
    #[inline]
    pub(crate) fn next_tag(&self, start: usize) -> Step {
        let Some(tag) = self.u32_at(start) else {
            return (END, Err(Error::Truncated));
        };
        let mut off = start + 4;
        match tag {
            BEGIN_NODE => match self.st.get(off..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(n) => off += n + 1,
                None => return (END, Err(Error::Truncated)),
            },
            PROP => {
                let Some(len) = self.u32_at(off) else {
                    return (END, Err(Error::Truncated));
                };
                off = match off.checked_add(8 + len as usize) {
                    Some(o) => o,
                    None => return (END, Err(Error::Truncated)),
                };
            }
            END | END_NODE | NOP => {}
            _ => return (END, Err(Error::BadStructure)),
        }
        if off > self.st.len() {
            return (END, Err(Error::Truncated));
        }
        (tag, Ok(tag_align(off)))
    }

    /// fdt_check_node_offset_: the offset just past the node's header.
    pub(crate) fn check_node(&self, off: usize) -> Result<usize> {
        if !off.is_multiple_of(4) {
            return Err(Error::BadOffset);
        }
        match self.next_tag(off) {
            (BEGIN_NODE, Ok(n)) => Ok(n),
            _ => Err(Error::BadOffset),
        }
    }

    /// fdt_check_prop_offset_.
    fn check_prop(&self, off: usize) -> Result<usize> {
        if !off.is_multiple_of(4) {
            return Err(Error::BadOffset);
        }
        match self.next_tag(off) {
            (PROP, Ok(n)) => Ok(n),
            _ => Err(Error::BadOffset),
        }
    }

    /// fdt_next_node. `node == None` is libfdt's offset -1 (start at root).
    pub(crate) fn next_node(&self, node: Option<usize>, mut depth: Option<&mut i32>) -> Result<usize> {
        let mut next = match node {
            Some(n) => self.check_node(n)?,
            None => 0,
        };
        loop {
            let off = next;
            let (tag, n) = self.next_tag(off);
            match tag {
                PROP | NOP => {}
                BEGIN_NODE => {
                    if let Some(d) = depth.as_deref_mut() {
                        *d += 1;
                    }
                    return Ok(off);
                }
                END_NODE => {
                    if let Some(d) = depth.as_deref_mut() {
                        *d -= 1;
                        if *d < 0 {
                            return n;
                        }
                    }
                }
                _ => {
                    return match n {
                        Ok(_) => Err(Error::NotFound),
                        Err(Error::Truncated) if depth.is_none() => Err(Error::NotFound),
                        Err(e) => Err(e),
                    };
                }
            }
            next = n?;
        }
    }

    /// fdt_first_subnode; like libfdt, every failure reads as "none".
    pub(crate) fn first_subnode(&self, node: usize) -> Option<usize> {
        let mut depth = 0;
        match self.next_node(Some(node), Some(&mut depth)) {
            Ok(o) if depth == 1 => Some(o),
            _ => None,
        }
    }

    /// fdt_next_subnode; every failure reads as "none".
    pub(crate) fn next_subnode(&self, mut node: usize) -> Option<usize> {
        let mut depth = 1;
        loop {
            node = self.next_node(Some(node), Some(&mut depth)).ok()?;
            if depth < 1 {
                return None;
            }
            if depth == 1 {
                return Some(node);
            }
        }
    }

    /// nextprop_.
    fn nextprop(&self, mut off: usize) -> Result<usize> {
        loop {
            let (tag, n) = self.next_tag(off);
            match tag {
                END => return Err(if n.is_ok() { Error::BadStructure } else { n.err().unwrap_or(Error::Internal) }),
                PROP => return Ok(off),
                _ => {}
            }
            off = n?;
            if tag != NOP {
                return Err(Error::NotFound);
            }
        }
    }

    /// fdt_first_property_offset.
    pub(crate) fn first_property(&self, node: usize) -> Result<usize> {
        let o = self.check_node(node)?;
        self.nextprop(o)
    }

    /// fdt_next_property_offset.
    pub(crate) fn next_property(&self, prop: usize) -> Result<usize> {
        let o = self.check_prop(prop)?;
        self.nextprop(o)
    }

    /// fdt_get_string.
    pub(crate) fn string(&self, stroff: u32) -> Result<&'a [u8]> {
        let s = self.strs.get(stroff as usize..).filter(|s| !s.is_empty()).ok_or(Error::BadOffset)?;
        match s.iter().position(|&c| c == 0) {
            Some(n) => Ok(&s[..n]),
            None => Err(Error::Truncated),
        }
    }

    /// fdt_getprop_by_offset: (name, value offset, value).
    pub(crate) fn prop_by_offset(&self, prop: usize) -> Result<(&'a [u8], usize, &'a [u8])> {
        self.check_prop(prop)?;
        let name = self.string(self.u32_at(prop + 8).unwrap_or(0))?;
        let (voff, val) = self.prop_value(prop);
        Ok((name, voff, val))
    }

    /// Value of a property whose offset passed `check_prop` (bounds known).
    #[inline]
    fn prop_value(&self, prop: usize) -> (usize, &'a [u8]) {
        let len = self.u32_at(prop + 4).unwrap_or(0) as usize;
        let v = prop + 12;
        (v, self.st.get(v..v.saturating_add(len)).unwrap_or(&[]))
    }

    /// fdt_get_property_namelen_ / fdt_getprop_namelen: (value offset, value).
    pub(crate) fn getprop(&self, node: usize, name: &[u8]) -> Result<(usize, &'a [u8])> {
        let mut off = self.first_property(node);
        while let Ok(p) = off {
            if self.string(self.u32_at(p + 8).unwrap_or(0)).is_ok_and(|s| s == name) {
                return Ok(self.prop_value(p));
            }
            off = self.next_property(p);
        }
        Err(off.err().unwrap_or(Error::Internal))
    }

    /// fdt_get_phandle.
    pub(crate) fn get_phandle(&self, node: usize) -> u32 {
        for name in [&b"phandle"[..], b"linux,phandle"] {
            if let Ok((_, v @ [_, _, _, _])) = self.getprop(node, name) {
                return u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
            }
        }
        0
    }

    /// fdt_get_name (without the pre-v16 leaf-name quirk: we require v17).
    pub(crate) fn get_name(&self, node: usize) -> Result<&'a [u8]> {
        let end = self.check_node(node)?;
        let raw = self.st.get(node + 4..end).unwrap_or(&[]);
        Ok(&raw[..raw.iter().position(|&c| c == 0).unwrap_or(raw.len())])
    }

    /// fdt_nodename_eq_: "name" also matches "name@unit" unless `s` has '@'.
    fn nodename_eq(&self, node: usize, s: &[u8]) -> bool {
        let Ok(p) = self.get_name(node) else { return false };
        if p.len() < s.len() || &p[..s.len()] != s {
            return false;
        }
        p.len() == s.len() || (p[s.len()] == b'@' && !s.contains(&b'@'))
    }

    /// fdt_subnode_offset_namelen.
    pub(crate) fn subnode_offset(&self, parent: usize, name: &[u8]) -> Result<usize> {
        let mut depth = 0;
        let mut off = parent;
        loop {
            if depth == 1 && self.nodename_eq(off, name) {
                return Ok(off);
            }
            off = self.next_node(Some(off), Some(&mut depth))?;
            if depth < 0 {
                return Err(Error::NotFound);
            }
        }
    }

    /// fdt_path_offset_namelen. An alias whose value is itself not absolute
    /// is BADPATH (libfdt 1.6.1 recurses forever there; 1.7 rejects it).
    pub(crate) fn path_offset(&self, path: &[u8]) -> Result<usize> {
        let mut p = path;
        let mut off = 0;
        if p.first() != Some(&b'/') {
            let q = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
            let alias = self.get_alias(&p[..q]).ok_or(Error::BadPath)?;
            if alias.first() != Some(&b'/') {
                return Err(Error::BadPath);
            }
            off = self.path_offset(alias)?;
            p = &p[q..];
        }
        loop {
            while let Some((&b'/', rest)) = p.split_first() {
                p = rest;
                if p.is_empty() {
                    return Ok(off);
                }
            }
            if p.is_empty() {
                return Ok(off);
            }
            let q = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
            off = self.subnode_offset(off, &p[..q])?;
            p = &p[q..];
        }
    }

    /// fdt_get_alias_namelen, value cut at its first NUL (a C string).
    fn get_alias(&self, name: &[u8]) -> Option<&'a [u8]> {
        let aliases = self.path_offset(b"/aliases").ok()?;
        let (_, v) = self.getprop(aliases, name).ok()?;
        Some(&v[..v.iter().position(|&c| c == 0).unwrap_or(v.len())])
    }

    /// fdt_supernode_atdepth_offset (with `nodedepth` out-parameter).
    pub(crate) fn supernode_atdepth(&self, node: usize, want: i32) -> Result<(usize, i32)> {
        if want < 0 {
            return Err(Error::NotFound);
        }
        let mut depth = 0;
        let mut off = 0;
        let mut found = Err(Error::Internal);
        loop {
            if off > node {
                return Err(Error::BadOffset);
            }
            if depth == want {
                found = Ok(off);
            }
            if off == node {
                return if want > depth { Err(Error::NotFound) } else { found.map(|f| (f, depth)) };
            }
            off = match self.next_node(Some(off), Some(&mut depth)) {
                Ok(o) => o,
                Err(Error::NotFound) => return Err(Error::BadOffset),
                Err(Error::BadOffset) => return Err(Error::BadStructure),
                Err(e) => return Err(e),
            };
        }
    }

    /// fdt_parent_offset.
    pub(crate) fn parent_offset(&self, node: usize) -> Result<usize> {
        let (_, depth) = self.supernode_atdepth(node, 0)?;
        self.supernode_atdepth(node, depth - 1).map(|(o, _)| o)
    }
}

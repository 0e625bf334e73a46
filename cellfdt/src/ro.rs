//! Read-only access: the `Fdt` view, tag walking and node navigation
//! (libfdt's fdt.c / fdt_ro.c node half).

use crate::header::*;
use crate::{Error, Result};

/// A checked, read-only view of a flattened devicetree blob.
///
/// `Fdt::new` runs libfdt's `fdt_check_header` (plus "the slice really holds
/// `totalsize` bytes"); every later read is bounds-checked against the same
/// limits libfdt uses, so malformed contents give errors, never panics.
///
/// ```
/// # let mut src = vec![0u8; 256];
/// # let mut w = cellfdt::Writer::create(&mut src).unwrap();
/// # w.finish_reservemap().unwrap();
/// # w.begin_node("").unwrap();
/// # w.begin_node("chosen").unwrap();
/// # w.end_node().unwrap();
/// # w.end_node().unwrap();
/// # let n = w.finish().unwrap();
/// # let dtb = &src[..n];
/// let fdt = cellfdt::Fdt::new(dtb)?;
/// let chosen = fdt.path_offset("/chosen")?;
/// assert_eq!(fdt.get_name(chosen)?, "chosen");
/// assert_eq!(fdt.getprop(chosen, "bootargs"), Err(cellfdt::Error::NotFound));
/// # Ok::<(), cellfdt::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Fdt<'a> {
    /// The blob, cut to `totalsize`.
    pub(crate) data: &'a [u8],
    /// The structure block as `fdt_offset_ptr` bounds it: from
    /// `off_dt_struct` to `totalsize` (and `size_dt_struct` from v17).
    pub(crate) st: &'a [u8],
    /// The strings block as `fdt_get_string` bounds it.
    pub(crate) strs: &'a [u8],
    pub(crate) version: u32,
}

/// Result of stepping over one tag: the tag and where the next one starts.
/// As in libfdt, a tag of `FDT_END` with an `Err` means "could not parse".
pub(crate) type Step = (u32, Result<usize>);

impl<'a> Fdt<'a> {
    /// Checks the header (`fdt_check_header`) and that `blob` holds
    /// `totalsize` bytes. Errors: Truncated, Alignment, BadMagic, BadVersion.
    pub fn new(blob: &'a [u8]) -> Result<Fdt<'a>> {
        let total = check_buffer(blob)?;
        Ok(Fdt::view(blob.get(..total).ok_or(Error::Truncated)?))
    }

    /// Builds a view without checking the header. Inconsistent offsets
    /// give empty blocks, so every later read fails cleanly.
    pub(crate) fn view(data: &'a [u8]) -> Fdt<'a> {
        let version = be32(data, H_VERSION);
        let total = data.len();
        let off_st = hdr(data, H_OFF_DT_STRUCT);
        let st_end = if version >= 17 {
            off_st.saturating_add(hdr(data, H_SIZE_DT_STRUCT)).min(total)
        } else {
            total
        };
        let off_str = hdr(data, H_OFF_DT_STRINGS);
        let str_end = if version >= 17 {
            off_str.saturating_add(hdr(data, H_SIZE_DT_STRINGS)).min(total)
        } else {
            total
        };
        Fdt {
            data,
            st: data.get(off_st..st_end).unwrap_or(&[]),
            strs: data.get(off_str..str_end).unwrap_or(&[]),
            version,
        }
    }

    /// The whole blob (`totalsize` bytes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
    /// Header `totalsize`: the blob's length, free space included.
    pub fn totalsize(&self) -> usize {
        self.data.len()
    }
    /// Header `version`.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// Header `last_comp_version`.
    pub fn last_comp_version(&self) -> u32 {
        be32(self.data, H_LAST_COMP_VERSION)
    }
    /// Header `off_dt_struct`: where the structure block starts.
    pub fn off_dt_struct(&self) -> usize {
        hdr(self.data, H_OFF_DT_STRUCT)
    }
    /// Header `off_dt_strings`: where the strings block starts.
    pub fn off_dt_strings(&self) -> usize {
        hdr(self.data, H_OFF_DT_STRINGS)
    }
    /// Header `off_mem_rsvmap`: where the memory reservation map starts.
    pub fn off_mem_rsvmap(&self) -> usize {
        hdr(self.data, H_OFF_MEM_RSVMAP)
    }
    /// Header `size_dt_struct` (0 in blobs older than version 17).
    pub fn size_dt_struct(&self) -> usize {
        hdr(self.data, H_SIZE_DT_STRUCT)
    }
    /// Header `size_dt_strings`.
    pub fn size_dt_strings(&self) -> usize {
        hdr(self.data, H_SIZE_DT_STRINGS)
    }
    /// Header `boot_cpuid_phys`.
    pub fn boot_cpuid_phys(&self) -> u32 {
        be32(self.data, H_BOOT_CPUID_PHYS)
    }

    /// `fdt_next_tag`: the tag at `off` and the offset of the next tag.
    /// Always inlined: it is the inner step of every walk (overlay-bench
    /// and fdt-bench both spend most of their instructions here).
    #[cfg_attr(not(feature = "size"), inline(always))]
    pub(crate) fn next_tag(&self, off: usize) -> Step {
        let st = self.st;
        let Some(tag_end) = off.checked_add(TAGSIZE).filter(|&e| e <= st.len()) else {
            return (FDT_END, Err(Error::Truncated));
        };
        let tag = be32(st, off);
        let mut end = tag_end;
        match tag {
            FDT_BEGIN_NODE => match find_nul(st, end) {
                Some(i) => end = i + 1,
                None => return (FDT_END, Err(Error::BadStructure)),
            },
            FDT_PROP => {
                if end + 4 > st.len() {
                    return (FDT_END, Err(Error::BadStructure));
                }
                let len = be32(st, end) as usize;
                end = end + (PROP_HDR - TAGSIZE) + len;
                // Before v16, values of 8+ bytes were padded to 8-byte alignment.
                if self.version < 0x10 && len >= 8 && !(end - len).is_multiple_of(8) {
                    end += 4;
                }
                if end > st.len() {
                    return (FDT_END, Err(Error::BadStructure));
                }
            }
            FDT_END | FDT_END_NODE | FDT_NOP => {}
            _ => return (FDT_END, Err(Error::BadStructure)),
        }
        (tag, Ok(tag_align(end)))
    }

    /// `fdt_check_node_offset_`: `node` is an aligned BEGIN_NODE; returns
    /// the offset just past its header.
    #[inline]
    pub(crate) fn check_node_offset(&self, node: usize) -> Result<usize> {
        if !node.is_multiple_of(TAGSIZE) {
            return Err(Error::BadOffset);
        }
        match self.next_tag(node) {
            (FDT_BEGIN_NODE, Ok(n)) => Ok(n),
            _ => Err(Error::BadOffset),
        }
    }

    /// `fdt_check_prop_offset_`.
    #[inline]
    pub(crate) fn check_prop_offset(&self, prop: usize) -> Result<usize> {
        if !prop.is_multiple_of(TAGSIZE) {
            return Err(Error::BadOffset);
        }
        match self.next_tag(prop) {
            (FDT_PROP, Ok(n)) => Ok(n),
            _ => Err(Error::BadOffset),
        }
    }

    /// `fdt_next_node`: the next BEGIN_NODE after `node` (`None` = before the
    /// root). With `depth`, it is adjusted by the nesting change and, when it
    /// drops below 0, the offset after the closing END_NODE is returned.
    pub fn next_node(&self, node: Option<usize>, depth: Option<&mut i32>) -> Result<usize> {
        match depth {
            Some(d) => self.next_node_depth(node, d),
            None => self.next_node_flat(node),
        }
    }

    #[inline]
    pub(crate) fn next_node_depth(&self, node: Option<usize>, depth: &mut i32) -> Result<usize> {
        let mut next = match node {
            Some(n) => self.check_node_offset(n)?,
            None => 0,
        };
        loop {
            let off = next;
            let (tag, n) = self.next_tag(off);
            match tag {
                FDT_BEGIN_NODE => {
                    *depth = depth.wrapping_add(1);
                    return Ok(off);
                }
                FDT_END_NODE => {
                    *depth = depth.wrapping_sub(1);
                    if *depth < 0 {
                        return n;
                    }
                }
                FDT_PROP | FDT_NOP => {}
                _ => {
                    return match n {
                        Ok(_) => Err(Error::NotFound),
                        Err(e) => Err(e),
                    };
                }
            }
            next = n?;
        }
    }

    #[inline]
    pub(crate) fn next_node_flat(&self, node: Option<usize>) -> Result<usize> {
        let mut next = match node {
            Some(n) => self.check_node_offset(n)?,
            None => 0,
        };
        loop {
            let off = next;
            let (tag, n) = self.next_tag(off);
            match tag {
                FDT_BEGIN_NODE => return Ok(off),
                FDT_END_NODE | FDT_PROP | FDT_NOP => {}
                _ => {
                    // Without depth tracking, running off the end of a
                    // truncated block just means "no more nodes".
                    return match n {
                        Ok(_) | Err(Error::Truncated) => Err(Error::NotFound),
                        Err(e) => Err(e),
                    };
                }
            }
            next = n?;
        }
    }

    /// `fdt_first_subnode`. Any failure reads as NotFound, as in libfdt.
    pub fn first_subnode(&self, parent: usize) -> Result<usize> {
        let mut depth = 0;
        match self.next_node_depth(Some(parent), &mut depth) {
            Ok(o) if depth == 1 => Ok(o),
            _ => Err(Error::NotFound),
        }
    }

    /// `fdt_next_subnode`. Any failure reads as NotFound, as in libfdt.
    pub fn next_subnode(&self, node: usize) -> Result<usize> {
        let mut depth = 1;
        let mut off = node;
        loop {
            match self.next_node_depth(Some(off), &mut depth) {
                Ok(o) if depth >= 1 => off = o,
                _ => return Err(Error::NotFound),
            }
            if depth <= 1 {
                return Ok(off);
            }
        }
    }

    /// Iterates the direct children of `parent`.
    pub fn subnodes(&self, parent: usize) -> impl Iterator<Item = usize> + 'a {
        let fdt = *self;
        let mut cur = fdt.first_subnode(parent).ok();
        core::iter::from_fn(move || {
            let this = cur?;
            cur = fdt.next_subnode(this).ok();
            Some(this)
        })
    }

    /// Raw name bytes of the node at `node` (leaf name for pre-v16 blobs).
    pub(crate) fn name_bytes(&self, node: usize) -> Result<&'a [u8]> {
        let name_end = self.check_node_offset(node)?;
        // check_node_offset found the NUL before `name_end`, which is aligned
        // up and may lie past the block's end (a size_dt_struct that ends
        // inside the padding): clamp it.
        let raw = self
            .st
            .get(node + TAGSIZE..name_end.min(self.st.len()))
            .ok_or(Error::Internal)?;
        let nul = raw.iter().position(|&b| b == 0).ok_or(Error::Internal)?;
        let name = &raw[..nul];
        if self.version < 0x10 {
            // Old blobs store full paths; report the leaf as v16 does.
            let slash = name.iter().rposition(|&b| b == b'/').ok_or(Error::BadStructure)?;
            return Ok(&name[slash + 1..]);
        }
        Ok(name)
    }

    /// `fdt_get_name`. BadValue if the name is not UTF-8.
    pub fn get_name(&self, node: usize) -> Result<&'a str> {
        core::str::from_utf8(self.name_bytes(node)?).map_err(|_| Error::BadValue)
    }

    /// `fdt_get_name` as bytes (names need not be UTF-8 in a blob).
    pub fn get_name_bytes(&self, node: usize) -> Result<&'a [u8]> {
        self.name_bytes(node)
    }

    /// libfdt's `fdt_nodename_eq_` on the node at `node`.
    fn nodename_eq(&self, node: usize, s: &[u8]) -> bool {
        match self.name_bytes(node) {
            Ok(name) => name_matches(name, s),
            Err(_) => false,
        }
    }

    /// `fdt_subnode_offset_namelen`.
    pub(crate) fn subnode_offset_bytes(&self, parent: usize, name: &[u8]) -> Result<usize> {
        match self.subnode_fast(parent, name) {
            Some(r) => r,
            None => self.subnode_offset_slow(parent, name),
        }
    }

    /// libfdt's walk for `subnode_offset_bytes`, step by step with every
    /// check; `subnode_fast` defers to it whenever anything is irregular.
    fn subnode_offset_slow(&self, parent: usize, name: &[u8]) -> Result<usize> {
        let mut depth = 0;
        let mut off = parent;
        loop {
            if depth == 1 && self.nodename_eq(off, name) {
                return Ok(off);
            }
            off = self.next_node_depth(Some(off), &mut depth)?;
            if depth < 0 {
                return Err(Error::NotFound);
            }
        }
    }

    /// One pass over the tags under `parent` for the regular case: a v16+
    /// blob whose tags are all whole and in bounds up to the answer. Each
    /// name is scanned once (the slow walk re-checks every node it steps
    /// from). `None` means "something is off": the slow walk then gives
    /// libfdt's exact result and error.
    #[inline]
    fn subnode_fast(&self, parent: usize, s: &[u8]) -> Option<Result<usize>> {
        if self.version < 0x10 {
            return None;
        }
        let (mut off, mut depth) = (self.skip_begin_node(parent)?, 0i32);
        loop {
            let (at, step) = self.fast_step(off)?;
            off = at;
            match step {
                Walk::Begin(name_end) => {
                    depth += 1;
                    if depth == 1 {
                        let name = self.st.get(off + TAGSIZE..name_end)?;
                        if name_matches(name, s) {
                            return Some(Ok(off));
                        }
                    }
                    off = tag_align(name_end + 1);
                }
                Walk::End => {
                    depth -= 1;
                    if depth < 0 {
                        return Some(Err(Error::NotFound));
                    }
                    off += TAGSIZE;
                }
                Walk::Skip(next) => off = next,
            }
        }
    }

    /// The regular case of `fdt_node_end_offset_`-style walks: the offset
    /// just past the END_NODE closing `node`, or `None` when the slow walk
    /// must decide (irregular tags, pre-v16 blob).
    #[inline]
    pub(crate) fn node_end_fast(&self, node: usize) -> Option<usize> {
        if self.version < 0x10 {
            return None;
        }
        let (mut off, mut depth) = (self.skip_begin_node(node)?, 0i32);
        loop {
            let (at, step) = self.fast_step(off)?;
            off = at;
            match step {
                Walk::Begin(name_end) => {
                    depth += 1;
                    off = tag_align(name_end + 1);
                }
                Walk::End => {
                    off += TAGSIZE;
                    depth -= 1;
                    if depth < 0 {
                        return Some(off);
                    }
                }
                Walk::Skip(next) => off = next,
            }
        }
    }

    /// `check_node_offset` for the fast walks: `Some(offset past the name)`
    /// when `node` is an aligned, whole BEGIN_NODE.
    #[cfg_attr(not(feature = "size"), inline(always))]
    fn skip_begin_node(&self, node: usize) -> Option<usize> {
        if !node.is_multiple_of(TAGSIZE) || be32_opt(self.st, node)? != FDT_BEGIN_NODE {
            return None;
        }
        Some(tag_align(find_nul(self.st, node + TAGSIZE)? + 1))
    }

    /// `next_tag` for v16+ blobs on the regular path only, first stepping
    /// over any run of properties (the hot inner loop of every walk):
    /// returns the first other tag and its offset. `None` for FDT_END,
    /// unknown tags and anything out of bounds. Tag and property length
    /// come from one 8-byte read; a tag in the last 4 bytes of the block
    /// (only a closing FDT_END in a sane blob) also gives `None`.
    /// Inlined even with `size` (two callers): the loader's lookups spend
    /// most of their time here.
    #[inline(always)]
    fn fast_step(&self, mut off: usize) -> Option<(usize, Walk)> {
        let st = self.st;
        let mut w = read_be64(st, off)?;
        while w >> 32 == u64::from(FDT_PROP) {
            // In u64 so that no overflow check is needed: off <= len + 3.
            let end = off as u64 + PROP_HDR as u64 + (w & 0xffff_ffff);
            if end > st.len() as u64 {
                return None;
            }
            off = tag_align(end as usize);
            w = read_be64(st, off)?;
        }
        let step = match (w >> 32) as u32 {
            FDT_BEGIN_NODE => Walk::Begin(find_nul(st, off + TAGSIZE)?),
            FDT_END_NODE => Walk::End,
            FDT_NOP => Walk::Skip(off + TAGSIZE),
            _ => return None,
        };
        Some((off, step))
    }

    /// `fdt_subnode_offset`: "a" matches "a" or "a@&lt;anything&gt;".
    pub fn subnode_offset(&self, parent: usize, name: &str) -> Result<usize> {
        self.subnode_offset_bytes(parent, name.as_bytes())
    }

    /// `fdt_supernode_atdepth_offset`: returns (ancestor at `want` depth, depth of node).
    pub(crate) fn supernode_atdepth(&self, node: usize, want: i32) -> (Result<usize>, i32) {
        if want < 0 {
            return (Err(Error::NotFound), 0);
        }
        let mut depth = 0;
        let mut off = 0usize;
        let mut found = Err(Error::Internal);
        loop {
            if depth == want {
                found = Ok(off);
            }
            if off == node {
                if want > depth {
                    return (Err(Error::NotFound), depth);
                }
                return (found, depth);
            }
            match self.next_node_depth(Some(off), &mut depth) {
                Ok(o) if o <= node => off = o,
                Ok(_) | Err(Error::NotFound) => return (Err(Error::BadOffset), 0),
                Err(Error::BadOffset) => return (Err(Error::BadStructure), 0),
                Err(e) => return (Err(e), 0),
            }
        }
    }

    /// `fdt_node_depth`: the root is at depth 0.
    pub fn node_depth(&self, node: usize) -> Result<usize> {
        let (r, depth) = self.supernode_atdepth(node, 0);
        // A second top-level node makes the "root" found here non-zero.
        if r? != 0 {
            return Err(Error::Internal);
        }
        usize::try_from(depth).map_err(|_| Error::Internal)
    }

    /// `fdt_parent_offset`; NotFound for the root.
    pub fn parent_offset(&self, node: usize) -> Result<usize> {
        let depth = self.node_depth(node)?;
        self.supernode_atdepth(node, depth as i32 - 1).0
    }
}

/// One tag as the fast walks see it.
enum Walk {
    /// BEGIN_NODE; the offset of its name's NUL.
    Begin(usize),
    /// END_NODE.
    End,
    /// NOP; the offset of the next tag.
    Skip(usize),
}

/// libfdt's `fdt_nodename_eq_`: "a" matches "a" and "a@1"; "a@1" only "a@1".
/// The byte after the prefix is tested first: it rejects most names cheaply.
#[cfg_attr(not(feature = "size"), inline(always))]
fn name_matches(name: &[u8], s: &[u8]) -> bool {
    let ok_end = match name.get(s.len()) {
        None => name.len() == s.len(),
        Some(b'@') => !s.contains(&b'@'),
        Some(_) => false,
    };
    ok_end && name.starts_with(s)
}

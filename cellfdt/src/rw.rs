//! `FdtMut`: a blob in a caller buffer with free space after it, edited in
//! place (libfdt's fdt_rw.c: probe, splice, open_into, pack, memory
//! reservations). Property and node edits are in rw_props.rs / rw_nodes.rs.
//!
//! Every edit checks everything (offsets, space) before it moves a byte, so
//! a failed edit leaves the buffer exactly as it was. libfdt differs in one
//! corner: when adding a property fails for space after its name was
//! appended to the strings block, libfdt leaves the name bytes in the free
//! space past the blob's data (the header is restored); we do not write them.

use crate::header::*;
use crate::memrsv::num_mem_rsv;
use crate::ro::Fdt;
use crate::{Error, Result};

/// A devicetree blob in a mutable buffer; edits move bytes within it.
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
/// let mut buf = vec![0u8; 1024];
/// let mut fdt = cellfdt::FdtMut::open_into(dtb, &mut buf)?;
/// let chosen = fdt.as_fdt().path_offset("/chosen")?;
/// fdt.setprop_u32(chosen, "answer", 42)?;
/// // A failed edit changes nothing.
/// let before = fdt.as_bytes().to_vec();
/// assert_eq!(fdt.setprop_inplace_u64(chosen, "answer", 1), Err(cellfdt::Error::NoSpace));
/// assert_eq!(fdt.as_bytes(), &before[..]);
/// assert_eq!(fdt.as_fdt().getprop_u32(chosen, "answer")?, 42);
/// # Ok::<(), cellfdt::Error>(())
/// ```
pub struct FdtMut<'a> {
    /// Invariant: the header's totalsize is at most `buf.len()`.
    pub(crate) buf: &'a mut [u8],
    /// Set by `from_checked`: the caller vouches for the header, so rw edits
    /// skip `fdt_ro_probe_` (magic, version, alignment) and check only the
    /// layout.
    checked: bool,
}

/// libfdt's `fdt_blocks_misordered_`.
fn misordered(b: &[u8], rsv_size: usize, struct_size: usize) -> bool {
    let off_rsv = hdr(b, H_OFF_MEM_RSVMAP);
    let off_struct = hdr(b, H_OFF_DT_STRUCT);
    let off_strings = hdr(b, H_OFF_DT_STRINGS);
    off_rsv < HDR_ALIGNED
        || off_struct < off_rsv + rsv_size
        || off_strings < off_struct + struct_size
        || hdr(b, H_TOTALSIZE) < off_strings + hdr(b, H_SIZE_DT_STRINGS)
}

/// Buffer length as libfdt's `int bufsize` sees it.
fn bufsize(buf: &[u8]) -> usize {
    buf.len().min(INT_MAX)
}

/// Sizes `open_into` needs from a source blob: (totalsize, mem-rsv block
/// size including the terminator, structure block size).
fn open_sizes(src: &[u8]) -> Result<(usize, usize, usize)> {
    let total = ro_probe(src)?;
    let src = src.get(..total).ok_or(Error::Truncated)?;
    let rsv_size = (num_mem_rsv(src, total)? + 1) * RSV_ENTRY;
    let version = be32(src, H_VERSION);
    let struct_size = if version >= 17 {
        hdr(src, H_SIZE_DT_STRUCT)
    } else if version == 16 {
        // v16 headers have no size_dt_struct: walk to the END tag.
        let view = Fdt::view(src);
        let mut off = 0;
        loop {
            let (tag, next) = view.next_tag(off);
            off = next?;
            if tag == FDT_END {
                break off;
            }
        }
    } else {
        return Err(Error::BadVersion);
    };
    Ok((total, rsv_size, struct_size))
}

/// libfdt's `fdt_packblocks_`: copies the three blocks of `old` back to back
/// after a 40-byte header into `new` and records them in `new`'s header.
/// Only the five block fields of `new`'s header are written.
fn pack_blocks(old: &[u8], new: &mut [u8], rsv_size: usize, struct_size: usize, strings_size: usize) -> Result<()> {
    let rsv_src = hdr(old, H_OFF_MEM_RSVMAP);
    let struct_src = hdr(old, H_OFF_DT_STRUCT);
    let strings_src = hdr(old, H_OFF_DT_STRINGS);
    let rsv_dst = HDR_ALIGNED;
    let struct_dst = rsv_dst + rsv_size;
    let strings_dst = struct_dst + struct_size;
    let src_rsv = old.get(rsv_src..rsv_src + rsv_size).ok_or(Error::Truncated)?;
    let src_struct = old.get(struct_src..struct_src + struct_size).ok_or(Error::Truncated)?;
    let src_strings = old
        .get(strings_src..strings_src + strings_size)
        .ok_or(Error::Truncated)?;
    if new.len() < strings_dst + strings_size {
        return Err(Error::NoSpace);
    }
    new[rsv_dst..struct_dst].copy_from_slice(src_rsv);
    new[struct_dst..strings_dst].copy_from_slice(src_struct);
    new[strings_dst..strings_dst + strings_size].copy_from_slice(src_strings);
    set_block_fields(new, rsv_size, struct_size, strings_size);
    Ok(())
}

fn set_block_fields(b: &mut [u8], rsv_size: usize, struct_size: usize, strings_size: usize) {
    let struct_off = HDR_ALIGNED + rsv_size;
    put32(b, H_OFF_MEM_RSVMAP, HDR_ALIGNED as u32);
    put32(b, H_OFF_DT_STRUCT, struct_off as u32);
    put32(b, H_SIZE_DT_STRUCT, struct_size as u32);
    put32(b, H_OFF_DT_STRINGS, (struct_off + struct_size) as u32);
    put32(b, H_SIZE_DT_STRINGS, strings_size as u32);
}

fn finish_open(b: &mut [u8], size: usize) {
    put32(b, H_MAGIC, FDT_MAGIC);
    put32(b, H_TOTALSIZE, size as u32);
    put32(b, H_VERSION, LAST_SUPPORTED_VERSION);
    put32(b, H_LAST_COMP_VERSION, LAST_COMPATIBLE_VERSION);
}

impl<'a> FdtMut<'a> {
    /// Wraps a buffer holding a blob as it is (`fdt_check_header` plus
    /// "the buffer holds totalsize bytes"). Write-in-place edits work on any
    /// such blob; size-changing edits need a v17 blob in canonical order
    /// with free space, as `open_into` leaves it.
    pub fn new(buf: &'a mut [u8]) -> Result<FdtMut<'a>> {
        check_buffer(buf)?;
        Ok(FdtMut { buf, checked: false })
    }

    /// Wraps a buffer without any check, for overlay apply's scratch copy:
    /// the caller has checked the header (magic, version >= 17, blocks inside
    /// a totalsize <= `buf.len()`) and only edits through this `FdtMut`, which
    /// never break those. Size-changing edits then skip `fdt_ro_probe_`
    /// (so no alignment requirement) but keep `fdt_rw_probe_`'s layout check.
    pub(crate) fn from_checked(buf: &'a mut [u8]) -> FdtMut<'a> {
        FdtMut { buf, checked: true }
    }

    /// `fdt_open_into(src, buf, buf.len())`: copies `src` into `buf`,
    /// reordering the blocks if needed, and makes all of `buf` the blob's
    /// totalsize. NoSpace when `buf` is shorter than `src`'s totalsize.
    pub fn open_into(src: &[u8], buf: &'a mut [u8]) -> Result<FdtMut<'a>> {
        // Like libfdt, `buf`'s alignment is not checked here; a misaligned
        // buffer makes every later edit fail with Alignment.
        let (total, rsv_size, struct_size) = open_sizes(src)?;
        let src = &src[..total];
        let size = bufsize(buf);
        if !misordered(src, rsv_size, struct_size) {
            // libfdt's fdt_move copies all of totalsize; free space holds
            // nothing the blob defines, so only the data up to the end of
            // the strings block is copied (not-misordered puts it inside
            // totalsize). The NoSpace rule stays libfdt's.
            if total > size {
                return Err(Error::NoSpace);
            }
            let used = hdr(src, H_OFF_DT_STRINGS) + hdr(src, H_SIZE_DT_STRINGS);
            buf[..used].copy_from_slice(&src[..used]);
            put32(buf, H_VERSION, LAST_SUPPORTED_VERSION);
            put32(buf, H_SIZE_DT_STRUCT, struct_size as u32);
            put32(buf, H_TOTALSIZE, size as u32);
            return Ok(FdtMut { buf, checked: false });
        }
        let strings_size = hdr(src, H_SIZE_DT_STRINGS);
        let newsize = HDR_ALIGNED + rsv_size + struct_size + strings_size;
        if size < newsize {
            return Err(Error::NoSpace);
        }
        pack_blocks(src, &mut buf[..size], rsv_size, struct_size, strings_size)?;
        finish_open(buf, size);
        put32(buf, H_BOOT_CPUID_PHYS, be32(src, H_BOOT_CPUID_PHYS));
        Ok(FdtMut { buf, checked: false })
    }

    /// `fdt_open_into(buf, buf, buf.len())`: opens the blob already at the
    /// start of `buf`, growing its totalsize to the whole buffer.
    pub fn open_in_place(buf: &'a mut [u8]) -> Result<FdtMut<'a>> {
        let (total, rsv_size, struct_size) = open_sizes(buf)?;
        let size = bufsize(buf);
        if !misordered(buf, rsv_size, struct_size) {
            if total > size {
                return Err(Error::NoSpace);
            }
            put32(buf, H_VERSION, LAST_SUPPORTED_VERSION);
            put32(buf, H_SIZE_DT_STRUCT, struct_size as u32);
            put32(buf, H_TOTALSIZE, size as u32);
            return Ok(FdtMut { buf, checked: false });
        }
        let strings_size = hdr(buf, H_SIZE_DT_STRINGS);
        let newsize = HDR_ALIGNED + rsv_size + struct_size + strings_size;
        if size < newsize {
            return Err(Error::NoSpace);
        }
        // The packed copy would overlap the old blob, so libfdt builds it
        // right after the old blob and then moves it down.
        if total + newsize > size {
            return Err(Error::NoSpace);
        }
        let (old, rest) = buf.split_at_mut(total);
        pack_blocks(old, &mut rest[..newsize], rsv_size, struct_size, strings_size)?;
        buf.copy_within(total..total + newsize, 0);
        // libfdt then copies boot_cpuid_phys from `buf` onto itself: the
        // word stays whatever the move brought down.
        finish_open(buf, size);
        Ok(FdtMut { buf, checked: false })
    }

    /// A read-only view of the current blob.
    pub fn as_fdt(&self) -> Fdt<'_> {
        Fdt::view(self.blob())
    }

    /// The whole buffer, free space included.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
    }

    /// The blob: the first totalsize bytes.
    pub fn blob(&self) -> &[u8] {
        let total = hdr(self.buf, H_TOTALSIZE);
        self.buf.get(..total).unwrap_or(self.buf)
    }

    /// The buffer back, e.g. to apply an overlay to it.
    pub fn into_inner(self) -> &'a mut [u8] {
        self.buf
    }

    #[inline]
    pub(crate) fn total(&self) -> usize {
        hdr(self.buf, H_TOTALSIZE)
    }

    #[inline]
    pub(crate) fn off_struct(&self) -> usize {
        hdr(self.buf, H_OFF_DT_STRUCT)
    }

    /// End of the strings block: everything after it is free space.
    #[inline]
    pub(crate) fn data_size(&self) -> usize {
        hdr(self.buf, H_OFF_DT_STRINGS) + hdr(self.buf, H_SIZE_DT_STRINGS)
    }

    /// `fdt_rw_probe_`: size-changing edits need a v17 blob whose blocks are
    /// in order with nothing after the strings.
    #[inline]
    pub(crate) fn rw_probe(&self) -> Result<()> {
        let total = if self.checked {
            self.total()
        } else {
            ro_probe(self.buf)?
        };
        if be32(self.buf, H_VERSION) < 17 {
            return Err(Error::BadVersion);
        }
        if misordered(self.buf, RSV_ENTRY, hdr(self.buf, H_SIZE_DT_STRUCT)) || total > self.buf.len() {
            return Err(Error::BadLayout);
        }
        Ok(())
    }

    /// libfdt downgrades a newer version number to 17 on every rw call; we
    /// do it once the edit has succeeded.
    #[inline]
    pub(crate) fn rw_done(&mut self) {
        if be32(self.buf, H_VERSION) > LAST_SUPPORTED_VERSION {
            put32(self.buf, H_VERSION, LAST_SUPPORTED_VERSION);
        }
    }

    /// `fdt_splice_`'s checks: replacing `old` bytes at absolute `at` by
    /// `new` bytes stays inside the data and fits in totalsize.
    #[inline]
    pub(crate) fn splice_check(&self, at: usize, old: usize, new: usize) -> Result<()> {
        let dsize = self.data_size();
        if at + old > dsize {
            return Err(Error::BadOffset);
        }
        if dsize - old + new > self.total() {
            return Err(Error::NoSpace);
        }
        Ok(())
    }

    /// `fdt_splice_`'s move (after `splice_check`): bytes in a grown gap
    /// keep their old contents, exactly as memmove leaves them.
    #[inline]
    pub(crate) fn splice_move(&mut self, at: usize, old: usize, new: usize) {
        let dsize = self.data_size();
        self.buf.copy_within(at + old..dsize, at + new);
    }

    /// `fdt_splice_struct_`: splice in the structure block and fix the header.
    pub(crate) fn splice_struct(&mut self, at: usize, old: usize, new: usize) -> Result<()> {
        self.splice_check(at, old, new)?;
        self.splice_move(at, old, new);
        let size = hdr(self.buf, H_SIZE_DT_STRUCT) + new - old;
        put32(self.buf, H_SIZE_DT_STRUCT, size as u32);
        let strings = hdr(self.buf, H_OFF_DT_STRINGS) + new - old;
        put32(self.buf, H_OFF_DT_STRINGS, strings as u32);
        Ok(())
    }

    /// `fdt_splice_mem_rsv_`: insert (`add`) or remove one entry at `at`.
    fn splice_mem_rsv(&mut self, at: usize, add: bool) -> Result<()> {
        let (old, new) = if add { (0, RSV_ENTRY) } else { (RSV_ENTRY, 0) };
        self.splice_check(at, old, new)?;
        self.splice_move(at, old, new);
        for field in [H_OFF_DT_STRUCT, H_OFF_DT_STRINGS] {
            let v = hdr(self.buf, field) + new - old;
            put32(self.buf, field, v as u32);
        }
        Ok(())
    }

    /// `fdt_add_mem_rsv`: appends an entry before the terminator.
    pub fn add_mem_rsv(&mut self, addr: u64, size: u64) -> Result<()> {
        self.rw_probe()?;
        let total = self.total();
        let n = num_mem_rsv(self.buf, total)?;
        let at = hdr(self.buf, H_OFF_MEM_RSVMAP) + n * RSV_ENTRY;
        self.splice_mem_rsv(at, true)?;
        put64(self.buf, at, addr);
        put64(self.buf, at + 8, size);
        self.rw_done();
        Ok(())
    }

    /// `fdt_del_mem_rsv`: removes entry `n`; NotFound past the last one.
    pub fn del_mem_rsv(&mut self, n: usize) -> Result<()> {
        self.rw_probe()?;
        match num_mem_rsv(self.buf, self.total()) {
            Ok(count) if n < count => {}
            _ => return Err(Error::NotFound),
        }
        let at = hdr(self.buf, H_OFF_MEM_RSVMAP) + n * RSV_ENTRY;
        self.splice_mem_rsv(at, false)?;
        self.rw_done();
        Ok(())
    }

    /// `fdt_pack`: moves the blocks together after the header and shrinks
    /// totalsize to the data.
    pub fn pack(&mut self) -> Result<()> {
        self.rw_probe()?;
        let total = self.total();
        let rsv_size = (num_mem_rsv(self.buf, total)? + 1) * RSV_ENTRY;
        let struct_size = hdr(self.buf, H_SIZE_DT_STRUCT);
        let strings_size = hdr(self.buf, H_SIZE_DT_STRINGS);
        // Same three memmoves as libfdt, in the same order, within one buffer.
        let moves = [
            (hdr(self.buf, H_OFF_MEM_RSVMAP), HDR_ALIGNED, rsv_size),
            (hdr(self.buf, H_OFF_DT_STRUCT), HDR_ALIGNED + rsv_size, struct_size),
            (
                hdr(self.buf, H_OFF_DT_STRINGS),
                HDR_ALIGNED + rsv_size + struct_size,
                strings_size,
            ),
        ];
        if moves.iter().any(|&(src, dst, n)| src + n > total || dst + n > total) {
            return Err(Error::BadLayout);
        }
        for (src, dst, n) in moves {
            self.buf.copy_within(src..src + n, dst);
        }
        set_block_fields(self.buf, rsv_size, struct_size, strings_size);
        let newtotal = self.data_size();
        put32(self.buf, H_TOTALSIZE, newtotal as u32);
        self.rw_done();
        Ok(())
    }
}

//! Memory reservation map (read side).

use crate::header::*;
use crate::ro::Fdt;
use crate::{Error, Result};

/// Absolute offset of reservation entry `n`, if the whole entry lies
/// inside `totalsize` (libfdt's `fdt_mem_rsv`).
#[inline]
pub(crate) fn rsv_entry_offset(blob: &[u8], total: usize, n: usize) -> Option<usize> {
    let abs = n.checked_mul(RSV_ENTRY)?.checked_add(hdr(blob, H_OFF_MEM_RSVMAP))?;
    (abs.checked_add(RSV_ENTRY)? <= total).then_some(abs)
}

/// `fdt_num_mem_rsv` on a raw blob: entries before the (0, 0) terminator;
/// Truncated when no terminator lies inside `total`.
pub(crate) fn num_mem_rsv(blob: &[u8], total: usize) -> Result<usize> {
    let mut n = 0;
    while let Some(off) = rsv_entry_offset(blob, total, n) {
        if be64(blob, off + 8) == 0 {
            return Ok(n);
        }
        n += 1;
    }
    Err(Error::Truncated)
}

impl<'a> Fdt<'a> {
    /// `fdt_num_mem_rsv`. Truncated when the map has no terminator.
    pub fn num_mem_rsv(&self) -> Result<usize> {
        num_mem_rsv(self.data, self.data.len())
    }

    /// `fdt_get_mem_rsv`: (address, size) of entry `n`. Like libfdt this
    /// does not stop at the terminator; BadOffset past the blob.
    pub fn get_mem_rsv(&self, n: usize) -> Result<(u64, u64)> {
        let off = rsv_entry_offset(self.data, self.data.len(), n).ok_or(Error::BadOffset)?;
        Ok((be64(self.data, off), be64(self.data, off + 8)))
    }
}

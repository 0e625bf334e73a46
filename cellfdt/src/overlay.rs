//! Atomic devicetree overlay apply (libfdt's `fdt_overlay_apply`, 1.7.2:
//! a base node's phandle is never overwritten, see overlay/conflicts.rs).
//!
//! Same steps, order and output bytes as libfdt; the difference is that the
//! base is never left half-edited. Design: **apply into scratch, copy back.**
//! The overlay-only phases run in the overlay buffer first (they cannot touch
//! the base); then the merge and symbol phases edit a copy of the base in
//! the caller's scratch buffer with libfdt's exact edit primitives, and only
//! when every step has succeeded is the copy written over the base.
//! Both blobs are read with `Fdt` and the scratch copy is edited with
//! `FdtMut` (see edit.rs for the little that differs); offsets are
//! structure-block offsets, as in libfdt.
//! Why not "validate everything, then apply": a fragment may target a node
//! an earlier fragment created, and NOSPACE depends on the string-table
//! sharing of every earlier edit, so validating means simulating the whole
//! apply anyway; copying is simpler and the copy is cheap next to the edits.

mod conflicts;
mod edit;
mod merge;
mod phandles;
mod stack;
mod symbols;

use crate::header::*;
use crate::ro::Fdt;
use crate::{Error, Result};

/// The blobs overlay apply accepts: `fdt_check_header`'s checks (without
/// the alignment check), version 17 layouts only (older ones need libfdt's
/// v16 realignment quirks; dtc has written v17 since 2007), and `totalsize`
/// inside the buffer (libfdt trusts it blindly).
fn check_blob(b: &[u8]) -> Result<()> {
    if b.len() < V17_SIZE {
        return Err(Error::Truncated);
    }
    if be32(b, H_MAGIC) != FDT_MAGIC {
        return Err(Error::BadMagic);
    }
    if be32(b, H_VERSION) < 17 {
        return Err(Error::BadVersion);
    }
    check_header_fields(b)?;
    if hdr(b, H_TOTALSIZE) > b.len() {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// A read view of a blob that passed `check_blob`.
fn view(b: &[u8]) -> Fdt<'_> {
    Fdt::view(b.get(..hdr(b, H_TOTALSIZE)).unwrap_or(b))
}

/// Applies the overlay blob `overlay` to the base blob `base`, in place.
///
/// `base` is a buffer holding a base DTB whose header `totalsize` is the room
/// edits may use (as after `fdt_open_into`; `FdtMut::into_inner` gives such a
/// buffer). `overlay` holds a DTB compiled with `dtc -@`.
///
/// **Atomic:** on `Err`, `base` is byte-for-byte unchanged (libfdt poisons it).
///
/// **Scratch:** `scratch.len() >= totalsize(base)` always suffices. The exact
/// need is the largest data size (header + reservation map + structure +
/// strings, i.e. `off_dt_strings + size_dt_strings`) the base reaches during
/// the apply: at least the base's own data size, plus what the overlay adds.
/// A shorter scratch gives `NoSpace` where libfdt (with `totalsize` of room)
/// might have succeeded. A scratch shorter than the base's data size is
/// refused with `NoSpace` before anything, the overlay included, is touched.
///
/// The overlay is consumed, as with libfdt: its phandles are renumbered and
/// its fixups resolved in place, and its magic is overwritten (on success and
/// on any error after its header was accepted) so it cannot be applied twice.
///
/// Errors (libfdt's classes): header errors of either blob (`BadMagic`,
/// `BadVersion` — both must be version 17 — `Truncated`); `NotFound` for a
/// missing target node, `__symbols__` or label; `BadOverlay` for a malformed
/// fragment or fixup; `BadPhandle`/`NoPhandles` for bad or exhausted
/// phandles; `NoSpace` when the result does not fit; `BadValue` for a
/// malformed overlay symbol; `BadLayout` for a base not in rw layout.
pub fn overlay_apply(base: &mut [u8], overlay: &mut [u8], scratch: &mut [u8]) -> Result<()> {
    check_blob(base)?;
    check_blob(overlay)?;
    let data_end = (hdr(base, H_OFF_DT_STRINGS) + hdr(base, H_SIZE_DT_STRINGS)).max(V17_SIZE);
    if scratch.len() < data_end {
        return Err(Error::NoSpace);
    }
    let result = apply(base, overlay, scratch);
    // libfdt erases the overlay's magic on every outcome: it is half-edited.
    put32(overlay, H_MAGIC, 0xffff_ffff);
    let written = result?;
    base[..written].copy_from_slice(&scratch[..written]);
    Ok(())
}

/// The libfdt sequence; returns how many scratch bytes to copy back.
fn apply(base: &[u8], overlay: &mut [u8], scratch: &mut [u8]) -> Result<usize> {
    let base_fdt = view(base);
    let delta = base_fdt.find_max_phandle()?;
    phandles::adjust_local_phandles(overlay, delta)?;
    phandles::update_local_references(overlay, delta)?;
    phandles::fixup_phandles(&base_fdt, overlay)?;
    conflicts::prevent_phandle_overwrite(&base_fdt, overlay)?;

    let ov = view(overlay);
    let mut s = edit::Scratch::new(base, scratch)?;
    merge::merge(&mut s, &ov)?;
    symbols::update(&mut s, &ov)?;
    Ok(s.written().len())
}

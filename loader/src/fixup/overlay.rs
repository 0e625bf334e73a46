//! Overlays on the guest tree: the board's vPCI template (step 1, when
//! staged) and the cell's user overlays (step 7), with `cellfdt::overlay_apply`.
//!
//! Scratch rule (docs/overlays.md): the caller's scratch is split into
//! - a **copy area** at its start (8-byte aligned): overlay_apply consumes
//!   the overlay it applies (fixups resolved, phandles renumbered, magic
//!   erased), so it works on a copy; the staged blob stays pristine, which
//!   is also what lets an error name the failing fragment afterwards;
//! - the **apply area**, the rest: overlay_apply's own scratch, which needs
//!   the guest tree's data size after the apply (at most the `out` buffer's
//!   size, so `out.len()` bytes always suffice).
//!
//! overlay_apply is atomic: when one overlay fails the guest tree is exactly
//! as the previous step left it, and nothing else is applied.

use crate::ERROR_PATH_LEN;
use crate::error::{Failed, Fallible, FixupError};
use crate::text::Text;
use crate::view::Overlay;
use cellfdt::{Error, Fdt};

/// Splits `scratch` into an 8-byte aligned copy area of at least `copy_len`
/// bytes and the apply area after it (also 8-byte aligned); `None` when it is
/// too short for the copy.
pub fn split_scratch(scratch: &mut [u8], copy_len: usize) -> Option<(&mut [u8], &mut [u8])> {
    // cellfdt refuses misaligned blobs (libfdt's ALIGNMENT).
    let pad = scratch.as_ptr().align_offset(8);
    let copy_len = copy_len.checked_next_multiple_of(8)?;
    let rest = scratch.get_mut(pad..)?;
    if rest.len() < copy_len {
        return None;
    }
    Some(rest.split_at_mut(copy_len))
}

/// Bytes of scratch the user overlays and the template need with `out_len`
/// bytes of guest-DTB buffer: the largest copy plus `out_len`.
pub fn scratch_len(overlays: &[Overlay], template: Option<&[u8]>, out_len: usize) -> usize {
    let copy = overlays
        .iter()
        .map(|o| o.blob.len())
        .chain(template.map(super::vpci::template_copy_len))
        .max();
    match copy {
        // +8: room to align the copy area.
        Some(c) => c.next_multiple_of(8).saturating_add(8).saturating_add(out_len),
        None => 0,
    }
}

/// Applies user overlay `o` to the tree in `out` (rw layout) through a copy
/// in `scratch`. On error `out` is unchanged and the error names the overlay
/// and, when it can be singled out, the fragment and its target.
pub fn apply_user(d: &mut FixupError, out: &mut [u8], o: &Overlay, scratch: &mut [u8]) -> Fallible<()> {
    // A full DTB compiled without /plugin/ has no fragment: libfdt applies
    // it as a silent no-op. Refuse it instead.
    if let Ok(f) = Fdt::new(o.blob)
        && !f.subnodes(0).any(|frag| f.subnode_offset(frag, "__overlay__").is_ok())
    {
        return Err(error(
            d,
            o.name,
            Error::BadOverlay,
            "no fragment: not a /plugin/ overlay",
        ));
    }
    let n = o.blob.len();
    let (copy, work) = split_scratch(scratch, n).ok_or_else(|| error(d, o.name, Error::NoSpace, "scratch"))?;
    copy[..n].copy_from_slice(o.blob);
    apply(d, o.name, out, &mut copy[..n], work, o.blob)
}

/// overlay_apply of the mutable copy `ov`; `pristine` is the blob as staged,
/// read to name the failing fragment.
pub fn apply(
    d: &mut FixupError,
    name: &str,
    out: &mut [u8],
    ov: &mut [u8],
    work: &mut [u8],
    pristine: &[u8],
) -> Fallible<()> {
    match cellfdt::overlay::overlay_apply(out, ov, work) {
        Ok(()) => Ok(()),
        Err(e) => Err(diagnose(d, name, out, pristine, e)),
    }
}

/// Records an overlay error naming the overlay and `what` ("" for nothing more).
#[cold]
#[inline(never)]
pub fn error(d: &mut FixupError, name: &str, e: Error, what: &str) -> Failed {
    d.record_fdt(e, what, "");
    d.record_overlay(name)
}

/// Which fragment made overlay_apply fail, found by re-reading the pristine
/// overlay against the unchanged base in libfdt's phase order: first the
/// `__fixups__` (every label must be in the base's `__symbols__`), then each
/// fragment's target. None found (NOSPACE, a malformed overlay, a target
/// created by an earlier fragment...): the error names the overlay only.
#[cold]
#[inline(never)]
fn diagnose(d: &mut FixupError, name: &str, base: &[u8], ov: &[u8], e: Error) -> Failed {
    let err = error(d, name, e, "");
    let (Ok(base), Ok(ov)) = (Fdt::new(base), Fdt::new(ov)) else {
        return err;
    };
    for labels_pass in [true, false] {
        let mut index = 0;
        let mut frag = ov.first_subnode(0);
        while let Ok(f) = frag {
            // libfdt's fragments: root subnodes with an `__overlay__`.
            if ov.subnode_offset(f, "__overlay__").is_ok() {
                let mut what = Text::<ERROR_PATH_LEN>::new();
                let target_ok = describe_target(&base, &ov, f, &mut what);
                let bad = if labels_pass {
                    missing_label(&base, &ov, f, target_ok, &mut what)
                } else {
                    !target_ok
                };
                if bad {
                    return d.record_fragment(index, what.as_str());
                }
                index = index.saturating_add(1);
            }
            frag = ov.next_subnode(f);
        }
    }
    err
}

/// Writes the fragment's target into `what`; true when it resolves in `base`.
fn describe_target(base: &Fdt, ov: &Fdt, frag: usize, what: &mut Text<ERROR_PATH_LEN>) -> bool {
    match ov.getprop(frag, "target") {
        Ok(&[a, b, c, d]) => match u32::from_be_bytes([a, b, c, d]) {
            // dtc's placeholder for an unresolved `&label`, named in __fixups__.
            u32::MAX => match fixup_label(ov, frag, Some("target"), |_| true) {
                Some(label) => {
                    what.push_str("target &").push_str(label);
                    symbol_resolves(base, label)
                }
                None => {
                    what.push_str("target <0xffffffff>");
                    false
                }
            },
            ph => {
                what.push_str("target <").push_addr(ph.into()).push_str(">");
                base.node_offset_by_phandle(ph).is_ok()
            }
        },
        Ok(_) => {
            what.push_str("target (not one cell)");
            false
        }
        Err(_) => match ov.getprop_str(frag, "target-path") {
            Ok(p) => {
                what.push_str("target-path ").push_str(p);
                base.path_offset(p).is_ok()
            }
            Err(_) => {
                what.push_str("no target or target-path");
                false
            }
        },
    }
}

/// True when the fragment uses a label the base's `__symbols__` lacks; a
/// label other than the target's own is appended to `what`.
fn missing_label(base: &Fdt, ov: &Fdt, frag: usize, target_ok: bool, what: &mut Text<ERROR_PATH_LEN>) -> bool {
    if !target_ok && fixup_label(ov, frag, Some("target"), |_| true).is_some() {
        return true; // the target's own label: already in `what`
    }
    match fixup_label(ov, frag, None, |l| !symbol_resolves(base, l)) {
        Some(label) => {
            what.push_str(" uses &").push_str(label);
            true
        }
        None => false,
    }
}

/// The first label in `__fixups__` that `pick`s and has a use inside
/// fragment `frag` (with `prop`: a use by that property of the fragment node
/// itself). A use reads `<node path>:<property>:<offset>`.
fn fixup_label<'a>(ov: &Fdt<'a>, frag: usize, prop: Option<&str>, pick: impl Fn(&str) -> bool) -> Option<&'a str> {
    let frag_name = ov.get_name(frag).ok()?.as_bytes();
    let fixups = ov.path_offset("/__fixups__").ok()?;
    let in_fragment = |u: &[u8]| {
        let Some(rest) = u.strip_prefix(b"/").and_then(|u| u.strip_prefix(frag_name)) else {
            return false;
        };
        match prop {
            Some(prop) => rest
                .strip_prefix(b":")
                .and_then(|r| r.strip_prefix(prop.as_bytes()))
                .is_some_and(|r| r.starts_with(b":")),
            None => rest.starts_with(b"/") || rest.starts_with(b":"),
        }
    };
    let mut p = ov.first_property(fixups);
    while let Ok(off) = p {
        let prop = ov.property_at(off).ok()?;
        if pick(prop.name) && prop.value.split(|&b| b == 0).any(in_fragment) {
            return Some(prop.name);
        }
        p = ov.next_property(off);
    }
    None
}

/// Whether `label` is in the base's `__symbols__` and names an existing node.
fn symbol_resolves(base: &Fdt, label: &str) -> bool {
    base.path_offset("/__symbols__")
        .and_then(|s| base.getprop_str(s, label))
        .and_then(|p| base.path_offset(p))
        .is_ok()
}

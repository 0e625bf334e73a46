//! The overlay-only phases of overlay apply, done in place in the overlay
//! buffer before the base is touched (libfdt order):
//! 1. `adjust_local_phandles`: every phandle in the overlay += delta
//!    (delta = the base's maximum phandle);
//! 2. `update_local_references`: every cell listed in `/__local_fixups__`
//!    += delta, so references keep pointing at the renumbered nodes;
//! 3. `fixup_phandles`: every `/__fixups__` entry "path:prop:offset" gets
//!    the phandle of the base node its label names in `/__symbols__`.
//!
//! Each step computes a write location with an immutable view, then writes:
//! values may alias what is read next (a hostile overlay can point a fixup
//! at the fixup table), so nothing read is cached across a write.

use super::stack::Ancestors;
use super::view;
use crate::header::{H_OFF_DT_STRUCT, be32, hdr, put32};
use crate::ro::Fdt;
use crate::{Error, Result};

fn off_struct(ov: &[u8]) -> usize {
    hdr(ov, H_OFF_DT_STRUCT)
}

/// overlay_adjust_local_phandles: every node's phandle and linux,phandle.
pub(crate) fn adjust_local_phandles(ov: &mut [u8], delta: u32) -> Result<()> {
    let os = off_struct(ov);
    let mut node = 0;
    let mut depth = 0;
    loop {
        for name in [&b"phandle"[..], b"linux,phandle"] {
            let at = match view(ov).getprop_at(node, name) {
                Ok((voff, [a, b, c, d])) => {
                    let v = u32::from_be_bytes([*a, *b, *c, *d]);
                    let adj = v.checked_add(delta).ok_or(Error::NoPhandles)?;
                    if adj == u32::MAX {
                        return Err(Error::NoPhandles);
                    }
                    Some((os + voff, adj))
                }
                Ok(_) => return Err(Error::BadPhandle),
                Err(Error::NotFound) => None,
                Err(e) => return Err(e),
            };
            if let Some((at, adj)) = at {
                put32(ov, at, adj);
            }
        }
        // Pre-order over the whole tree, as libfdt's recursion visits it.
        match view(ov).next_node(Some(node), Some(&mut depth)) {
            Ok(o) if depth > 0 => node = o,
            _ => return Ok(()),
        }
    }
}

/// overlay_update_local_references: every referenced cell += delta.
pub(crate) fn update_local_references(ov: &mut [u8], delta: u32) -> Result<()> {
    rewrite_local_references(ov, |v| v.wrapping_add(delta))
}

/// Rewrites every cell `/__local_fixups__` lists through `f`.
pub(super) fn rewrite_local_references(ov: &mut [u8], f: impl Fn(u32) -> u32) -> Result<()> {
    let fixups = match view(ov).path_offset_bytes(b"/__local_fixups__") {
        Ok(o) => o,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    // Walk the __local_fixups__ tree and the overlay tree in step.
    let mut up = Ancestors::<(usize, usize)>::new();
    let (mut tree, mut fix) = (0, fixups);
    'node: loop {
        local_node_references(ov, tree, fix, &f)?;
        let mut child = view(ov).first_subnode(fix).ok();
        loop {
            if let Some(c) = child {
                let t = view(ov);
                let name = t.name_bytes(c)?;
                let tc = match t.subnode_offset_bytes(tree, name) {
                    Err(Error::NotFound) => return Err(Error::BadOverlay),
                    r => r?,
                };
                up.push((tree, fix));
                (tree, fix) = (tc, c);
                continue 'node;
            }
            let t = view(ov);
            let Some((pt, pf)) = up.pop(|| Ok::<_, Error>((t.parent_offset(tree)?, t.parent_offset(fix)?)))? else {
                return Ok(());
            };
            child = t.next_subnode(fix).ok();
            (tree, fix) = (pt, pf);
        }
    }
}

/// The properties of one __local_fixups__ node: lists of byte offsets
/// into the same-named property of the matching overlay node.
fn local_node_references(ov: &mut [u8], tree: usize, fix: usize, f: &impl Fn(u32) -> u32) -> Result<()> {
    let os = off_struct(ov);
    let mut prop = view(ov).first_property(fix);
    while let Ok(p) = prop {
        let (count, list, target) = {
            let t = view(ov);
            let (name, list, val) = t.property_at_offset(p)?;
            if !val.len().is_multiple_of(4) {
                return Err(Error::BadOverlay);
            }
            let target = match t.getprop_at(tree, name) {
                Ok((voff, v)) => (voff, v.len()),
                Err(Error::NotFound) => return Err(Error::BadOverlay),
                Err(e) => return Err(e),
            };
            (val.len() / 4, list, target)
        };
        let (tvoff, tlen) = target;
        for i in 0..count {
            let at = be32(ov, os + list + 4 * i) as usize;
            // libfdt reads before checking (out of bounds in C), then its
            // partial in-place write fails with NOSPACE, reported BADOVERLAY.
            if at.checked_add(4).is_none_or(|e| e > tlen) {
                return Err(Error::BadOverlay);
            }
            let cell = os + tvoff + at;
            put32(ov, cell, f(be32(ov, cell)));
        }
        prop = view(ov).next_property(p);
    }
    Ok(())
}

/// overlay_fixup_phandles.
pub(crate) fn fixup_phandles(base: &Fdt, ov: &mut [u8]) -> Result<()> {
    let fixups = match view(ov).path_offset_bytes(b"/__fixups__") {
        Ok(o) => o,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let symbols = match base.path_offset_bytes(b"/__symbols__") {
        Err(e) if e != Error::NotFound => return Err(e),
        r => r,
    };
    let mut prop = view(ov).first_property(fixups);
    while let Ok(p) = prop {
        fixup_phandle(base, symbols, ov, p)?;
        prop = view(ov).next_property(p);
    }
    Ok(())
}

/// overlay_fixup_phandle: one label, value "path:prop:offset\0..." (>= 1 entry).
fn fixup_phandle(base: &Fdt, symbols: Result<usize>, ov: &mut [u8], prop: usize) -> Result<()> {
    let os = off_struct(ov);
    let (start, len) = match view(ov).property_at_offset(prop) {
        Ok((_, voff, v)) => (os + voff, v.len()),
        Err(Error::NotFound) => return Err(Error::Internal),
        Err(e) => return Err(e),
    };
    let mut pos = 0;
    loop {
        let (at, phandle) = {
            let t = view(ov);
            let (label, _) = t.property_at_bytes(prop)?;
            let rest = &ov[start + pos..start + len];
            let entry = &rest[..rest.iter().position(|&c| c == 0).ok_or(Error::BadOverlay)?];
            pos += entry.len() + 1;
            let (path, name, poffset) = parse_fixup(entry)?;
            let phandle = symbol_phandle(base, symbols, label)?;
            let target = match t.path_offset_bytes(path) {
                Err(Error::NotFound) => return Err(Error::BadOverlay),
                r => r?,
            };
            // fdt_setprop_inplace_namelen_partial
            let (voff, v) = t.getprop_at(target, name)?;
            if (poffset as usize).checked_add(4).is_none_or(|e| e > v.len()) {
                return Err(Error::NoSpace);
            }
            (os + voff + poffset as usize, phandle)
        };
        put32(ov, at, phandle);
        if pos >= len {
            return Ok(());
        }
    }
}

/// The phandle of the base node `label` names in `/__symbols__`.
fn symbol_phandle(base: &Fdt, symbols: Result<usize>, label: &[u8]) -> Result<u32> {
    let path = base.getprop_bytes(symbols?, label)?;
    let path = &path[..path.iter().position(|&c| c == 0).unwrap_or(path.len())];
    let node = base.path_offset_bytes(path)?;
    base.get_phandle(node).ok_or(Error::NotFound)
}

/// Splits "path:prop:offset" as libfdt does (offset parsed like strtoul).
fn parse_fixup(entry: &[u8]) -> Result<(&[u8], &[u8], u32)> {
    let sep = entry.iter().position(|&c| c == b':').ok_or(Error::BadOverlay)?;
    if sep + 1 == entry.len() {
        return Err(Error::BadOverlay);
    }
    let (path, rest) = (&entry[..sep], &entry[sep + 1..]);
    let sep = rest.iter().position(|&c| c == b':').ok_or(Error::BadOverlay)?;
    if sep == 0 {
        return Err(Error::BadOverlay);
    }
    let (name, num) = (&rest[..sep], &rest[sep + 1..]);
    Ok((path, name, strtoul(num).ok_or(Error::BadOverlay)?))
}

/// C strtoul(s, &end, 10) that must consume all of `s`, truncated to 32 bits
/// as libfdt's `int poffset` then `uint32_t idx` do.
fn strtoul(s: &[u8]) -> Option<u32> {
    let ws = s
        .iter()
        .take_while(|&&c| c == b' ' || (b'\t'..=b'\r').contains(&c))
        .count();
    let mut d = &s[ws..];
    let neg = d.first() == Some(&b'-');
    if matches!(d.first(), Some(b'+' | b'-')) {
        d = &d[1..];
    }
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for &c in d {
        match v.checked_mul(10).and_then(|x| x.checked_add(u64::from(c - b'0'))) {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    let v = if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    };
    Some(v as u32)
}

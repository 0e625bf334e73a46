//! libfdt >= 1.7.1's `overlay_prevent_phandle_overwrite`: an overlay node
//! merged onto a base node that already has a phandle takes the base's
//! phandle, and the overlay's own references to it follow, so merging never
//! changes a phandle the base's references use. Runs in the overlay buffer
//! after the fixups, before the merge; in-place writes only, so offsets
//! stay valid.

use super::merge::get_target;
use super::phandles::rewrite_local_references;
use super::stack::Ancestors;
use super::view;
use crate::header::{H_OFF_DT_STRUCT, hdr, put32};
use crate::ro::Fdt;
use crate::{Error, Result};

/// Every fragment whose target exists in the base: walk its `__overlay__`
/// subtree alongside the base nodes it will merge into.
pub(crate) fn prevent_phandle_overwrite(base: &Fdt, ov: &mut [u8]) -> Result<()> {
    let mut fragment = view(ov).first_subnode(0).ok();
    while let Some(f) = fragment {
        let o = view(ov).subnode_offset_bytes(f, b"__overlay__");
        match o {
            Ok(o) => match get_target(base, &view(ov), f) {
                Ok((target, _)) => walk(base, target, ov, o)?,
                // The target is only created by an earlier fragment:
                // nothing of the base can be overwritten there.
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            },
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
        fragment = view(ov).next_subnode(f).ok();
    }
    Ok(())
}

/// Pre-order over the overlay subtree at `o`, paired with the base node of
/// the same path under `b`; subtrees new to the base are skipped.
fn walk(base: &Fdt, b: usize, ov: &mut [u8], o: usize) -> Result<()> {
    let mut up = Ancestors::<(usize, usize)>::new();
    let (mut b, mut o) = (b, o);
    'node: loop {
        keep_base_phandle(base, b, ov, o)?;
        let mut child = view(ov).first_subnode(o).ok();
        loop {
            while let Some(c) = child {
                let t = view(ov);
                match base.subnode_offset_bytes(b, t.name_bytes(c)?) {
                    Ok(bc) => {
                        up.push((b, o));
                        (b, o) = (bc, c);
                        continue 'node;
                    }
                    Err(Error::NotFound) => child = t.next_subnode(c).ok(),
                    Err(e) => return Err(e),
                }
            }
            let t = view(ov);
            let Some((pb, po)) = up.pop(|| Ok::<_, Error>((base.parent_offset(b)?, t.parent_offset(o)?)))? else {
                return Ok(());
            };
            child = t.next_subnode(o).ok();
            (b, o) = (pb, po);
        }
    }
}

/// Both nodes have a phandle: the overlay node's `phandle` and
/// `linux,phandle` (where 4 bytes long) become the base's, and every local
/// reference to the old value is rewritten.
fn keep_base_phandle(base: &Fdt, b: usize, ov: &mut [u8], o: usize) -> Result<()> {
    let (Some(base_ph), Some(ov_ph)) = (base.get_phandle(b), view(ov).get_phandle(o)) else {
        return Ok(());
    };
    let os = hdr(ov, H_OFF_DT_STRUCT);
    for name in [&b"phandle"[..], b"linux,phandle"] {
        if let Ok((voff, v)) = view(ov).getprop_at(o, name)
            && v.len() == 4
        {
            put32(ov, os + voff, base_ph);
        }
    }
    rewrite_local_references(ov, |v| if v == ov_ph { base_ph } else { v })
}

//! overlay_merge: each fragment's `__overlay__` node merged into its target
//! in the scratch copy (properties set, subnodes added or entered).

use super::edit::Scratch;
use super::stack::Ancestors;
use crate::ro::Fdt;
use crate::{Error, Result};

/// overlay_get_target: the target node, and the `target-path` string (cut
/// at its NUL, as C sees it) when the fragment used one.
pub(crate) fn get_target<'o>(base: &Fdt, ov: &Fdt<'o>, fragment: usize) -> Result<(usize, Option<&'o [u8]>)> {
    let phandle = match ov.getprop_bytes(fragment, b"target") {
        Ok(&[a, b, c, d]) if u32::from_be_bytes([a, b, c, d]) != u32::MAX => u32::from_be_bytes([a, b, c, d]),
        Ok(_) => return Err(Error::BadPhandle),
        Err(_) => 0,
    };
    if phandle != 0 {
        return base.node_offset_by_phandle(phandle).map(|o| (o, None));
    }
    match ov.getprop_bytes(fragment, b"target-path") {
        Ok(p) => {
            let p = &p[..p.iter().position(|&c| c == 0).unwrap_or(p.len())];
            base.path_offset_bytes(p).map(|o| (o, Some(p)))
        }
        // Neither target nor target-path: a malformed fragment.
        Err(Error::NotFound) => Err(Error::BadOverlay),
        Err(e) => Err(e),
    }
}

pub(crate) fn merge(s: &mut Scratch, ov: &Fdt) -> Result<()> {
    let mut fragment = ov.first_subnode(0).ok();
    while let Some(f) = fragment {
        match ov.subnode_offset_bytes(f, b"__overlay__") {
            Ok(o) => {
                let (target, _) = get_target(&s.fdt(), ov, f)?;
                apply_node(s, ov, target, o)?;
            }
            // Not an overlay fragment: libfdt skips it.
            Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
        fragment = ov.next_subnode(f).ok();
    }
    Ok(())
}

/// overlay_apply_node, iteratively: the node's properties, then each
/// subnode (created, or entered when it exists), depth first.
fn apply_node(s: &mut Scratch, ov: &Fdt, target: usize, node: usize) -> Result<()> {
    // Edits only ever land after a node's header, so the offsets of the
    // ancestors we return to stay valid.
    let mut up = Ancestors::<(usize, usize)>::new();
    let (mut target, mut node) = (target, node);
    'node: loop {
        let mut prop = ov.first_property(node);
        while let Ok(p) = prop {
            let (name, val) = match ov.property_at_bytes(p) {
                Err(Error::NotFound) => return Err(Error::Internal),
                r => r?,
            };
            s.setprop(target, name, val)?;
            prop = ov.next_property(p);
        }
        let mut child = ov.first_subnode(node).ok();
        loop {
            if let Some(c) = child {
                let name = ov.name_bytes(c)?;
                let sub = match s.add_subnode(target, name) {
                    Err(Error::Exists) => match s.fdt().subnode_offset_bytes(target, name) {
                        Err(Error::NotFound) => return Err(Error::Internal),
                        r => r?,
                    },
                    r => r?,
                };
                up.push((target, node));
                (target, node) = (sub, c);
                continue 'node;
            }
            let Some((pt, pn)) =
                up.pop(|| Ok::<_, Error>((s.fdt().parent_offset(target)?, ov.parent_offset(node)?)))?
            else {
                return Ok(());
            };
            child = ov.next_subnode(node).ok();
            (target, node) = (pt, pn);
        }
    }
}

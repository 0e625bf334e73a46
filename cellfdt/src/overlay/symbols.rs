//! overlay_symbol_update: the overlay's `__symbols__` that point into a
//! fragment's `__overlay__` are added to the base's `__symbols__`, rewritten
//! as `<target path>/<path below __overlay__>`.

use super::edit::Scratch;
use super::merge::get_target;
use crate::ro::Fdt;
use crate::{Error, Result};

const OVERLAY_DIR: &[u8] = b"/__overlay__/";

pub(crate) fn update(s: &mut Scratch, ov: &Fdt) -> Result<()> {
    let Ok(ov_sym) = ov.subnode_offset_bytes(0, b"__symbols__") else {
        return Ok(());
    };
    let root_sym = match s.fdt().subnode_offset_bytes(0, b"__symbols__") {
        Err(Error::NotFound) => s.add_subnode(0, b"__symbols__")?,
        r => r?,
    };
    let mut prop = ov.first_property(ov_sym);
    while let Ok(p) = prop {
        symbol(s, ov, root_sym, p)?;
        prop = ov.next_property(p);
    }
    Ok(())
}

fn symbol(s: &mut Scratch, ov: &Fdt, root_sym: usize, prop: usize) -> Result<()> {
    let (name, path) = ov.property_at_bytes(prop)?;
    // A string property: exactly one NUL, at the end.
    if path.iter().position(|&c| c == 0) != Some(path.len().wrapping_sub(1)) {
        return Err(Error::BadValue);
    }
    let path = &path[..path.len() - 1];
    if path.first() != Some(&b'/') {
        return Err(Error::BadValue);
    }
    let Some(slash) = path[1..].iter().position(|&c| c == b'/').map(|i| i + 1) else {
        return Ok(()); // not below a fragment: never reaches the base
    };
    let (frag_name, tail) = (&path[1..slash], &path[slash..]);
    let rel = if tail.len() > OVERLAY_DIR.len() - 1 && tail.starts_with(OVERLAY_DIR) {
        &tail[OVERLAY_DIR.len()..]
    } else if tail == &OVERLAY_DIR[..OVERLAY_DIR.len() - 1] {
        &[][..]
    } else {
        return Ok(()); // not below __overlay__: never reaches the base
    };
    let fragment = ov.subnode_offset_bytes(0, frag_name).map_err(|_| Error::BadOverlay)?;
    ov.subnode_offset_bytes(fragment, b"__overlay__")
        .map_err(|_| Error::BadOverlay)?;

    let (target, target_path) = get_target(&s.fdt(), ov, fragment)?;
    let len = match target_path {
        Some(tp) => tp.len(),
        None => path_len(&s.fdt(), target)?,
    };
    if len == 0 {
        // Only an empty target-path that still resolved (via an alias named
        // ""); libfdt would write before the value there.
        return Err(Error::BadValue);
    }
    let at = s.setprop_placeholder(root_sym, name, len + usize::from(len > 1) + rel.len() + 1)?;
    let mut pos = at;
    if len > 1 {
        match target_path {
            Some(tp) => s.bytes_mut()[at..at + len].copy_from_slice(tp),
            None => {
                // The placeholder moved nodes: look the target up again.
                let (target, _) = get_target(&s.fdt(), ov, fragment)?;
                write_path(s, target, at)?;
            }
        }
        pos += len;
    }
    let out = s.bytes_mut();
    out[pos] = b'/';
    out[pos + 1..pos + 1 + rel.len()].copy_from_slice(rel);
    out[pos + 1 + rel.len()] = 0;
    Ok(())
}

/// The ancestors of a node (root first): kept for the first levels, looked
/// up again beyond them.
struct Chain {
    offs: [usize; 32],
    depth: usize,
    node: usize,
}

impl Chain {
    fn new(t: &Fdt, node: usize) -> Result<Chain> {
        let mut c = Chain {
            offs: [0; 32],
            depth: 0,
            node,
        };
        let (mut off, mut depth) = (0, 0i32);
        while off != node {
            off = t.next_node(Some(off), Some(&mut depth))?;
            if depth < 0 || off > node {
                return Err(Error::BadOffset);
            }
            if let Some(slot) = c.offs.get_mut(depth as usize) {
                *slot = off;
            }
        }
        c.depth = depth as usize;
        Ok(c)
    }

    fn at(&self, t: &Fdt, d: usize) -> Result<usize> {
        match self.offs.get(d) {
            Some(&o) => Ok(o),
            None => t.supernode_atdepth(self.node, d as i32).0,
        }
    }
}

/// get_path_len: strlen of fdt_get_path.
fn path_len(t: &Fdt, node: usize) -> Result<usize> {
    let c = Chain::new(t, node)?;
    let mut len = 0;
    for d in 1..=c.depth {
        len += t.name_bytes(c.at(t, d)?)?.len() + 1;
    }
    Ok(len.max(1))
}

/// fdt_get_path of a non-root node, written at absolute offset `at`.
fn write_path(s: &mut Scratch, node: usize, mut at: usize) -> Result<()> {
    let os = s.off_struct();
    let c = Chain::new(&s.fdt(), node)?;
    for d in 1..=c.depth {
        let (a, n) = {
            let t = s.fdt();
            let a = c.at(&t, d)?;
            (a, t.name_bytes(a)?.len())
        };
        s.bytes_mut()[at] = b'/';
        s.copy_within(os + a + 4, n, at + 1);
        at += n + 1;
    }
    Ok(())
}

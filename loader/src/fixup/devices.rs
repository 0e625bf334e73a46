//! Step 5: the cell sees as enabled only devices it owns.

use super::at;
use crate::error::{Cause, FixupError, Step};
use crate::view::CellView;
use cellfdt::{Error, Fdt, FdtMut};

const STEP: Step = Step::Devices;
/// Deeper bus nesting than this is not looked into (real trees use 2-3).
const MAX_DEPTH: usize = 16;

/// Node names that describe the machine rather than a device; never disabled.
const STRUCTURAL: [&str; 8] = [
    "memory",
    "reserved-memory",
    "cpus",
    "chosen",
    "aliases",
    "psci",
    "__symbols__",
    "__overrides__",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The root or a `simple-bus`: its children with `reg` are devices.
    Bus,
    /// The GIC: kept itself; its children (GICv3 ITS, GICv2m) are devices.
    Gic,
    Other,
}

pub fn disable(fdt: &mut FdtMut<'_>, cell: &CellView, gic_phandle: u32) -> Result<(), FixupError> {
    let mut kind = [Kind::Other; MAX_DEPTH];
    let mut offset = [0usize; MAX_DEPTH];
    kind[0] = Kind::Bus;
    let mut node = 0;
    let mut depth = 0i32;
    loop {
        // Setting `status` only grows the node being looked at: its own offset
        // and the walk state stay valid.
        let f = fdt.as_fdt();
        node = match f.next_node(Some(node), Some(&mut depth)) {
            Ok(n) if depth > 0 => n,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => return Err(at(&f, STEP, node, "", e)),
        };
        let d = depth as usize;
        if d >= MAX_DEPTH {
            continue;
        }
        offset[d] = node;
        kind[d] = Kind::Other;
        if kind[d - 1] == Kind::Other || is_structural(&f, node) {
            continue;
        }
        if f.get_phandle(node) == Some(gic_phandle) {
            kind[d] = Kind::Gic;
            continue;
        }
        let has_reg = f.getprop(node, "reg").is_ok_and(|r| !r.is_empty());
        if !has_reg {
            if f.node_check_compatible(node, "simple-bus").unwrap_or(false) {
                kind[d] = Kind::Bus;
            }
            continue;
        }
        if is_disabled(&f, node) || owned(&f, cell, node, &offset[..d])? {
            if f.node_check_compatible(node, "simple-bus").unwrap_or(false) {
                kind[d] = Kind::Bus;
            }
            continue;
        }
        fdt.setprop_str(node, "status", "disabled")
            .map_err(|e| at(&fdt.as_fdt(), STEP, node, "status", e))?;
    }
    for path in cell.cell.disabled_paths() {
        let node = fdt
            .as_fdt()
            .path_offset(path)
            .map_err(|e| match e {
                Error::NotFound | Error::BadPath => FixupError::new(STEP, Cause::PathNotFound),
                e => FixupError::fdt(STEP, e),
            })
            .map_err(|e| e.at(path))?;
        fdt.setprop_str(node, "status", "disabled")
            .map_err(|e| FixupError::fdt(STEP, e).at(path).prop("status"))?;
    }
    Ok(())
}

fn is_structural(f: &Fdt<'_>, node: usize) -> bool {
    let name = f.get_name(node).unwrap_or("");
    let base = name.split('@').next().unwrap_or(name);
    STRUCTURAL.contains(&base)
        || f.getprop(node, "device_type")
            .is_ok_and(|v| v == b"memory\0" || v == b"cpu\0")
}

fn is_disabled(f: &Fdt<'_>, node: usize) -> bool {
    f.getprop(node, "status")
        .is_ok_and(|v| v.starts_with(b"disabled") || v.starts_with(b"fail"))
}

/// Whether the first `reg` range of `node`, translated up through its
/// ancestors' `ranges` (`ancestors[0]` is the root), is one the cell owns.
/// An address no `ranges` entry maps is not reachable, so not owned.
fn owned(
    f: &Fdt<'_>,
    cell: &CellView,
    node: usize,
    ancestors: &[usize],
) -> Result<bool, FixupError> {
    let mut reg = f.reg(node).map_err(|e| at(f, STEP, node, "reg", e))?;
    let Some((mut addr, size)) = reg.next() else {
        return Ok(false);
    };
    for &bus in ancestors[1..].iter().rev() {
        let ranges = match f.getprop(bus, "ranges") {
            Ok(r) => r,
            Err(Error::NotFound) => return Ok(false),
            Err(e) => return Err(at(f, STEP, bus, "ranges", e)),
        };
        if ranges.is_empty() {
            continue; // identity
        }
        let mut hit = None;
        for (child, parent, len) in f.ranges(bus).map_err(|e| at(f, STEP, bus, "ranges", e))? {
            if addr >= child && addr - child < len {
                hit = Some(parent + (addr - child));
                break;
            }
        }
        match hit {
            Some(a) => addr = a,
            None => return Ok(false),
        }
    }
    Ok(cell.owns_range(addr, size))
}

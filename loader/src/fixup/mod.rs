//! The edit steps of `build_guest_dtb`, one file per step, plus what they share.

// DTB and config values are untrusted and firmware release builds wrap:
// every operation on them is checked, or carries its bound in a comment.
#![deny(clippy::arithmetic_side_effects)]

pub mod chosen;
pub mod cpus;
pub mod devices;
pub mod gic;
pub mod memory;
pub mod overlay;
pub mod psci;
pub mod vpci;

use crate::devices::GIC_COMPATIBLES;
use crate::error::{Cause, Failed, Fallible, FixupError};
use cellfdt::{Error, Fdt};

/// The interrupt controller the vPCI node's `interrupt-map` targets.
#[derive(Clone, Copy, Debug)]
pub struct Gic {
    pub phandle: u32,
    /// `#address-cells` of the GIC node as `interrupt-map` reads it: 0 when
    /// absent (unlike `reg` decoding, where 2 is the default).
    pub address_cells: u32,
    pub interrupt_cells: u32,
}

/// The root's `interrupt-parent`, or else the first node of a known GIC
/// compatible ([`GIC_COMPATIBLES`]).
pub fn find_gic(d: &mut FixupError, fdt: &Fdt<'_>) -> Fallible<Gic> {
    let node = match fdt.getprop_u32(0, "interrupt-parent") {
        Ok(ph) => fdt
            .node_offset_by_phandle(ph)
            .map_err(|e| d.record_fdt(e, "/", "interrupt-parent"))?,
        Err(Error::NotFound) => GIC_COMPATIBLES
            .iter()
            .find_map(|c| fdt.node_offset_by_compatible(None, c).ok())
            .ok_or_else(|| d.record(Cause::NoInterruptParent, "", ""))?,
        Err(e) => return Err(d.record_fdt(e, "/", "interrupt-parent")),
    };
    let Some(phandle) = fdt.get_phandle(node) else {
        return Err(d.record_node(fdt, node, Cause::NoInterruptParent, ""));
    };
    let interrupt_cells = fdt
        .getprop_u32(node, "#interrupt-cells")
        .map_err(|e| at(d, fdt, node, "#interrupt-cells", e))?;
    let address_cells = match fdt.getprop_u32(node, "#address-cells") {
        Ok(n) => n,
        Err(Error::NotFound) => 0,
        Err(e) => return Err(at(d, fdt, node, "#address-cells", e)),
    };
    // A GIC specifier is <type number flags [ppi-partition]>; an
    // interrupt-map row must fit our fixed-size row buffer.
    if !(3..=4).contains(&interrupt_cells) || address_cells > 3 {
        let cause = Cause::UnsupportedInterruptCells(interrupt_cells);
        return Err(d.record_node(fdt, node, cause, ""));
    }
    Ok(Gic {
        phandle,
        address_cells,
        interrupt_cells,
    })
}

/// Records cellfdt error `e` at `node`, naming node and property. Only
/// called on the error path: a failed edit leaves the blob unchanged, so
/// `node` is still valid.
pub fn at(d: &mut FixupError, fdt: &Fdt<'_>, node: usize, prop: &'static str, e: Error) -> Failed {
    d.record_node(fdt, node, Cause::Fdt(e), prop)
}

/// `delprop` where an absent property is fine.
pub fn delprop_if_present(
    d: &mut FixupError,
    fdt: &mut cellfdt::FdtMut<'_>,
    node: usize,
    name: &'static str,
) -> Fallible<()> {
    match fdt.delprop(node, name) {
        Ok(()) | Err(Error::NotFound) => Ok(()),
        Err(e) => Err(at(d, &fdt.as_fdt(), node, name, e)),
    }
}

/// Sub-node `name` of the root, created when absent.
pub fn root_child(d: &mut FixupError, fdt: &mut cellfdt::FdtMut<'_>, name: &str) -> Fallible<usize> {
    match fdt.as_fdt().subnode_offset(0, name) {
        Ok(n) => Ok(n),
        Err(Error::NotFound) => fdt.add_subnode(0, name).map_err(|e| d.record_fdt(e, "/", "")),
        Err(e) => Err(d.record_fdt(e, "/", "")),
    }
}

/// Big-endian cell value from a 1- or 2-cell property value.
pub fn be_cells(v: &[u8]) -> Option<u64> {
    match v.len() {
        4 => Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]]).into()),
        8 => Some(u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])),
        _ => None,
    }
}

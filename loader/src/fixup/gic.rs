//! Step 1b: the GICv3 node's redistributor range covers only the board's
//! CPUs' frames.
//!
//! QEMU virt declares redistributor room for 123 CPUs (0x080a_0000 +
//! 0xf6_0000), which overlaps the virtual ECAM window at 0x08e0_0000 (the
//! Jailhouse default); Linux then refuses to claim the ECAM area. The frames
//! past the last CPU are empty, so the trimmed range describes the same GIC.

use super::at;
use crate::error::{Fallible, FixupError};
use crate::view::CellView;
use cellfdt::{Error, FdtMut};

pub fn trim_redistributors(
    d: &mut FixupError,
    fdt: &mut FdtMut<'_>,
    cell: &CellView,
    gic_phandle: u32,
) -> Fallible<()> {
    let b = cell.board;
    if b.gic_version != 3 || b.gicr_stride == 0 {
        return Ok(());
    }
    let f = fdt.as_fdt();
    let node = f
        .node_offset_by_phandle(gic_phandle)
        .map_err(|e| d.record_fdt(e, "", "interrupt-parent"))?;
    let parent = f.parent_offset(node).map_err(|e| at(d, &f, node, "", e))?;
    let ac = f
        .address_cells(parent)
        .map_err(|e| at(d, &f, parent, "#address-cells", e))? as usize;
    let sc = f.size_cells(parent).map_err(|e| at(d, &f, parent, "#size-cells", e))? as usize;
    let reg = match f.getprop(node, "reg") {
        Ok(r) => r,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(at(d, &f, node, "reg", e)),
    };
    // Entry 0 is the distributor, entry 1 the redistributor region. Cell
    // counts are at most 4 (cellfdt's address_cells/size_cells), so these
    // byte offsets are tiny.
    if sc == 0 || sc > 2 || ac > 4 {
        return Ok(());
    }
    let entry = ac.saturating_add(sc).saturating_mul(4);
    let size_at = entry.saturating_add(ac.saturating_mul(4));
    let size_len = sc.saturating_mul(4);
    let Some(size_bytes) = reg.get(size_at..size_at.saturating_add(size_len)) else {
        return Ok(());
    };
    let size = size_bytes.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte));
    // A stride times the CPU count that does not fit the cells is no trim.
    let Some(want) = u64::from(b.num_cpus).checked_mul(b.gicr_stride) else {
        return Ok(());
    };
    if size <= want || (sc == 1 && want > u64::from(u32::MAX)) {
        return Ok(());
    }
    let bytes = want.to_be_bytes();
    let Some(cells) = bytes.get(bytes.len().saturating_sub(size_len)..) else {
        return Ok(());
    };
    fdt.setprop_inplace_namelen_partial(node, "reg", size_at, cells)
        .map_err(|e| at(d, &fdt.as_fdt(), node, "reg", e))
}

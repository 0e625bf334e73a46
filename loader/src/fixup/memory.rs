//! Step 2: `/memory` describes exactly the cell's RAM (guest-physical).

use super::at;
use crate::error::{Cause, Fallible, FixupError};
use crate::text::Text;
use crate::view::CellView;
use cellboot_abi::MAX_MEM_REGIONS;
use cellfdt::{Error, FdtMut};

pub fn set(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView) -> Fallible<()> {
    let mut regs = [(0u64, 0u64); MAX_MEM_REGIONS];
    let mut n = 0usize;
    for (slot, r) in regs.iter_mut().zip(cell.ram_regions()) {
        *slot = (r.virt, r.size);
        n = n.saturating_add(1);
    }
    let regs = &regs[..n];
    let Some(&(base, _)) = regs.first() else {
        return Err(d.record(Cause::NoRam, "", ""));
    };
    let mut name = Text::<32>::new();
    name.push_str("memory@").push_hex(base);

    // Keep the first memory node (its place in the tree), drop the others.
    let node = match find_memory(d, fdt, None)? {
        Some(first) => {
            while let Some(other) = find_memory(d, fdt, Some(first))? {
                fdt.del_node(other).map_err(|e| at(d, &fdt.as_fdt(), other, "", e))?;
            }
            fdt.set_name(first, name.as_str())
                .map_err(|e| at(d, &fdt.as_fdt(), first, "", e))?;
            first
        }
        None => {
            let node = fdt
                .add_subnode(0, name.as_str())
                .map_err(|e| at(d, &fdt.as_fdt(), 0, "", e))?;
            fdt.setprop_str(node, "device_type", "memory")
                .map_err(|e| at(d, &fdt.as_fdt(), node, "device_type", e))?;
            node
        }
    };
    fdt.setprop_reg(node, regs)
        .map_err(|e| at(d, &fdt.as_fdt(), node, "reg", e))
}

/// Next node after `after` with `device_type = "memory"`.
fn find_memory(d: &mut FixupError, fdt: &FdtMut<'_>, after: Option<usize>) -> Fallible<Option<usize>> {
    match fdt
        .as_fdt()
        .node_offset_by_prop_value(after, "device_type", b"memory\0")
    {
        Ok(n) => Ok(Some(n)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(d.record_fdt(e, "", "device_type")),
    }
}

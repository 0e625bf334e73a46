//! Step 3: `/chosen` carries the cell's command line, initrd and console.

use super::{at, delprop_if_present, root_child};
use crate::error::{Fallible, FixupError};
use crate::view::CellView;
use cellboot_abi::str_field;
use cellfdt::FdtMut;

pub fn set(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView) -> Fallible<()> {
    let root_ac = fdt
        .as_fdt()
        .address_cells(0)
        .map_err(|e| at(d, &fdt.as_fdt(), 0, "#address-cells", e))?;
    let node = root_child(d, fdt, "chosen")?;
    let boot = &cell.cell.boot;

    let stdout = str_field(&boot.stdout_path);
    if !stdout.is_empty() {
        fdt.setprop_str(node, "stdout-path", stdout)
            .map_err(|e| at(d, &fdt.as_fdt(), node, "stdout-path", e))?;
    }
    match cell.initrd {
        Some((start, size)) => {
            // Cell count follows the root's #address-cells, as U-Boot writes it.
            let end = start.saturating_add(size);
            for (name, v) in [("linux,initrd-end", end), ("linux,initrd-start", start)] {
                let r = if root_ac == 1 && v <= u64::from(u32::MAX) {
                    fdt.setprop_u32(node, name, v as u32)
                } else {
                    fdt.setprop_u64(node, name, v)
                };
                r.map_err(|e| at(d, &fdt.as_fdt(), node, name, e))?;
            }
        }
        None => {
            delprop_if_present(d, fdt, node, "linux,initrd-start")?;
            delprop_if_present(d, fdt, node, "linux,initrd-end")?;
        }
    }
    let bootargs = str_field(&boot.bootargs);
    if bootargs.is_empty() {
        delprop_if_present(d, fdt, node, "bootargs")
    } else {
        fdt.setprop_str(node, "bootargs", bootargs)
            .map_err(|e| at(d, &fdt.as_fdt(), node, "bootargs", e))
    }
}

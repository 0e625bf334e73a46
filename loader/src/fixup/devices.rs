//! Step 5: the cell sees as enabled only devices it owns.

use super::at;
use crate::devices::{DeviceRef, DeviceWalk, GicMatch, WalkError};
use crate::error::{Cause, Failed, Fallible, FixupError};
use crate::view::CellView;
use cellfdt::{Error, Fdt, FdtMut};

pub fn disable(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView, gic_phandle: u32) -> Fallible<()> {
    let mut walk = DeviceWalk::new(GicMatch::Phandle(gic_phandle));
    loop {
        // Setting `status` only grows the device just returned: its own
        // offset, its ancestors' and the walk state stay valid.
        let f = fdt.as_fdt();
        let Some(dev) = walk.next(&f).map_err(|e| walk_error(d, &f, e))? else {
            break;
        };
        // The GIC is kept; a device already disabled or the cell's stays as is.
        if dev.is_gic || is_disabled(&f, dev.node) || owned(d, &f, cell, &dev)? {
            continue;
        }
        walk.skip_children();
        fdt.setprop_str(dev.node, "status", "disabled")
            .map_err(|e| at(d, &fdt.as_fdt(), dev.node, "status", e))?;
    }
    for path in cell.cell.disabled_paths() {
        let node = fdt.as_fdt().path_offset(path).map_err(|e| {
            let cause = match e {
                Error::NotFound | Error::BadPath => Cause::PathNotFound,
                e => Cause::Fdt(e),
            };
            d.record(cause, path, "")
        })?;
        fdt.setprop_str(node, "status", "disabled")
            .map_err(|e| d.record_fdt(e, path, "status"))?;
    }
    Ok(())
}

fn is_disabled(f: &Fdt<'_>, node: usize) -> bool {
    f.getprop(node, "status")
        .is_ok_and(|v| v.starts_with(b"disabled") || v.starts_with(b"fail"))
}

/// Whether the first `reg` range of the device, translated to a CPU
/// physical address, is one the cell owns. An address no `ranges` entry
/// maps is not reachable, so not owned.
fn owned(d: &mut FixupError, f: &Fdt<'_>, cell: &CellView, dev: &DeviceRef) -> Fallible<bool> {
    let first = dev.regs(f).map_err(|e| walk_error(d, f, e))?.next();
    match first.transpose().map_err(|e| walk_error(d, f, e))? {
        Some(Some((addr, size))) => Ok(cell.owns_range(addr, size)),
        Some(None) | None => Ok(false),
    }
}

fn walk_error(d: &mut FixupError, f: &Fdt<'_>, e: WalkError) -> Failed {
    at(d, f, e.node, e.prop, e.error)
}

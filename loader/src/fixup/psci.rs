//! Step 6: secondary CPUs start through the shim's PSCI (HVC conduit).

use super::{at, delprop_if_present};
use crate::error::{Fallible, FixupError};
use crate::view::CellView;
use cellboot_abi::cpu_start;
use cellfdt::{Error, FdtMut};

const COMPATIBLE: &[u8] = b"arm,psci-1.0\0arm,psci-0.2\0";

pub fn set(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView) -> Fallible<()> {
    if cell.board.cpu_start == cpu_start::SPIN_TABLE {
        to_psci_enable_method(d, fdt)?;
    }
    let node = match find_psci(d, fdt)? {
        Some(n) => n,
        None => {
            let n = fdt.add_subnode(0, "psci").map_err(|e| d.record_fdt(e, "/psci", ""))?;
            fdt.setprop(n, "compatible", COMPATIBLE)
                .map_err(|e| at(d, &fdt.as_fdt(), n, "compatible", e))?;
            n
        }
    };
    fdt.setprop_str(node, "method", "hvc")
        .map_err(|e| at(d, &fdt.as_fdt(), node, "method", e))
}

/// The board's PSCI node: `/psci`, or any node compatible with a PSCI version.
fn find_psci(d: &mut FixupError, fdt: &FdtMut<'_>) -> Fallible<Option<usize>> {
    let f = fdt.as_fdt();
    for compat in ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"] {
        match f.node_offset_by_compatible(None, compat) {
            Ok(n) => return Ok(Some(n)),
            Err(Error::NotFound) => {}
            Err(e) => return Err(d.record_fdt(e, "", "compatible")),
        }
    }
    Ok(None)
}

/// Every CPU node: `enable-method = "psci"`, no `cpu-release-addr`.
fn to_psci_enable_method(d: &mut FixupError, fdt: &mut FdtMut<'_>) -> Fallible<()> {
    let cpus = fdt
        .as_fdt()
        .path_offset("/cpus")
        .map_err(|e| d.record_fdt(e, "/cpus", ""))?;
    let mut next = fdt.as_fdt().first_subnode(cpus);
    loop {
        let node = match next {
            Ok(n) => n,
            Err(Error::NotFound) => return Ok(()),
            Err(e) => return Err(d.record_fdt(e, "/cpus", "")),
        };
        if fdt.as_fdt().getprop(node, "device_type").is_ok_and(|v| v == b"cpu\0") {
            delprop_if_present(d, fdt, node, "cpu-release-addr")?;
            fdt.setprop_str(node, "enable-method", "psci")
                .map_err(|e| at(d, &fdt.as_fdt(), node, "enable-method", e))?;
        }
        // Edits inside `node` keep its offset; the sibling is looked up afresh.
        next = fdt.as_fdt().next_subnode(node);
    }
}

//! The cell's guest-DTB edits and the kernel placement rules, shared by the
//! EL1 loader (aarch64, no heap) and the host CLI (`cellboot dtb`): the same
//! code on both sides, so the host preview is byte-identical to what boots.
//!
//! [`build_guest_dtb`] copies the board DTB into `out` with
//! `cellfdt::FdtMut::open_into` (the board DTB is never written) and applies
//! the edits in this fixed order — each step sees the result of the previous:
//!
//! 1. **vPCI** ([`Step::VirtualPci`]): add `/pci@<ecam>` (pci-host-ecam-generic,
//!    one `interrupt-map` row per ivshmem device: device d INTA → GIC SPI
//!    `irq_base + d % 4`, edge-rising). Skipped when the cell has no ECAM window.
//! 2. **memory**: one `/memory@<base>` whose `reg` lists the cell's RAM
//!    regions (flag RAM, not SHARED or IO, guest-physical); other memory nodes go.
//! 3. **chosen**: `bootargs` (removed when the config's is empty, so a board's
//!    own command line never leaks into a cell), `linux,initrd-start/end`
//!    (removed without an initrd), `stdout-path` (kept from the board when the
//!    config's is empty).
//! 4. **cpus**: delete `cpu` nodes whose `reg` is not a cell CPU's MPIDR
//!    affinity; prune `cpu-map` entries and empty containers; drop
//!    `interrupt-affinity` entries (and their `interrupts`) that named deleted CPUs.
//! 5. **devices**: `status = "disabled"` on every node with `reg` that is a
//!    child of `/`, of a `simple-bus` or of the GIC, whose first `reg` range
//!    (translated through the buses' `ranges`) is not inside one of the cell's
//!    memory regions or vPCI windows. The GIC itself, structural nodes and the
//!    vPCI node are kept. Then every path of the config's `disable` list is
//!    disabled; a path that does not exist is an error (a typo must not leave
//!    a device enabled silently).
//! 6. **psci**: spin-table boards get `enable-method = "psci"` on every CPU,
//!    lose `cpu-release-addr` and gain `/psci` (arm,psci-1.0/0.2); on every
//!    board `/psci` gets `method = "hvc"` (the shim serves PSCI over HVC).
//! 7. **overlays**: the caller's hook ([`build_guest_dtb_with`]).
//! 8. **pack**, returning the new `totalsize`.
//!
//! On error `out` holds garbage; the loader then never boots it.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod error;
mod fixup;
pub mod image;
pub mod text;
mod view;

pub use error::{Cause, ERROR_PATH_LEN, FixupError, Step};
pub use view::{CellView, MAX_VPCI_DEVICES};

use cellfdt::FdtMut;

/// Builds the cell's guest DTB from `board_dtb` into `out`; returns its
/// `totalsize`. `out` must be at least the board DTB's `totalsize` plus room
/// for the edits (a few KiB).
pub fn build_guest_dtb(
    board_dtb: &[u8],
    out: &mut [u8],
    cell: &CellView,
) -> Result<usize, FixupError> {
    build_guest_dtb_with(board_dtb, out, cell, &mut |_| Ok(()))
}

/// [`build_guest_dtb`] with a hook run after the loader's own edits and
/// before `pack` — where user overlays are applied. An error from the hook is
/// reported as [`Step::Overlays`].
pub fn build_guest_dtb_with(
    board_dtb: &[u8],
    out: &mut [u8],
    cell: &CellView,
    overlays: &mut dyn FnMut(&mut FdtMut<'_>) -> cellfdt::Result<()>,
) -> Result<usize, FixupError> {
    let mut fdt = FdtMut::open_into(board_dtb, out).map_err(|e| FixupError::fdt(Step::Open, e))?;
    let gic = fixup::find_gic(&fdt.as_fdt())?;
    fixup::gic::trim_redistributors(&mut fdt, cell, gic.phandle)?;
    fixup::vpci::add(&mut fdt, cell, gic)?;
    fixup::memory::set(&mut fdt, cell)?;
    fixup::chosen::set(&mut fdt, cell)?;
    fixup::cpus::restrict(&mut fdt, cell)?;
    fixup::devices::disable(&mut fdt, cell, gic.phandle)?;
    fixup::psci::set(&mut fdt, cell)?;
    overlays(&mut fdt).map_err(|e| FixupError::fdt(Step::Overlays, e))?;
    fdt.pack().map_err(|e| FixupError::fdt(Step::Pack, e))?;
    Ok(fdt.as_fdt().totalsize())
}

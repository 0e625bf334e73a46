//! The cell's guest-DTB edits and the kernel placement rules, shared by the
//! EL1 loader (aarch64, no heap) and the host CLI (`cellboot dtb`): the same
//! code on both sides, so the host preview is byte-identical to what boots.
//!
//! [`build_guest_dtb`] copies the board DTB into `out` with
//! `cellfdt::FdtMut::open_into` (the board DTB is never written) and applies
//! the edits in this fixed order — each step sees the result of the previous:
//!
//! 0. **gic** ([`Step::Gic`]): GICv3 redistributor `reg` trimmed to the
//!    board's CPUs (QEMU's reaches into the vPCI ECAM window).
//! 1. **vPCI** ([`Step::VirtualPci`]): add `/pci@<ecam>` (pci-host-ecam-generic,
//!    one `interrupt-map` row per ivshmem device: device d INTA → GIC SPI
//!    `irq_base + d % 4`, edge-rising). Skipped when the cell has no ECAM window.
//!    With [`CellView::vpci_template`] the node comes from the board's
//!    template overlay, patched in a scratch copy and applied atomically;
//!    otherwise from the direct writer. Both give the same bytes.
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
//! 7. **overlays**: [`CellView::overlays`] in order, each applied atomically
//!    from a scratch copy (an error names the overlay, the fragment and its
//!    target, and nothing after it is applied); then the caller's hook
//!    ([`build_guest_dtb_with`]).
//! 8. **pack**, returning the new `totalsize`.
//!
//! Template and overlays need scratch memory ([`build_guest_dtb_in`],
//! [`scratch_len`]); the rule is in `fixup/overlay.rs` and docs/overlays.md.
//!
//! On error `out` holds garbage; the loader then never boots it.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod devices;
mod error;
mod fixup;
pub mod image;
pub mod text;
mod view;

pub use error::{Cause, ERROR_PATH_LEN, FixupError, Step};
pub use fixup::vpci::TEMPLATE_NAME;
pub use view::{CellView, MAX_VPCI_DEVICES, Overlay};

use cellfdt::FdtMut;
use error::Fallible;

/// Builds the cell's guest DTB from `board_dtb` into `out`; returns its
/// `totalsize`. `out` must be at least the board DTB's `totalsize` plus room
/// for the edits (a few KiB). Without scratch: a cell with a vPCI template
/// or user overlays fails with NOSPACE naming it (use [`build_guest_dtb_in`]).
pub fn build_guest_dtb(board_dtb: &[u8], out: &mut [u8], cell: &CellView) -> Result<usize, FixupError> {
    build(board_dtb, out, &mut [], cell, &mut |_| Ok(()))
}

/// [`build_guest_dtb`] with `scratch` for the vPCI template and the user
/// overlays of `cell`: [`scratch_len`] bytes always suffice. Nothing in
/// `scratch` is needed afterwards.
pub fn build_guest_dtb_in(
    board_dtb: &[u8],
    out: &mut [u8],
    scratch: &mut [u8],
    cell: &CellView,
) -> Result<usize, FixupError> {
    build(board_dtb, out, scratch, cell, &mut |_| Ok(()))
}

/// Scratch [`build_guest_dtb_in`] needs for `cell` with an `out` buffer of
/// `out_len` bytes (0 when the cell has neither template nor overlays).
pub fn scratch_len(cell: &CellView, out_len: usize) -> usize {
    fixup::overlay::scratch_len(cell.overlays, cell.vpci_template, out_len)
}

/// Applies one user overlay to the tree in `out` (rw layout, its
/// `totalsize` the room: as `FdtMut::into_inner` gives) through a copy in
/// `scratch` (the largest blob + 8 + `out.len()` bytes suffice). Atomic: on
/// error `out` is unchanged and the error names the overlay and, when one can
/// be singled out, the fragment (index and target). What step 7 runs per overlay.
pub fn apply_overlay(out: &mut [u8], overlay: &Overlay, scratch: &mut [u8]) -> Result<(), FixupError> {
    let mut d = FixupError::new(Step::Overlays, Cause::Fdt(cellfdt::Error::Internal));
    fixup::overlay::apply_user(&mut d, out, overlay, scratch).map_err(|_| d)
}

/// [`build_guest_dtb`] with a hook run after the loader's own edits and the
/// cell's user overlays, before `pack`. An error from the hook is reported
/// as [`Step::Overlays`].
pub fn build_guest_dtb_with(
    board_dtb: &[u8],
    out: &mut [u8],
    cell: &CellView,
    hook: &mut dyn FnMut(&mut FdtMut<'_>) -> cellfdt::Result<()>,
) -> Result<usize, FixupError> {
    build(board_dtb, out, &mut [], cell, hook)
}

fn build(
    board_dtb: &[u8],
    out: &mut [u8],
    scratch: &mut [u8],
    cell: &CellView,
    hook: &mut dyn FnMut(&mut FdtMut<'_>) -> cellfdt::Result<()>,
) -> Result<usize, FixupError> {
    // The steps record a failure here, where its names are known, and only
    // return `Failed`: the error is moved once, below, not at every `?`.
    // `edit` sets the step before running it.
    let mut d = FixupError::new(Step::Open, Cause::Fdt(cellfdt::Error::Internal));
    edit(&mut d, board_dtb, out, scratch, cell, hook).map_err(|_| d)
}

fn edit(
    d: &mut FixupError,
    board_dtb: &[u8],
    out: &mut [u8],
    scratch: &mut [u8],
    cell: &CellView,
    hook: &mut dyn FnMut(&mut FdtMut<'_>) -> cellfdt::Result<()>,
) -> Fallible<usize> {
    d.step = Step::Open;
    let mut fdt = FdtMut::open_into(board_dtb, &mut *out).map_err(|e| d.record_fdt(e, "", ""))?;
    let gic = fixup::find_gic(d, &fdt.as_fdt())?;
    d.step = Step::Gic;
    fixup::gic::trim_redistributors(d, &mut fdt, cell, gic.phandle)?;
    d.step = Step::VirtualPci;
    if cell.vpci_template.is_none() {
        fixup::vpci::add(d, &mut fdt, cell, gic)?;
    }
    if let Some(template) = cell.vpci_template {
        fixup::vpci::add_from_template(d, out, cell, gic, template, scratch)?;
    }
    let mut fdt = reopen(d, &mut *out)?;
    d.step = Step::Memory;
    fixup::memory::set(d, &mut fdt, cell)?;
    d.step = Step::Chosen;
    fixup::chosen::set(d, &mut fdt, cell)?;
    d.step = Step::Cpus;
    fixup::cpus::restrict(d, &mut fdt, cell)?;
    d.step = Step::Devices;
    fixup::devices::disable(d, &mut fdt, cell, gic.phandle)?;
    d.step = Step::Psci;
    fixup::psci::set(d, &mut fdt, cell)?;
    d.step = Step::Overlays;
    for o in cell.overlays {
        fixup::overlay::apply_user(d, out, o, scratch)?;
    }
    let mut fdt = reopen(d, out)?;
    hook(&mut fdt).map_err(|e| d.record_fdt(e, "", ""))?;
    d.step = Step::Pack;
    fdt.pack().map_err(|e| d.record_fdt(e, "", ""))?;
    Ok(fdt.as_fdt().totalsize())
}

/// The tree in `out` again after an overlay_apply, which works on the raw
/// buffer; `FdtMut::new` only checks the header (no bytes move).
fn reopen<'a>(d: &mut FixupError, out: &'a mut [u8]) -> Fallible<FdtMut<'a>> {
    FdtMut::new(out).map_err(|e| d.record_fdt(e, "", ""))
}

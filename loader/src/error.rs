//! What went wrong while building a guest DTB, named by step, node path and
//! property so that a one-line message in `CellbootInfo::error` is enough to
//! find the problem without a debugger.

use crate::text::{Text, utf8_prefix};

/// The fixed order of edits (see the crate docs); an error names the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Open,
    Gic,
    VirtualPci,
    Memory,
    Chosen,
    Cpus,
    Devices,
    Psci,
    Overlays,
    Pack,
}

impl Step {
    pub const fn name(self) -> &'static str {
        match self {
            Step::Open => "open",
            Step::Gic => "gic",
            Step::VirtualPci => "vpci",
            Step::Memory => "memory",
            Step::Chosen => "chosen",
            Step::Cpus => "cpus",
            Step::Devices => "devices",
            Step::Psci => "psci",
            Step::Overlays => "overlays",
            Step::Pack => "pack",
        }
    }
}

/// Why a step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// cellfdt refused an operation (NOSPACE when `out` is too small, BADMAGIC
    /// for a corrupt board DTB, ...).
    Fdt(cellfdt::Error),
    /// Neither the root's `interrupt-parent` nor a known GIC node gives the
    /// vPCI node an interrupt parent.
    NoInterruptParent,
    /// The interrupt parent's `#interrupt-cells` cannot encode a GIC SPI.
    UnsupportedInterruptCells(u32),
    /// The cell has no RAM region for `/memory`.
    NoRam,
    /// None of the cell's CPUs is described under `/cpus`.
    NoCpu,
    /// More vPCI devices than the loader encodes interrupt-map rows for.
    TooManyDevices(u32),
    /// A node with the vPCI host's name already exists.
    NodeExists,
    /// A path from the cell config's `disable` list does not exist.
    PathNotFound,
    /// A placeholder of the vPCI template has a size that does not fit this
    /// board's DTB (cells of the root or the GIC): the template is for
    /// another board.
    TemplateSize,
}

/// Longest node path kept in an error (longer ones are truncated).
pub const ERROR_PATH_LEN: usize = 64;
/// Longest overlay name kept in an error: a payload name (`PayloadEntry::name`).
pub const ERROR_OVERLAY_LEN: usize = 24;
const NO_FRAGMENT: u16 = u16::MAX;

/// An edit failed; what and where was recorded in the [`FixupError`] the
/// caller passed down (only its recording methods make one). The edit steps
/// return this unit instead of the error itself: a `?` then moves nothing,
/// where moving the whole `FixupError` through every step and helper cost
/// ~8 KiB of copies in the firmware.
#[derive(Debug)]
pub(crate) struct Failed(());

pub(crate) type Fallible<T> = Result<T, Failed>;

// Kept under 128 bytes (clippy's large-error threshold): the public API
// returns it by value.
#[derive(Clone, Copy)]
pub struct FixupError {
    pub step: Step,
    pub cause: Cause,
    /// Property involved, "" when none.
    pub prop: &'static str,
    path: [u8; ERROR_PATH_LEN],
    path_len: u8,
    overlay: [u8; ERROR_OVERLAY_LEN],
    overlay_len: u8,
    fragment: u16,
}

impl FixupError {
    /// An error with no path, property or overlay; the loader's steps fill
    /// one in place with [`record`](Self::record).
    pub const fn new(step: Step, cause: Cause) -> Self {
        Self {
            step,
            cause,
            prop: "",
            path: [0; ERROR_PATH_LEN],
            path_len: 0,
            overlay: [0; ERROR_OVERLAY_LEN],
            overlay_len: 0,
            fragment: NO_FRAGMENT,
        }
    }

    /// Records a failure of the current step (`self.step`, set by whoever
    /// runs the steps) in full: whatever an earlier, recovered failure left is
    /// overwritten. `path` is truncated to [`ERROR_PATH_LEN`] bytes.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(&mut self, cause: Cause, path: &str, prop: &'static str) -> Failed {
        self.cause = cause;
        self.prop = prop;
        self.set_path(path);
        self.overlay_len = 0;
        self.fragment = NO_FRAGMENT;
        Failed(())
    }

    /// [`record`](Self::record) of a cellfdt error.
    pub(crate) fn record_fdt(&mut self, e: cellfdt::Error, path: &str, prop: &'static str) -> Failed {
        self.record(Cause::Fdt(e), path, prop)
    }

    /// [`record`](Self::record) naming `node` by its full path in `fdt`,
    /// written straight into the error (`.../<name>` when the path is longer
    /// than an error holds).
    #[cold]
    #[inline(never)]
    pub(crate) fn record_node(
        &mut self,
        fdt: &cellfdt::Fdt<'_>,
        node: usize,
        cause: Cause,
        prop: &'static str,
    ) -> Failed {
        let failed = self.record(cause, "", prop);
        match fdt.get_path(node, &mut self.path) {
            Ok(p) => self.path_len = p.len() as u8,
            Err(_) => {
                let mut t = Text::<ERROR_PATH_LEN>::new();
                t.push_str(".../").push_str(fdt.get_name(node).unwrap_or("?"));
                self.set_path(t.as_str());
            }
        }
        failed
    }

    /// Adds the overlay's name to the failure just recorded.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_overlay(&mut self, name: &str) -> Failed {
        let n = name.len().min(ERROR_OVERLAY_LEN);
        self.overlay[..n].copy_from_slice(&name.as_bytes()[..n]);
        self.overlay_len = n as u8;
        Failed(())
    }

    /// Adds the failing fragment (its index among the overlay's fragments,
    /// libfdt's order: the root's subnodes that have an `__overlay__`) and
    /// its target to the failure just recorded.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_fragment(&mut self, index: usize, target: &str) -> Failed {
        self.fragment = index.min(usize::from(NO_FRAGMENT - 1)) as u16;
        self.set_path(target);
        Failed(())
    }

    fn set_path(&mut self, path: &str) {
        let n = path.len().min(ERROR_PATH_LEN);
        self.path[..n].copy_from_slice(&path.as_bytes()[..n]);
        self.path_len = n as u8;
    }

    /// Node path the error is about ("" when none). For an overlay error:
    /// the failing fragment's target (`target-path /x`, `target &label`,
    /// `target <0x..>`), followed by `uses &label` for a missing label.
    pub fn path(&self) -> &str {
        utf8_prefix(&self.path[..self.path_len as usize])
    }

    /// The overlay's name ("" when the error is not about an overlay).
    pub fn overlay(&self) -> &str {
        utf8_prefix(&self.overlay[..self.overlay_len as usize])
    }

    /// Index of the failing fragment, when one could be singled out.
    pub fn fragment(&self) -> Option<usize> {
        (self.fragment != NO_FRAGMENT).then_some(self.fragment.into())
    }

    /// The cellfdt error, when that is the cause.
    pub fn fdt_error(&self) -> Option<cellfdt::Error> {
        match self.cause {
            Cause::Fdt(e) => Some(e),
            _ => None,
        }
    }

    /// One line: `guest dtb: <step>: <path> <prop>: <cause>`; no `core::fmt`.
    pub fn write_to<const N: usize>(&self, t: &mut Text<N>) {
        t.push_str("guest dtb: ").push_str(self.step.name()).push_str(": ");
        if self.overlay_len > 0 {
            t.push_str("overlay ").push_str(self.overlay()).push_str(" ");
        }
        if let Some(f) = self.fragment() {
            t.push_str("fragment ").push_dec(f as u64).push_str(" ");
        }
        if self.path_len > 0 {
            t.push_str(self.path()).push_str(" ");
        }
        if !self.prop.is_empty() {
            t.push_str(self.prop).push_str(" ");
        }
        match self.cause {
            Cause::Fdt(e) => t.push_str(e.name()),
            Cause::NoInterruptParent => t.push_str("no interrupt parent (GIC) with a phandle"),
            Cause::UnsupportedInterruptCells(n) => t
                .push_str("interrupt parent has #interrupt-cells = ")
                .push_dec(n.into()),
            Cause::NoRam => t.push_str("cell has no RAM region"),
            Cause::NoCpu => t.push_str("none of the cell's CPUs is in /cpus"),
            Cause::TooManyDevices(n) => t.push_str("too many vPCI devices: ").push_dec(n.into()),
            Cause::NodeExists => t.push_str("node already exists in the board DTB"),
            Cause::PathNotFound => t.push_str("path from the cell's disable list not found"),
            Cause::TemplateSize => {
                t.push_str("placeholder size does not fit this board's DTB (template for another board?)")
            }
        };
    }
}

impl core::fmt::Debug for FixupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// For the host CLI and tests; the firmware uses [`FixupError::write_to`].
impl core::fmt::Display for FixupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut t = Text::<256>::new();
        self.write_to(&mut t);
        f.write_str(t.as_str())?;
        // The sentence only on the host: the firmware's strings stay small.
        match self.cause {
            Cause::Fdt(e) => write!(f, " ({})", e.describe()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_stays_small() {
        assert!(core::mem::size_of::<super::FixupError>() < 128);
    }
}

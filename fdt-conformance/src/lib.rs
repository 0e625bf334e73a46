//! Differential conformance harness: cellfdt against the C libfdt.
//!
//! - `libfdt_sys`: raw `extern "C"` declarations (the only FFI surface);
//! - `libfdt`, `libfdt_ro`, `libfdt_sw`: safe wrappers (all `unsafe` lives there);
//! - `fixtures`: the real board DTBs under `build/fixtures/`;
//! - `script`, `decode`: edit scripts (symbolic ops → concrete edits);
//! - `apply_libfdt`, `apply_cellfdt`, `diff`: the step-by-step differential runner,
//!   comparing what libfdt defines (`defined`: not free space or padding);
//! - `libfdt_current`: libfdt 1.7.2 (PyPI's pylibfdt) where cellfdt follows
//!   libfdt's changes since the linked 1.6.1;
//! - `ro_compare`: read-only views compared on a whole blob; `ro_walk`: call
//!   everything on hostile input; `malform`: structured corruptions;
//! - `tree_gen`: generated trees through both sequential writers.
//!
//! Features `cellfdt-rw` / `cellfdt-sw` switch on the parts needing cellfdt's
//! FdtMut / Writer (on by default once those landed).
//! (`overlay_ffi` — libfdt overlay FFI — is added separately.)
//!
//! The oracle has bugs of its own: libfdt 1.6.1's `fdt_check_full` SIGSEGVs
//! on a pre-v16 blob whose root has no '/' in its name. Hostile input goes
//! through `libfdt::check_full_or_skip`, which refuses exactly those blobs
//! (regression: tests/regressions.rs `f2_*`).

mod aligned;
mod libfdt_sys;

#[cfg(feature = "cellfdt-rw")]
pub mod apply_cellfdt;
pub mod apply_libfdt;
#[cfg(feature = "cellfdt-rw")]
pub mod cell_fixup;
pub mod decode;
pub mod defined;
#[cfg(feature = "cellfdt-rw")]
pub mod diff;
pub mod fixtures;
#[cfg(feature = "cellfdt-rw")]
pub mod fuzz_seeds;
pub mod libfdt;
pub mod libfdt_current;
pub mod libfdt_ro;
pub mod libfdt_sw;
pub mod malform;
pub mod ro_compare;
pub mod ro_walk;
pub mod script;
pub mod tree_gen;

pub use aligned::AlignedBuf;
pub mod overlay_ffi; // fdt_overlay_apply FFI, dtc/fdtoverlay runners

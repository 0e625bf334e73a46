//! Differential conformance harness: cellfdt against the C libfdt.
//!
//! - `libfdt_sys`: raw `extern "C"` declarations (the only FFI surface);
//! - `libfdt`, `libfdt_ro`, `libfdt_sw`: safe wrappers (all `unsafe` lives there);
//! - `fixtures`: the real board DTBs under `build/fixtures/`;
//! - the edit-script model and the differential runner used by the tests,
//!   the fuzz targets and the benchmark.

mod aligned;
mod libfdt_sys;

pub mod fixtures;
pub mod libfdt;
pub mod libfdt_ro;
pub mod libfdt_sw;

pub use aligned::AlignedBuf;
pub mod overlay_ffi; // fdt_overlay_apply FFI, dtc/fdtoverlay runners

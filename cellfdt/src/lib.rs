//! In-place flattened devicetree (FDT/DTB) library: read, edit, write, overlay.
//!
//! Everything works on a caller-owned byte buffer; nothing allocates. The
//! semantics, error codes and output bytes follow libfdt (see `API.md`).
//! Node and property offsets are offsets into the structure block, exactly as
//! libfdt reports them, so edit scripts can be replayed against libfdt.
#![no_std]
#![forbid(unsafe_code)]

mod error;
pub use error::{Error, Result};

// One file per access mode, as in libfdt:
// header.rs  - header layout, constants, fdt_check_header
// ro.rs      - read-only walk: Fdt
// wip.rs     - write-in-place: setprop_inplace, nop_property, nop_node
// rw.rs      - read/write: FdtMut (open_into, setprop, add_subnode, pack, ...)
// sw.rs      - sequential writer: Writer
// addresses.rs - #address-cells/#size-cells, reg/ranges decoding
// strings.rs - string-list helpers
// check.rs   - check_full
// overlay.rs - overlay_apply (atomic)

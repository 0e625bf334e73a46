#![doc = include_str!("../README.md")]
//!
//! ## Implementation notes
//!
//! Everything works on a caller-owned byte buffer; nothing allocates. The
//! semantics, error codes and output bytes follow libfdt 1.7.2 (see `API.md`);
//! free space past the strings block is never copied or scanned.
//! Node and property offsets are offsets into the structure block, exactly as
//! libfdt reports them, so edit scripts can be replayed against libfdt.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub use error::{Error, Result};

// One file per access mode, as in libfdt:
mod addresses; // #address-cells/#size-cells, reg/ranges
mod check; // check_full
mod header; // header layout, constants, fdt_check_header
mod memrsv; // memory reservation map (read)
mod path; // paths and aliases
mod phandle; // phandle lookups
mod props; // properties
mod ro; // Fdt: tag walking, nodes
mod rw; // FdtMut: open_into, pack, splice, memory reservations
mod rw_nodes; // add_subnode / del_node / set_name
mod rw_props; // setprop / appendprop / delprop
mod strings; // string lists, compatible
mod sw;
mod wip; // write-in-place: setprop_inplace, nop_property, nop_node // Writer: sequential writer

pub use addresses::{MAX_NCELLS, RangesIter, RegIter};
pub use props::Property;
pub use ro::Fdt;
pub use rw::FdtMut;
pub use sw::{CREATE_FLAG_NO_NAME_DEDUP, Writer};
pub mod overlay; // overlay_apply (atomic): apply into scratch, copy back

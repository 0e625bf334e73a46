//! Raw declarations of the exported libfdt 1.6 functions we call.
//!
//! Hand-written from `/usr/include/libfdt.h`. Only exported symbols are listed;
//! the `static inline` helpers of libfdt.h (fdt_setprop_u32, fdt_totalsize, ...)
//! are re-implemented in Rust in `libfdt.rs`. Nothing here is safe to call
//! directly: use the wrappers in `libfdt`, `libfdt_ro` and `libfdt_sw`.
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_void};

unsafe extern "C" {
    // header / checks
    pub fn fdt_check_header(fdt: *const c_void) -> c_int;
    pub fn fdt_check_full(fdt: *const c_void, bufsize: usize) -> c_int;

    // read/write (fdt_rw.c)
    pub fn fdt_open_into(fdt: *const c_void, buf: *mut c_void, bufsize: c_int) -> c_int;
    pub fn fdt_pack(fdt: *mut c_void) -> c_int;
    pub fn fdt_setprop(fdt: *mut c_void, node: c_int, name: *const c_char, val: *const c_void, len: c_int) -> c_int;
    pub fn fdt_setprop_placeholder(
        fdt: *mut c_void,
        node: c_int,
        name: *const c_char,
        len: c_int,
        data: *mut *mut c_void,
    ) -> c_int;
    pub fn fdt_appendprop(fdt: *mut c_void, node: c_int, name: *const c_char, val: *const c_void, len: c_int) -> c_int;
    pub fn fdt_appendprop_addrrange(
        fdt: *mut c_void,
        parent: c_int,
        node: c_int,
        name: *const c_char,
        addr: u64,
        size: u64,
    ) -> c_int;
    pub fn fdt_delprop(fdt: *mut c_void, node: c_int, name: *const c_char) -> c_int;
    pub fn fdt_add_subnode_namelen(fdt: *mut c_void, parent: c_int, name: *const c_char, namelen: c_int) -> c_int;
    pub fn fdt_del_node(fdt: *mut c_void, node: c_int) -> c_int;
    pub fn fdt_set_name(fdt: *mut c_void, node: c_int, name: *const c_char) -> c_int;
    pub fn fdt_add_mem_rsv(fdt: *mut c_void, address: u64, size: u64) -> c_int;
    pub fn fdt_del_mem_rsv(fdt: *mut c_void, n: c_int) -> c_int;

    // write in place (fdt_wip.c)
    pub fn fdt_setprop_inplace(
        fdt: *mut c_void,
        node: c_int,
        name: *const c_char,
        val: *const c_void,
        len: c_int,
    ) -> c_int;
    pub fn fdt_setprop_inplace_namelen_partial(
        fdt: *mut c_void,
        node: c_int,
        name: *const c_char,
        namelen: c_int,
        idx: u32,
        val: *const c_void,
        len: c_int,
    ) -> c_int;
    pub fn fdt_nop_property(fdt: *mut c_void, node: c_int, name: *const c_char) -> c_int;
    pub fn fdt_nop_node(fdt: *mut c_void, node: c_int) -> c_int;

    // read only (fdt_ro.c, fdt.c, fdt_addresses.c)
    pub fn fdt_next_tag(fdt: *const c_void, offset: c_int, nextoffset: *mut c_int) -> u32;
    pub fn fdt_path_offset_namelen(fdt: *const c_void, path: *const c_char, namelen: c_int) -> c_int;
    pub fn fdt_subnode_offset_namelen(fdt: *const c_void, parent: c_int, name: *const c_char, namelen: c_int) -> c_int;
    pub fn fdt_next_node(fdt: *const c_void, offset: c_int, depth: *mut c_int) -> c_int;
    pub fn fdt_first_subnode(fdt: *const c_void, offset: c_int) -> c_int;
    pub fn fdt_next_subnode(fdt: *const c_void, offset: c_int) -> c_int;
    pub fn fdt_first_property_offset(fdt: *const c_void, node: c_int) -> c_int;
    pub fn fdt_next_property_offset(fdt: *const c_void, offset: c_int) -> c_int;
    pub fn fdt_getprop_by_offset(
        fdt: *const c_void,
        offset: c_int,
        namep: *mut *const c_char,
        lenp: *mut c_int,
    ) -> *const c_void;
    pub fn fdt_getprop_namelen(
        fdt: *const c_void,
        node: c_int,
        name: *const c_char,
        namelen: c_int,
        lenp: *mut c_int,
    ) -> *const c_void;
    pub fn fdt_get_name(fdt: *const c_void, node: c_int, lenp: *mut c_int) -> *const c_char;
    pub fn fdt_get_path(fdt: *const c_void, node: c_int, buf: *mut c_char, buflen: c_int) -> c_int;
    pub fn fdt_parent_offset(fdt: *const c_void, node: c_int) -> c_int;
    pub fn fdt_node_depth(fdt: *const c_void, node: c_int) -> c_int;
    pub fn fdt_get_phandle(fdt: *const c_void, node: c_int) -> u32;
    pub fn fdt_node_offset_by_phandle(fdt: *const c_void, phandle: u32) -> c_int;
    pub fn fdt_find_max_phandle(fdt: *const c_void, phandle: *mut u32) -> c_int;
    pub fn fdt_num_mem_rsv(fdt: *const c_void) -> c_int;
    pub fn fdt_get_mem_rsv(fdt: *const c_void, n: c_int, address: *mut u64, size: *mut u64) -> c_int;
    pub fn fdt_address_cells(fdt: *const c_void, node: c_int) -> c_int;
    pub fn fdt_size_cells(fdt: *const c_void, node: c_int) -> c_int;
    pub fn fdt_node_offset_by_compatible(fdt: *const c_void, start: c_int, compatible: *const c_char) -> c_int;
    pub fn fdt_node_check_compatible(fdt: *const c_void, node: c_int, compatible: *const c_char) -> c_int;
    pub fn fdt_get_alias_namelen(fdt: *const c_void, name: *const c_char, namelen: c_int) -> *const c_char;
    pub fn fdt_stringlist_count(fdt: *const c_void, node: c_int, property: *const c_char) -> c_int;

    // sequential write (fdt_sw.c, fdt_empty_tree.c)
    pub fn fdt_create(buf: *mut c_void, bufsize: c_int) -> c_int;
    pub fn fdt_create_with_flags(buf: *mut c_void, bufsize: c_int, flags: u32) -> c_int;
    pub fn fdt_add_reservemap_entry(fdt: *mut c_void, addr: u64, size: u64) -> c_int;
    pub fn fdt_finish_reservemap(fdt: *mut c_void) -> c_int;
    pub fn fdt_begin_node(fdt: *mut c_void, name: *const c_char) -> c_int;
    pub fn fdt_property(fdt: *mut c_void, name: *const c_char, val: *const c_void, len: c_int) -> c_int;
    pub fn fdt_end_node(fdt: *mut c_void) -> c_int;
    pub fn fdt_finish(fdt: *mut c_void) -> c_int;
    pub fn fdt_create_empty_tree(buf: *mut c_void, bufsize: c_int) -> c_int;
}

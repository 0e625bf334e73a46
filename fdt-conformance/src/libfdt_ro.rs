//! Safe wrappers over libfdt's read-only functions (fdt_ro.c, fdt.c, fdt_addresses.c).
//!
//! Pointers libfdt returns into the blob are turned back into offsets and
//! bounds-checked slices of the caller's buffer, so no raw slice is built.

use crate::libfdt::{Result, blob_ok, c_len, c_off, cstr, rc};
use crate::libfdt_sys as sys;
use core::ffi::{c_char, c_int, c_void};

macro_rules! blob_call {
    ($buf:expr, |$p:ident| $call:expr) => {{
        blob_ok($buf)?;
        let $p = $buf.as_ptr().cast::<c_void>();
        // SAFETY: the blob's totalsize lies within the borrowed buffer
        // (checked by blob_ok); these libfdt functions only read within
        // totalsize, and every out-pointer/name passed is live for the call.
        unsafe { $call }
    }};
}

/// Offset of `p` inside `buf`, asserting `len` bytes from there are in bounds.
fn offset_in(buf: &[u8], p: *const c_void, len: usize) -> usize {
    let off = (p as usize)
        .checked_sub(buf.as_ptr() as usize)
        .expect("libfdt pointer before the buffer");
    assert!(
        off.checked_add(len).is_some_and(|e| e <= buf.len()),
        "libfdt pointer past the buffer"
    );
    off
}

/// The NUL-terminated string at `p` inside `buf` (without the NUL).
fn cstr_at(buf: &[u8], p: *const c_char) -> &[u8] {
    let off = offset_in(buf, p.cast(), 0);
    let rest = &buf[off..];
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .expect("libfdt string not terminated in buffer");
    &rest[..end]
}

fn err_from_len(len: c_int) -> cellfdt::Error {
    rc(len).expect_err("libfdt returned NULL with a non-negative length")
}

/// `fdt_path_offset_namelen`.
pub fn path_offset(buf: &[u8], path: &str) -> Result<usize> {
    let (pp, pl) = (path.as_ptr().cast::<c_char>(), c_len(path.len()));
    rc(blob_call!(buf, |p| sys::fdt_path_offset_namelen(p, pp, pl))).map(|o| o as usize)
}

/// `fdt_subnode_offset_namelen`.
pub fn subnode_offset(buf: &[u8], parent: usize, name: &str) -> Result<usize> {
    let (np, nl) = (name.as_ptr().cast::<c_char>(), c_len(name.len()));
    rc(blob_call!(buf, |p| sys::fdt_subnode_offset_namelen(
        p,
        c_off(parent),
        np,
        nl
    )))
    .map(|o| o as usize)
}

/// `fdt_next_node`; `node = None` means offset -1 (start at the root).
/// Returns (offset, depth after the step).
pub fn next_node(buf: &[u8], node: Option<usize>, depth: i32) -> Result<(usize, i32)> {
    let mut d: c_int = depth;
    let dp = &mut d as *mut c_int;
    let start = node.map_or(-1, c_off);
    let off = rc(blob_call!(buf, |p| sys::fdt_next_node(p, start, dp)))?;
    Ok((off as usize, d))
}

/// `fdt_first_subnode`.
pub fn first_subnode(buf: &[u8], node: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_first_subnode(p, c_off(node)))).map(|o| o as usize)
}

/// `fdt_next_subnode`.
pub fn next_subnode(buf: &[u8], node: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_next_subnode(p, c_off(node)))).map(|o| o as usize)
}

/// `fdt_first_property_offset`.
pub fn first_property(buf: &[u8], node: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_first_property_offset(p, c_off(node)))).map(|o| o as usize)
}

/// `fdt_next_property_offset`.
pub fn next_property(buf: &[u8], prop: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_next_property_offset(p, c_off(prop)))).map(|o| o as usize)
}

/// `fdt_getprop_by_offset`: (name, value).
pub fn property_at(buf: &[u8], prop: usize) -> Result<(&[u8], &[u8])> {
    let mut name: *const c_char = core::ptr::null();
    let mut len: c_int = 0;
    let (np, lp) = (&mut name as *mut *const c_char, &mut len as *mut c_int);
    let v = blob_call!(buf, |p| sys::fdt_getprop_by_offset(p, c_off(prop), np, lp));
    if v.is_null() {
        return Err(err_from_len(len));
    }
    let off = offset_in(buf, v, len as usize);
    Ok((cstr_at(buf, name), &buf[off..off + len as usize]))
}

/// `fdt_getprop_namelen`.
pub fn getprop<'a>(buf: &'a [u8], node: usize, name: &str) -> Result<&'a [u8]> {
    let mut len: c_int = 0;
    let lp = &mut len as *mut c_int;
    let (np, nl) = (name.as_ptr().cast::<c_char>(), c_len(name.len()));
    let v = blob_call!(buf, |p| sys::fdt_getprop_namelen(p, c_off(node), np, nl, lp));
    if v.is_null() {
        return Err(err_from_len(len));
    }
    let off = offset_in(buf, v, len as usize);
    Ok(&buf[off..off + len as usize])
}

/// `fdt_get_name`.
pub fn get_name(buf: &[u8], node: usize) -> Result<&[u8]> {
    let mut len: c_int = 0;
    let lp = &mut len as *mut c_int;
    let v = blob_call!(buf, |p| sys::fdt_get_name(p, c_off(node), lp));
    if v.is_null() {
        return Err(err_from_len(len));
    }
    let off = offset_in(buf, v.cast(), len as usize);
    Ok(&buf[off..off + len as usize])
}

/// `fdt_get_path` into a buffer of `cap` bytes.
pub fn get_path(buf: &[u8], node: usize, cap: usize) -> Result<String> {
    let mut out = vec![0u8; cap];
    let (op, ol) = (out.as_mut_ptr().cast::<c_char>(), c_len(cap));
    rc(blob_call!(buf, |p| sys::fdt_get_path(p, c_off(node), op, ol)))?;
    let end = out.iter().position(|&b| b == 0).unwrap_or(cap);
    Ok(String::from_utf8_lossy(&out[..end]).into_owned())
}

/// `fdt_parent_offset`.
pub fn parent_offset(buf: &[u8], node: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_parent_offset(p, c_off(node)))).map(|o| o as usize)
}

/// `fdt_node_depth`.
pub fn node_depth(buf: &[u8], node: usize) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_node_depth(p, c_off(node)))).map(|o| o as usize)
}

/// `fdt_get_phandle` (0 = none).
pub fn get_phandle(buf: &[u8], node: usize) -> Result<u32> {
    Ok(blob_call!(buf, |p| sys::fdt_get_phandle(p, c_off(node))))
}

/// `fdt_node_offset_by_phandle`.
pub fn node_offset_by_phandle(buf: &[u8], ph: u32) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_node_offset_by_phandle(p, ph))).map(|o| o as usize)
}

/// `fdt_find_max_phandle`.
pub fn find_max_phandle(buf: &[u8]) -> Result<u32> {
    let mut ph: u32 = 0;
    let pp = &mut ph as *mut u32;
    rc(blob_call!(buf, |p| sys::fdt_find_max_phandle(p, pp)))?;
    Ok(ph)
}

/// `fdt_num_mem_rsv`.
pub fn num_mem_rsv(buf: &[u8]) -> Result<usize> {
    rc(blob_call!(buf, |p| sys::fdt_num_mem_rsv(p))).map(|n| n as usize)
}

/// `fdt_get_mem_rsv`.
pub fn get_mem_rsv(buf: &[u8], n: usize) -> Result<(u64, u64)> {
    let (mut a, mut s) = (0u64, 0u64);
    let (ap, sp) = (&mut a as *mut u64, &mut s as *mut u64);
    rc(blob_call!(buf, |p| sys::fdt_get_mem_rsv(p, c_off(n), ap, sp)))?;
    Ok((a, s))
}

/// `fdt_address_cells`.
pub fn address_cells(buf: &[u8], node: usize) -> Result<u32> {
    rc(blob_call!(buf, |p| sys::fdt_address_cells(p, c_off(node)))).map(|n| n as u32)
}

/// `fdt_size_cells`.
pub fn size_cells(buf: &[u8], node: usize) -> Result<u32> {
    rc(blob_call!(buf, |p| sys::fdt_size_cells(p, c_off(node)))).map(|n| n as u32)
}

/// `fdt_node_offset_by_compatible`; `start = None` means -1.
pub fn node_offset_by_compatible(buf: &[u8], start: Option<usize>, compat: &str) -> Result<usize> {
    let c = cstr(compat);
    let s = start.map_or(-1, c_off);
    rc(blob_call!(buf, |p| sys::fdt_node_offset_by_compatible(
        p,
        s,
        c.as_ptr()
    )))
    .map(|o| o as usize)
}

/// `fdt_node_check_compatible`: Ok(true) = compatible, Ok(false) = not.
pub fn node_check_compatible(buf: &[u8], node: usize, compat: &str) -> Result<bool> {
    let c = cstr(compat);
    match rc(blob_call!(buf, |p| sys::fdt_node_check_compatible(
        p,
        c_off(node),
        c.as_ptr()
    )))? {
        0 => Ok(true),
        _ => Ok(false),
    }
}

/// `fdt_get_alias_namelen` (None when absent).
pub fn get_alias<'a>(buf: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let (np, nl) = (name.as_ptr().cast::<c_char>(), c_len(name.len()));
    let v = blob_call!(buf, |p| sys::fdt_get_alias_namelen(p, np, nl));
    Ok(if v.is_null() { None } else { Some(cstr_at(buf, v)) })
}

/// `fdt_stringlist_count`.
pub fn stringlist_count(buf: &[u8], node: usize, prop: &str) -> Result<usize> {
    let c = cstr(prop);
    rc(blob_call!(buf, |p| sys::fdt_stringlist_count(
        p,
        c_off(node),
        c.as_ptr()
    )))
    .map(|n| n as usize)
}

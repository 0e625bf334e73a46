//! Safe wrappers over libfdt's header checks, fdt_rw and fdt_wip functions.
//!
//! Every wrapper checks the preconditions libfdt leaves to its caller before
//! crossing the FFI boundary: the buffer holds a whole header and the header's
//! `totalsize` lies within the buffer (libfdt trusts `totalsize` as the blob's
//! extent). A buffer failing that yields `Err(Truncated)` without calling C.
//! Node offsets are `usize` like cellfdt's; values above `i32::MAX` are passed
//! as `i32::MAX` (an offset no blob can have), so libfdt reports BADOFFSET.

use crate::libfdt_sys as sys;
use cellfdt::Error;
use core::ffi::{c_char, c_int, c_void};
use std::ffi::CString;

pub type Result<T> = core::result::Result<T, Error>;

/// Size of a version-17 header.
pub const HEADER_SIZE: usize = 40;

/// libfdt return code to `Result`.
pub fn rc(code: c_int) -> Result<c_int> {
    if code >= 0 {
        Ok(code)
    } else {
        Err(Error::from_code(code).unwrap_or_else(|| panic!("libfdt returned unknown error code {code}")))
    }
}

fn rc0(code: c_int) -> Result<()> {
    rc(code).map(|_| ())
}

/// Big-endian u32 at `off` (0 when out of range).
pub fn be32(buf: &[u8], off: usize) -> u32 {
    buf.get(off..off + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Header field `totalsize` (libfdt's inline `fdt_totalsize`).
pub fn totalsize(buf: &[u8]) -> usize {
    be32(buf, 4) as usize
}

/// The `int` libfdt sees for a cellfdt `usize` offset.
pub fn c_off(off: usize) -> c_int {
    c_int::try_from(off).unwrap_or(c_int::MAX)
}

pub(crate) fn c_len(len: usize) -> c_int {
    c_int::try_from(len).expect("length exceeds libfdt's int range")
}

/// A NUL-terminated copy of `s`; names with an interior NUL cannot be passed
/// through libfdt's C-string API and are a test-generator bug.
pub(crate) fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| panic!("name {s:?} contains NUL; libfdt cannot take it"))
}

/// Check libfdt's caller preconditions for `buf` as a blob.
pub(crate) fn blob_ok(buf: &[u8]) -> Result<()> {
    if buf.len() < HEADER_SIZE || totalsize(buf) > buf.len() || buf.len() > c_int::MAX as usize {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// `fdt_check_header`; `blob` may be shorter than a header (padded copy).
pub fn check_header(blob: &[u8]) -> Result<()> {
    let padded = crate::AlignedBuf::from_slice_padded(blob, HEADER_SIZE);
    // SAFETY: `padded` holds at least HEADER_SIZE readable bytes, all that
    // fdt_check_header reads; it only reads.
    rc0(unsafe { sys::fdt_check_header(padded.as_ptr().cast()) })
}

/// `fdt_check_full(blob, blob.len())` for blobs known not to trip libfdt
/// 1.6.1's crash (see `check_full_or_skip`): fixtures and blobs libfdt wrote.
/// Panics, naming the bug, instead of calling libfdt on such a blob.
pub fn check_full(blob: &[u8]) -> Result<()> {
    check_full_or_skip(blob).unwrap_or_else(|| {
        panic!("libfdt 1.6.1 fdt_check_full would dereference NULL on this pre-v16 blob; use check_full_or_skip")
    })
}

/// `fdt_check_full(blob, blob.len())`, or None where libfdt 1.6.1 would crash.
///
/// libfdt 1.6.1 bug: fdt_check_full tests the root name with
/// `name = fdt_get_name(..); if (*name || len)` without checking for NULL, and
/// fdt_get_name returns NULL for a version < 16 blob whose node name holds no
/// '/' (old blobs store full paths). So a blob passing fdt_check_header with
/// version 2..15 and a root named e.g. "" (every v17 blob, after a lowered
/// version and last_comp_version) is a SIGSEGV. Later libfdt releases return
/// fdt_get_name's error (BADSTRUCTURE) there. A correct check_full must reject
/// every blob this returns None for: its root name has no leaf.
pub fn check_full_or_skip(blob: &[u8]) -> Option<Result<()>> {
    let padded = crate::AlignedBuf::from_slice_padded(blob, HEADER_SIZE);
    if root_name_hits_null_bug(&padded, blob.len()) {
        return None;
    }
    // SAFETY: fdt_check_full reads the header (padded to HEADER_SIZE) and then
    // only within `bufsize` = blob.len() after checking totalsize <= bufsize;
    // the blobs on which it would dereference NULL were refused above.
    Some(rc0(unsafe { sys::fdt_check_full(padded.as_ptr().cast(), blob.len()) }))
}

/// Whether fdt_check_full (1.6.1) would reach a root BEGIN_NODE whose name
/// fdt_get_name cannot give: it walks NOP and PROP tags to the first
/// BEGIN_NODE exactly as fdt_check_full does (stopping earlier only makes
/// fdt_check_full return earlier, which is safe), then asks fdt_get_name.
/// `padded` is the blob plus at least HEADER_SIZE zero bytes.
fn root_name_hits_null_bug(padded: &[u8], bufsize: usize) -> bool {
    const FDT_BEGIN_NODE: u32 = 1;
    const FDT_PROP: u32 = 3;
    const FDT_NOP: u32 = 4;
    if bufsize < HEADER_SIZE || be32(padded, 20) >= 0x10 || check_header(&padded[..bufsize]).is_err() {
        return false;
    }
    if totalsize(padded) > bufsize {
        return false;
    }
    let p = padded.as_ptr().cast::<c_void>();
    let mut next: c_int = 0;
    loop {
        let off = next;
        // SAFETY: the header passed fdt_check_header and its totalsize lies
        // within the buffer; fdt_next_tag and fdt_get_name read only through
        // fdt_offset_ptr, which bounds every access by totalsize.
        let tag = unsafe { sys::fdt_next_tag(p, off, &mut next) };
        // fdt_check_full stops on a negative next offset; one that does not
        // advance (a PROP length of -12) makes it spin, never reach the root.
        if next <= off {
            return false;
        }
        match tag {
            FDT_NOP | FDT_PROP => continue,
            // SAFETY: as above; a NULL length pointer is allowed.
            FDT_BEGIN_NODE => return unsafe { sys::fdt_get_name(p, off, core::ptr::null_mut()) }.is_null(),
            _ => return false,
        }
    }
}

/// `fdt_open_into(src, dst, dst.len())`.
pub fn open_into(src: &[u8], dst: &mut [u8]) -> Result<()> {
    blob_ok(src)?;
    let len = c_int::try_from(dst.len()).map_err(|_| Error::NoSpace)?;
    // SAFETY: src holds totalsize(src) bytes (checked); dst is writable for
    // dst.len() bytes and does not overlap src (distinct borrows).
    rc0(unsafe { sys::fdt_open_into(src.as_ptr().cast(), dst.as_mut_ptr().cast(), len) })
}

/// `fdt_open_into(buf, buf, buf.len())`.
pub fn open_in_place(buf: &mut [u8]) -> Result<()> {
    blob_ok(buf)?;
    let p = buf.as_mut_ptr().cast::<c_void>();
    // SAFETY: fdt_open_into supports src == buf (it uses memmove); the buffer
    // is writable for its whole length and holds the blob (checked).
    rc0(unsafe { sys::fdt_open_into(p, p, c_len(buf.len())) })
}

macro_rules! blob_mut_call {
    ($buf:expr, |$p:ident| $call:expr) => {{
        blob_ok($buf)?;
        let $p = $buf.as_mut_ptr().cast::<c_void>();
        // SAFETY: the blob's totalsize lies within the exclusively borrowed
        // buffer (checked by blob_ok); libfdt reads and writes only within
        // totalsize, and every name/value pointer passed is live for the call.
        unsafe { $call }
    }};
}

/// `fdt_pack`.
pub fn pack(buf: &mut [u8]) -> Result<()> {
    rc0(blob_mut_call!(buf, |p| sys::fdt_pack(p)))
}

/// `fdt_setprop`.
pub fn setprop(buf: &mut [u8], node: usize, name: &str, val: &[u8]) -> Result<()> {
    let n = cstr(name);
    let len = c_len(val.len());
    rc0(blob_mut_call!(buf, |p| sys::fdt_setprop(
        p,
        c_off(node),
        n.as_ptr(),
        val.as_ptr().cast(),
        len
    )))
}

/// `fdt_setprop_u32` (static inline in libfdt.h).
pub fn setprop_u32(buf: &mut [u8], node: usize, name: &str, v: u32) -> Result<()> {
    setprop(buf, node, name, &v.to_be_bytes())
}

/// `fdt_setprop_u64` (static inline in libfdt.h).
pub fn setprop_u64(buf: &mut [u8], node: usize, name: &str, v: u64) -> Result<()> {
    setprop(buf, node, name, &v.to_be_bytes())
}

/// `fdt_setprop_string` (a macro in libfdt.h): value includes the NUL.
pub fn setprop_str(buf: &mut [u8], node: usize, name: &str, v: &str) -> Result<()> {
    let mut val = v.as_bytes().to_vec();
    val.push(0);
    setprop(buf, node, name, &val)
}

/// `fdt_setprop_placeholder`; returns the offset of the value in `buf`.
pub fn setprop_placeholder(buf: &mut [u8], node: usize, name: &str, len: usize) -> Result<usize> {
    let n = cstr(name);
    let clen = c_len(len);
    let base = buf.as_ptr() as usize;
    let mut data: *mut c_void = core::ptr::null_mut();
    let dp = &mut data as *mut *mut c_void;
    rc0(blob_mut_call!(buf, |p| sys::fdt_setprop_placeholder(
        p,
        c_off(node),
        n.as_ptr(),
        clen,
        dp
    )))?;
    let off = (data as usize).checked_sub(base).expect("placeholder outside buffer");
    assert!(off + len <= buf.len(), "placeholder outside buffer");
    Ok(off)
}

/// `fdt_appendprop`.
pub fn appendprop(buf: &mut [u8], node: usize, name: &str, val: &[u8]) -> Result<()> {
    let n = cstr(name);
    let len = c_len(val.len());
    rc0(blob_mut_call!(buf, |p| sys::fdt_appendprop(
        p,
        c_off(node),
        n.as_ptr(),
        val.as_ptr().cast(),
        len
    )))
}

/// `fdt_appendprop_addrrange`.
pub fn appendprop_addrrange(
    buf: &mut [u8],
    parent: usize,
    node: usize,
    name: &str,
    addr: u64,
    size: u64,
) -> Result<()> {
    let n = cstr(name);
    rc0(blob_mut_call!(buf, |p| sys::fdt_appendprop_addrrange(
        p,
        c_off(parent),
        c_off(node),
        n.as_ptr(),
        addr,
        size
    )))
}

/// `fdt_delprop`.
pub fn delprop(buf: &mut [u8], node: usize, name: &str) -> Result<()> {
    let n = cstr(name);
    rc0(blob_mut_call!(buf, |p| sys::fdt_delprop(p, c_off(node), n.as_ptr())))
}

/// `fdt_add_subnode_namelen`; returns the new node's offset.
pub fn add_subnode(buf: &mut [u8], parent: usize, name: &str) -> Result<usize> {
    let len = c_len(name.len());
    let np = name.as_ptr().cast::<c_char>();
    rc(blob_mut_call!(buf, |p| sys::fdt_add_subnode_namelen(
        p,
        c_off(parent),
        np,
        len
    )))
    .map(|o| o as usize)
}

/// `fdt_del_node`.
pub fn del_node(buf: &mut [u8], node: usize) -> Result<()> {
    rc0(blob_mut_call!(buf, |p| sys::fdt_del_node(p, c_off(node))))
}

/// `fdt_set_name`.
pub fn set_name(buf: &mut [u8], node: usize, name: &str) -> Result<()> {
    let n = cstr(name);
    rc0(blob_mut_call!(buf, |p| sys::fdt_set_name(p, c_off(node), n.as_ptr())))
}

/// `fdt_add_mem_rsv`.
pub fn add_mem_rsv(buf: &mut [u8], addr: u64, size: u64) -> Result<()> {
    rc0(blob_mut_call!(buf, |p| sys::fdt_add_mem_rsv(p, addr, size)))
}

/// `fdt_del_mem_rsv`.
pub fn del_mem_rsv(buf: &mut [u8], n: usize) -> Result<()> {
    rc0(blob_mut_call!(buf, |p| sys::fdt_del_mem_rsv(p, c_off(n))))
}

/// `fdt_setprop_inplace`.
pub fn setprop_inplace(buf: &mut [u8], node: usize, name: &str, val: &[u8]) -> Result<()> {
    let n = cstr(name);
    let len = c_len(val.len());
    rc0(blob_mut_call!(buf, |p| sys::fdt_setprop_inplace(
        p,
        c_off(node),
        n.as_ptr(),
        val.as_ptr().cast(),
        len
    )))
}

/// `fdt_setprop_inplace_namelen_partial`.
pub fn setprop_inplace_partial(buf: &mut [u8], node: usize, name: &str, idx: u32, val: &[u8]) -> Result<()> {
    let len = c_len(val.len());
    let nl = c_len(name.len());
    let np = name.as_ptr().cast::<c_char>();
    rc0(blob_mut_call!(buf, |p| sys::fdt_setprop_inplace_namelen_partial(
        p,
        c_off(node),
        np,
        nl,
        idx,
        val.as_ptr().cast(),
        len
    )))
}

/// `fdt_nop_property`.
pub fn nop_property(buf: &mut [u8], node: usize, name: &str) -> Result<()> {
    let n = cstr(name);
    rc0(blob_mut_call!(buf, |p| sys::fdt_nop_property(
        p,
        c_off(node),
        n.as_ptr()
    )))
}

/// `fdt_nop_node`.
pub fn nop_node(buf: &mut [u8], node: usize) -> Result<()> {
    rc0(blob_mut_call!(buf, |p| sys::fdt_nop_node(p, c_off(node))))
}

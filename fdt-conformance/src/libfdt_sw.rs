//! Safe wrapper over libfdt's sequential writer (fdt_sw.c) and empty tree.

use crate::libfdt::{Result, c_len, cstr, rc};
use crate::libfdt_sys as sys;
use core::ffi::{c_int, c_void};

/// `fdt_create_empty_tree(buf, buf.len())`.
pub fn create_empty_tree(buf: &mut [u8]) -> Result<()> {
    let len = c_int::try_from(buf.len()).map_err(|_| cellfdt::Error::NoSpace)?;
    // SAFETY: libfdt writes at most `len` bytes into the exclusively borrowed buffer.
    rc(unsafe { sys::fdt_create_empty_tree(buf.as_mut_ptr().cast(), len) }).map(|_| ())
}

/// A tree being built by libfdt's `fdt_create` ... `fdt_finish`.
pub struct SwWriter<'a> {
    buf: &'a mut [u8],
}

impl<'a> SwWriter<'a> {
    /// `fdt_create(buf, buf.len())`.
    pub fn create(buf: &'a mut [u8]) -> Result<SwWriter<'a>> {
        Self::create_with_flags(buf, 0)
    }

    /// `fdt_create_with_flags(buf, buf.len(), flags)`.
    pub fn create_with_flags(buf: &'a mut [u8], flags: u32) -> Result<SwWriter<'a>> {
        let len = c_int::try_from(buf.len()).map_err(|_| cellfdt::Error::NoSpace)?;
        // SAFETY: libfdt writes its sequential-write header into at most `len`
        // bytes of the exclusively borrowed buffer.
        rc(unsafe { sys::fdt_create_with_flags(buf.as_mut_ptr().cast(), len, flags) })?;
        Ok(SwWriter { buf })
    }

    fn p(&mut self) -> *mut c_void {
        self.buf.as_mut_ptr().cast()
    }

    /// `fdt_add_reservemap_entry`.
    pub fn add_reservemap_entry(&mut self, addr: u64, size: u64) -> Result<()> {
        let p = self.p();
        // SAFETY: `buf` was initialised by fdt_create with its own length as
        // totalsize and stays exclusively borrowed; libfdt stays within it.
        rc(unsafe { sys::fdt_add_reservemap_entry(p, addr, size) }).map(|_| ())
    }

    /// `fdt_finish_reservemap`.
    pub fn finish_reservemap(&mut self) -> Result<()> {
        let p = self.p();
        // SAFETY: as in add_reservemap_entry.
        rc(unsafe { sys::fdt_finish_reservemap(p) }).map(|_| ())
    }

    /// `fdt_begin_node`.
    pub fn begin_node(&mut self, name: &str) -> Result<()> {
        let n = cstr(name);
        let p = self.p();
        // SAFETY: as in add_reservemap_entry; `n` is a live C string.
        rc(unsafe { sys::fdt_begin_node(p, n.as_ptr()) }).map(|_| ())
    }

    /// `fdt_property`.
    pub fn property(&mut self, name: &str, val: &[u8]) -> Result<()> {
        let n = cstr(name);
        let len = c_len(val.len());
        let p = self.p();
        // SAFETY: as in add_reservemap_entry; `n` and `val` are live for the call.
        rc(unsafe { sys::fdt_property(p, n.as_ptr(), val.as_ptr().cast(), len) }).map(|_| ())
    }

    /// `fdt_property_u32` (static inline in libfdt.h).
    pub fn property_u32(&mut self, name: &str, v: u32) -> Result<()> {
        self.property(name, &v.to_be_bytes())
    }

    /// `fdt_end_node`.
    pub fn end_node(&mut self) -> Result<()> {
        let p = self.p();
        // SAFETY: as in add_reservemap_entry.
        rc(unsafe { sys::fdt_end_node(p) }).map(|_| ())
    }

    /// `fdt_finish`; returns the blob's totalsize.
    pub fn finish(mut self) -> Result<usize> {
        let p = self.p();
        // SAFETY: as in add_reservemap_entry.
        rc(unsafe { sys::fdt_finish(p) })?;
        Ok(crate::libfdt::totalsize(self.buf))
    }
}

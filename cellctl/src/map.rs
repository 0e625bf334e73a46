//! The function's BAR0 (sysfs `resource0`) and the staging window
//! (`/dev/mem` at the window's IPA) mapped into this process.

use crate::error::Error;
use crate::regs::{Regs, Window};
use std::ffi::CString;
use std::path::Path;

/// A shared mapping of `len` bytes of `path` at `offset`, read-write,
/// uncached (O_SYNC).
struct Mapping {
    base: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(path: &Path, offset: u64, len: u64, lock: bool) -> Result<Self, Error> {
        let what = || format!("{} at {offset:#x}+{len:#x}", path.display());
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Io(format!("{}: NUL in path", path.display())))?;
        let len = usize::try_from(len).map_err(|_| Error::Io(format!("{}: too large", what())))?;
        let offset = libc::off_t::try_from(offset).map_err(|_| Error::Io(format!("{}: offset too large", what())))?;
        // SAFETY: a plain open(2) of a NUL-terminated path.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_SYNC | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Error::Io(format!(
                "open {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            )));
        }
        // One cellctl at a time drives the mailbox (the lock goes with the
        // process; the mapping outlives the descriptor).
        // SAFETY: flock(2) on the descriptor just opened.
        if lock && unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
            let e = std::io::Error::last_os_error();
            // SAFETY: closing the descriptor just opened.
            unsafe { libc::close(fd) };
            return Err(Error::Io(format!("lock {}: {e}", path.display())));
        }
        // SAFETY: a new shared mapping chosen by the kernel; nothing in this
        // process aliases it.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                offset,
            )
        };
        if p == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            // SAFETY: closing the descriptor just opened.
            unsafe { libc::close(fd) };
            return Err(Error::Io(format!("mmap {}: {e}", what())));
        }
        if !lock {
            // SAFETY: closing the descriptor just opened (the mapping stays).
            unsafe { libc::close(fd) };
        }
        Ok(Self { base: p.cast(), len })
    }

    fn at<T>(&self, off: u64) -> *mut T {
        let off = usize::try_from(off).unwrap_or(usize::MAX);
        assert!(
            off.checked_add(size_of::<T>()).is_some_and(|e| e <= self.len) && off.is_multiple_of(align_of::<T>()),
            "register access at {off:#x} outside the mapping"
        );
        // In bounds and aligned: checked above.
        self.base.wrapping_add(off).cast()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped; no reference into it outlives self.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// BAR0 of the device at `dev` (a sysfs PCI device directory): memory
/// decoding enabled, `resource0` mapped and locked.
pub struct Bar0(Mapping);

impl Bar0 {
    pub fn open(dev: &Path) -> Result<Self, Error> {
        let (_, size) = crate::sysfs::bar0(dev)?;
        // No driver binds the function: enabling it through sysfs turns
        // memory decoding on (harmless when it already is).
        let enable = dev.join("enable");
        std::fs::write(&enable, "1").map_err(|e| Error::Io(format!("{}: {e}", enable.display())))?;
        Ok(Self(Mapping::new(&dev.join("resource0"), 0, size, true)?))
    }
}

// Every access is one aligned volatile load or store: the shim decodes it
// from the trap syndrome (a pair or a vector access would not be).
impl Regs for Bar0 {
    fn read32(&mut self, off: u64) -> u32 {
        // SAFETY: inside the mapped BAR, aligned (Mapping::at checks).
        unsafe { self.0.at::<u32>(off).read_volatile() }
    }
    fn write32(&mut self, off: u64, value: u32) {
        // SAFETY: inside the mapped BAR, aligned (Mapping::at checks).
        unsafe { self.0.at::<u32>(off).write_volatile(value) }
    }
    fn read64(&mut self, off: u64) -> u64 {
        // SAFETY: inside the mapped BAR, aligned (Mapping::at checks).
        unsafe { self.0.at::<u64>(off).read_volatile() }
    }
    fn write64(&mut self, off: u64, value: u64) {
        // SAFETY: inside the mapped BAR, aligned (Mapping::at checks).
        unsafe { self.0.at::<u64>(off).write_volatile(value) }
    }
}

/// The staging window through /dev/mem (it is this cell's memory, outside
/// /memory, so the kernel maps it uncached as it does device memory).
pub struct DevMemWindow(Mapping);

impl DevMemWindow {
    pub fn open(ipa: u64, size: u64) -> Result<Self, Error> {
        Ok(Self(Mapping::new(Path::new("/dev/mem"), ipa, size, false)?))
    }
}

impl Window for DevMemWindow {
    fn size(&self) -> u64 {
        self.0.len as u64
    }
    /// Aligned 8-byte stores only: the mapping is device memory to this
    /// process, where an unaligned or zeroing (DC ZVA) memcpy would fault.
    fn fill(&mut self, data: &[u8]) {
        for (k, chunk) in data.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            // SAFETY: inside the mapping (data.len() <= size, checked by
            // the caller; Mapping::at checks again), aligned.
            unsafe { self.0.at::<u64>(8 * k as u64).write_volatile(u64::from_le_bytes(w)) }
        }
    }
}

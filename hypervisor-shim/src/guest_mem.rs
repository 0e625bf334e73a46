//! Memory a cell can write while the shim reads it: its comm region (shim
//! pages mapped into the cell) and its RAM. The shim never holds a Rust
//! reference into either: every access is a volatile copy through a raw
//! pointer into or out of shim-owned memory, inside bounds checked when the
//! range was made, so whatever the guest races in is only data.

use crate::arch;
use cellboot_abi::zerocopy::IntoBytes;
use cellboot_abi::{COMM_REGION_SIZE, CellConfig, CommRegion, MAX_CELLS, mem};
use core::cell::UnsafeCell;
use core::mem::offset_of;

/// Backing of each cell's comm region (shim memory, mapped into the cell).
#[repr(C, align(4096))]
struct CommPages(UnsafeCell<[[u8; COMM_REGION_SIZE]; MAX_CELLS]>);

// SAFETY: the pages are only reached through raw pointers with volatile
// accesses (below); no reference to them is ever made.
unsafe impl Sync for CommPages {}

static COMM: CommPages = CommPages(UnsafeCell::new([[0; COMM_REGION_SIZE]; MAX_CELLS]));

/// Physical address of cell `ci`'s comm region (EL2 maps shim memory 1:1).
pub fn comm_pa(ci: usize) -> u64 {
    // SAFETY: only the address is taken (the index is bounds-checked).
    unsafe { (&raw const (*COMM.0.get())[ci]) as u64 }
}

fn comm_range(ci: usize) -> GuestRange {
    GuestRange {
        pa: comm_pa(ci),
        len: COMM_REGION_SIZE as u64,
    }
}

/// Cleans and invalidates cell `ci`'s comm region: what the shim wrote
/// reaches memory a cell reads with its caches off, and what the cell's
/// loader wrote with its caches off is not hidden by stale shim lines.
pub fn comm_flush(ci: usize) {
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);
}

/// Replaces cell `ci`'s comm region with `r` (zeros after it), while the
/// cell does not run.
pub fn comm_store(ci: usize, r: &CommRegion) {
    let bytes = r.as_bytes();
    let p = comm_pa(ci) as *mut u8;
    for i in 0..COMM_REGION_SIZE {
        // SAFETY: inside cell `ci`'s comm page, reached only through raw
        // pointers (see `COMM`).
        unsafe { p.add(i).write_volatile(bytes.get(i).copied().unwrap_or(0)) };
    }
    // Shim memory (cached at EL2) the cell reads with its caches off.
    comm_flush(ci);
}

/// The `cell_state` word of cell `ci`'s comm header.
pub fn comm_set_cell_state(ci: usize, state: u32) {
    let off = offset_of!(CommRegion, header) + offset_of!(cellboot_abi::JhCommHeader, cell_state);
    comm_range(ci).write_u32(off as u64, state);
    comm_flush(ci);
}

/// The loader's error report in cell `ci`'s comm region (NUL-terminated
/// unless it fills the field), as the loader wrote it with its caches off.
pub fn comm_loader_error(ci: usize) -> GuestRange {
    comm_flush(ci);
    let off = offset_of!(CommRegion, info) + offset_of!(cellboot_abi::CellbootInfo, error);
    GuestRange {
        pa: comm_pa(ci) + off as u64,
        len: 256,
    }
}

/// Physical address of [ipa, ipa+len) when it lies in one RAM (non-IO)
/// region of the cell with the wanted access.
pub fn ipa_to_pa(c: &CellConfig, ipa: u64, len: u64, write: bool) -> Option<u64> {
    let end = ipa.checked_add(len)?;
    c.mem_regions().iter().find_map(|r| {
        let ok = r.flags & mem::IO == 0
            && r.flags & mem::READ != 0
            && (!write || r.flags & mem::WRITE != 0)
            && ipa >= r.virt
            && end <= r.virt_end();
        ok.then(|| r.phys + (ipa - r.virt))
    })
}

/// A physical range of guest-shared memory the shim may copy to and from.
#[derive(Clone, Copy)]
pub struct GuestRange {
    pa: u64,
    len: u64,
}

impl GuestRange {
    /// [ipa, ipa+len) of cell `c`'s RAM, when it lies in one RAM region.
    pub fn of_cell(c: &CellConfig, ipa: u64, len: u64) -> Option<GuestRange> {
        ipa_to_pa(c, ipa, len, false).map(|pa| GuestRange { pa, len })
    }

    /// # Safety
    /// [pa, pa+len) must be RAM outside the shim's own memory (a cell's or
    /// a link's, from the validated config), mapped at EL2.
    pub unsafe fn new(pa: u64, len: u64) -> GuestRange {
        GuestRange { pa, len }
    }

    pub fn pa(&self) -> u64 {
        self.pa
    }

    /// Every access stays inside the range: a miss is a shim bug.
    fn check(&self, off: u64, n: usize) {
        if off.checked_add(n as u64).is_none_or(|e| e > self.len) {
            fatal!("access outside a guest range")
        }
    }

    /// The byte at `off`; 0 (as a NUL ends a string) past the end.
    pub fn byte(&self, off: u64) -> u8 {
        if off >= self.len {
            return 0;
        }
        // SAFETY: inside the range (checked above), which is guest-shared
        // memory no Rust object aliases (`new`'s contract).
        unsafe { ((self.pa + off) as *const u8).read_volatile() }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// One aligned 32-bit store at `off` (a word the guest reads as one).
    pub fn write_u32(&self, off: u64, v: u32) {
        self.check(off, 4);
        // SAFETY: as in `byte`; callers pass 4-aligned offsets of an aligned
        // range.
        unsafe { ((self.pa + off) as *mut u32).write_volatile(v) };
    }
}

#[cfg(feature = "mgmt")]
impl GuestRange {
    /// Copies `src` into this range (as many bytes as the shorter holds),
    /// as memmove does when the two overlap: 8-byte volatile words when
    /// both are 8-byte aligned, bytes otherwise. Lines a cacheable owner
    /// left over the destination go first (as in [`copy_in`]).
    pub fn copy_from(&self, src: &GuestRange) {
        let n = self.len.min(src.len);
        arch::dcache_clean_inval(self.pa, n);
        let unit: u64 = if (self.pa | src.pa).is_multiple_of(8) { 8 } else { 1 };
        let words = n / unit;
        let one = |k: u64| {
            let at = k * unit;
            // SAFETY: `at + unit <= n`, inside both ranges, which are
            // guest memory no Rust object aliases (`new`'s contract).
            unsafe {
                if unit == 8 {
                    ((self.pa + at) as *mut u64).write_volatile(((src.pa + at) as *const u64).read_volatile());
                } else {
                    ((self.pa + at) as *mut u8).write_volatile(((src.pa + at) as *const u8).read_volatile());
                }
            }
        };
        let tail = |k: u64| {
            // SAFETY: as above, a byte below `n`.
            unsafe { ((self.pa + k) as *mut u8).write_volatile(((src.pa + k) as *const u8).read_volatile()) }
        };
        if self.pa > src.pa && self.pa < src.pa + n {
            (words * unit..n).rev().for_each(tail);
            (0..words).rev().for_each(one);
        } else {
            (0..words).for_each(one);
            (words * unit..n).for_each(tail);
        }
        arch::dsb();
    }
}

/// Copies `data` into cell memory at `ipa` (shim-side, while the cell does
/// not run: at power-on or during its restart).
pub fn copy_in(c: &CellConfig, ipa: u64, data: &[u8]) -> Result<(), ()> {
    let pa = ipa_to_pa(c, ipa, data.len() as u64, false).ok_or(())?;
    // Cell RAM is non-cacheable at EL2 (el2_map), so the copy lands in
    // memory, where the cell's MMU-off reads find it. Lines some earlier
    // cacheable owner (boot firmware) left there go first: written back
    // later, they would land on top of the copy.
    arch::dcache_clean_inval(pa, data.len() as u64);
    // SAFETY: [pa, pa+len) is RAM of this cell (config-validated to be inside
    // board RAM and outside the shim's memory), so it aliases no Rust object;
    // no CPU of the cell runs, so nothing races the copy.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), pa as *mut u8, data.len()) };
    arch::dsb();
    Ok(())
}

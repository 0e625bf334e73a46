//! The board DTB handed over in x0: checked, then copied into shim memory
//! (firmware may have placed it in what becomes cell RAM).

use crate::arch;

/// Largest board DTB the shim keeps (used part; QEMU's header claims 1 MiB
/// but uses ~8 KiB, the Pi 4's is ~55 KiB).
pub const DTB_MAX: usize = 128 * 1024;
const FDT_MAGIC: u32 = 0xd00d_feed;
const HEADER_LEN: u64 = 40;

#[repr(C, align(4096))]
struct DtbBuf([u8; DTB_MAX]);
static DTB: spin::Mutex<DtbBuf> = spin::Mutex::new(DtbBuf([0; DTB_MAX]));
static DTB_LEN: spin::Once<usize> = spin::Once::new();

pub enum DtbError {
    Null,
    Unaligned(u64),
    OutsideRam(u64),
    BadMagic(u64, u32),
    BadVersion(u32),
    BadLayout(&'static str),
    TooLarge(usize),
    /// cellfdt's full structural check (libfdt's fdt_check_full) failed.
    Structure(cellfdt::Error),
}

impl core::fmt::Display for DtbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DtbError::Null => write!(f, "x0 is 0: the boot firmware passed no device tree"),
            DtbError::Unaligned(a) => write!(f, "DTB address {a:#x} is not 8-byte aligned"),
            DtbError::OutsideRam(a) => write!(f, "DTB at {a:#x} is not inside board RAM"),
            DtbError::BadMagic(a, m) => write!(f, "no DTB at {a:#x}: magic {m:#010x}, expected 0xd00dfeed"),
            DtbError::BadVersion(v) => write!(f, "DTB version {v} is not supported (need 16 or 17)"),
            DtbError::BadLayout(what) => write!(f, "DTB header is inconsistent: {what}"),
            DtbError::TooLarge(n) => write!(f, "DTB uses {n} bytes, the shim keeps at most {DTB_MAX}"),
            DtbError::Structure(e) => write!(f, "DTB structure check failed: {e} (FDT_ERR code {})", e.code()),
        }
    }
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Checks the DTB at `addr` (inside [ram_base, ram_end)) and copies its used
/// part into shim memory, with `totalsize` trimmed to that part.
pub fn take(addr: u64, ram_base: u64, ram_end: u64) -> Result<usize, DtbError> {
    if addr == 0 {
        return Err(DtbError::Null);
    }
    if !addr.is_multiple_of(8) {
        return Err(DtbError::Unaligned(addr));
    }
    if addr < ram_base || addr.saturating_add(HEADER_LEN) > ram_end {
        return Err(DtbError::OutsideRam(addr));
    }
    // SAFETY: 40 bytes inside board RAM (checked), read-only.
    let hdr = unsafe { core::slice::from_raw_parts(addr as *const u8, HEADER_LEN as usize) };
    let magic = be32(hdr, 0);
    if magic != FDT_MAGIC {
        return Err(DtbError::BadMagic(addr, magic));
    }
    let total = be32(hdr, 4) as u64;
    let (off_struct, off_strings, off_rsv) = (be32(hdr, 8) as u64, be32(hdr, 12) as u64, be32(hdr, 16) as u64);
    let (version, last_comp) = (be32(hdr, 20), be32(hdr, 24));
    let (size_strings, size_struct) = (be32(hdr, 32) as u64, be32(hdr, 36) as u64);
    if version < 16 || last_comp > 17 {
        return Err(DtbError::BadVersion(version));
    }
    if addr.saturating_add(total) > ram_end {
        return Err(DtbError::OutsideRam(addr));
    }
    let struct_end = off_struct + size_struct;
    let strings_end = off_strings + size_strings;
    if off_rsv < HEADER_LEN || off_struct < HEADER_LEN || off_strings < HEADER_LEN {
        return Err(DtbError::BadLayout("a block starts inside the header"));
    }
    if struct_end > total || strings_end > total || off_rsv > total {
        return Err(DtbError::BadLayout("a block ends beyond totalsize"));
    }
    if off_struct % 4 != 0 || off_rsv % 8 != 0 {
        return Err(DtbError::BadLayout("misaligned block"));
    }
    // The memory reservation map ends with a (0, 0) entry.
    let mut rsv_end = off_rsv;
    loop {
        if rsv_end + 16 > total {
            return Err(DtbError::BadLayout("memory reservation map not terminated"));
        }
        // SAFETY: inside [addr, addr + total), checked above.
        let e = unsafe { core::slice::from_raw_parts((addr + rsv_end) as *const u8, 16) };
        rsv_end += 16;
        if e.iter().all(|&b| b == 0) {
            break;
        }
    }
    let used = struct_end.max(strings_end).max(rsv_end).next_multiple_of(8) as usize;
    if used > DTB_MAX {
        return Err(DtbError::TooLarge(used));
    }
    let mut buf = DTB.lock();
    // SAFETY: [addr, addr + used) is inside the blob (used <= total, checked).
    let src = unsafe { core::slice::from_raw_parts(addr as *const u8, used.min(total as usize)) };
    buf.0[..src.len()].copy_from_slice(src);
    buf.0[4..8].copy_from_slice(&(used as u32).to_be_bytes());
    // The copy is what every cell's loader gets: check it whole.
    cellfdt::Fdt::new(&buf.0[..used]).and_then(|f| f.check_full()).map_err(DtbError::Structure)?;
    DTB_LEN.call_once(|| used);
    arch::dsb();
    Ok(used)
}

/// Runs `f` on the copied DTB.
pub fn with<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let len = DTB_LEN.get().copied().unwrap_or(0);
    let buf = DTB.lock();
    f(&buf.0[..len])
}

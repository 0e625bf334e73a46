//! The board DTB handed over in x0: checked, then copied into shim memory
//! (firmware may have placed it in what becomes cell RAM).

// The DTB is untrusted input: checked arithmetic only.
#![deny(clippy::arithmetic_side_effects)]

use crate::arch;
use cellboot_abi::staging::{DtbTrimError, FDT_HEADER_LEN, FDT_MAGIC, be32, trim_board_dtb};
use cellboot_abi::text;

/// Largest board DTB the shim keeps (used part; QEMU's header claims 1 MiB
/// but uses ~8 KiB, the Pi 4's is ~55 KiB).
pub const DTB_MAX: usize = cellboot_abi::staging::BOARD_DTB_MAX;
const HEADER_LEN: u64 = FDT_HEADER_LEN as u64;

#[repr(C, align(4096))]
struct DtbBuf([u8; DTB_MAX]);
static DTB: crate::lock::Mutex<DtbBuf> = crate::lock::Mutex::new(DtbBuf([0; DTB_MAX]));
static DTB_LEN: spin::Once<usize> = spin::Once::new();

pub enum DtbError {
    Null,
    Unaligned(u64),
    OutsideRam(u64),
    BadMagic(u64, u32),
    /// Header, reservation map or size (`cellboot_abi::staging::trim_board_dtb`).
    Trim(DtbTrimError),
    /// cellfdt's full structural check (libfdt's fdt_check_full) failed.
    Structure(cellfdt::Error),
}

impl text::Render for DtbError {
    fn render(&self, s: &mut dyn text::Sink) {
        match *self {
            DtbError::Null => text::write(
                s,
                "x0 is 0: the boot firmware passed no device tree",
                &cellboot_abi::args!(),
            ),
            DtbError::Unaligned(a) => {
                text::write(s, "DTB address {:#x} is not 8-byte aligned", &cellboot_abi::args!(a))
            }
            DtbError::OutsideRam(a) => text::write(s, "DTB at {:#x} is not inside board RAM", &cellboot_abi::args!(a)),
            DtbError::BadMagic(a, m) => text::write(
                s,
                "no DTB at {:#x}: magic {:#010x}, expected 0xd00dfeed",
                &cellboot_abi::args!(a, m),
            ),
            DtbError::Trim(e) => text::write(s, "{}", &cellboot_abi::args!(e)),
            // Signed codes printed through u64's Display: the shim's 64 KiB.
            DtbError::Structure(e) => text::write(
                s,
                "DTB structure check failed: {} (FDT_ERR code -{})",
                &cellboot_abi::args!(e.name(), e.code().unsigned_abs()),
            ),
        }
    }
}
cellboot_abi::render_arg!(DtbError);

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
    // Written by the boot firmware, maybe with its caches off: drop any
    // stale line the shim's cached view could hit (QEMU virt puts the DTB
    // inside the hypervisor region, which EL2 maps cacheable).
    arch::dcache_clean_inval(addr, HEADER_LEN);
    // SAFETY: 40 bytes inside board RAM (checked), read-only.
    let hdr = unsafe { core::slice::from_raw_parts(addr as *const u8, HEADER_LEN as usize) };
    let magic = be32(hdr, 0);
    if magic != FDT_MAGIC {
        return Err(DtbError::BadMagic(addr, magic));
    }
    let total = be32(hdr, 4) as u64;
    if total < HEADER_LEN || addr.saturating_add(total) > ram_end {
        return Err(DtbError::OutsideRam(addr));
    }
    arch::dcache_clean_inval(addr, total);
    // SAFETY: [addr, addr + total) is inside board RAM (checked), read-only;
    // the shim owns all RAM until the cells start.
    let blob = unsafe { core::slice::from_raw_parts(addr as *const u8, total as usize) };
    let mut buf = DTB.lock();
    let used = trim_board_dtb(blob, &mut buf.0).map_err(DtbError::Trim)?;
    // The copy is what every cell's loader gets: check it whole.
    cellfdt::Fdt::new(&buf.0[..used])
        .and_then(|f| f.check_full())
        .map_err(DtbError::Structure)?;
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

/// Whether [start, end) lies inside one `reg` entry of a root-level node
/// with `device_type = "memory"` in the copied DTB (which `take` checked
/// whole). Anything unreadable answers false.
pub fn in_memory(start: u64, end: u64) -> bool {
    with(|d| {
        let Ok(fdt) = cellfdt::Fdt::new(d) else {
            return false;
        };
        fdt.subnodes(0).any(|n| {
            fdt.getprop(n, "device_type").is_ok_and(|t| t == b"memory\0")
                && fdt.reg(n).is_ok_and(|mut reg| {
                    reg.any(|(base, size)| base <= start && base.checked_add(size).is_some_and(|top| end <= top))
                })
        })
    })
}

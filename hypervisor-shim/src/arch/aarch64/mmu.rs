//! The shim's own EL2 stage-1 translation: an identity map (VA = PA) so the
//! shim runs with data and instruction caches on. 4 KiB granule, 39-bit VA
//! (walk from level 1 like stage 2), 1 GiB / 2 MiB blocks where alignment
//! allows, tables from a static pool in the image's BSS (no heap).
//!
//! Only the boot CPU edits the tables, and only before any other CPU leaves
//! the firmware: first with the MMU off (`crate::el2_map::early`), then with
//! it on, adding entries to slots that were invalid. A live entry is never
//! changed, so no break-before-make sequence is ever needed; the builder
//! refuses instead. Which ranges get which attributes is board data, decided
//! in `crate::el2_map`; this file only knows the descriptor format.

use super::regs;
use crate::descriptor::{ADDR_MASK, STAGE1, TABLE, VALID};
use aarch64_cpu::registers::{MAIR_EL2, SCTLR_EL2, TCR_EL2};
use core::arch::asm;

const ENTRIES: usize = 512;
/// Root + a few level-2/3 tables per board (both boards use 5 or fewer).
const POOL_TABLES: usize = 12;
pub const VA_BITS: u32 = 39;

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

struct Pool {
    tables: [Table; POOL_TABLES],
    used: usize,
}

static mut POOL: Pool = Pool {
    tables: [const { Table([0; ENTRIES]) }; POOL_TABLES],
    used: 0,
};

/// What `el2_mmu_on` (boot.s) loads on every CPU: MAIR_EL2, TCR_EL2,
/// TTBR0_EL2, SCTLR_EL2. Written once by the boot CPU with its MMU off (so it
/// is in memory, where secondaries read it with theirs off); SCTLR 0 means
/// "no map yet: stay off".
#[unsafe(no_mangle)]
static mut EL2_MMU: [u64; 4] = [0; 4];

/// MAIR_EL2 slots (AttrIndx): 0 Normal WB RA/WA, 1 Device-nGnRE, 2 Normal NC.
const MAIR: u64 = MAIR_EL2::Attr0_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc.value
    | MAIR_EL2::Attr0_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc.value
    | MAIR_EL2::Attr1_Device::nonGathering_nonReordering_EarlyWriteAck.value
    | MAIR_EL2::Attr2_Normal_Outer::NonCacheable.value
    | MAIR_EL2::Attr2_Normal_Inner::NonCacheable.value;
const _: () = assert!(MAIR == 0x44_04ff);
const XN: u64 = STAGE1::XN::SET.value;
const AP_RO: u64 = STAGE1::AP_RO::SET.value;
/// Every leaf: accessed, AP[1] as RES1.
const LEAF: u64 = STAGE1::AF::SET.value | STAGE1::AP_RES1::SET.value;
const WRITE_BACK: u64 = STAGE1::SH::Inner.value;
const DEVICE: u64 = STAGE1::ATTR_INDX.val(1).value;
const NON_CACHEABLE: u64 = STAGE1::ATTR_INDX.val(2).value | STAGE1::SH::Outer.value;

/// Memory type of a shim mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    /// Normal, inner+outer write-back, read/write-allocate, inner shareable.
    WriteBack,
    /// Normal, non-cacheable: never allocates a cache line.
    NonCacheable,
    /// Device-nGnRE: MMIO (never speculated, posted writes allowed).
    Device,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read-only, executable: the shim's text.
    Text,
    ReadOnly,
    ReadWrite,
}

/// Why a range cannot be mapped, and the address where it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapError(pub &'static str, pub u64);

const UNALIGNED: &str = "not 4 KiB aligned";
const TOO_HIGH: &str = "beyond the 39-bit identity map or the CPU's PA range";
const OUT_OF_TABLES: &str = "out of EL2 page tables (raise mmu::POOL_TABLES)";
/// A live entry is never changed (no break-before-make needed).
const CONFLICT: &str = "already mapped with other attributes";

fn leaf_attrs(mem: Mem, access: Access) -> u64 {
    let mut a = LEAF;
    a |= match mem {
        Mem::WriteBack => WRITE_BACK,
        Mem::Device => DEVICE,
        Mem::NonCacheable => NON_CACHEABLE,
    };
    a |= match access {
        Access::Text => AP_RO,
        Access::ReadOnly => AP_RO | XN,
        Access::ReadWrite => XN,
    };
    // Device memory is never executable: speculative fetches could hit MMIO.
    if mem == Mem::Device {
        a |= XN;
    }
    a
}

/// Runs `f` on the table pool.
fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    // SAFETY: only the boot CPU calls into this module's builders, before any
    // other CPU runs shim code (module docs); no lock is used because the
    // first calls run with the MMU off, where exclusives are not guaranteed.
    // clippy's `&mut POOL` would be a reference to a static mut, which
    // edition 2024 rejects: the raw-pointer detour is the point.
    #[allow(clippy::deref_addrof)]
    f(unsafe { &mut *(&raw mut POOL) })
}

impl Pool {
    fn alloc(&mut self) -> Result<usize, MapError> {
        if self.used == POOL_TABLES {
            return Err(MapError(OUT_OF_TABLES, 0));
        }
        self.used += 1;
        Ok(self.used - 1)
    }

    fn index_of(&self, pa: u64) -> Option<usize> {
        let off = pa.checked_sub(self.tables.as_ptr() as u64)?;
        let i = (off / 4096) as usize;
        (i < self.used && off % 4096 == 0).then_some(i)
    }

    fn map(&mut self, start: u64, end: u64, attrs: u64, pa_limit: u64) -> Result<(), MapError> {
        if start & 0xfff != 0 || end & 0xfff != 0 {
            return Err(MapError(UNALIGNED, if start & 0xfff != 0 { start } else { end }));
        }
        if end > pa_limit.min(1 << VA_BITS) {
            return Err(MapError(TOO_HIGH, end));
        }
        if self.used == 0 {
            self.alloc()?; // the root
        }
        let mut a = start;
        while a < end {
            let (mut t, mut level) = (0usize, 1u32);
            loop {
                let shift = 39 - 9 * level;
                let block = 1u64 << shift;
                let idx = ((a >> shift) & 0x1ff) as usize;
                let e = self.tables[t].0[idx];
                let is_table = level < 3 && e & (VALID | TABLE) == VALID | TABLE;
                if !is_table && (level == 3 || a.is_multiple_of(block) && end - a >= block) {
                    let desc = a | attrs | VALID | if level == 3 { TABLE } else { 0 };
                    if e & VALID != 0 && e != desc {
                        return Err(MapError(CONFLICT, a));
                    }
                    self.tables[t].0[idx] = desc;
                    a += block;
                    break;
                }
                if !is_table && e == (a & !(block - 1)) | attrs | VALID {
                    // Inside a live block with the same attributes (ranges
                    // that overlap: a link and a cell's region of it).
                    a = (a | (block - 1)) + 1;
                    break;
                }
                t = if is_table {
                    self.index_of(e & ADDR_MASK).ok_or(MapError(CONFLICT, a))?
                } else if e & VALID != 0 {
                    // A live block would have to be split: break-before-make.
                    return Err(MapError(CONFLICT, a));
                } else {
                    let n = self.alloc()?;
                    self.tables[t].0[idx] = (&self.tables[n] as *const Table as u64) | VALID | TABLE;
                    n
                };
                level += 1;
            }
        }
        Ok(())
    }
}

/// Identity-maps [start, end) (4 KiB aligned). Boot CPU only (module docs).
pub fn map_identity(start: u64, end: u64, mem: Mem, access: Access) -> Result<(), MapError> {
    let (_, pa_bits) = super::pa_range();
    with_pool(|p| p.map(start, end, leaf_attrs(mem, access), 1u64 << pa_bits))
}

pub fn tables_used() -> usize {
    with_pool(|p| p.used)
}

unsafe extern "C" {
    /// boot.s: loads `EL2_MMU` into this CPU's registers and turns the MMU on
    /// (no-op while SCTLR there is 0). Clobbers x1..x5 only.
    fn el2_mmu_on();
}

/// Turns the MMU and caches on for the boot CPU, with the map built so far
/// (the image and the early UART at least). Must run with the MMU off.
pub fn enable_boot_cpu(image_start: u64, image_end: u64) {
    let (ps, _) = super::pa_range();
    let root = with_pool(|p| &p.tables[0] as *const Table as u64);
    // TCR_EL2: PS, 4 KiB granule, walks inner shareable and write-back
    // cacheable (coherent with the shim's cached table writes).
    let tcr = regs::TCR_EL2_RES1_BITS
        | TCR_EL2::PS.val(ps).value
        | TCR_EL2::TG0::KiB_4.value
        | TCR_EL2::SH0::Inner.value
        | TCR_EL2::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
        | TCR_EL2::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable.value
        | TCR_EL2::T0SZ.val(64 - VA_BITS as u64).value;
    // M, C, SA (stack alignment), I, WXN (writable means never executable);
    // A (alignment) off: Rust may access unaligned.
    const SCTLR: u64 = regs::SCTLR_EL2_RES1_BITS
        | SCTLR_EL2::M::Enable.value
        | SCTLR_EL2::C::Cacheable.value
        | SCTLR_EL2::SA::Enable.value
        | SCTLR_EL2::I::Cacheable.value
        | SCTLR_EL2::WXN::Enable.value;
    const _: () = assert!(SCTLR == 0x30cd_183d);
    let sctlr = SCTLR;
    // SAFETY: boot CPU only, MMU off, before any other CPU reads EL2_MMU.
    unsafe { (&raw mut EL2_MMU).write_volatile([MAIR, tcr, root, sctlr]) };
    // Everything written with the MMU off (BSS zeroing, the tables,
    // EL2_MMU, the stack) is in memory; a line an earlier owner left would
    // shadow it (clean) or be written back over it (dirty), so the lines are
    // dropped, not cleaned (DC IVAC, as Linux's head.S after its MMU-off
    // writes). Text and data lose nothing: the arm64 boot protocol has
    // whoever loaded the image clean it to PoC.
    super::dcache_inval(image_start, image_end - image_start);
    // SAFETY: the map covers the running code, its stack and data with the
    // same addresses (identity), so execution continues seamlessly.
    unsafe { el2_mmu_on() };
}

/// Makes entries added with the MMU on visible to this CPU's walks. They
/// replaced invalid entries (never cached in TLBs), the TLBI is belt and
/// braces.
pub fn sync_after_map() {
    // SAFETY: EL2 TLB maintenance and barriers only.
    unsafe { asm!("dsb ishst", "tlbi alle2", "dsb ish", "isb", options(nostack)) };
}

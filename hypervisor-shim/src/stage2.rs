//! Stage-2 translation tables: 4 KiB granule, 39-bit IPA, walk from level 1.
//! Tables come from a static pool (no heap); the shim's own EL2 map is an
//! identity map, so a table's address is its physical address. The pool is
//! cached at EL2 and the walks are cacheable (VTCR_EL2), so no cleaning.

use crate::arch::IPA_BITS;

const ENTRIES: usize = 512;
/// Enough for a few cells with a handful of unaligned regions each.
pub const POOL_TABLES: usize = 64;

#[repr(C, align(4096))]
#[derive(Clone, Copy)]
pub struct Table([u64; ENTRIES]);

pub struct Pool {
    tables: [Table; POOL_TABLES],
    used: usize,
}

pub static POOL: spin::Mutex<Pool> =
    spin::Mutex::new(Pool { tables: [Table([0; ENTRIES]); POOL_TABLES], used: 0 });

const VALID: u64 = 1 << 0;
const TABLE: u64 = 1 << 1; // table at L1/L2, page at L3
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const S2AP_R: u64 = 1 << 6;
const S2AP_W: u64 = 1 << 7;
const XN: u64 = 2 << 53;
/// MemAttr[5:2] (FWB off): Normal, outer+inner write-back cacheable.
const ATTR_NORMAL_WB: u64 = 0xf << 2;
/// MemAttr[5:2]: Device-nGnRE.
const ATTR_DEVICE_NGNRE: u64 = 0x1 << 2;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Device,
}

#[derive(Clone, Copy, Debug)]
pub struct Perm {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    OutOfTables,
    IpaTooLarge,
    Unaligned,
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MapError::OutOfTables => "out of stage-2 tables (raise stage2::POOL_TABLES)",
            MapError::IpaTooLarge => "guest-physical address beyond the 39-bit IPA space",
            MapError::Unaligned => "range is not 4 KiB aligned",
        })
    }
}

fn leaf_attrs(kind: Kind, perm: Perm) -> u64 {
    let mut a = AF;
    a |= match kind {
        Kind::Normal => ATTR_NORMAL_WB | SH_INNER,
        Kind::Device => ATTR_DEVICE_NGNRE,
    };
    if perm.read {
        a |= S2AP_R;
    }
    if perm.write {
        a |= S2AP_W;
    }
    if !perm.exec || kind == Kind::Device {
        a |= XN;
    }
    a
}

impl Pool {
    fn alloc(&mut self) -> Result<usize, MapError> {
        if self.used == POOL_TABLES {
            return Err(MapError::OutOfTables);
        }
        self.used += 1;
        self.tables[self.used - 1] = Table([0; ENTRIES]);
        Ok(self.used - 1)
    }

    fn index_of(&self, pa: u64) -> Option<usize> {
        let base = self.tables.as_ptr() as u64;
        let off = pa.checked_sub(base)?;
        let i = (off / 4096) as usize;
        (i < self.used && off % 4096 == 0).then_some(i)
    }

    pub fn table_pa(&self, i: usize) -> u64 {
        &self.tables[i] as *const Table as u64
    }

    /// A new empty root table; returns its index.
    pub fn new_root(&mut self) -> Result<usize, MapError> {
        self.alloc()
    }

    pub fn tables_used(&self) -> usize {
        self.used
    }

    /// Maps [ipa, ipa+size) to [pa, pa+size) with the largest blocks alignment
    /// allows. Existing mappings in the range are replaced.
    pub fn map(&mut self, root: usize, ipa: u64, pa: u64, size: u64, kind: Kind, perm: Perm) -> Result<(), MapError> {
        if (ipa | pa | size) & 0xfff != 0 {
            return Err(MapError::Unaligned);
        }
        if ipa.checked_add(size).is_none_or(|e| e > 1 << IPA_BITS) {
            return Err(MapError::IpaTooLarge);
        }
        let attrs = leaf_attrs(kind, perm);
        let (mut ipa, mut pa, end) = (ipa, pa, ipa + size);
        while ipa < end {
            let left = end - ipa;
            // level 1: 1 GiB blocks, level 2: 2 MiB blocks, level 3: pages
            let mut t = root;
            let mut level = 1;
            loop {
                let shift = 39 - 9 * level;
                let block = 1u64 << shift;
                let idx = ((ipa >> shift) & 0x1ff) as usize;
                let can_block = level == 3 || (level == 2 || level == 1) && ipa % block == 0 && pa % block == 0 && left >= block;
                if can_block {
                    let desc = (pa & ADDR_MASK) | attrs | VALID | if level == 3 { TABLE } else { 0 };
                    self.tables[t].0[idx] = desc;
                    ipa += block;
                    pa += block;
                    break;
                }
                let e = self.tables[t].0[idx];
                let next = if e & (VALID | TABLE) == VALID | TABLE {
                    self.index_of(e & ADDR_MASK).ok_or(MapError::OutOfTables)?
                } else {
                    let n = self.alloc()?;
                    if e & VALID != 0 {
                        // split an existing block into the new table
                        let sub = 1u64 << (shift - 9);
                        let leaf = if level + 1 == 3 { TABLE } else { 0 };
                        for k in 0..ENTRIES {
                            self.tables[n].0[k] = (e + k as u64 * sub) | leaf;
                        }
                    }
                    self.tables[t].0[idx] = self.table_pa(n) | VALID | TABLE;
                    n
                };
                t = next;
                level += 1;
            }
        }
        Ok(())
    }

    /// Removes every mapping of the table tree at `root` (the cell stops:
    /// its CPUs fault on their next access and are parked).
    pub fn unmap_all(&mut self, root: usize) {
        self.tables[root].0 = [0; ENTRIES];
    }
}

//! Stage-2 translation tables: 4 KiB granule, 39-bit IPA, walk from level 1.
//! Tables come from a static pool (no heap); the shim's own EL2 map is an
//! identity map, so a table's address is its physical address. The pool is
//! cached at EL2 and the walks are cacheable (VTCR_EL2), so no cleaning.
//!
//! Leaf size is the caller's choice ([`Leaves`]). Cell RAM is mapped with
//! 4 KiB pages on purpose: QEMU's TLB records a combined stage-1+2 entry
//! with the *larger* of the two page sizes (target/arm/ptw.c,
//! get_phys_addr_twostage), and its softmmu TLB keeps one "large page"
//! region per MMU index that grows to cover every large entry
//! (accel/tcg/cputlb.c, tlb_add_large_page); a TLBI by VA inside that region
//! flushes the whole MMU index, on every vCPU for the IS forms. With 2 MiB
//! stage-2 blocks every kernel mapping is "large", so each of Linux's
//! fixmap text patches (ftrace_init: ~38,000) became a full TLB flush.
//! With 4 KiB stage-2 pages the guest's TLB behaves as without stage 2.

/// Input address size (VTCR_EL2.T0SZ = 64 - IPA_BITS, walk from level 1).
pub const IPA_BITS: u32 = cellboot_abi::IPA_BITS;
const ENTRIES: usize = 512;
/// A 384 MiB cell in 4 KiB pages takes 192 last-level tables; this covers
/// the boards' systems (three cells, ~220 tables) with room to spare.
pub const POOL_TABLES: usize = 320;

#[repr(C, align(4096))]
#[derive(Clone, Copy)]
pub struct Table([u64; ENTRIES]);

pub struct Pool {
    tables: [Table; POOL_TABLES],
    used: usize,
}

pub static POOL: crate::lock::Mutex<Pool> = crate::lock::Mutex::new(Pool {
    tables: [Table([0; ENTRIES]); POOL_TABLES],
    used: 0,
});

use crate::descriptor::{ADDR_MASK, STAGE2, TABLE, VALID};
const AF: u64 = STAGE2::AF::SET.value;
const NORMAL: u64 = STAGE2::MEM_ATTR::NormalWriteBack.value | STAGE2::SH::Inner.value;
const DEVICE: u64 = STAGE2::MEM_ATTR::DeviceNGnRE.value;
const S2AP_R: u64 = STAGE2::S2AP_READ::SET.value;
const S2AP_W: u64 = STAGE2::S2AP_WRITE::SET.value;
const XN: u64 = STAGE2::XN::Never.value;

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

/// How large the leaves of a mapping may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaves {
    /// 4 KiB pages only (see the module docs for why RAM uses these).
    Pages,
    /// 1 GiB / 2 MiB blocks wherever the range's alignment allows.
    Blocks,
}

/// Cell RAM's leaves on the platform the shim was built for
/// (`SHIM_STAGE2_RAM`, set by `xtask build --hardware`): 4 KiB pages under
/// QEMU (module docs), blocks on hardware, where every guest TLB miss would
/// otherwise walk a level deeper (Cortex-A72 TLBs cache the smaller size).
pub const RAM_LEAVES: Leaves = if same(env!("SHIM_STAGE2_RAM"), "blocks") {
    Leaves::Blocks
} else {
    Leaves::Pages
};

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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
        Kind::Normal => NORMAL,
        Kind::Device => DEVICE,
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

    /// Maps [ipa, ipa+size) to [pa, pa+size), with blocks where `leaves`
    /// allows them and alignment permits. Existing mappings in the range are
    /// replaced (a block that is only partly covered is split first).
    #[allow(clippy::too_many_arguments)]
    pub fn map(
        &mut self,
        root: usize,
        ipa: u64,
        pa: u64,
        size: u64,
        kind: Kind,
        perm: Perm,
        leaves: Leaves,
    ) -> Result<(), MapError> {
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
                let can_block =
                    level == 3 || leaves == Leaves::Blocks && ipa % block == 0 && pa % block == 0 && left >= block;
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

    /// Removes every mapping of the table tree at `root` (the cell stops
    /// for good: a shim with run-time management keeps them aside instead,
    /// `stash`, to start it again).
    #[cfg(all(target_os = "none", not(feature = "mgmt")))]
    pub fn unmap_all(&mut self, root: usize) {
        self.tables[root].0 = [0; ENTRIES];
    }

    /// Moves `root`'s entries into table `keep` and empties `root`: the cell
    /// loses every mapping at once (after a TLB flush) and `unstash` gives
    /// them back unchanged, with no table allocated again (a cell restart).
    pub fn stash(&mut self, root: usize, keep: usize) {
        self.copy_table(root, keep);
        self.tables[root].0 = [0; ENTRIES];
    }

    pub fn unstash(&mut self, root: usize, keep: usize) {
        self.copy_table(keep, root);
    }

    /// A plain copy between two distinct tables: an assignment through the
    /// array makes the compiler assume they may overlap and pull in memmove.
    fn copy_table(&mut self, from: usize, to: usize) {
        if let Ok([src, dst]) = self.tables.get_disjoint_mut([from, to]) {
            dst.0.copy_from_slice(&src.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn builds_without_a_platform_setting_keep_ram_in_pages() {
        // What every QEMU build gets (xtask sets "blocks" only for --hardware).
        assert_eq!(RAM_LEAVES, Leaves::Pages);
        assert!(same("blocks", "blocks") && !same("blocks", "pages") && !same("block", "blocks"));
    }
    const RAM: Perm = Perm {
        read: true,
        write: true,
        exec: true,
    };
    const RO: Perm = Perm {
        read: true,
        write: false,
        exec: false,
    };

    /// What the MMU would find for `ipa`: (output address, descriptor, level).
    fn walk(p: &Pool, root: usize, ipa: u64) -> Option<(u64, u64, u32)> {
        let mut t = root;
        for level in 1..=3u32 {
            let shift = 39 - 9 * level;
            let e = p.tables[t].0[((ipa >> shift) & 0x1ff) as usize];
            if e & VALID == 0 {
                return None;
            }
            let leaf = level == 3 || e & TABLE == 0;
            if leaf {
                assert!(level == 3 || e & TABLE == 0);
                let out = (e & ADDR_MASK & !((1 << shift) - 1)) | (ipa & ((1 << shift) - 1));
                return Some((out, e & !(ADDR_MASK | VALID | TABLE), level));
            }
            t = p.index_of(e & ADDR_MASK).expect("table pointer into the pool");
        }
        unreachable!()
    }

    fn fresh() -> crate::lock::MutexGuard<'static, Pool> {
        let mut p = POOL.lock();
        p.used = 0;
        p
    }

    /// Every page of [ipa, ipa+size) maps to the matching PA with `attrs`,
    /// the pages either side do not map.
    fn check_exact(p: &Pool, root: usize, ipa: u64, pa: u64, size: u64, attrs: u64) -> [usize; 4] {
        let mut levels = [0; 4];
        for off in (0..size).step_by(4096) {
            let (out, a, level) = walk(p, root, ipa + off).unwrap_or_else(|| panic!("{:#x} unmapped", ipa + off));
            assert_eq!(out, pa + off, "ipa {:#x}", ipa + off);
            assert_eq!(a, attrs, "ipa {:#x}", ipa + off);
            levels[level as usize] += 1;
        }
        assert_eq!(walk(p, root, ipa - 4096), None, "page below the range");
        assert_eq!(walk(p, root, ipa + size), None, "page above the range");
        levels
    }

    #[test]
    fn ram_in_pages_maps_every_page_and_nothing_else() {
        let mut p = fresh();
        let root = p.new_root().unwrap();
        p.map(
            root,
            0x4800_0000,
            0x4800_0000,
            384 * MIB,
            Kind::Normal,
            RAM,
            Leaves::Pages,
        )
        .unwrap();
        let levels = check_exact(
            &p,
            root,
            0x4800_0000,
            0x4800_0000,
            384 * MIB,
            leaf_attrs(Kind::Normal, RAM),
        );
        assert_eq!(levels, [0, 0, 0, (384 * MIB / 4096) as usize]);
        // root + one level-2 table + one level-3 table per 2 MiB
        assert_eq!(p.tables_used(), 1 + 1 + 192);
    }

    #[test]
    fn blocks_only_where_the_whole_block_is_covered() {
        let mut p = fresh();
        let root = p.new_root().unwrap();
        // 1 GiB aligned: one level-1 block
        p.map(
            root,
            0x4000_0000,
            0x4000_0000,
            1 << 30,
            Kind::Normal,
            RAM,
            Leaves::Blocks,
        )
        .unwrap();
        let l = check_exact(
            &p,
            root,
            0x4000_0000,
            0x4000_0000,
            1 << 30,
            leaf_attrs(Kind::Normal, RAM),
        );
        assert_eq!(l, [0, (1 << 30) / 4096, 0, 0]);
        // unaligned ends: pages up to the first 2 MiB boundary, blocks, pages again;
        // IPA and PA differ, and only their common alignment allows a block
        let (ipa, pa, size) = (0x1_0010_0000, 0x8_0004_0000, 7 * MIB);
        p.map(root, ipa, pa, size, Kind::Device, RO, Leaves::Blocks).unwrap();
        let l = check_exact(&p, root, ipa, pa, size, leaf_attrs(Kind::Device, RO));
        assert_eq!(
            l,
            [0, 0, 0, (size / 4096) as usize],
            "IPA and PA 2 MiB phases differ: pages only"
        );
        // same phase: 1 MiB of pages up to the boundary, then 3 x 2 MiB blocks
        let root = p.new_root().unwrap();
        let pa = 0x8_0010_0000;
        p.map(root, ipa, pa, size, Kind::Device, RO, Leaves::Blocks).unwrap();
        let l = check_exact(&p, root, ipa, pa, size, leaf_attrs(Kind::Device, RO));
        assert_eq!(l, [0, 0, 3 * 512, 256]);
    }

    #[test]
    fn remapping_part_of_a_block_splits_it() {
        let mut p = fresh();
        let root = p.new_root().unwrap();
        p.map(
            root,
            0x4820_0000,
            0x4820_0000,
            4 * MIB,
            Kind::Normal,
            RAM,
            Leaves::Blocks,
        )
        .unwrap();
        p.map(root, 0x4830_0000, 0x7000_0000, 4096, Kind::Normal, RO, Leaves::Pages)
            .unwrap();
        let ram = leaf_attrs(Kind::Normal, RAM);
        let (out, a, level) = walk(&p, root, 0x4830_0000).unwrap();
        assert_eq!((out, a, level), (0x7000_0000, leaf_attrs(Kind::Normal, RO), 3));
        for ipa in [0x4820_0000, 0x482f_f000, 0x4830_1000, 0x483f_f000] {
            let (out, a, level) = walk(&p, root, ipa).unwrap();
            assert_eq!((out, a, level), (ipa, ram, 3), "{ipa:#x} kept by the split");
        }
        assert_eq!(
            walk(&p, root, 0x4840_0000).map(|w| w.2),
            Some(2),
            "the other block is untouched"
        );
    }

    #[test]
    fn attributes_follow_kind_and_permissions() {
        // The Arm ARM's bit positions, spelled out apart from `descriptor`.
        const XN: u64 = 2 << 53;
        const ATTR_DEVICE_NGNRE: u64 = 1 << 2;
        const S2AP_R: u64 = 1 << 6;
        const S2AP_W: u64 = 1 << 7;
        const AF: u64 = 1 << 10;
        let dev = leaf_attrs(
            Kind::Device,
            Perm {
                read: true,
                write: true,
                exec: true,
            },
        );
        assert_eq!(dev & XN, XN, "device memory is never executable");
        assert_eq!(dev & (0xf << 2), ATTR_DEVICE_NGNRE);
        let ram = leaf_attrs(Kind::Normal, RAM);
        assert_eq!((ram & XN, ram & (S2AP_R | S2AP_W), ram & AF), (0, S2AP_R | S2AP_W, AF));
        let ro = leaf_attrs(Kind::Normal, RO);
        assert_eq!((ro & XN, ro & S2AP_W), (XN, 0));
    }

    #[test]
    fn refusals() {
        let mut p = fresh();
        let root = p.new_root().unwrap();
        assert_eq!(
            p.map(root, 0x4800_0800, 0x4800_0000, 4096, Kind::Normal, RAM, Leaves::Pages),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            p.map(root, 0x4800_0000, 0x4800_0000, 100, Kind::Normal, RAM, Leaves::Pages),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            p.map(root, (1 << IPA_BITS) - 4096, 0, 8192, Kind::Normal, RAM, Leaves::Pages),
            Err(MapError::IpaTooLarge)
        );
        assert_eq!(
            p.map(root, !0xfffu64, 0, 4096, Kind::Normal, RAM, Leaves::Pages),
            Err(MapError::IpaTooLarge)
        );
        // more pages than the pool has tables for
        let too_big = (POOL_TABLES as u64) * 2 * MIB;
        assert_eq!(
            p.map(root, 0, 0, too_big, Kind::Normal, RAM, Leaves::Pages),
            Err(MapError::OutOfTables)
        );
    }

    #[test]
    fn stash_empties_the_root_and_unstash_restores_every_mapping() {
        let mut p = fresh();
        let root = p.new_root().unwrap();
        let keep = p.new_root().unwrap();
        p.map(
            root,
            0x4800_0000,
            0x6100_0000,
            4 * MIB,
            Kind::Normal,
            RAM,
            Leaves::Pages,
        )
        .unwrap();
        p.map(
            root,
            0x0900_0000,
            0x0900_0000,
            2 * MIB,
            Kind::Device,
            RAM,
            Leaves::Blocks,
        )
        .unwrap();
        let ipas: Vec<u64> = (0x4800_0000..0x4840_0000)
            .step_by(4096)
            .chain([0x0900_0000, 0x091f_f000])
            .collect();
        let before: Vec<_> = ipas.iter().map(|&i| walk(&p, root, i)).collect();
        assert!(before.iter().all(Option::is_some));
        let used = p.tables_used();
        p.stash(root, keep);
        assert!(ipas.iter().all(|&i| walk(&p, root, i).is_none()));
        p.unstash(root, keep);
        assert_eq!(ipas.iter().map(|&i| walk(&p, root, i)).collect::<Vec<_>>(), before);
        assert_eq!(p.tables_used(), used, "a restart allocates no table");
    }
}

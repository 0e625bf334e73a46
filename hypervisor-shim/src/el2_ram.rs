//! Which RAM outside its own region the shim maps at EL2: exactly what the
//! config gives cells (their RAM regions) and links (their shared memory),
//! page-rounded, and all of it inside the board DTB's `/memory`. Pieces may
//! overlap (a link and a cell's region of it): the EL2 table builder takes
//! a range inside an identical live block as mapped.
//! Normal memory may be read speculatively at any time, so board RAM nobody
//! was given (the VideoCore's on a Pi) and address space with no DRAM behind
//! it (the top of a 1 GiB Pi 4's board.toml range) stay unmapped: a
//! speculative read there could raise an SError a cell would take.
//! Built for host tests too.

use cellboot_abi::{SystemConfig, mem};

const PAGE: u64 = 4096;

#[cfg(test)]
const MAX_RANGES: usize = cellboot_abi::MAX_CELLS * cellboot_abi::MAX_MEM_REGIONS + cellboot_abi::MAX_LINKS;

/// Sorted, disjoint, non-adjacent [start, end) ranges (tests: the union of
/// what the shim maps).
#[cfg(test)]
pub struct Ranges {
    r: [(u64, u64); MAX_RANGES],
    n: usize,
}

#[cfg(test)]
impl Ranges {
    pub const fn new() -> Self {
        Ranges {
            r: [(0, 0); MAX_RANGES],
            n: 0,
        }
    }

    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.r[..self.n]
    }

    /// Adds [start, end), merging it with what it overlaps or touches.
    /// Ranges past `MAX_RANGES` are dropped: false then.
    pub fn add(&mut self, start: u64, end: u64) -> bool {
        if start >= end {
            return true;
        }
        if self.n == MAX_RANGES {
            return false;
        }
        // Insertion keeps them sorted by start; then one merge pass.
        let at = self.r[..self.n].iter().position(|&(s, _)| s > start).unwrap_or(self.n);
        self.r.copy_within(at..self.n, at + 1);
        self.r[at] = (start, end);
        self.n += 1;
        let mut out = 0;
        for i in 1..self.n {
            let (s, e) = self.r[i];
            if s <= self.r[out].1 {
                self.r[out].1 = self.r[out].1.max(e);
            } else {
                out += 1;
                self.r[out] = (s, e);
            }
        }
        self.n = out + 1;
        true
    }

    /// Whether [start, end) lies inside one range.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        self.as_slice().iter().any(|&(s, e)| s <= start && end <= e)
    }
}

fn down(a: u64) -> u64 {
    a & !(PAGE - 1)
}
fn up(a: u64) -> u64 {
    a.saturating_add(PAGE - 1) & !(PAGE - 1)
}

/// Calls `f` on each piece of RAM the config gives a cell or a link
/// (page-rounded [start, end)): every piece the shim maps comes from here.
pub fn each_piece(cfg: &SystemConfig, mut f: impl FnMut(u64, u64)) {
    for c in cfg.cells() {
        for r in c.mem_regions().iter().filter(|r| r.flags & mem::IO == 0) {
            f(down(r.phys), up(r.phys_end()));
        }
    }
    for l in cfg.links() {
        f(down(l.shmem_phys), up(l.shmem_phys.saturating_add(l.shmem_size())));
    }
}

/// The first piece of configured RAM (a cell region or a link's shared
/// memory, page-rounded, not merged with its neighbours) for which
/// `in_memory(start, end)` is false: RAM the board's `/memory` lacks.
pub fn outside_memory(cfg: &SystemConfig, in_memory: impl Fn(u64, u64) -> bool) -> Option<(u64, u64)> {
    let mut out = None;
    each_piece(cfg, |s, e| {
        if out.is_none() && !in_memory(s, e) {
            out = Some((s, e));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shipped_systems() -> Vec<(String, cellboot_config::System)> {
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards");
        let mut out = Vec::new();
        for board in std::fs::read_dir(&boards).unwrap() {
            for f in std::fs::read_dir(board.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "toml") && f.file_name().is_some_and(|n| n != "board.toml") {
                    let sys = cellboot_config::load_system(&f).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
                    out.push((f.display().to_string(), sys));
                }
            }
        }
        assert!(out.len() >= 6, "found only {} system files", out.len());
        out
    }

    /// What the config names as RAM, page-rounded: (start, end) each.
    fn named(cfg: &SystemConfig) -> Vec<(u64, u64)> {
        let mut v: Vec<_> = cfg
            .cells()
            .iter()
            .flat_map(|c| {
                c.mem_regions()
                    .iter()
                    .filter(|r| r.flags & mem::IO == 0)
                    .map(|r| (down(r.phys), up(r.phys_end())))
            })
            .collect();
        v.extend(
            cfg.links()
                .iter()
                .map(|l| (down(l.shmem_phys), up(l.shmem_phys + l.shmem_size()))),
        );
        v
    }

    /// The union of what the shim maps (`el2_map::cell_ram` maps each piece).
    fn configured(cfg: &SystemConfig) -> Ranges {
        let mut out = Ranges::new();
        each_piece(cfg, |s, e| assert!(out.add(s, e)));
        out
    }

    #[test]
    fn the_el2_map_holds_only_configured_memory_and_all_of_it() {
        for (what, sys) in shipped_systems() {
            let cfg = &sys.config;
            let map = configured(cfg);
            let pieces = named(cfg);
            // All of it: every configured region lies inside one mapped range.
            for &(s, e) in &pieces {
                assert!(
                    map.covers(s, e),
                    "{what}: {s:#x}..{e:#x} not mapped: {:x?}",
                    map.as_slice()
                );
            }
            // Only it: walking each mapped range, every address belongs to a
            // configured region (no gap between merged pieces, no board RAM
            // beyond them).
            for &(s, e) in map.as_slice() {
                let mut p = s;
                while p < e {
                    let next = pieces
                        .iter()
                        .filter(|&&(ps, pe)| ps <= p && p < pe)
                        .map(|&(_, pe)| pe)
                        .max();
                    p = next.unwrap_or_else(|| panic!("{what}: {p:#x} is mapped but no cell or link has it"));
                }
            }
            let b = &cfg.board;
            let board_ram = b.ram_size;
            let mapped: u64 = map.as_slice().iter().map(|&(s, e)| e - s).sum();
            assert!(
                mapped < board_ram,
                "{what}: {mapped:#x} mapped of {board_ram:#x} board RAM"
            );
        }
    }

    #[test]
    fn merging_keeps_ranges_sorted_and_disjoint() {
        let mut r = Ranges::new();
        for (s, e) in [
            (0x5000, 0x6000),
            (0x1000, 0x2000),
            (0x2000, 0x3000),
            (0x8000, 0x9000),
            (0x5800, 0x8000),
            (0x100, 0x100),
        ] {
            assert!(r.add(s, e));
        }
        assert_eq!(r.as_slice(), &[(0x1000, 0x3000), (0x5000, 0x9000)]);
        assert!(r.covers(0x1000, 0x3000) && !r.covers(0x2000, 0x5001));
    }

    #[test]
    fn a_region_outside_the_dtb_memory_is_named() {
        let (_, sys) = shipped_systems()
            .into_iter()
            .find(|(f, _)| f.ends_with("rpi4b/two-cell.toml"))
            .expect("rpi4b two-cell");
        let cfg = &sys.config;
        // QEMU raspi4b's /memory (960 MiB) holds all of it.
        let mut memory = Ranges::new();
        memory.add(0, 0x3c00_0000);
        assert_eq!(outside_memory(cfg, |s, e| memory.covers(s, e)), None);
        // A firmware reporting less: the highest region, which reaches past
        // it, is named whole, not merged with its neighbours.
        let last = named(cfg).into_iter().max_by_key(|&(s, _)| s).unwrap();
        let mut short = Ranges::new();
        short.add(0, last.0 + 0x1000);
        assert_eq!(outside_memory(cfg, |s, e| short.covers(s, e)), Some(last));
    }
}

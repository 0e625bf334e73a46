//! Cache maintenance around staging a cell's memory, at its first start and
//! at every restart (PSCI SYSTEM_RESET). Built for host tests too: the
//! operations go through [`CacheOps`], which the tests record.
//!
//! The previous owner of a cell's RAM (boot firmware, or the cell's own
//! Linux, which ran all of it cacheable) can leave dirty lines anywhere in
//! it: loader BSS and stack past the file, the DTB, scratch, moved payloads.
//! Evicted later, they would land on what the shim stages and the loader
//! writes with its caches off; clean stale lines would hide the new DTB from
//! Linux. The loader cannot fix this itself: with HCR_EL2.VM set an EL1
//! invalidate is upgraded to a clean+invalidate. So the shim flushes every
//! RAM region of the cell first, as Jailhouse does on cell start and reset
//! (arm-common `arm_cell_dcaches_flush`), and invalidates the instruction
//! caches once the new code is in memory.

use cellboot_abi::{CellConfig, mem};

/// What staging needs from the caches (arch code on the target).
pub trait CacheOps {
    /// Clean and invalidate [pa, pa+len) to the point of coherency in every
    /// cache of the shareability domain.
    fn clean_inval(&mut self, pa: u64, len: u64);
    /// Invalidate every instruction cache of the inner shareable domain.
    fn icache_inval_all(&mut self);
}

/// Flushes every RAM region of cell `c`, runs `stage` (the copies into its
/// RAM, which must reach memory before it returns), then invalidates the
/// instruction caches so no CPU runs stale code at the restaged addresses.
/// Shared regions are flushed too: clean+invalidate never loses a peer's
/// data, it only writes back what was dirty.
pub fn restage<O: CacheOps, E>(c: &CellConfig, ops: &mut O, stage: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
    for r in c.mem_regions().iter().filter(|r| r.flags & mem::IO == 0) {
        ops.clean_inval(r.phys, r.size);
    }
    stage()?;
    // Arm ARM, "Instruction cache maintenance": new code at PoU, then IC.
    ops.icache_inval_all();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[derive(Debug, PartialEq)]
    enum Op {
        Flush(u64, u64),
        Stage,
        IcacheInval,
    }

    #[derive(Default)]
    struct Recorder(std::cell::RefCell<Vec<Op>>);

    impl CacheOps for &Recorder {
        fn clean_inval(&mut self, pa: u64, len: u64) {
            self.0.borrow_mut().push(Op::Flush(pa, len));
        }
        fn icache_inval_all(&mut self) {
            self.0.borrow_mut().push(Op::IcacheInval);
        }
    }

    /// Every cell of every system file the boards ship.
    fn shipped_cells() -> Vec<(String, CellConfig)> {
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards");
        let mut cells = Vec::new();
        for board in std::fs::read_dir(&boards).unwrap() {
            let board = board.unwrap().path();
            for f in std::fs::read_dir(&board).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_none_or(|e| e != "toml") || f.file_name().is_some_and(|n| n == "board.toml") {
                    continue;
                }
                let sys = cellboot_config::load_system(&f).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
                for c in sys.config.cells() {
                    cells.push((format!("{} {}", f.display(), cellboot_abi::str_field(&c.name)), *c));
                }
            }
        }
        assert!(
            cells.len() >= 8,
            "found only {} cells under {}",
            cells.len(),
            boards.display()
        );
        cells
    }

    #[test]
    fn restart_flushes_every_ram_region_before_staging_then_the_icache() {
        for (what, c) in shipped_cells() {
            let rec = Recorder::default();
            let r: Result<(), ()> = restage(&c, &mut &rec, || {
                rec.0.borrow_mut().push(Op::Stage);
                Ok(())
            });
            assert_eq!(r, Ok(()));
            let ops = rec.0.into_inner();
            let stage_at = ops.iter().position(|o| *o == Op::Stage).expect("staged");
            assert_eq!(
                ops.last(),
                Some(&Op::IcacheInval),
                "{what}: the I-cache is invalidated last"
            );
            assert_eq!(ops.iter().filter(|o| **o == Op::IcacheInval).count(), 1, "{what}");
            let ram: Vec<_> = c.mem_regions().iter().filter(|r| r.flags & mem::IO == 0).collect();
            assert!(!ram.is_empty(), "{what}: a cell without RAM");
            for r in &ram {
                // Covered by flushes issued before the staging.
                let covered = ops[..stage_at]
                    .iter()
                    .any(|o| matches!(*o, Op::Flush(pa, len) if pa <= r.phys && r.phys_end() <= pa + len));
                assert!(
                    covered,
                    "{what}: RAM {:#x}+{:#x} not flushed before staging: {ops:?}",
                    r.phys, r.size
                );
            }
            // Nothing else: device memory is never touched by cache maintenance.
            for o in &ops {
                if let Op::Flush(pa, len) = *o {
                    assert!(
                        ram.iter().any(|r| r.phys == pa && r.size == len),
                        "{what}: flush of {pa:#x}+{len:#x} is no RAM region"
                    );
                }
            }
        }
    }

    #[test]
    fn a_failed_staging_leaves_the_icache_alone_and_reports() {
        let (_, c) = shipped_cells().remove(0);
        let rec = Recorder::default();
        let r = restage(&c, &mut &rec, || Err("no room"));
        assert_eq!(r, Err("no room"));
        assert!(!rec.0.borrow().contains(&Op::IcacheInval));
        assert!(rec.0.borrow().iter().any(|o| matches!(o, Op::Flush(..))));
    }
}

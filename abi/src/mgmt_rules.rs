//! Rules for management grants and staging windows (`crate::mgmt`), part
//! of [`crate::validate`]: a grant names existing cells other than the
//! grantee, and a cell with grants has what its management function needs
//! (a vPCI host with room for one more BAR, one staging window of its own).

use crate::config::*;
use crate::mgmt;
use crate::validate::{NO_INDEX, Problem};

const PAGE: u64 = 0x1000;

fn overlaps(a: &MemRegion, b: &MemRegion) -> bool {
    a.phys < b.phys.saturating_add(b.size) && b.phys < a.phys.saturating_add(a.size)
}

pub(crate) fn check(cfg: &SystemConfig, bad: &mut dyn FnMut(Problem)) {
    let cells = cfg.cells();
    for (ci, c) in cells.iter().enumerate() {
        let mut field = |field, index, value, rule| {
            bad(Problem::CellField {
                cell: ci as u32,
                field,
                index,
                value,
                rule,
            })
        };
        for bit in (0..32u32).filter(|&b| c.manage & (1 << b) != 0) {
            if bit as usize >= cells.len() {
                field("manage", bit, bit.into(), "no cell has this index");
            } else if bit as usize == ci {
                field("manage", bit, bit.into(), "a cell cannot be granted control of itself");
            }
        }
        let windows = c
            .mem_regions()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.flags & mem::STAGING != 0);
        let mut count = 0u32;
        for (ri, r) in windows {
            count = count.saturating_add(1);
            let ri = ri as u32;
            if c.manage == 0 {
                field(
                    "memory.flags",
                    ri,
                    r.flags,
                    "only a cell with grants (manage = [...]) has a staging window",
                );
            } else if count > 1 {
                field("memory.flags", ri, r.flags, "a cell has one staging window");
            }
            if r.flags & (mem::RAM | mem::SHARED | mem::IO) != 0 {
                field(
                    "memory.flags",
                    ri,
                    r.flags,
                    "a staging window is the manager's own memory: not \"ram\", \"shared\" or \"io\"",
                );
            }
            if r.flags & (mem::READ | mem::WRITE) != mem::READ | mem::WRITE {
                field(
                    "memory.flags",
                    ri,
                    r.flags,
                    "a staging window needs \"read\" and \"write\"",
                );
            }
            // Shared and device regions of other cells too: the manager
            // writes the window at will.
            let foreign = cells
                .iter()
                .enumerate()
                .filter(|&(oi, _)| oi != ci)
                .any(|(_, o)| o.mem_regions().iter().any(|m| overlaps(r, m)));
            let link = cfg.links().iter().any(|l| {
                let m = MemRegion {
                    phys: l.shmem_phys,
                    virt: 0,
                    size: l.shmem_size(),
                    flags: 0,
                };
                overlaps(r, &m)
            });
            if foreign || link {
                field(
                    "memory.phys",
                    ri,
                    r.phys,
                    "a staging window overlaps another cell's memory or a link's shared memory",
                );
            }
        }
        if c.manage == 0 {
            continue;
        }
        if count == 0 {
            field(
                "manage",
                NO_INDEX,
                c.manage.into(),
                "a cell with grants needs a staging window: one memory region flagged \"staging\"",
            );
        }
        if c.vpci.ecam_size == 0 {
            field(
                "manage",
                NO_INDEX,
                c.manage.into(),
                "a cell with grants needs a vPCI host (vpci.ecam_size) for its management function",
            );
            continue;
        }
        let links = cfg
            .links()
            .iter()
            .filter(|l| l.peers.contains(&(ci as u32)))
            .inspect(|l| {
                if l.device == u32::from(mgmt::PCI_DEVICE) {
                    field(
                        "manage",
                        NO_INDEX,
                        l.device.into(),
                        "device 31 on a managing cell's bus is its management function: give its link another device",
                    )
                }
            })
            .count() as u64;
        // One 4 KiB BAR0 per ivshmem device plus the management function's.
        let need = links.saturating_add(1).saturating_mul(PAGE);
        if c.vpci.mmio_size < need {
            field(
                "vpci.mmio_size",
                NO_INDEX,
                c.vpci.mmio_size,
                "too small for one 4 KiB BAR per ivshmem link plus the management function's",
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // fixed test values
mod tests {
    use super::*;
    extern crate std;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn region(phys: u64, size: u64, flags: u64) -> MemRegion {
        MemRegion {
            phys,
            virt: phys,
            size,
            flags,
        }
    }

    /// Two cells: 0 manages 1, with a staging window.
    fn system() -> SystemConfig {
        let mut s = SystemConfig::empty();
        s.num_cells = 2;
        for (i, c) in s.cells.iter_mut().take(2).enumerate() {
            c.num_mem = 1;
            c.mem[0] = region(
                0x4000_0000 + i as u64 * 0x1000_0000,
                0x100_0000,
                mem::READ | mem::WRITE | mem::RAM,
            );
            c.vpci.ecam_size = 1 << 20;
            c.vpci.mmio_size = 0x4000;
        }
        let c = &mut s.cells[0];
        c.manage = 1 << 1;
        c.num_mem = 2;
        c.mem[1] = region(0x3000_0000, 0x40_0000, mem::READ | mem::WRITE | mem::STAGING);
        s
    }

    fn problems(s: &SystemConfig) -> Vec<String> {
        let mut out = Vec::new();
        check(s, &mut |p| out.push(p.to_string()));
        out
    }

    #[test]
    fn a_sound_grant_passes() {
        assert_eq!(problems(&system()), Vec::<String>::new());
    }

    #[test]
    fn unknown_and_self_grants_are_refused() {
        let mut s = system();
        s.cells[0].manage = 1 << 0 | 1 << 5;
        let p = problems(&s);
        assert!(
            p.iter().any(|m| m.contains("manage[0]") && m.contains("itself")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("manage[5]") && m.contains("no cell")),
            "{p:?}"
        );
    }

    #[test]
    fn a_manager_needs_a_window_and_a_vpci_host() {
        let mut s = system();
        s.cells[0].num_mem = 1;
        s.cells[0].vpci.ecam_size = 0;
        let p = problems(&s);
        assert!(p.iter().any(|m| m.contains("staging window")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("vPCI host")), "{p:?}");
    }

    #[test]
    fn a_window_without_grants_or_with_wrong_flags_is_refused() {
        let mut s = system();
        s.cells[0].manage = 0;
        s.cells[0].mem[1].flags |= mem::SHARED;
        let p = problems(&s);
        assert!(p.iter().any(|m| m.contains("only a cell with grants")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("not \"ram\", \"shared\"")), "{p:?}");
    }

    #[test]
    fn a_window_over_another_cells_memory_or_a_link_is_refused() {
        let mut s = system();
        s.cells[0].mem[1].phys = s.cells[1].mem[0].phys;
        assert!(problems(&s).iter().any(|m| m.contains("overlaps another cell")));
        let mut s = system();
        s.num_links = 1;
        s.links[0] = IvshmemLink {
            shmem_phys: 0x3010_0000,
            state_size: 0x1000,
            rw_size: 0x1000,
            out_size: 0x1000,
            peers: [1, NO_PEER],
            device: 0,
            protocol: 0,
        };
        assert!(problems(&s).iter().any(|m| m.contains("link's shared memory")));
    }

    #[test]
    fn device_31_and_a_full_mem_window_are_refused() {
        let mut s = system();
        s.num_links = 4;
        for (k, l) in s.links.iter_mut().enumerate() {
            *l = IvshmemLink {
                shmem_phys: 0x7000_0000 + k as u64 * 0x10_0000,
                state_size: 0x1000,
                rw_size: 0,
                out_size: 0x1000,
                peers: [0, 1],
                device: if k == 3 { 31 } else { k as u32 },
                protocol: 0,
            };
        }
        let p = problems(&s);
        assert!(p.iter().any(|m| m.contains("device 31")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("vpci.mmio_size")), "{p:?}");
    }
}

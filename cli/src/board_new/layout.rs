//! What `board new` chooses rather than reads: the hypervisor region, the
//! vPCI windows and INTx lines (in address space / SPIs nothing in the DTB
//! uses), and the starting linux-demo cell's RAM, comm region and link.

use super::DEMO;
use super::derive::{BOARD, Fact, Facts, Gap, PAGE, Start, fact};
use super::spis::SPI_BASE;
use cellboot_abi::COMM_REGION_SIZE;

/// The shim image, its payloads and its page tables (docs/boot-flow.md);
/// both hand-written boards give it 128 MiB.
pub const HYP_SIZE: u64 = 0x0800_0000;
/// RAM regions start 2 MiB aligned: an arm64 Image is placed at a 2 MiB
/// aligned base (Documentation/arch/arm64/booting.rst).
const BLOCK: u64 = 0x20_0000;
/// One PCI bus: 32 devices x 8 functions x 4 KiB.
pub const ECAM_SIZE: u64 = 0x10_0000;
pub const MMIO_SIZE: u64 = 0x1_0000;
/// The vPCI MMIO window must end at or below 4 GiB (32-bit BARs).
const FOUR_GIB: u64 = 1 << 32;
/// The demo cell's RAM; qemu/init.sh checks the guest sees at most this.
pub const CELL_RAM: u64 = 0x1800_0000;
/// One ivshmem link's region (state table, R/W and output sections fit in it).
pub const LINK_REGION: u64 = 0x10_0000;
/// INTA..INTD.
const INTX: u32 = 4;

#[derive(Clone, Debug)]
pub struct Layout {
    pub hyp: Fact<(u64, u64)>,
    pub ecam: Fact<u64>,
    pub mmio: Fact<u64>,
    pub irq_base: Option<Fact<u32>>,
    pub comm: Fact<u64>,
    pub cell_ram: Fact<(u64, u64)>,
    pub link: Fact<u64>,
}

fn overlaps(a: u64, asz: u64, b: u64, bsz: u64) -> bool {
    a < b.saturating_add(bsz) && b < a.saturating_add(asz)
}

/// The highest `align`-aligned [x, x + size) ending at or below `below` that
/// overlaps nothing in `used`.
pub fn highest_free(used: &[(u64, u64)], size: u64, align: u64, below: u64) -> Option<u64> {
    let mut limit = below;
    loop {
        let cand = limit.checked_sub(size)? / align * align;
        match used
            .iter()
            .filter(|&&(b, s)| s != 0 && overlaps(cand, size, b, s))
            .map(|r| r.0)
            .min()
        {
            None => return Some(cand),
            Some(b) if b < limit => limit = b,
            Some(_) => return None,
        }
    }
}

/// The lowest `align`-aligned [x, x + size) inside [from, to) that overlaps
/// nothing in `used`.
pub fn lowest_free(used: &[(u64, u64)], size: u64, align: u64, from: u64, to: u64) -> Option<u64> {
    let mut start = from;
    loop {
        let cand = start.checked_next_multiple_of(align)?;
        if cand.checked_add(size)? > to {
            return None;
        }
        match used
            .iter()
            .filter(|&&(b, s)| s != 0 && overlaps(cand, size, b, s))
            .map(|&(b, s)| b.saturating_add(s))
            .max()
        {
            None => return Some(cand),
            Some(end) => start = end,
        }
    }
}

/// The highest `n` consecutive INTIDs in [32, lines) none of `used` has.
fn free_spis(used: &super::spis::Used, lines: u32, n: u32) -> Option<u32> {
    (SPI_BASE..=lines.checked_sub(n)?)
        .rev()
        .find(|&b| (b..b + n).all(|i| !used.contains_key(&i)))
}

pub fn choose(f: &Facts, gaps: &mut Vec<Gap>) -> Option<Layout> {
    let (ram_base, ram_size) = f.ram.as_ref()?.value;
    // RAM of unknown size (a gap already): lay out as if it were large enough.
    let ram_end = if ram_size == 0 {
        u64::MAX
    } else {
        ram_base.saturating_add(ram_size)
    };
    let reserved: Vec<(u64, u64)> = f.reserved.iter().map(|r| (r.0, r.1)).collect();
    let mut missing = |field: &'static str, need: String| {
        // Fields of the system file are TOML paths into its arrays.
        let file = if field.contains('[') { DEMO } else { BOARD };
        gaps.push(Gap { file, field, need });
        None
    };

    let spin = f.cpus.as_ref().is_some_and(|c| c.start.value == Start::SpinTable);
    let hyp = if spin {
        fact(
            (ram_base, HYP_SIZE),
            "chosen: RAM base, so the spin-table release words (cpu-release-addr) lie below the shim image at +0x20_0000; 128 MiB for image, payloads, tables",
        )
    } else {
        match lowest_free(&reserved, HYP_SIZE, BLOCK, ram_base, ram_end) {
            Some(b) => fact(
                (b, HYP_SIZE),
                "chosen: the lowest 128 MiB of RAM no reservation covers (image, payloads, tables)",
            ),
            None => {
                return missing(
                    "hypervisor",
                    "no 128 MiB of RAM free of reservations for the shim".into(),
                );
            }
        }
    };
    let hyp_end = hyp.value.0.saturating_add(hyp.value.1);

    // Guest-physical space every device, PCI window and RAM keeps.
    let mut ipa: Vec<(u64, u64)> = f.devices.iter().flat_map(|d| d.regs.iter().copied()).collect();
    ipa.extend(f.pci_windows.iter().map(|w| (w.0, w.1)));
    if ram_size != 0 {
        ipa.push((ram_base, ram_size));
    }
    ipa.extend(&reserved);
    let Some(ecam) = highest_free(&ipa, ECAM_SIZE, ECAM_SIZE, FOUR_GIB) else {
        return missing("vpci.ecam_base", "no free 1 MiB below 4 GiB for the vPCI ECAM".into());
    };
    ipa.push((ecam, ECAM_SIZE));
    let Some(mmio) = highest_free(&ipa, MMIO_SIZE, MMIO_SIZE, FOUR_GIB) else {
        return missing(
            "vpci.mmio_base",
            "no free 64 KiB below 4 GiB for the vPCI MMIO window".into(),
        );
    };
    ipa.push((mmio, MMIO_SIZE));
    let comm_size = COMM_REGION_SIZE as u64;
    let Some(comm) = highest_free(&ipa, comm_size, PAGE, FOUR_GIB) else {
        return missing(
            "cells[0].comm_region_ipa",
            "no free page below 4 GiB for the comm region".into(),
        );
    };
    let space = "chosen: the highest free slot below 4 GiB no device reg, PCI window or RAM uses";

    // Without a GIC (a gap already) there are no lines to choose from.
    let irq_base = match &f.gic {
        None => None,
        Some(g) => {
            let lines = g.num_irqs.value;
            let Some(irq) = free_spis(&f.used_spis, lines, INTX) else {
                return missing(
                    "vpci.irq_base",
                    format!("no {INTX} consecutive SPIs below {lines} that no node uses"),
                );
            };
            Some(fact(
                irq,
                format!(
                    "chosen: the highest {INTX} consecutive SPIs below {lines} no node's interrupts/interrupt-map uses"
                ),
            ))
        }
    };

    let mut taken = reserved.clone();
    taken.push(hyp.value);
    let Some(cell) = lowest_free(&taken, CELL_RAM, BLOCK, hyp_end, ram_end) else {
        return missing(
            "cells[0].memory[0]",
            "no 384 MiB of free RAM after the hypervisor region for the demo cell".into(),
        );
    };
    taken.push((cell, CELL_RAM));
    let Some(link) = lowest_free(&taken, LINK_REGION, LINK_REGION, cell + CELL_RAM, ram_end) else {
        return missing("links[0].shmem", "no free 1 MiB of RAM for the ivshmem link".into());
    };
    Some(Layout {
        hyp,
        ecam: fact(ecam, space),
        mmio: fact(mmio, space),
        comm: fact(comm, space),
        irq_base,
        cell_ram: fact(
            (cell, CELL_RAM),
            "chosen: the first free 384 MiB of RAM after the hypervisor region",
        ),
        link: fact(link, "chosen: the first free 1 MiB of RAM after the cell's"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_free_steps_below_each_conflict() {
        let used = [(0xfff0_0000, 0x10_0000), (0xffd0_0000, 0x8_0000)];
        assert_eq!(highest_free(&used, 0x10_0000, 0x10_0000, FOUR_GIB), Some(0xffe0_0000));
        assert_eq!(highest_free(&used, 0x20_0000, 0x10_0000, FOUR_GIB), Some(0xffb0_0000));
        assert_eq!(highest_free(&[(0, FOUR_GIB)], 0x1000, 0x1000, FOUR_GIB), None);
    }

    #[test]
    fn lowest_free_steps_past_each_conflict() {
        let used = [(0x4000_0000, 0x0800_0000), (0x4820_0000, 0x1000)];
        assert_eq!(
            lowest_free(&used, 0x1000_0000, BLOCK, 0x4000_0000, 0x8000_0000),
            Some(0x4840_0000)
        );
        assert_eq!(lowest_free(&used, 0x4000_0000, BLOCK, 0x4000_0000, 0x8000_0000), None);
    }

    #[test]
    fn intx_lines_skip_used_ones() {
        let mut used = super::super::spis::Used::new();
        for i in [93, 60] {
            used.insert(i, "/x".into());
        }
        assert_eq!(free_spis(&used, 96, 4), Some(89));
        assert_eq!(free_spis(&used, 36, 4), Some(32));
        assert_eq!(free_spis(&used, 34, 4), None);
    }
}

//! The one validation of a system config, run by the shim before it starts
//! anything and by host tooling (`cellboot check`) before it writes a binary.
//! Every problem is reported, not only the first.

use crate::config::*;
use crate::text::{self, Render, Sink};

/// Where in the config a problem sits; host tooling maps this to TOML fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    BadMagic,
    BadRevision {
        found: u32,
    },
    BadLength {
        found: u32,
        expected: u32,
    },
    BadChecksum {
        found: u32,
        computed: u32,
    },
    TooMany {
        what: &'static str,
        count: u32,
        max: u32,
    },
    BadGicVersion {
        found: u32,
    },
    /// A field of the board section is zero or out of range.
    BoardField {
        field: &'static str,
        value: u64,
    },
    HypervisorOutsideRam {
        base: u64,
        size: u64,
    },
    NoCpus {
        cell: u32,
    },
    CpuOutOfRange {
        cell: u32,
        cpu: u32,
    },
    CpuOwnedTwice {
        cpu: u32,
        first: u32,
        second: u32,
    },
    RegionEmpty {
        cell: u32,
        region: u32,
    },
    RegionUnaligned {
        cell: u32,
        region: u32,
        value: u64,
    },
    /// A RAM region's physical range is not inside board RAM.
    RegionOutsideRam {
        cell: u32,
        region: u32,
        phys: u64,
        size: u64,
    },
    RegionOverlapsHypervisor {
        cell: u32,
        region: u32,
        phys: u64,
    },
    /// Two cells' RAM (non-shared) regions overlap.
    RegionOverlapsCell {
        cell: u32,
        region: u32,
        other_cell: u32,
        other_region: u32,
    },
    /// Two regions of one cell overlap in guest-physical space.
    IpaOverlap {
        cell: u32,
        region: u32,
        other_region: u32,
    },
    /// A region's IPA range overlaps the virtual PCI ECAM/BAR window or the comm region.
    IpaOverlapsWindow {
        cell: u32,
        region: u32,
        window: &'static str,
    },
    IrqOutOfRange {
        cell: u32,
        range: u32,
        first: u32,
        count: u32,
    },
    IrqOwnedTwice {
        irq: u32,
        first: u32,
        second: u32,
    },
    VpciWindow {
        cell: u32,
        field: &'static str,
        value: u64,
    },
    /// The loader IPA is not inside one of the cell's RAM regions.
    LoaderOutsideRam {
        cell: u32,
        ipa: u64,
    },
    LinkPeer {
        link: u32,
        peer: u32,
    },
    LinkShmemNotMapped {
        link: u32,
        cell: u32,
    },
    LinkShmemOutsideRam {
        link: u32,
    },
    BadBootKind {
        cell: u32,
        kind: u32,
    },
    /// A spin-table release word is unaligned or outside the hypervisor
    /// region below the shim image (`[start, end)`): a cell that could
    /// write it could send a waiting CPU anywhere at EL2.
    ReleaseAddr {
        cpu: u32,
        addr: u64,
        start: u64,
        end: u64,
    },
    /// A cell's vPCI INTx SPIs (`vpci.irq_base` .. +4) are another cell's
    /// SPIs too (its config ranges or its own vPCI INTx lines).
    VpciIrqOwnedTwice {
        irq: u32,
        first: u32,
        second: u32,
    },
    /// A `jailhouse` boot kind field (`crate::jailhouse::check`).
    JailhouseBoot {
        cell: u32,
        field: &'static str,
        value: u64,
    },
    /// A board field breaks `rule` (`crate::rules`).
    BoardRule {
        field: &'static str,
        value: u64,
        rule: &'static str,
    },
    /// Two CPUs of the board have one MPIDR (a cell would lose one).
    MpidrTwice {
        cpu: u32,
        first: u32,
        mpidr: u64,
    },
    /// `cells[cell].<field>[index]` (no index: [`NO_INDEX`]) breaks `rule`.
    CellField {
        cell: u32,
        field: &'static str,
        index: u32,
        value: u64,
        rule: &'static str,
    },
    /// `links[link].<field>` breaks `rule`.
    LinkRule {
        link: u32,
        field: &'static str,
        value: u64,
        rule: &'static str,
    },
    /// Two links of one cell use one PCI device number.
    LinkDeviceTwice {
        link: u32,
        first: u32,
        device: u32,
    },
}

/// The end of a problem's message that explains it. The shim's build
/// (feature `terse`) says `cellboot check` explains instead, as for the
/// rules (`crate::rules`): the texts stay out of the shim's 64 KiB.
#[inline(always)]
fn explain(tail: &'static str) -> &'static str {
    if cfg!(feature = "terse") {
        ": invalid (`cellboot check` explains)"
    } else {
        tail
    }
}

/// Advice at the end of a problem's message: none in the shim's build.
#[inline(always)]
fn hint(advice: &'static str) -> &'static str {
    if cfg!(feature = "terse") { "" } else { advice }
}

/// [`Problem::CellField`] of a field that is not a list.
pub const NO_INDEX: u32 = u32::MAX;

impl Render for Problem {
    fn render(&self, s: &mut dyn Sink) {
        use Problem::*;
        match *self {
            BadMagic => text::write(s, "bad magic (not a cellboot system config)", &crate::args!()),
            BadRevision { found } => text::write(
                s,
                "revision {}, this build understands {}",
                &crate::args!(found, SYSCONFIG_REVISION),
            ),
            BadLength { found, expected } => text::write(s, "length {}, expected {}", &crate::args!(found, expected)),
            BadChecksum { found, computed } => text::write(
                s,
                "checksum {:#010x}, computed {:#010x}",
                &crate::args!(found, computed),
            ),
            TooMany { what, count, max } => text::write(s, "{} {}, at most {}", &crate::args!(count, what, max)),
            BadGicVersion { found } => text::write(s, "board.gic_version {}, must be 2 or 3", &crate::args!(found)),
            BoardField { field, value } => text::write(s, "board.{} = {:#x} is invalid", &crate::args!(field, value)),
            HypervisorOutsideRam { base, size } => text::write(
                s,
                "hypervisor region {:#x}+{:#x} is not inside board RAM",
                &crate::args!(base, size),
            ),
            NoCpus { cell } => text::write(s, "cells[{}].cpus is empty", &crate::args!(cell)),
            CpuOutOfRange { cell, cpu } => text::write(
                s,
                "cells[{}].cpus: CPU {} does not exist on the board",
                &crate::args!(cell, cpu),
            ),
            CpuOwnedTwice { cpu, first, second } => text::write(
                s,
                "CPU {} is owned by cells[{}] and cells[{}]",
                &crate::args!(cpu, first, second),
            ),
            RegionEmpty { cell, region } => {
                text::write(s, "cells[{}].memory[{}] has size 0", &crate::args!(cell, region))
            }
            RegionUnaligned { cell, region, value } => text::write(
                s,
                "cells[{}].memory[{}]: {:#x} is not 4 KiB aligned",
                &crate::args!(cell, region, value),
            ),
            RegionOutsideRam {
                cell,
                region,
                phys,
                size,
            } => text::write(
                s,
                "cells[{}].memory[{}]: RAM {:#x}+{:#x} is outside board RAM",
                &crate::args!(cell, region, phys, size),
            ),
            RegionOverlapsHypervisor { cell, region, phys } => text::write(
                s,
                "cells[{}].memory[{}] at {:#x} overlaps the hypervisor's memory",
                &crate::args!(cell, region, phys),
            ),
            RegionOverlapsCell {
                cell,
                region,
                other_cell,
                other_region,
            } => text::write(
                s,
                "cells[{}].memory[{}] overlaps cells[{}].memory[{}]",
                &crate::args!(cell, region, other_cell, other_region),
            ),
            IpaOverlap {
                cell,
                region,
                other_region,
            } => text::write(
                s,
                "cells[{}].memory[{}] and memory[{}] overlap in guest-physical space",
                &crate::args!(cell, region, other_region),
            ),
            IpaOverlapsWindow { cell, region, window } => text::write(
                s,
                "cells[{}].memory[{}] overlaps the cell's {}",
                &crate::args!(cell, region, window),
            ),
            IrqOutOfRange {
                cell,
                range,
                first,
                count,
            } => text::write(
                s,
                "cells[{}].irqs[{}] = {}+{} is not a valid SPI range",
                &crate::args!(cell, range, first, count),
            ),
            IrqOwnedTwice { irq, first, second } => text::write(
                s,
                "IRQ {} is owned by cells[{}] and cells[{}]",
                &crate::args!(irq, first, second),
            ),
            VpciWindow { cell, field, value } => text::write(
                s,
                "cells[{}].vpci.{} = {:#x} is invalid",
                &crate::args!(cell, field, value),
            ),
            LoaderOutsideRam { cell, ipa } => text::write(
                s,
                "cells[{}].loader_ipa {:#x}{}",
                &crate::args!(cell, ipa, explain(" is not inside one of the cell's RAM regions")),
            ),
            LinkPeer { link, peer } => {
                text::write(s, "links[{}]: peer cell {} does not exist", &crate::args!(link, peer))
            }
            LinkShmemNotMapped { link, cell } => text::write(
                s,
                "links[{}]: shared memory is not mapped in cells[{}]",
                &crate::args!(link, cell),
            ),
            LinkShmemOutsideRam { link } => {
                text::write(s, "links[{}]: shared memory is outside board RAM", &crate::args!(link))
            }
            BadBootKind { cell, kind } => {
                text::write(s, "cells[{}].boot.kind {} is unknown", &crate::args!(cell, kind))
            }
            VpciIrqOwnedTwice { irq, first, second } => text::write(
                s,
                "IRQ {} (a vPCI INTx line of cells[{}]) is also owned by cells[{}]{}",
                &crate::args!(irq, second, first, hint(": give each cell its own vpci.irq_base")),
            ),
            JailhouseBoot {
                cell,
                field: "images",
                value,
            } => text::write(
                s,
                "cells[{}].boot.images: {} images, 1 to {} allowed",
                &crate::args!(cell, value, crate::MAX_IMAGES),
            ),
            JailhouseBoot {
                cell,
                field: "reset_address",
                value,
            } => text::write(
                s,
                "cells[{}].boot.reset_address {:#x}{}",
                &crate::args!(
                    cell,
                    value,
                    explain(" is not a 4-byte aligned address in one of the cell's executable RAM regions")
                ),
            ),
            JailhouseBoot { cell, field, value } => text::write(
                s,
                "cells[{}].boot.{} {:#x}{}",
                &crate::args!(
                    cell,
                    field,
                    value,
                    explain(" is not inside one of the cell's RAM or shared regions")
                ),
            ),
            ReleaseAddr { cpu, addr, start, end } => text::write(
                s,
                "board.release_addr[{}] = {:#x} is not an 8-byte aligned word in the hypervisor region below the shim image ({:#x}..{:#x})",
                &crate::args!(cpu, addr, start, end),
            ),
            BoardRule { field, value, rule } => {
                text::write(s, "board.{} = {:#x}: {}", &crate::args!(field, value, rule))
            }
            MpidrTwice { cpu, first, mpidr } => text::write(
                s,
                "board.mpidr[{}] = {:#x}: CPU {} has the same MPIDR",
                &crate::args!(cpu, mpidr, first),
            ),
            CellField {
                cell,
                field,
                index,
                value,
                rule,
            } => {
                text::write(s, "cells[{}].{}", &crate::args!(cell, field));
                if index != NO_INDEX {
                    text::write(s, "[{}]", &crate::args!(index));
                }
                text::write(s, " = {:#x}: {}", &crate::args!(value, rule))
            }
            LinkRule {
                link,
                field,
                value,
                rule,
            } => text::write(s, "links[{}].{} = {:#x}: {}", &crate::args!(link, field, value, rule)),
            LinkDeviceTwice { link, first, device } => text::write(
                s,
                "links[{}].device = {}: links[{}] of the same cell uses it",
                &crate::args!(link, device, first),
            ),
        }
    }
}

crate::display_via_render!(Problem);

fn overlaps(a: u64, asz: u64, b: u64, bsz: u64) -> bool {
    a < b.saturating_add(bsz) && b < a.saturating_add(asz)
}

fn inside(base: u64, size: u64, outer: u64, outer_size: u64) -> bool {
    base >= outer && base.saturating_add(size) <= outer.saturating_add(outer_size)
}

/// Checks the header fields of a raw config (magic, revision, length,
/// checksum). Returns the number of problems reported.
pub fn validate_header(bytes: &[u8], report: &mut dyn FnMut(Problem)) -> usize {
    let expected = core::mem::size_of::<SystemConfig>() as u32;
    let mut n = 0;
    let mut bad = |p| {
        n = usize::saturating_add(n, 1);
        report(p)
    };
    if bytes.len() < 24 || bytes[..8] != SYSCONFIG_MAGIC {
        bad(Problem::BadMagic);
        return n;
    }
    // Offsets 8..20 are below the 24 bytes checked above.
    let word = |o: usize| match bytes.get(o..).and_then(|t| t.first_chunk::<4>()) {
        Some(w) => u32::from_le_bytes(*w),
        None => 0,
    };
    let revision = word(8);
    if revision != SYSCONFIG_REVISION {
        bad(Problem::BadRevision { found: revision });
    }
    let length = word(12);
    if length != expected || (bytes.len() as u64) < u64::from(expected) {
        bad(Problem::BadLength {
            found: length.min(bytes.len() as u32),
            expected,
        });
        return n;
    }
    let found = word(16);
    let computed = checksum(&bytes[..expected as usize]);
    if found != computed {
        bad(Problem::BadChecksum { found, computed });
    }
    n
}

/// Checks the contents of a config. Returns the number of problems reported.
// Out of line: inlined into the shim's one boot function it costs 756 bytes
// more of the shim's 64 KiB budget.
#[inline(never)]
pub fn validate(cfg: &SystemConfig, report: &mut dyn FnMut(Problem)) -> usize {
    let mut n = 0;
    let mut bad = |p| {
        n = usize::saturating_add(n, 1);
        report(p)
    };
    let b = &cfg.board;
    if cfg.num_cells as usize > MAX_CELLS {
        bad(Problem::TooMany {
            what: "cells",
            count: cfg.num_cells,
            max: MAX_CELLS as u32,
        });
    }
    if cfg.num_links as usize > MAX_LINKS {
        bad(Problem::TooMany {
            what: "links",
            count: cfg.num_links,
            max: MAX_LINKS as u32,
        });
    }
    if b.gic_version != 2 && b.gic_version != 3 {
        bad(Problem::BadGicVersion { found: b.gic_version });
    }
    if b.num_cpus == 0 || b.num_cpus as usize > MAX_CPUS {
        bad(Problem::BoardField {
            field: "num_cpus",
            value: b.num_cpus.into(),
        });
    }
    if b.num_irqs < 64 || b.num_irqs > 1020 {
        bad(Problem::BoardField {
            field: "num_irqs",
            value: b.num_irqs.into(),
        });
    }
    if b.ram_size == 0 {
        bad(Problem::BoardField {
            field: "ram_size",
            value: 0,
        });
    }
    for (field, v) in [("uart_base", b.uart_base), ("gicd_base", b.gicd_base)] {
        if v == 0 {
            bad(Problem::BoardField { field, value: v });
        }
    }
    let hv = &cfg.hypervisor;
    if hv.size == 0 || !inside(hv.phys, hv.size, b.ram_base, b.ram_size) {
        bad(Problem::HypervisorOutsideRam {
            base: hv.phys,
            size: hv.size,
        });
    }
    if b.cpu_start == cpu_start::SPIN_TABLE {
        // Same rule as the shim's own check at boot (which also knows the
        // image's real end): only the shim may ever write these words.
        let (start, end) = (hv.phys, hv.phys.saturating_add(SHIM_TEXT_OFFSET.min(hv.size)));
        for (cpu, &addr) in b
            .release_addr
            .iter()
            .enumerate()
            .take((b.num_cpus as usize).min(MAX_CPUS))
        {
            if !addr.is_multiple_of(8) || !inside(addr, 8, start, end.saturating_sub(start)) {
                bad(Problem::ReleaseAddr {
                    cpu: cpu as u32,
                    addr,
                    start,
                    end,
                });
            }
        }
    }

    let cells = cfg.cells();
    for (ci, c) in cells.iter().enumerate() {
        let ci = ci as u32;
        if c.num_mem as usize > MAX_MEM_REGIONS {
            bad(Problem::TooMany {
                what: "memory regions",
                count: c.num_mem,
                max: MAX_MEM_REGIONS as u32,
            });
        }
        if c.num_irq_ranges as usize > MAX_IRQ_RANGES {
            bad(Problem::TooMany {
                what: "IRQ ranges",
                count: c.num_irq_ranges,
                max: MAX_IRQ_RANGES as u32,
            });
        }
        if c.num_disable as usize > MAX_DISABLE {
            bad(Problem::TooMany {
                what: "disabled paths",
                count: c.num_disable,
                max: MAX_DISABLE as u32,
            });
        }
        if c.cpu_mask == 0 {
            bad(Problem::NoCpus { cell: ci });
        }
        for cpu in 0..64u32 {
            if c.cpu_mask & (1 << cpu) == 0 {
                continue;
            }
            if cpu >= b.num_cpus {
                bad(Problem::CpuOutOfRange { cell: ci, cpu });
            }
            if let Some(first) = cells[..ci as usize].iter().position(|o| o.cpu_mask & (1 << cpu) != 0) {
                bad(Problem::CpuOwnedTwice {
                    cpu,
                    first: first as u32,
                    second: ci,
                });
            }
        }
        if ![boot_kind::LINUX, boot_kind::RAW, boot_kind::JAILHOUSE].contains(&c.boot.kind) {
            bad(Problem::BadBootKind {
                cell: ci,
                kind: c.boot.kind,
            });
        }
        let jailhouse = crate::is_jailhouse(c);
        if jailhouse {
            crate::jailhouse::check(c, |field, value| bad(Problem::JailhouseBoot { cell: ci, field, value }));
        }
        let v = &c.vpci;
        let windows = [
            ("vPCI ECAM window", v.ecam_base, v.ecam_size),
            ("vPCI MMIO window", v.mmio_base, v.mmio_size),
            ("comm region", c.comm_region_ipa, crate::COMM_REGION_SIZE as u64),
        ];
        if v.ecam_size != 0 && (v.ecam_size < 1 << 20 || v.ecam_base & 0xf_ffff != 0) {
            bad(Problem::VpciWindow {
                cell: ci,
                field: "ecam",
                value: v.ecam_base,
            });
        }
        if v.ecam_size != 0
            && (v.mmio_size < 0x4000 || v.mmio_base & 0xfff != 0 || v.mmio_base.saturating_add(v.mmio_size) > 1 << 32)
        {
            bad(Problem::VpciWindow {
                cell: ci,
                field: "mmio",
                value: v.mmio_base,
            });
        }
        if c.comm_region_ipa & 0xfff != 0 {
            bad(Problem::VpciWindow {
                cell: ci,
                field: "comm_region",
                value: c.comm_region_ipa,
            });
        }
        let mut loader_ok = false;
        for (ri, r) in c.mem_regions().iter().enumerate() {
            let ri = ri as u32;
            if r.size == 0 {
                bad(Problem::RegionEmpty { cell: ci, region: ri });
                continue;
            }
            for value in [r.phys, r.virt, r.size] {
                if value & 0xfff != 0 {
                    bad(Problem::RegionUnaligned {
                        cell: ci,
                        region: ri,
                        value,
                    });
                    break;
                }
            }
            let is_ram = r.flags & mem::IO == 0;
            if is_ram && !inside(r.phys, r.size, b.ram_base, b.ram_size) {
                bad(Problem::RegionOutsideRam {
                    cell: ci,
                    region: ri,
                    phys: r.phys,
                    size: r.size,
                });
            }
            if overlaps(r.phys, r.size, hv.phys, hv.size) {
                bad(Problem::RegionOverlapsHypervisor {
                    cell: ci,
                    region: ri,
                    phys: r.phys,
                });
            }
            for (oi, o) in c.mem_regions()[..ri as usize].iter().enumerate() {
                if overlaps(r.virt, r.size, o.virt, o.size) {
                    bad(Problem::IpaOverlap {
                        cell: ci,
                        region: ri,
                        other_region: oi as u32,
                    });
                }
            }
            for (window, base, size) in windows {
                if size != 0 && overlaps(r.virt, r.size, base, size) {
                    bad(Problem::IpaOverlapsWindow {
                        cell: ci,
                        region: ri,
                        window,
                    });
                }
            }
            if r.flags & mem::RAM != 0 && inside(c.loader_ipa, 0x1000, r.virt, r.size) {
                loader_ok = true;
            }
            if r.flags & (mem::SHARED | mem::IO) != 0 {
                continue;
            }
            for (oci, oc) in cells[..ci as usize].iter().enumerate() {
                for (ori, o) in oc.mem_regions().iter().enumerate() {
                    if o.flags & (mem::SHARED | mem::IO) == 0 && overlaps(r.phys, r.size, o.phys, o.size) {
                        bad(Problem::RegionOverlapsCell {
                            cell: ci,
                            region: ri,
                            other_cell: oci as u32,
                            other_region: ori as u32,
                        });
                    }
                }
            }
        }
        // A jailhouse cell has no loader (the shim enters the inmate itself).
        if !loader_ok && !jailhouse {
            bad(Problem::LoaderOutsideRam {
                cell: ci,
                ipa: c.loader_ipa,
            });
        }
        for (ri, r) in c.irq_ranges().iter().enumerate() {
            let end = r.first.checked_add(r.count);
            let Some(end) = end.filter(|&e| r.first >= 32 && r.count != 0 && e <= b.num_irqs) else {
                bad(Problem::IrqOutOfRange {
                    cell: ci,
                    range: ri as u32,
                    first: r.first,
                    count: r.count,
                });
                continue;
            };
            for irq in r.first..end {
                if let Some(first) = cells[..ci as usize].iter().position(|o| o.owns_irq(irq)) {
                    bad(Problem::IrqOwnedTwice {
                        irq,
                        first: first as u32,
                        second: ci,
                    });
                    break;
                }
            }
        }
    }
    // vPCI INTx lines against every other cell's SPIs (the shim lets a
    // cell route and enable both kinds as its own).
    let vpci_spis = |c: &CellConfig| {
        let v = &c.vpci;
        let n = if v.ecam_size != 0 { 4 } else { 0 };
        v.irq_base..v.irq_base.saturating_add(n)
    };
    for (ci, c) in cells.iter().enumerate() {
        for irq in vpci_spis(c) {
            let other = cells
                .iter()
                .enumerate()
                .find(|&(oi, o)| oi != ci && (o.owns_irq(irq) || (oi < ci && vpci_spis(o).contains(&irq))));
            if let Some((oi, _)) = other {
                bad(Problem::VpciIrqOwnedTwice {
                    irq,
                    first: oi as u32,
                    second: ci as u32,
                });
                break;
            }
        }
    }
    for (li, l) in cfg.links().iter().enumerate() {
        let li = li as u32;
        if !inside(l.shmem_phys, l.shmem_size(), b.ram_base, b.ram_size) || l.shmem_size() == 0 {
            bad(Problem::LinkShmemOutsideRam { link: li });
        }
        for (pi, &peer) in l.peers.iter().enumerate() {
            if pi == 1 && peer == NO_PEER {
                continue;
            }
            let Some(c) = cells.get(peer as usize) else {
                bad(Problem::LinkPeer { link: li, peer });
                continue;
            };
            let mapped = c
                .mem_regions()
                .iter()
                .any(|r| r.flags & mem::SHARED != 0 && inside(l.shmem_phys, l.shmem_size(), r.phys, r.size));
            if !mapped {
                bad(Problem::LinkShmemNotMapped { link: li, cell: peer });
            }
        }
    }
    crate::rules::check(cfg, &mut bad);
    n
}

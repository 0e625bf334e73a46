//! Range, alignment, uniqueness and size rules of the system config, part
//! of [`crate::validate`]: what the shim's stage 2 can map (39-bit IPA),
//! what the GIC can be, which values must be unique or non-zero. Every sum
//! of two config values here is checked: firmware release builds wrap.

use crate::COMM_REGION_SIZE;
use crate::config::*;
use crate::validate::{NO_INDEX, Problem};

/// A rule's explanation, for its problem's message. The shim's build
/// (feature `terse`) names the field and value only, with [`TERSE_RULE`]:
/// `cellboot check` on the host explains, and the texts stay out of the
/// shim's 64 KiB.
#[inline(always)]
fn explain(rule: &'static str) -> &'static str {
    if cfg!(feature = "terse") { TERSE_RULE } else { rule }
}

/// What the shim's build says in place of a rule's explanation.
pub const TERSE_RULE: &str = "invalid (`cellboot check` explains)";

/// Guest-physical addresses the shim's stage 2 maps: 4 KiB granule, walk
/// from level 1 (VTCR_EL2.T0SZ = 64 - 39).
pub const IPA_BITS: u32 = 39;
/// First IPA the stage 2 cannot map.
pub const IPA_LIMIT: u64 = 1 << IPA_BITS;
/// A GICv3 redistributor's frames: RD_base + SGI_base (64 KiB each), and
/// with virtual LPIs (GICv4) VLPI_base + a reserved frame (GICv3/v4
/// architecture spec, "The GIC Redistributor register map").
pub const GICR_STRIDES: [u64; 2] = [0x2_0000, 0x4_0000];
/// The GICv2 CPU interface spans two 4 KiB pages (GICC_DIR at 0x1000).
pub const GICC_MIN_SIZE: u64 = 0x2000;
/// MPIDR_EL1 affinity fields Aff3 (bits 39:32) and Aff2..Aff0 (23:0).
pub const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;
/// The four INTx lines of a vPCI host: INTA at `irq_base`, INTD at +3.
const VPCI_INTX: u32 = 4;
const PAGE: u64 = 0x1000;
/// ECAM: 4 KiB per function, 256 functions per bus, 256 buses.
const ECAM_BUS: u64 = 1 << 20;
const ECAM_MAX: u64 = 256 * ECAM_BUS;

/// `base + size`, or `None` when it overflows.
pub fn end_of(base: u64, size: u64) -> Option<u64> {
    base.checked_add(size)
}

/// Whether `[base, base + size)` is mappable at stage 2.
pub fn below_ipa_limit(base: u64, size: u64) -> bool {
    end_of(base, size).is_some_and(|e| e <= IPA_LIMIT)
}

pub(crate) fn check(cfg: &SystemConfig, bad: &mut dyn FnMut(Problem)) {
    board(&cfg.board, bad);
    let cells = cfg.cells();
    for (ci, c) in cells.iter().enumerate() {
        cell(ci as u32, c, &cfg.board, cells, bad);
    }
    links(cfg, bad);
    #[cfg(feature = "mgmt")]
    crate::mgmt_rules::check(cfg, bad);
}

fn board(b: &Board, bad: &mut dyn FnMut(Problem)) {
    let mut rule = |field, value, rule| {
        bad(Problem::BoardRule {
            field,
            value,
            rule: explain(rule),
        })
    };
    if end_of(b.ram_base, b.ram_size).is_none() {
        rule("ram_size", b.ram_size, "RAM base + size overflows 64 bits");
    }
    if b.uart_size == 0 {
        rule("uart_size", 0, "the UART needs a non-zero size");
    }
    if b.uart_driver > crate::config::uart_driver::CDNS {
        rule(
            "uart_driver",
            b.uart_driver.into(),
            "not a console driver the shim has (pl011, cdns)",
        );
    }
    if b.gicd_size == 0 || !b.gicd_base.is_multiple_of(PAGE) || !b.gicd_size.is_multiple_of(PAGE) {
        rule(
            "gicd_size",
            b.gicd_size,
            "the distributor needs a non-zero size, base and size 4 KiB aligned",
        );
    }
    for (field, base, size) in [
        ("uart_base", b.uart_base, b.uart_size),
        ("gicd_base", b.gicd_base, b.gicd_size),
    ] {
        if !below_ipa_limit(base, size) {
            rule(field, base, "beyond the shim's 39-bit stage-2 address space");
        }
    }
    match b.gic_version {
        3 => {
            if !GICR_STRIDES.contains(&b.gicr_stride) {
                rule(
                    "gicr_stride",
                    b.gicr_stride,
                    "a GICv3 redistributor stride is 0x2_0000 (RD_base + SGI_base) or 0x4_0000 (with VLPI frames)",
                );
            }
            let span = b.gicr_stride.checked_mul(u64::from(b.num_cpus));
            if b.gicr_base == 0 || !b.gicr_base.is_multiple_of(0x1_0000) {
                rule(
                    "gicr_base",
                    b.gicr_base,
                    "the redistributors need a non-zero, 64 KiB aligned base",
                );
            } else if !span.is_some_and(|s| below_ipa_limit(b.gicr_base, s)) {
                rule(
                    "gicr_base",
                    b.gicr_base,
                    "the redistributor frames end beyond the shim's 39-bit stage-2 address space",
                );
            }
        }
        2 => {
            if b.gicc_base == 0 || !b.gicc_base.is_multiple_of(PAGE) {
                rule(
                    "gicc_base",
                    b.gicc_base,
                    "the GICv2 CPU interface needs a non-zero, 4 KiB aligned base",
                );
            } else if !below_ipa_limit(b.gicc_base, b.gicc_size) {
                rule(
                    "gicc_base",
                    b.gicc_base,
                    "beyond the shim's 39-bit stage-2 address space",
                );
            }
            if b.gicc_size < GICC_MIN_SIZE || !b.gicc_size.is_multiple_of(PAGE) {
                rule(
                    "gicc_size",
                    b.gicc_size,
                    "the GICv2 CPU interface is at least 0x2000 bytes, a multiple of 4 KiB",
                );
            }
        }
        _ => {} // validate reports the version
    }
    let mpidrs = &b.mpidr[..(b.num_cpus as usize).min(MAX_CPUS)];
    for (cpu, &m) in mpidrs.iter().enumerate() {
        if m & !MPIDR_AFF_MASK != 0 {
            bad(Problem::BoardRule {
                field: "mpidr",
                value: m,
                rule: explain("only the affinity fields Aff3..Aff0 (mask 0xff_00ff_ffff) may be set"),
            });
        }
        if let Some(first) = mpidrs[..cpu].iter().position(|&o| o == m) {
            bad(Problem::MpidrTwice {
                cpu: cpu as u32,
                first: first as u32,
                mpidr: m,
            });
        }
    }
}

/// Out of line: inlined into the shim's validation it costs 0.6 KiB.
#[inline(never)]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a == b
}

fn cell(ci: u32, c: &CellConfig, b: &Board, cells: &[CellConfig], bad: &mut dyn FnMut(Problem)) {
    let mut field = |field, index, value, rule| {
        bad(Problem::CellField {
            cell: ci,
            field,
            index,
            value,
            rule: explain(rule),
        })
    };
    const BEYOND: &str = "beyond the shim's 39-bit stage-2 address space";
    let name = crate::bytes_field(&c.name);
    if name.is_empty() {
        field("name", NO_INDEX, 0, "a cell needs a name");
    } else if let Some(first) = cells[..ci as usize]
        .iter()
        .position(|o| same_name(crate::bytes_field(&o.name), name))
    {
        field(
            "name",
            NO_INDEX,
            first as u64,
            "another cell (index given) has this name",
        );
    }
    for (ri, r) in c.mem_regions().iter().enumerate() {
        if end_of(r.phys, r.size).is_none() {
            field("memory.phys", ri as u32, r.phys, "base + size overflows 64 bits");
        }
        if !below_ipa_limit(r.virt, r.size) {
            field("memory.virt", ri as u32, r.virt, BEYOND);
        }
    }
    if !below_ipa_limit(c.comm_region_ipa, COMM_REGION_SIZE as u64) {
        field("comm_region_ipa", NO_INDEX, c.comm_region_ipa, BEYOND);
    }
    let v = &c.vpci;
    if v.ecam_size != 0 {
        if v.ecam_size > ECAM_MAX || !v.ecam_size.is_multiple_of(ECAM_BUS) {
            field(
                "vpci.ecam_size",
                NO_INDEX,
                v.ecam_size,
                "ECAM is 1 MiB per bus, at most 256 buses (0x1000_0000)",
            );
        }
        if !below_ipa_limit(v.ecam_base, v.ecam_size) {
            field("vpci.ecam_base", NO_INDEX, v.ecam_base, BEYOND);
        }
        let last = v.irq_base.checked_add(VPCI_INTX);
        if v.irq_base < 32 || last.is_none_or(|l| l > b.num_irqs) {
            field(
                "vpci.irq_base",
                NO_INDEX,
                v.irq_base.into(),
                "INTA..INTD (irq_base..irq_base+3) must be SPIs the distributor implements",
            );
        }
        if v.mmio_size == 0 {
            field(
                "vpci.mmio_size",
                NO_INDEX,
                0,
                "the vPCI MMIO window needs a non-zero size",
            );
        }
    }
    if c.boot.overlay_count as usize > crate::staging::MAX_OVERLAYS {
        field(
            "overlays",
            NO_INDEX,
            c.boot.overlay_count.into(),
            "at most 4 overlays per cell",
        );
    }
    // As bytes (no UTF-8 decoding in the shim): a node path is printable
    // ASCII, which is UTF-8 too, so the loader reads it as a `&str`.
    for (i, p) in c.disable[..(c.num_disable as usize).min(MAX_DISABLE)]
        .iter()
        .map(crate::bytes_field)
        .enumerate()
    {
        if !p.starts_with(b"/") || p == b"/" || p.ends_with(b"/") || !p.iter().all(u8::is_ascii_graphic) {
            field(
                "disable",
                i as u32,
                0,
                "a device-tree node path such as \"/pcie@10000000\" (not \"/\", not relative)",
            );
        }
    }
}

fn links(cfg: &SystemConfig, bad: &mut dyn FnMut(Problem)) {
    let links = cfg.links();
    for (li, l) in links.iter().enumerate() {
        let li = li as u32;
        let mut rule = |field, value, rule| {
            bad(Problem::LinkRule {
                link: li,
                field,
                value,
                rule: explain(rule),
            })
        };
        if !l.shmem_phys.is_multiple_of(PAGE) {
            rule(
                "shmem",
                l.shmem_phys,
                "the shared memory must be 4 KiB aligned (each section is mapped on its own)",
            );
        }
        for (f, v) in [
            ("state_size", l.state_size),
            ("rw_size", l.rw_size),
            ("out_size", l.out_size),
        ] {
            if !v.is_multiple_of(PAGE) {
                rule(f, v, "section sizes must be multiples of 4 KiB");
            }
        }
        if l.state_size == 0 {
            rule("state_size", 0, "the state table needs at least one 4 KiB page");
        }
        if l.checked_shmem_size().and_then(|n| end_of(l.shmem_phys, n)).is_none() {
            rule(
                "out_size",
                l.out_size,
                "state_size + rw_size + 2 * out_size overflows 64 bits",
            );
        }
        if l.device > 31 {
            rule("device", l.device.into(), "PCI device numbers are 0..=31");
        }
        if l.protocol > 0xffff {
            rule("protocol", l.protocol.into(), "the protocol is 16 bits");
        }
        if l.peers[0] == l.peers[1] {
            rule("peers", l.peers[0].into(), "a cell cannot link to itself");
        }
        let shares_cell = |o: &IvshmemLink| o.peers.iter().any(|p| *p != NO_PEER && l.peers.contains(p));
        if let Some(first) = links[..li as usize]
            .iter()
            .position(|o| o.device == l.device && shares_cell(o))
        {
            bad(Problem::LinkDeviceTwice {
                link: li,
                first: first as u32,
                device: l.device,
            });
        }
    }
}

//! What an inmate learns from its DTB (the one the loader wrote for its
//! cell): the virtual PCI host (ECAM, MEM window, INTx routing), the GIC
//! (v3: distributor and redistributors; v2: distributor and CPU interface,
//! addresses translated through the parent buses' `ranges` as on the Pi's
//! /soc), the virtual timer's PPI and the cell's /chosen/bootargs.

use cellfdt::Fdt;

/// The enabled `pci-host-ecam-generic` node (the loader disables the
/// board's physical host bridge in the cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VpciHost {
    pub node: usize,
    pub ecam: u64,
    pub ecam_size: u64,
    /// First 32-bit MEM range: PCI bus address, CPU address, size.
    pub mem_pci: u64,
    pub mem_cpu: u64,
    pub mem_size: u64,
}

/// The cell's interrupt controller, CPU physical addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gic {
    /// `arm,gic-v3`: distributor, redistributor range.
    V3 { gicd: u64, gicr: u64, gicr_size: u64 },
    /// `arm,gic-400` / `arm,cortex-a15-gic`: distributor, CPU interface
    /// (and, when the node lists it, the hypervisor control interface GICH,
    /// which no cell may reach).
    V2 { gicd: u64, gicc: u64, gich: Option<u64> },
}

impl Gic {
    pub fn gicd(&self) -> u64 {
        match *self {
            Gic::V3 { gicd, .. } | Gic::V2 { gicd, .. } => gicd,
        }
    }
}

/// GICv2 `compatible` strings the inmates know (the Pi 4's GIC-400 first).
const GIC_V2: [&str; 3] = ["arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic"];

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(4 * i..4 * i + 4)?.try_into().ok()?))
}

fn cells(b: &[u8], at: usize, n: usize) -> Option<u64> {
    (0..n).try_fold(0u64, |acc, k| Some(acc << 32 | u64::from(be32(b, at + k)?)))
}

fn enabled(fdt: &Fdt<'_>, node: usize) -> bool {
    fdt.getprop(node, "status")
        .map_or(true, |s| s.starts_with(b"okay") || s.starts_with(b"ok\0"))
}

fn first_enabled(fdt: &Fdt<'_>, compat: &str) -> Option<usize> {
    let mut at = None;
    loop {
        let n = fdt.node_offset_by_compatible(at, compat).ok()?;
        if enabled(fdt, n) {
            return Some(n);
        }
        at = Some(n);
    }
}

/// The cell's virtual PCI host bridge.
pub fn vpci_host(fdt: &Fdt<'_>) -> Option<VpciHost> {
    let node = first_enabled(fdt, "pci-host-ecam-generic")?;
    let (ecam, ecam_size) = fdt.reg(node).ok()?.next()?;
    let parent_ac = fdt.address_cells(0).ok()? as usize;
    let sc = fdt.size_cells(node).ok()? as usize;
    let ranges = fdt.getprop(node, "ranges").ok()?;
    let row = 3 + parent_ac + sc;
    let rows = ranges.len() / 4 / row;
    (0..rows).find_map(|r| {
        let at = r * row;
        let space = (be32(ranges, at)? >> 24) & 3;
        (space == 2).then_some(())?; // 32-bit memory space
        Some(VpciHost {
            node,
            ecam,
            ecam_size,
            mem_pci: cells(ranges, at + 1, 2)?,
            mem_cpu: cells(ranges, at + 3, parent_ac)?,
            mem_size: cells(ranges, at + 3 + parent_ac, sc)?,
        })
    })
}

/// GIC INTID that INTx `pin` (1 = INTA) of bus-0 device `device` raises,
/// from the host node's `interrupt-map` / `interrupt-map-mask`.
pub fn intx_intid(fdt: &Fdt<'_>, host: usize, device: u8, pin: u8) -> Option<u32> {
    let map = fdt.getprop(host, "interrupt-map").ok()?;
    let mask = fdt.getprop(host, "interrupt-map-mask").ok()?;
    let key = [u32::from(device) << 11, 0, 0, u32::from(pin)];
    let masked: [u32; 4] = core::array::from_fn(|i| key[i] & be32(mask, i).unwrap_or(u32::MAX));
    let mut at = 0;
    while at * 4 < map.len() {
        let row: [u32; 4] = [
            be32(map, at)?,
            be32(map, at + 1)?,
            be32(map, at + 2)?,
            be32(map, at + 3)?,
        ];
        let parent = fdt.node_offset_by_phandle(be32(map, at + 4)?).ok()?;
        let p_ac = fdt
            .getprop(parent, "#address-cells")
            .ok()
            .and_then(|v| be32(v, 0))
            .unwrap_or(0) as usize;
        let p_ic = fdt.getprop_u32(parent, "#interrupt-cells").ok()? as usize;
        let spec = at + 5 + p_ac;
        if row == masked {
            // GIC specifier: <type number flags>; type 0 = SPI (INTID number + 32), 1 = PPI (+16).
            let (kind, num) = (be32(map, spec)?, be32(map, spec + 1)?);
            return Some(num + if kind == 0 { 32 } else { 16 });
        }
        at = spec + p_ic;
    }
    None
}

/// `addr` in the address space of `node`'s parent, as a CPU physical
/// address: up through every ancestor's `ranges` (empty = identity; absent
/// below the root = not reachable from the CPU).
fn translate(fdt: &Fdt<'_>, node: usize, mut addr: u64) -> Option<u64> {
    let mut bus = fdt.parent_offset(node).ok()?;
    while bus != 0 {
        let ranges = fdt.getprop(bus, "ranges").ok()?;
        if !ranges.is_empty() {
            let (child, parent, _) = fdt
                .ranges(bus)
                .ok()?
                .find(|&(child, _, len)| addr >= child && addr - child < len)?;
            addr = parent + (addr - child);
        }
        bus = fdt.parent_offset(bus).ok()?;
    }
    Some(addr)
}

/// The `n`th `reg` entry of `node`, translated to a CPU physical address.
fn reg_at(fdt: &Fdt<'_>, node: usize, n: usize) -> Option<(u64, u64)> {
    let (addr, size) = fdt.reg(node).ok()?.nth(n)?;
    Some((translate(fdt, node, addr)?, size))
}

/// The enabled GIC: v3 if there is one, else a GICv2.
pub fn gic(fdt: &Fdt<'_>) -> Option<Gic> {
    if let Some(node) = first_enabled(fdt, "arm,gic-v3") {
        let (gicd, _) = reg_at(fdt, node, 0)?;
        let (gicr, gicr_size) = reg_at(fdt, node, 1)?;
        return Some(Gic::V3 { gicd, gicr, gicr_size });
    }
    let node = GIC_V2.iter().find_map(|c| first_enabled(fdt, c))?;
    let (gicd, _) = reg_at(fdt, node, 0)?;
    let (gicc, _) = reg_at(fdt, node, 1)?;
    Some(Gic::V2 {
        gicd,
        gicc,
        gich: reg_at(fdt, node, 2).map(|r| r.0),
    })
}

/// `/chosen/bootargs` (empty when absent or not UTF-8).
pub fn bootargs<'a>(fdt: &Fdt<'a>) -> &'a str {
    fdt.path_offset("/chosen")
        .and_then(|n| fdt.getprop(n, "bootargs"))
        .ok()
        .and_then(|v| core::str::from_utf8(v.split(|&b| b == 0).next()?).ok())
        .unwrap_or("")
}

/// INTID of the EL1 virtual timer (third `interrupts` entry of the
/// `arm,armv8-timer` node: secure phys, non-secure phys, virtual, hyp).
pub fn virt_timer_intid(fdt: &Fdt<'_>) -> Option<u32> {
    let node = first_enabled(fdt, "arm,armv8-timer")?;
    let irqs = fdt.getprop(node, "interrupts").ok()?;
    let (kind, num) = (be32(irqs, 6)?, be32(irqs, 7)?);
    Some(num + if kind == 1 { 16 } else { 32 })
}

/// The DTB's bytes at `addr`, trusting only its header's totalsize (capped).
pub fn totalsize(header: &[u8; 8]) -> Option<usize> {
    (u32::from_be_bytes(header[0..4].try_into().ok()?) == 0xd00d_feed)
        .then(|| u32::from_be_bytes(header[4..8].try_into().unwrap_or_default()) as usize)
        .filter(|&n| (64..=2 << 20).contains(&n))
}

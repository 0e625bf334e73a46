//! Step 1: the virtual PCI host bridge the shim emulates behind the cell's
//! ECAM window (Linux `pci-host-ecam-generic`, bindings
//! `pci/host-generic-pci.yaml` and `pci/pci.txt`).
//!
//! Two writers, one set of values ([`Node`]): the direct writer adds the node
//! with setprops; the template writer patches the board's compiled
//! `vpci-template.dts` and applies it with `cellfdt::overlay_apply`. The
//! template lists its properties in the direct writer's setprop order, so both
//! run the same edit sequence on the base and give the same bytes
//! (loader/tests/overlays.rs).

use super::overlay;
use super::{Gic, at};
use crate::error::{Cause, Fallible, FixupError};
use crate::text::Text;
use crate::view::{CellView, MAX_VPCI_DEVICES};
use cellfdt::{Error, Fdt, FdtMut};

/// What errors call the template (it is a payload like a user overlay).
pub const TEMPLATE_NAME: &str = "vpci-template";

/// Child unit-address bits that select the device number (phys.hi bits 15:11).
const DEVICE_MASK: u32 = 0xf800;
/// phys.hi space code for 32-bit non-prefetchable memory.
const SPACE_MEM32: u32 = 0x0200_0000;
const INTA: u32 = 1;
const GIC_SPI: u32 = 0;
/// IRQ_TYPE_EDGE_RISING: the shim pulses the SPI pending, as Jailhouse does.
const EDGE_RISING: u32 = 1;
/// child address (3) + pin (1) + phandle (1) + parent address (<= 3) + specifier (<= 4).
const MAX_ROW: usize = 12;
/// The shim emulates bus 0 only.
const BUS_RANGE: [u32; 2] = [0, 0];
/// Growth of the template copy by the loader's patches: the node name (up
/// to 16 hex digits over the placeholder's one) and interrupt-map rows
/// beyond the placeholder's one, rounded up.
const TEMPLATE_GROWTH: usize = 24 + MAX_ROW * 4 * MAX_VPCI_DEVICES;

/// The vPCI node's cell-specific values, computed once for both writers.
struct Node {
    name: Text<24>,
    path: Text<26>,
    domain: u32,
    reg: [u32; 4],
    reg_len: usize,
    ranges: [u32; 7],
    ranges_len: usize,
    map: [u32; MAX_ROW * MAX_VPCI_DEVICES],
    row_len: usize,
    rows: usize,
}

impl Node {
    fn reg(&self) -> &[u32] {
        &self.reg[..self.reg_len]
    }
    fn ranges(&self) -> &[u32] {
        &self.ranges[..self.ranges_len]
    }
    fn map(&self) -> &[u32] {
        // row_len <= MAX_ROW, rows <= MAX_VPCI_DEVICES (plan checks both).
        &self.map[..self.row_len.saturating_mul(self.rows)]
    }
}

/// Scratch bytes the template path needs for its copy of `template`.
pub fn template_copy_len(template: &[u8]) -> usize {
    template.len().saturating_add(TEMPLATE_GROWTH)
}

/// The direct writer.
pub fn add(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView, gic: Gic) -> Fallible<()> {
    let Some(n) = plan(d, &fdt.as_fdt(), cell, gic)? else {
        return Ok(());
    };
    let p = n.path.as_str();
    let node = fdt
        .add_subnode(0, n.name.as_str())
        .map_err(|e| d.record_fdt(e, p, ""))?;
    let mut set = |r: cellfdt::Result<()>, prop| r.map_err(|e| d.record_fdt(e, p, prop));
    // libfdt inserts a new property first in its node: set them in reverse so
    // the result reads in binding order.
    set(fdt.setprop(node, "dma-coherent", &[]), "dma-coherent")?;
    set(fdt.setprop_u32(node, "linux,pci-domain", n.domain), "linux,pci-domain")?;
    set(fdt.setprop_cells(node, "interrupt-map", n.map()), "interrupt-map")?;
    set(
        fdt.setprop_cells(node, "interrupt-map-mask", &[DEVICE_MASK, 0, 0, 7]),
        "interrupt-map-mask",
    )?;
    set(fdt.setprop_cells(node, "ranges", n.ranges()), "ranges")?;
    set(fdt.setprop_cells(node, "reg", n.reg()), "reg")?;
    set(fdt.setprop_cells(node, "bus-range", &BUS_RANGE), "bus-range")?;
    set(fdt.setprop_u32(node, "#interrupt-cells", 1), "#interrupt-cells")?;
    set(fdt.setprop_u32(node, "#size-cells", 2), "#size-cells")?;
    set(fdt.setprop_u32(node, "#address-cells", 3), "#address-cells")?;
    set(fdt.setprop_str(node, "device_type", "pci"), "device_type")?;
    set(
        fdt.setprop_str(node, "compatible", "pci-host-ecam-generic"),
        "compatible",
    )
}

/// The template writer: copies `template` into `scratch`, patches the copy
/// for the cell and applies it to the guest tree in `out` (a buffer holding
/// an rw-layout tree, as `FdtMut::into_inner` gives). Atomic like
/// `overlay_apply`: on error `out` is unchanged.
pub fn add_from_template(
    d: &mut FixupError,
    out: &mut [u8],
    cell: &CellView,
    gic: Gic,
    template: &[u8],
    scratch: &mut [u8],
) -> Fallible<()> {
    let base = Fdt::new(out).map_err(|e| d.record_fdt(e, "", ""))?;
    let Some(n) = plan(d, &base, cell, gic)? else {
        return Ok(());
    };
    let (copy, work) = overlay::split_scratch(scratch, template_copy_len(template))
        .ok_or_else(|| overlay::error(d, TEMPLATE_NAME, Error::NoSpace, "scratch"))?;
    patch(d, template, copy, &n).map_err(|_| d.record_overlay(TEMPLATE_NAME))?;
    overlay::apply(d, TEMPLATE_NAME, out, copy, work, template)
}

/// Opens the template into `copy` (rw layout, so the name and the
/// interrupt-map may change size) and writes the cell's values over the
/// placeholders; everything but those two is written in place.
fn patch(d: &mut FixupError, template: &[u8], copy: &mut [u8], n: &Node) -> Fallible<()> {
    let mut ov = FdtMut::open_into(template, copy).map_err(|e| d.record_fdt(e, "", ""))?;
    const PATH: &str = "/fragment@0/__overlay__/pci";
    let node = ov
        .as_fdt()
        .path_offset("/fragment@0/__overlay__")
        .and_then(|o| ov.as_fdt().subnode_offset(o, "pci"))
        .map_err(|e| d.record_fdt(e, PATH, ""))?;
    let mut set = |r: cellfdt::Result<()>, prop| {
        r.map_err(|err| {
            let cause = match err {
                // setprop_inplace: the placeholder is not this board's size.
                Error::NoSpace => Cause::TemplateSize,
                err => Cause::Fdt(err),
            };
            d.record(cause, PATH, prop)
        })
    };
    let mut cells = [0u8; MAX_ROW * MAX_VPCI_DEVICES * 4];
    set(ov.setprop_inplace(node, "reg", be_bytes(n.reg(), &mut cells)), "reg")?;
    set(
        ov.setprop_inplace(node, "ranges", be_bytes(n.ranges(), &mut cells)),
        "ranges",
    )?;
    set(
        ov.setprop_inplace(node, "bus-range", be_bytes(&BUS_RANGE, &mut cells)),
        "bus-range",
    )?;
    set(
        ov.setprop_inplace_u32(node, "linux,pci-domain", n.domain),
        "linux,pci-domain",
    )?;
    // The placeholder is one row: its size says the template was written for
    // a GIC with this board's cell counts.
    let row = match ov.as_fdt().getprop(node, "interrupt-map") {
        Ok(v) => v.len(),
        Err(e) => return set(Err(e), "interrupt-map"),
    };
    if Some(row) != n.row_len.checked_mul(4) {
        return set(Err(Error::NoSpace), "interrupt-map");
    }
    set(
        ov.setprop(node, "interrupt-map", be_bytes(n.map(), &mut cells)),
        "interrupt-map",
    )?;
    set(ov.set_name(node, n.name.as_str()), "")
}

/// `cells` as big-endian bytes in `buf`.
fn be_bytes<'b>(cells: &[u32], buf: &'b mut [u8]) -> &'b [u8] {
    for (c, b) in cells.iter().zip(buf.chunks_exact_mut(4)) {
        b.copy_from_slice(&c.to_be_bytes());
    }
    &buf[..cells.len().saturating_mul(4).min(buf.len())]
}

/// The node's values, `None` when the cell has no ECAM window.
fn plan(d: &mut FixupError, fdt: &Fdt<'_>, cell: &CellView, gic: Gic) -> Fallible<Option<Node>> {
    let v = &cell.cell.vpci;
    if v.ecam_size == 0 {
        return Ok(None);
    }
    if cell.vpci_devices.len() > MAX_VPCI_DEVICES {
        let cause = Cause::TooManyDevices(cell.vpci_devices.len() as u32);
        return Err(d.record(cause, "", ""));
    }
    let mut name = Text::<24>::new();
    name.push_str("pci@").push_hex(v.ecam_base);
    let mut path = Text::<26>::new();
    path.push_str("/").push_str(name.as_str());
    match fdt.subnode_offset(0, name.as_str()) {
        Ok(_) => return Err(d.record(Cause::NodeExists, path.as_str(), "")),
        Err(Error::NotFound) => {}
        Err(e) => return Err(d.record_fdt(e, "/", "")),
    }
    let domain = free_pci_domain(d, fdt, v.domain)?;
    let root_ac = fdt.address_cells(0).map_err(|e| at(d, fdt, 0, "#address-cells", e))?;
    let root_sc = fdt.size_cells(0).map_err(|e| at(d, fdt, 0, "#size-cells", e))?;

    // interrupt-map: one row per device; the mask keeps the device number and
    // the pin, so each ivshmem device gets its own SPI (Jailhouse's scheme).
    // find_gic bounds the GIC's cells (address <= 3, interrupt 3..=4): a
    // row is at most MAX_ROW cells.
    let gic_ac = gic.address_cells as usize;
    let row_len = 5usize
        .saturating_add(gic_ac)
        .saturating_add(gic.interrupt_cells as usize);
    if row_len > MAX_ROW {
        return Err(d.record(Cause::UnsupportedInterruptCells(gic.interrupt_cells), "", ""));
    }
    let mut map = [0u32; MAX_ROW * MAX_VPCI_DEVICES];
    for (row, &dev) in map.chunks_exact_mut(row_len).zip(cell.vpci_devices) {
        row[0] = u32::from(dev & 0x1f) << 11;
        row[3] = INTA;
        row[4] = gic.phandle;
        // The INTx SPI (validated: irq_base + 3 below the GIC's limit).
        // SPIs are INTIDs 32..=1019 (GIC architecture): SPI numbers 0..988.
        let spi = v
            .irq_base
            .checked_add(u32::from(dev % 4))
            .and_then(|i| i.checked_sub(32));
        let spi = spi.filter(|&s| s < 988);
        let Some(spi) = spi else {
            return Err(d.record_fdt(Error::BadValue, path.as_str(), "interrupt-map"));
        };
        let spec = &mut row[5usize.saturating_add(gic_ac)..];
        spec[0] = GIC_SPI;
        spec[1] = spi;
        spec[2] = EDGE_RISING;
    }

    // ranges: <phys.hi phys.mid phys.lo | parent address (root cells) | size (2 cells)>, 1:1.
    let mut ranges = [0u32; 3 + 2 + 2];
    let base = [(v.mmio_base >> 32) as u32, v.mmio_base as u32];
    let size = [(v.mmio_size >> 32) as u32, v.mmio_size as u32];
    let parent: &[u32] = if root_ac == 1 { &base[1..] } else { &base };
    let cells = [SPACE_MEM32, base[0], base[1]]
        .into_iter()
        .chain(parent.iter().copied())
        .chain(size);
    let mut ranges_len = 0usize;
    for (slot, c) in ranges.iter_mut().zip(cells) {
        *slot = c;
        ranges_len = ranges_len.saturating_add(1);
    }

    // reg in the root's cells (what setprop_reg writes, checked the same way).
    let mut reg = [0u32; 4];
    let mut reg_len = 0;
    for (value, n, cells) in [
        (v.ecam_base, root_ac, "#address-cells"),
        (v.ecam_size, root_sc, "#size-cells"),
    ] {
        let fits = match n {
            1 => value <= u64::from(u32::MAX),
            2 => true,
            _ => return Err(at(d, fdt, 0, cells, Error::BadNCells)),
        };
        if !fits {
            return Err(d.record_fdt(Error::BadValue, path.as_str(), "reg"));
        }
        if n == 2 {
            reg[reg_len] = (value >> 32) as u32;
            reg_len = usize::saturating_add(reg_len, 1);
        }
        reg[reg_len] = value as u32;
        reg_len = usize::saturating_add(reg_len, 1);
    }

    Ok(Some(Node {
        name,
        path,
        domain,
        reg,
        reg_len,
        ranges,
        ranges_len,
        map,
        row_len,
        rows: cell.vpci_devices.len(),
    }))
}

/// `wanted` unless another host bridge already carries that
/// `linux,pci-domain` (Linux refuses duplicate domains); then the next free one.
fn free_pci_domain(d: &mut FixupError, f: &Fdt<'_>, wanted: u32) -> Fallible<u32> {
    let mut used = 0u64; // bit d: domain d (domains >= 64 are only compared with `wanted`)
    let mut clash_high = false;
    let mut node = 0;
    let mut depth = 0i32;
    loop {
        node = match f.next_node(Some(node), Some(&mut depth)) {
            Ok(n) if depth > 0 => n,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => return Err(d.record_fdt(e, "", "linux,pci-domain")),
        };
        match f.getprop_u32(node, "linux,pci-domain") {
            Ok(d) if d < 64 => used |= 1 << d,
            Ok(d) => clash_high |= d == wanted,
            Err(Error::NotFound) => {}
            Err(err) => return Err(at(d, f, node, "linux,pci-domain", err)),
        }
    }
    let mut d = wanted;
    while (d < 64 && used & (1 << d) != 0) || (d >= 64 && d == wanted && clash_high) {
        d = d.saturating_add(1);
    }
    Ok(d)
}

//! Step 1: the virtual PCI host bridge the shim emulates behind the cell's
//! ECAM window (Linux `pci-host-ecam-generic`, bindings
//! `pci/host-generic-pci.yaml` and `pci/pci.txt`).

use super::{Gic, at, node_path};
use crate::error::{Cause, FixupError, Step};
use crate::text::Text;
use crate::view::{CellView, MAX_VPCI_DEVICES};
use cellfdt::{Error, FdtMut};

const STEP: Step = Step::VirtualPci;

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

pub fn add(fdt: &mut FdtMut<'_>, cell: &CellView, gic: Gic) -> Result<(), FixupError> {
    let v = &cell.cell.vpci;
    if v.ecam_size == 0 {
        return Ok(());
    }
    if cell.vpci_devices.len() > MAX_VPCI_DEVICES {
        return Err(FixupError::new(
            STEP,
            Cause::TooManyDevices(cell.vpci_devices.len()),
        ));
    }
    let mut name = Text::<24>::new();
    name.push_str("pci@").push_hex(v.ecam_base);
    let mut path = Text::<26>::new();
    path.push_str("/").push_str(name.as_str());
    match fdt.as_fdt().subnode_offset(0, name.as_str()) {
        Ok(_) => return Err(FixupError::new(STEP, Cause::NodeExists).at(path.as_str())),
        Err(Error::NotFound) => {}
        Err(e) => return Err(FixupError::fdt(STEP, e).at("/")),
    }
    let domain = free_pci_domain(fdt, v.domain)?;
    let root_ac = fdt
        .as_fdt()
        .address_cells(0)
        .map_err(|e| at(&fdt.as_fdt(), STEP, 0, "#address-cells", e))?;

    // interrupt-map: one row per device; the mask keeps the device number and
    // the pin, so each ivshmem device gets its own SPI (Jailhouse's scheme).
    let row_len = 3 + 1 + 1 + gic.address_cells as usize + gic.interrupt_cells as usize;
    let mut map = [0u32; MAX_ROW * MAX_VPCI_DEVICES];
    for (i, &dev) in cell.vpci_devices.iter().enumerate() {
        let row = &mut map[i * row_len..(i + 1) * row_len];
        row[0] = u32::from(dev & 0x1f) << 11;
        row[3] = INTA;
        row[4] = gic.phandle;
        let spec = &mut row[5 + gic.address_cells as usize..];
        spec[0] = GIC_SPI;
        spec[1] = v.irq_base.wrapping_add(u32::from(dev % 4)).wrapping_sub(32);
        spec[2] = EDGE_RISING;
    }
    let map = &map[..row_len * cell.vpci_devices.len()];

    // ranges: <phys.hi phys.mid phys.lo | parent address (root cells) | size (2 cells)>, 1:1.
    let mut ranges = [0u32; 3 + 2 + 2];
    ranges[0] = SPACE_MEM32;
    ranges[1] = (v.mmio_base >> 32) as u32;
    ranges[2] = v.mmio_base as u32;
    let parent = match root_ac {
        1 => {
            ranges[3] = v.mmio_base as u32;
            4
        }
        _ => {
            ranges[3] = (v.mmio_base >> 32) as u32;
            ranges[4] = v.mmio_base as u32;
            5
        }
    };
    ranges[parent] = (v.mmio_size >> 32) as u32;
    ranges[parent + 1] = v.mmio_size as u32;
    let ranges = &ranges[..parent + 2];

    let node = fdt
        .add_subnode(0, name.as_str())
        .map_err(|e| FixupError::fdt(STEP, e).at(path.as_str()))?;
    let p = path.as_str();
    let e = |prop: &'static str| move |err| FixupError::fdt(STEP, err).at(p).prop(prop);
    // libfdt inserts a new property first in its node: set them in reverse so
    // the result reads in binding order.
    fdt.setprop(node, "dma-coherent", &[])
        .map_err(e("dma-coherent"))?;
    fdt.setprop_u32(node, "linux,pci-domain", domain)
        .map_err(e("linux,pci-domain"))?;
    fdt.setprop_u32(node, "interrupt-parent", gic.phandle)
        .map_err(e("interrupt-parent"))?;
    fdt.setprop_cells(node, "interrupt-map", map)
        .map_err(e("interrupt-map"))?;
    fdt.setprop_cells(node, "interrupt-map-mask", &[DEVICE_MASK, 0, 0, 7])
        .map_err(e("interrupt-map-mask"))?;
    fdt.setprop_cells(node, "ranges", ranges)
        .map_err(e("ranges"))?;
    fdt.setprop_reg(node, &[(v.ecam_base, v.ecam_size)])
        .map_err(e("reg"))?;
    fdt.setprop_cells(node, "bus-range", &[0, 0])
        .map_err(e("bus-range"))?;
    fdt.setprop_u32(node, "#interrupt-cells", 1)
        .map_err(e("#interrupt-cells"))?;
    fdt.setprop_u32(node, "#size-cells", 2)
        .map_err(e("#size-cells"))?;
    fdt.setprop_u32(node, "#address-cells", 3)
        .map_err(e("#address-cells"))?;
    fdt.setprop_str(node, "device_type", "pci")
        .map_err(e("device_type"))?;
    fdt.setprop_str(node, "compatible", "pci-host-ecam-generic")
        .map_err(e("compatible"))?;
    Ok(())
}

/// `wanted` unless another host bridge already carries that
/// `linux,pci-domain` (Linux refuses duplicate domains); then the next free one.
fn free_pci_domain(fdt: &FdtMut<'_>, wanted: u32) -> Result<u32, FixupError> {
    let f = fdt.as_fdt();
    let mut used = 0u64; // bit d: domain d (domains >= 64 are only compared with `wanted`)
    let mut clash_high = false;
    let mut node = 0;
    let mut depth = 0i32;
    loop {
        node = match f.next_node(Some(node), Some(&mut depth)) {
            Ok(n) if depth > 0 => n,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => return Err(FixupError::fdt(STEP, e).prop("linux,pci-domain")),
        };
        match f.getprop_u32(node, "linux,pci-domain") {
            Ok(d) if d < 64 => used |= 1 << d,
            Ok(d) => clash_high |= d == wanted,
            Err(Error::NotFound) => {}
            Err(err) => {
                let path = node_path(&f, node);
                return Err(FixupError::fdt(STEP, err)
                    .at(path.as_str())
                    .prop("linux,pci-domain"));
            }
        }
    }
    let mut d = wanted;
    while (d < 64 && used & (1 << d) != 0) || (d >= 64 && d == wanted && clash_high) {
        d += 1;
    }
    Ok(d)
}

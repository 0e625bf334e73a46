//! Which GIC SPIs the board DTB's nodes use: `interrupts` (through the
//! inherited `interrupt-parent`), `interrupts-extended` and `interrupt-map`
//! rows that land on the GIC. The vPCI INTx lines must be none of them.

use super::tree::{all_nodes, cells, opt_u32, path_of};
use cellfdt::{Error, Fdt};
use std::collections::BTreeMap;

/// GIC `#interrupt-cells` specifier type for an SPI (the binding's 0; 1 is a PPI).
const SPI_TYPE: u32 = 0;
/// SPI n is INTID n + 32.
pub const SPI_BASE: u32 = 32;

/// INTID -> the first node (path) that uses it.
pub type Used = BTreeMap<u32, String>;

pub fn used_spis(fdt: &Fdt<'_>, gic: usize) -> Result<Used, String> {
    let gic_ph = fdt
        .get_phandle(gic)
        .ok_or_else(|| format!("{}: the GIC has no phandle", path_of(fdt, gic)))?;
    let mut used = Used::new();
    for node in all_nodes(fdt)? {
        let path = path_of(fdt, node);
        let add = |spec: &[u32], used: &mut Used| {
            if let [kind, num, ..] = *spec
                && kind == SPI_TYPE
                && let Some(intid) = num.checked_add(SPI_BASE)
            {
                used.entry(intid).or_insert_with(|| path.clone());
            }
        };
        if let Ok(raw) = fdt.getprop(node, "interrupts")
            && interrupt_parent(fdt, node)? == Some(gic_ph)
        {
            let n = interrupt_cells(fdt, gic)?;
            for spec in cells(raw).chunks_exact(n) {
                add(spec, &mut used);
            }
        }
        if let Ok(raw) = fdt.getprop(node, "interrupts-extended") {
            let mut rest = &cells(raw)[..];
            while let [ph, tail @ ..] = rest {
                let ctl = controller(fdt, *ph, &path, "interrupts-extended")?;
                let n = interrupt_cells(fdt, ctl)?;
                let spec = tail.get(..n).ok_or_else(|| short(&path, "interrupts-extended"))?;
                if *ph == gic_ph {
                    add(spec, &mut used);
                }
                rest = &tail[n..];
            }
        }
        if let Ok(raw) = fdt.getprop(node, "interrupt-map") {
            let child = address_cells_or_zero(fdt, node)? + interrupt_cells(fdt, node)?;
            let mut rest = &cells(raw)[..];
            while !rest.is_empty() {
                let row = rest.get(child..).ok_or_else(|| short(&path, "interrupt-map"))?;
                let [ph, tail @ ..] = row else {
                    return Err(short(&path, "interrupt-map"));
                };
                let ctl = controller(fdt, *ph, &path, "interrupt-map")?;
                let skip = address_cells_or_zero(fdt, ctl)?;
                let n = interrupt_cells(fdt, ctl)?;
                let spec = tail.get(skip..skip + n).ok_or_else(|| short(&path, "interrupt-map"))?;
                if *ph == gic_ph {
                    add(spec, &mut used);
                }
                rest = &tail[skip + n..];
            }
        }
    }
    Ok(used)
}

fn short(path: &str, prop: &str) -> String {
    format!("{path}: property {prop}: ends in the middle of an entry")
}

fn controller(fdt: &Fdt<'_>, ph: u32, path: &str, prop: &str) -> Result<usize, String> {
    fdt.node_offset_by_phandle(ph)
        .map_err(|e| format!("{path}: property {prop}: phandle {ph:#x}: {e:?}"))
}

/// The phandle of the node's interrupt parent: its own or the nearest
/// ancestor's `interrupt-parent`.
pub fn interrupt_parent(fdt: &Fdt<'_>, mut node: usize) -> Result<Option<u32>, String> {
    loop {
        if let Some(ph) = opt_u32(fdt, node, "interrupt-parent")? {
            return Ok(Some(ph));
        }
        match fdt.parent_offset(node) {
            Ok(p) => node = p,
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(format!("{}: parent: {e:?}", path_of(fdt, node))),
        }
    }
}

fn interrupt_cells(fdt: &Fdt<'_>, node: usize) -> Result<usize, String> {
    match opt_u32(fdt, node, "#interrupt-cells")? {
        Some(n @ 1..=4) => Ok(n as usize),
        Some(n) => Err(format!("{}: #interrupt-cells = {n}, expected 1..4", path_of(fdt, node))),
        None => Err(format!(
            "{}: an interrupt parent without #interrupt-cells",
            path_of(fdt, node)
        )),
    }
}

/// `#address-cells` as `interrupt-map` reads it: absent is 0.
fn address_cells_or_zero(fdt: &Fdt<'_>, node: usize) -> Result<usize, String> {
    Ok(opt_u32(fdt, node, "#address-cells")?.unwrap_or(0) as usize)
}

/// SPIs of one node's `interrupts` (GIC parent only), for a cell's `irqs`.
pub fn node_spis(fdt: &Fdt<'_>, node: usize, gic: usize) -> Result<Vec<u32>, String> {
    let Ok(raw) = fdt.getprop(node, "interrupts") else {
        return Ok(Vec::new());
    };
    if interrupt_parent(fdt, node)? != fdt.get_phandle(gic) {
        return Ok(Vec::new());
    }
    let n = interrupt_cells(fdt, gic)?;
    Ok(cells(raw)
        .chunks_exact(n)
        .filter(|s| s[0] == SPI_TYPE)
        .filter_map(|s| s.get(1)?.checked_add(SPI_BASE))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = format!("{}/../build/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e} (run `cargo xtask fetch`)"))
    }

    #[test]
    fn qemu_virt_spis_come_from_interrupts_and_the_pcie_interrupt_map() {
        let blob = fixture("qemu-virt.dtb");
        let fdt = Fdt::new(&blob).unwrap();
        let gic = fdt.path_offset("/intc@8000000").unwrap();
        let used = used_spis(&fdt, gic).unwrap();
        assert_eq!(used.get(&33).map(String::as_str), Some("/pl011@9000000"));
        // The PCIe host's INTA..INTD rows: SPI 3..6, named by interrupt-map only.
        for intid in 35..=38 {
            assert_eq!(used.get(&intid).map(String::as_str), Some("/pcie@10000000"), "{intid}");
        }
        // PPIs (the timer, the PMU, the GIC's maintenance IRQ) are not SPIs.
        assert!(used.keys().all(|&i| i >= SPI_BASE));
        assert_eq!(used.keys().next_back(), Some(&79));
        assert_eq!(
            node_spis(&fdt, fdt.path_offset("/pl011@9000000").unwrap(), gic).unwrap(),
            vec![33]
        );
    }
}

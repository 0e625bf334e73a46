//! Step 4: `/cpus` lists only the cell's CPUs, and nothing refers to the others.

use super::{at, be_cells};
use crate::error::{Cause, Fallible, FixupError};
use crate::view::CellView;
use cellboot_abi::MAX_CPUS;
use cellfdt::{Error, Fdt, FdtMut};

pub fn restrict(d: &mut FixupError, fdt: &mut FdtMut<'_>, cell: &CellView) -> Fallible<()> {
    let cpus = fdt
        .as_fdt()
        .path_offset("/cpus")
        .map_err(|e| d.record_fdt(e, "/cpus", ""))?;
    // Deleting a node moves the ones after it, so look again from the start
    // after every deletion (a handful of CPUs: quadratic is fine).
    let kept = loop {
        let f = fdt.as_fdt();
        let mut victim = None;
        let mut kept = 0;
        for node in f.subnodes(cpus) {
            if !is_cpu(&f, node) {
                continue;
            }
            let reg = f.getprop(node, "reg").map_err(|e| at(d, &f, node, "reg", e))?;
            let reg = be_cells(reg).ok_or_else(|| at(d, &f, node, "reg", Error::BadValue))?;
            if cell.owns_mpidr(reg) {
                kept = usize::saturating_add(kept, 1);
            } else if victim.is_none() {
                victim = Some(node);
            }
        }
        let Some(node) = victim else { break kept };
        fdt.del_node(node).map_err(|e| at(d, &fdt.as_fdt(), node, "", e))?;
    };
    if kept == 0 {
        return Err(d.record(Cause::NoCpu, "/cpus", ""));
    }
    prune_cpu_map(d, fdt)?;
    prune_interrupt_affinity(d, fdt)
}

fn is_cpu(f: &Fdt<'_>, node: usize) -> bool {
    f.getprop(node, "device_type").is_ok_and(|v| v == b"cpu\0")
}

fn dangling(f: &Fdt<'_>, node: usize, prop: &str) -> bool {
    f.getprop_u32(node, prop)
        .is_ok_and(|ph| f.node_offset_by_phandle(ph).is_err())
}

/// Removes `cpu-map` leaves whose `cpu` phandle no longer resolves, then
/// containers (core, cluster, socket) left without children, then an empty
/// `cpu-map` itself: Linux rejects a topology naming a missing CPU.
fn prune_cpu_map(d: &mut FixupError, fdt: &mut FdtMut<'_>) -> Fallible<()> {
    loop {
        let f = fdt.as_fdt();
        let map = match f.path_offset("/cpus/cpu-map") {
            Ok(n) => n,
            Err(Error::NotFound) => return Ok(()),
            Err(e) => return Err(d.record_fdt(e, "/cpus/cpu-map", "")),
        };
        let mut victim = None;
        let mut depth = 0i32;
        let mut node = map;
        loop {
            node = match f.next_node(Some(node), Some(&mut depth)) {
                Ok(n) if depth > 0 => n,
                Ok(_) | Err(Error::NotFound) => break,
                Err(e) => return Err(at(d, &f, node, "", e)),
            };
            let has_cpu = f.getprop(node, "cpu").is_ok();
            let empty = f.first_subnode(node).is_err();
            if (has_cpu && dangling(&f, node, "cpu")) || (!has_cpu && empty) {
                victim = Some(node);
                break;
            }
        }
        let victim = match victim {
            Some(v) => v,
            None if f.first_subnode(map).is_err() => map,
            None => return Ok(()),
        };
        fdt.del_node(victim).map_err(|e| at(d, &fdt.as_fdt(), victim, "", e))?;
    }
}

/// A per-CPU interrupt list (the Pi's `arm-pmu`: one SPI per CPU, named by
/// `interrupt-affinity`) keeps only the entries of CPUs that remain;
/// otherwise the driver fails on the dangling phandle.
fn prune_interrupt_affinity(d: &mut FixupError, fdt: &mut FdtMut<'_>) -> Fallible<()> {
    let mut start = None;
    loop {
        let f = fdt.as_fdt();
        let Some(node) = next_with_prop(d, &f, start, "interrupt-affinity")? else {
            return Ok(());
        };
        start = Some(node);
        let aff = f
            .getprop(node, "interrupt-affinity")
            .map_err(|e| at(d, &f, node, "interrupt-affinity", e))?;
        let irqs = match f.getprop(node, "interrupts") {
            Ok(v) => v,
            Err(Error::NotFound) => continue,
            Err(e) => return Err(at(d, &f, node, "interrupts", e)),
        };
        let n = aff.len() / 4;
        let entry = irqs.len().checked_div(n);
        let Some(entry) = entry.filter(|&e| e <= 16 && e.checked_mul(n) == Some(irqs.len())) else {
            continue; // not one entry per CPU: leave it to the driver
        };
        if n > MAX_CPUS || !aff.len().is_multiple_of(4) {
            continue;
        }
        let mut new_aff = [0u8; 4 * MAX_CPUS];
        let mut new_irqs = [0u8; 16 * MAX_CPUS];
        // n <= MAX_CPUS and entry <= 16: no offset below comes near saturating.
        let (mut aff_len, mut irq_len, mut k) = (0usize, 0usize, 0usize);
        for i in 0..n {
            let a = aff.get(i.saturating_mul(4)..).and_then(|t| t.first_chunk::<4>());
            let start = i.saturating_mul(entry);
            let (Some(a), Some(irq)) = (a, irqs.get(start..start.saturating_add(entry))) else {
                continue;
            };
            if f.node_offset_by_phandle(u32::from_be_bytes(*a)).is_ok() {
                let (aff_end, irq_end) = (aff_len.saturating_add(4), irq_len.saturating_add(entry));
                if let (Some(da), Some(di)) = (new_aff.get_mut(aff_len..aff_end), new_irqs.get_mut(irq_len..irq_end)) {
                    da.copy_from_slice(a);
                    di.copy_from_slice(irq);
                }
                (aff_len, irq_len, k) = (aff_end, irq_end, k.saturating_add(1));
            }
        }
        if k == n {
            continue;
        }
        fdt.setprop(node, "interrupts", &new_irqs[..irq_len])
            .map_err(|e| at(d, &fdt.as_fdt(), node, "interrupts", e))?;
        fdt.setprop(node, "interrupt-affinity", &new_aff[..aff_len])
            .map_err(|e| at(d, &fdt.as_fdt(), node, "interrupt-affinity", e))?;
    }
}

/// Next node after `after` that has property `prop` (any value).
fn next_with_prop(d: &mut FixupError, f: &Fdt<'_>, after: Option<usize>, prop: &str) -> Fallible<Option<usize>> {
    let mut node = after.unwrap_or(0);
    if after.is_none() && f.getprop(0, prop).is_ok() {
        return Ok(Some(0));
    }
    loop {
        node = match f.next_node(Some(node), None) {
            Ok(n) => n,
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(d.record_fdt(e, "", "interrupt-affinity")),
        };
        if f.getprop(node, prop).is_ok() {
            return Ok(Some(node));
        }
    }
}

//! The board DTB's devices and their register ranges (translated to CPU
//! physical addresses through the buses' `ranges`), for `check --dtb`.
//!
//! A device is what the loader's device step looks at: a node with `reg`
//! whose parent is the root, a `simple-bus` or the GIC, and that is not a
//! structural node (memory, cpus, chosen, ...). The GIC's own redistributor
//! range is cut to the board's CPUs (QEMU reserves room for 123 CPUs' frames,
//! which would cover Jailhouse's ECAM default at 0x08e0_0000).

use cellboot_abi::Board;
use cellfdt::{Error, Fdt};

const STRUCTURAL: [&str; 8] = [
    "memory",
    "reserved-memory",
    "cpus",
    "chosen",
    "aliases",
    "psci",
    "__symbols__",
    "__overrides__",
];
const GIC_COMPATIBLES: [&str; 4] = [
    "arm,gic-v3",
    "arm,gic-400",
    "arm,cortex-a15-gic",
    "arm,cortex-a9-gic",
];
const MAX_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub path: String,
    /// CPU physical (base, size) of every `reg` entry that translates.
    pub regs: Vec<(u64, u64)>,
    /// `status` absent or "okay" in the board DTB.
    pub enabled: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Bus,
    Gic,
    Other,
}

pub fn devices(fdt: &Fdt<'_>, board: &Board) -> Result<Vec<Device>, Error> {
    let mut out = Vec::new();
    let mut kind = [Parent::Other; MAX_DEPTH];
    let mut offset = [0usize; MAX_DEPTH];
    let mut path: Vec<String> = vec![String::new()];
    kind[0] = Parent::Bus;
    let (mut node, mut depth) = (0usize, 0i32);
    loop {
        node = match fdt.next_node(Some(node), Some(&mut depth)) {
            Ok(n) if depth > 0 => n,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => return Err(e),
        };
        let d = depth as usize;
        let name = String::from_utf8_lossy(fdt.get_name_bytes(node)?).into_owned();
        path.truncate(d);
        path.push(format!("{}/{name}", path[d - 1]));
        if d >= MAX_DEPTH {
            continue;
        }
        offset[d] = node;
        kind[d] = Parent::Other;
        if kind[d - 1] == Parent::Other || is_structural(fdt, node, &name) {
            continue;
        }
        let is_gic = GIC_COMPATIBLES
            .iter()
            .any(|c| fdt.node_check_compatible(node, c).unwrap_or(false));
        if is_gic {
            kind[d] = Parent::Gic;
        } else if fdt
            .node_check_compatible(node, "simple-bus")
            .unwrap_or(false)
        {
            kind[d] = Parent::Bus;
        }
        if fdt.getprop(node, "reg").map_or(true, |r| r.is_empty()) {
            continue;
        }
        let mut regs = Vec::new();
        for (addr, size) in fdt.reg(node)? {
            let Some(cpu) = translate(fdt, addr, &offset[1..d])? else {
                continue;
            };
            let size = if is_gic && board.gic_version == 3 && cpu == board.gicr_base {
                size.min(u64::from(board.num_cpus).saturating_mul(board.gicr_stride))
            } else {
                size
            };
            regs.push((cpu, size));
        }
        let enabled = fdt
            .getprop(node, "status")
            .map_or(true, |s| s.starts_with(b"okay") || s.starts_with(b"ok\0"));
        out.push(Device {
            path: path[d].clone(),
            regs,
            enabled,
        });
    }
    Ok(out)
}

fn is_structural(fdt: &Fdt<'_>, node: usize, name: &str) -> bool {
    let base = name.split('@').next().unwrap_or(name);
    STRUCTURAL.contains(&base)
        || fdt
            .getprop(node, "device_type")
            .is_ok_and(|v| v == b"memory\0" || v == b"cpu\0")
}

/// `addr` in the address space of the innermost of `buses` (outermost first,
/// root excluded) to a CPU physical address; `None` when no `ranges` maps it.
fn translate(fdt: &Fdt<'_>, mut addr: u64, buses: &[usize]) -> Result<Option<u64>, Error> {
    for &bus in buses.iter().rev() {
        match fdt.getprop(bus, "ranges") {
            Ok([]) => continue,
            Ok(_) => {}
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        }
        let hit = fdt
            .ranges(bus)?
            .find(|&(child, _, len)| addr >= child && addr - child < len);
        match hit {
            Some((child, parent, _)) => addr = parent + (addr - child),
            None => return Ok(None),
        }
    }
    Ok(Some(addr))
}

/// Devices of `list` one of whose ranges overlaps [base, base + size).
pub fn overlapping<'d>(
    list: &'d [Device],
    base: u64,
    size: u64,
) -> impl Iterator<Item = (&'d Device, (u64, u64))> + 'd {
    let end = base.saturating_add(size);
    list.iter().filter_map(move |d| {
        d.regs
            .iter()
            .find(|&&(b, s)| s != 0 && b < end && base < b.saturating_add(s))
            .map(|&r| (d, r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::zerocopy::FromZeros;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../build/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn qemu_devices() {
        let blob = fixture("qemu-virt.dtb");
        let mut board = Board::new_zeroed();
        (
            board.gic_version,
            board.num_cpus,
            board.gicr_base,
            board.gicr_stride,
        ) = (3, 4, 0x080a_0000, 0x2_0000);
        let list = devices(&Fdt::new(&blob).unwrap(), &board).unwrap();
        let find = |p: &str| {
            list.iter()
                .find(|d| d.path == p)
                .unwrap_or_else(|| panic!("{p} missing"))
        };
        assert_eq!(find("/pl011@9000000").regs, vec![(0x0900_0000, 0x1000)]);
        assert_eq!(
            find("/intc@8000000").regs,
            vec![(0x0800_0000, 0x1_0000), (0x080a_0000, 0x8_0000)]
        );
        assert_eq!(
            find("/intc@8000000/its@8080000").regs,
            vec![(0x0808_0000, 0x2_0000)]
        );
        assert!(
            !list
                .iter()
                .any(|d| d.path.starts_with("/memory") || d.path.starts_with("/cpus"))
        );
        assert_eq!(overlapping(&list, 0x0900_0800, 0x10).count(), 1);
        assert_eq!(
            overlapping(&list, 0x08e0_0000, 0x10_0000).count(),
            0,
            "Jailhouse's ECAM default is free"
        );
    }

    #[test]
    fn pi_devices_are_translated_through_soc_ranges() {
        let blob = fixture("bcm2711-rpi-4-b.dtb");
        let board = Board::new_zeroed();
        let list = devices(&Fdt::new(&blob).unwrap(), &board).unwrap();
        let uart = list
            .iter()
            .find(|d| d.path == "/soc/serial@7e201000")
            .unwrap();
        assert_eq!(uart.regs, vec![(0xfe20_1000, 0x200)]);
    }
}

//! The board DTB's devices and their register ranges (translated to CPU
//! physical addresses through the buses' `ranges`), for `check --dtb`.
//!
//! The walk is the loader's ([`cellboot_loader::devices`]), so a device here
//! is one the loader's device step judges; the GIC is recognised by its
//! compatible. The GIC's own redistributor range is cut to the board's CPUs
//! (QEMU reserves room for 123 CPUs' frames, which would cover Jailhouse's
//! ECAM default at 0x08e0_0000).

use cellboot_abi::Board;
use cellboot_loader::devices::{DeviceWalk, GicMatch};
use cellfdt::{Error, Fdt};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub path: String,
    /// CPU physical (base, size) of every `reg` entry that translates.
    pub regs: Vec<(u64, u64)>,
    /// `status` absent or "okay" in the board DTB.
    pub enabled: bool,
}

pub fn devices(fdt: &Fdt<'_>, board: &Board) -> Result<Vec<Device>, Error> {
    let mut out = Vec::new();
    let mut walk = DeviceWalk::new(GicMatch::Compatible);
    while let Some(dev) = walk.next(fdt).map_err(|e| e.error)? {
        let mut path = String::new();
        for &n in dev.path() {
            path.push('/');
            path.push_str(&String::from_utf8_lossy(fdt.get_name_bytes(n)?));
        }
        let mut regs = Vec::new();
        for r in dev.regs(fdt).map_err(|e| e.error)? {
            let Some((cpu, size)) = r.map_err(|e| e.error)? else {
                continue;
            };
            let size = if dev.is_gic && board.gic_version == 3 && cpu == board.gicr_base {
                size.min(u64::from(board.num_cpus).saturating_mul(board.gicr_stride))
            } else {
                size
            };
            regs.push((cpu, size));
        }
        let enabled = fdt
            .getprop(dev.node, "status")
            .map_or(true, |s| s.starts_with(b"okay") || s.starts_with(b"ok\0"));
        out.push(Device { path, regs, enabled });
    }
    Ok(out)
}

/// `node`'s `reg` translated to CPU physical addresses, as the walk finds
/// it (untranslatable entries left out); empty when the walk does not
/// reach `node`.
pub fn translated_regs(fdt: &Fdt<'_>, node: usize) -> Result<Vec<(u64, u64)>, Error> {
    let mut walk = DeviceWalk::new(GicMatch::Compatible);
    while let Some(dev) = walk.next(fdt).map_err(|e| e.error)? {
        if dev.node != node {
            continue;
        }
        let mut out = Vec::new();
        for r in dev.regs(fdt).map_err(|e| e.error)? {
            out.extend(r.map_err(|e| e.error)?);
        }
        return Ok(out);
    }
    Ok(Vec::new())
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
        std::fs::read(format!("{}/../build/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn qemu_devices() {
        let blob = fixture("qemu-virt.dtb");
        let mut board = Board::new_zeroed();
        (board.gic_version, board.num_cpus, board.gicr_base, board.gicr_stride) = (3, 4, 0x080a_0000, 0x2_0000);
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
        assert_eq!(find("/intc@8000000/its@8080000").regs, vec![(0x0808_0000, 0x2_0000)]);
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
        let uart = list.iter().find(|d| d.path == "/soc/serial@7e201000").unwrap();
        assert_eq!(uart.regs, vec![(0xfe20_1000, 0x200)]);
    }
}

//! What the hypervisor-shim does before the loader runs, redone on the host
//! with the shim's own code so the loader gets the very inputs it gets on
//! the board:
//! - the board DTB trimmed to its used part (`cellboot_abi::staging::trim_board_dtb`,
//!   the shim's `dtb::take`): QEMU's header claims 1 MiB, and `open_into`
//!   needs room for the whole `totalsize`;
//! - the board DTB, initrd, kernel, overlays and vPCI template staged in the
//!   cell (`cellboot_abi::staging::plan`, the shim's `cell::prepare`): the
//!   initrd's address (in `/chosen`) depends on the sizes;
//! - the comm region's `CellbootInfo` (board, cell, staged ranges, overlay
//!   names, vPCI devices from the shim's own `VirtualPciBus::build_from_config`).

use cellboot_abi::staging::{self, BOARD_DTB_MAX, StagePlan};
use cellboot_abi::zerocopy::FromZeros;
use cellboot_abi::{CELLBOOT_MAGIC, CellbootInfo, SystemConfig};
use cellboot_vdev::pci::VirtualPciBus;

/// The board DTB as the shim keeps it: the used part, `totalsize` patched.
/// The errors are the shim's refusals (it would not boot at all).
pub fn trim_board_dtb(blob: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; BOARD_DTB_MAX];
    let n = staging::trim_board_dtb(blob, &mut out).map_err(|e| e.to_string())?;
    out.truncate(n);
    // What the shim's `dtb::take` runs on the copy every loader gets.
    cellfdt::Fdt::new(&out).and_then(|f| f.check_full()).map_err(|e| {
        format!(
            "the shim refuses it (board DTB unusable): full structure check failed: {} ({e})",
            e.describe()
        )
    })?;
    Ok(out)
}

/// The `CellbootInfo` the shim writes into cell `ci`'s comm region for the
/// staging `plan`; `overlay_names` are the overlays' payload names.
pub fn cellboot_info(cfg: &SystemConfig, ci: usize, plan: &StagePlan, overlay_names: &[&str]) -> CellbootInfo {
    let mut info = CellbootInfo::new_zeroed();
    info.magic = CELLBOOT_MAGIC;
    info.cell_index = ci as u32;
    info.num_cells = cfg.num_cells;
    info.board = cfg.board;
    if let Some(c) = cfg.cells().get(ci) {
        info.cell = *c;
    }
    info.board_dtb = plan.board_dtb;
    info.initrd = plan.initrd;
    info.kernel = plan.kernel;
    info.overlays = plan.overlays;
    info.num_overlays = plan.num_overlays;
    info.vpci_template = plan.vpci_template;
    for (field, name) in info.overlay_names.iter_mut().zip(overlay_names) {
        cellboot_abi::set_str_field(field, name);
    }
    let bus = VirtualPciBus::build_from_config(ci, cfg);
    let mut n = 0;
    for d in bus.devices() {
        if n < info.vpci_devices.len() {
            info.vpci_devices[n] = d;
            n += 1;
        }
    }
    info.num_vpci_devices = n as u32;
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/fixtures/");
        std::fs::read(format!("{p}{name}")).unwrap_or_else(|e| panic!("{p}{name}: {e} (run the provisioning script)"))
    }

    fn be32(b: &[u8], o: usize) -> u32 {
        u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
    }

    #[test]
    fn qemu_dtb_is_trimmed_to_its_used_part() {
        let board = fixture("qemu-virt.dtb");
        assert_eq!(be32(&board, 4), 0x10_0000, "QEMU's header claims 1 MiB");
        let t = trim_board_dtb(&board).unwrap();
        assert!(t.len() < 16 * 1024 && t.len().is_multiple_of(8), "{}", t.len());
        assert_eq!(be32(&t, 4) as usize, t.len());
        assert_eq!(&t[8..], &board[8..t.len()]);
        cellfdt::Fdt::new(&t).unwrap().check_full().unwrap();
    }

    #[test]
    fn bad_blobs_are_refused_not_panicked_on() {
        let board = fixture("qemu-virt.dtb");
        for cut in [0, 10, 39, 40, 100, 4096] {
            assert!(trim_board_dtb(&board[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = board.clone();
        bad[0] = 0;
        assert!(trim_board_dtb(&bad).unwrap_err().contains("magic"));
        let mut bad = board.clone();
        bad[8..12].copy_from_slice(&0xffff_fff0u32.to_be_bytes()); // off_dt_struct
        assert!(trim_board_dtb(&bad).is_err());
    }
}

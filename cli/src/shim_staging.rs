//! What the hypervisor-shim does before the loader runs, redone on the host
//! so the loader code gets the very inputs it gets on the board:
//! - the board DTB trimmed to its used part (`hypervisor-shim/src/dtb.rs`,
//!   `take`): QEMU's header claims 1 MiB, and `open_into` needs room for
//!   the whole `totalsize`;
//! - the board DTB, then the initrd, staged downwards from the top of the
//!   cell's first RAM region, 4 KiB aligned (`hypervisor-shim/src/cell.rs`,
//!   `prepare`): the initrd's address depends on both sizes;
//! - the comm region's `CellbootInfo` (board, cell, staged ranges, vPCI
//!   devices from the shim's own `VirtualPciBus::build_from_config`).
//!
//! Keep in step with those two files; the tests pin the numbers.

use cellboot_abi::zerocopy::FromZeros;
use cellboot_abi::{CELLBOOT_MAGIC, CellbootInfo, Staged, SystemConfig, mem};
use cellboot_vdev::pci::VirtualPciBus;

/// Largest board DTB the shim keeps (its `dtb::DTB_MAX`).
pub const SHIM_DTB_MAX: usize = 128 * 1024;
const FDT_MAGIC: u32 = 0xd00d_feed;
const HEADER_LEN: u64 = 40;
const STAGE_ALIGN: u64 = 4096;

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// The board DTB as the shim keeps it: the used part, `totalsize` patched.
/// The errors are the shim's refusals (it would not boot at all).
pub fn trim_board_dtb(blob: &[u8]) -> Result<Vec<u8>, String> {
    if (blob.len() as u64) < HEADER_LEN {
        return Err(format!("{} bytes: shorter than a DTB header", blob.len()));
    }
    let magic = be32(blob, 0);
    if magic != FDT_MAGIC {
        return Err(format!("magic {magic:#010x}, expected 0xd00dfeed"));
    }
    let h = |i: usize| u64::from(be32(blob, i * 4));
    let (total, off_struct, off_strings, off_rsv) = (h(1), h(2), h(3), h(4));
    let (version, last_comp, size_strings, size_struct) =
        (be32(blob, 20), be32(blob, 24), h(8), h(9));
    if version < 16 || last_comp > 17 {
        return Err(format!(
            "DTB version {version} is not supported (need 16 or 17)"
        ));
    }
    if total > blob.len() as u64 {
        return Err(format!(
            "totalsize {total:#x} is beyond the file's {:#x} bytes",
            blob.len()
        ));
    }
    if off_rsv < HEADER_LEN || off_struct < HEADER_LEN || off_strings < HEADER_LEN {
        return Err("header is inconsistent: a block starts inside the header".into());
    }
    let (struct_end, strings_end) = (off_struct + size_struct, off_strings + size_strings);
    if struct_end > total || strings_end > total || off_rsv > total {
        return Err("header is inconsistent: a block ends beyond totalsize".into());
    }
    if off_struct % 4 != 0 || off_rsv % 8 != 0 {
        return Err("header is inconsistent: misaligned block".into());
    }
    let mut rsv_end = off_rsv;
    loop {
        if rsv_end + 16 > total {
            return Err("memory reservation map not terminated".into());
        }
        let e = &blob[rsv_end as usize..rsv_end as usize + 16];
        rsv_end += 16;
        if e.iter().all(|&b| b == 0) {
            break;
        }
    }
    let used = struct_end.max(strings_end).max(rsv_end).next_multiple_of(8) as usize;
    if used > SHIM_DTB_MAX {
        return Err(format!(
            "DTB uses {used} bytes, the shim keeps at most {SHIM_DTB_MAX}"
        ));
    }
    let mut out = vec![0u8; used];
    let n = used.min(total as usize);
    out[..n].copy_from_slice(&blob[..n]);
    out[4..8].copy_from_slice(&(used as u32).to_be_bytes());
    Ok(out)
}

/// Where the shim stages the board DTB and the initrd in the cell.
#[derive(Clone, Copy, Debug)]
pub struct Staging {
    pub board_dtb: Staged,
    /// Size 0 when the cell has none.
    pub initrd: Staged,
}

/// `board_dtb_len`: the trimmed DTB's length; `initrd_size`: `None` when the
/// cell boots without an initrd.
pub fn stage(
    cfg: &SystemConfig,
    cell: usize,
    board_dtb_len: u64,
    initrd_size: Option<u64>,
) -> Result<Staging, String> {
    let c = cfg
        .cells()
        .get(cell)
        .ok_or_else(|| format!("no cell {cell}"))?;
    let ram = c
        .mem_regions()
        .iter()
        .find(|r| r.flags & mem::RAM != 0)
        .ok_or("the cell has no RAM region")?;
    let mut top = ram.virt_end();
    let mut place = |what: &str, len: u64| -> Result<Staged, String> {
        let ipa = top
            .checked_sub(len)
            .map(|a| a & !(STAGE_ALIGN - 1))
            .unwrap_or(0);
        // The shim also keeps the loader image (size known only to it) below.
        if ipa < c.loader_ipa || ipa < ram.virt {
            return Err(format!(
                "{what} ({len:#x} bytes) does not fit above the loader at {:#x} in the first RAM region {:#x}+{:#x}",
                c.loader_ipa, ram.virt, ram.size
            ));
        }
        top = ipa;
        Ok(Staged { ipa, size: len })
    };
    let board_dtb = place("board DTB", board_dtb_len)?;
    let initrd = match initrd_size {
        Some(n) => place("initrd", n)?,
        None => Staged::default(),
    };
    Ok(Staging { board_dtb, initrd })
}

/// The `CellbootInfo` the shim writes into cell `ci`'s comm region (the
/// fields the guest-DTB edits read; kernel and overlays are left empty).
pub fn cellboot_info(cfg: &SystemConfig, ci: usize, staging: &Staging) -> CellbootInfo {
    let mut info = CellbootInfo::new_zeroed();
    info.magic = CELLBOOT_MAGIC;
    info.cell_index = ci as u32;
    info.num_cells = cfg.num_cells;
    info.board = cfg.board;
    if let Some(c) = cfg.cells().get(ci) {
        info.cell = *c;
    }
    info.board_dtb = staging.board_dtb;
    info.initrd = staging.initrd;
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
        std::fs::read(format!("{p}{name}"))
            .unwrap_or_else(|e| panic!("{p}{name}: {e} (run the provisioning script)"))
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

    fn cfg_with_ram(virt: u64, size: u64, loader: u64) -> SystemConfig {
        let mut cfg = SystemConfig::empty();
        cfg.num_cells = 1;
        let c = &mut cfg.cells[0];
        c.num_mem = 2;
        c.mem[0] = cellboot_abi::MemRegion {
            phys: 0x900_0000,
            virt: 0x900_0000,
            size: 0x1000,
            flags: mem::IO,
        };
        c.mem[1] = cellboot_abi::MemRegion {
            phys: virt,
            virt,
            size,
            flags: mem::RAM,
        };
        c.loader_ipa = loader;
        cfg
    }

    #[test]
    fn staging_goes_down_from_the_top_of_the_first_ram_region() {
        let cfg = cfg_with_ram(0x4800_0000, 0x1800_0000, 0x4800_0000);
        let s = stage(&cfg, 0, 0x2008, Some(0x12_3456)).unwrap();
        let pair = |s: Staged| (s.ipa, s.size);
        assert_eq!(pair(s.board_dtb), (0x5fff_d000, 0x2008));
        assert_eq!(pair(s.initrd), (0x5fff_d000 - 0x12_4000, 0x12_3456));
        let s = stage(&cfg, 0, 0x2008, None).unwrap();
        assert_eq!(pair(s.initrd), (0, 0));
        let err = stage(&cfg, 0, 0x2008, Some(0x1800_0000)).unwrap_err();
        assert!(err.contains("initrd"), "{err}");
    }
}

//! The per-cell communication region (one page, mapped at
//! `CellConfig::comm_region_ipa`) and the hypercall ABI.
//!
//! The first 0x68 bytes follow Jailhouse's arm64 `jailhouse_comm_region`
//! ("JHCOMM" header, cell state, console, PCI ECAM base, GIC facts, vPCI IRQ
//! base) so Jailhouse inmates find what they expect; cellboot's own data
//! follows at `CELLBOOT_INFO_OFFSET`.

use crate::config::{Board, CellConfig};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const COMM_SIGNATURE: [u8; 6] = *b"JHCOMM";
pub const COMM_REVISION: u16 = 2;
pub const COMM_REGION_SIZE: usize = 16 * 1024;
pub const CELLBOOT_INFO_OFFSET: usize = 0x100;
pub const CELLBOOT_MAGIC: [u8; 8] = *b"CBCELL\0\0";

/// `cell_state` values (Jailhouse's).
pub mod cell_state {
    pub const RUNNING: u32 = 0;
    pub const RUNNING_LOCKED: u32 = 1;
    pub const SHUT_DOWN: u32 = 2;
    pub const FAILED: u32 = 3;
    pub const FAILED_COMM_REV: u32 = 4;
}

/// Hypercalls: `hvc #HVC_IMM`, x0 = code (result on return), x1..x2 = args.
pub mod hypercall {
    pub const HVC_IMM: u16 = 0x4a48;
    pub const CELL_GET_STATE: u64 = 6;
    pub const DEBUG_CONSOLE_PUTC: u64 = 8;
    /// cellboot: x1 = IPA of a NUL-terminated message in the cell, x2 = length. The
    /// shim prints it prefixed with the cell name.
    pub const DEBUG_CONSOLE_WRITE: u64 = 0x100;
    /// cellboot: the loader gave up; message already in `CellbootInfo::error`.
    pub const CELL_FAILED: u64 = 0x101;
    pub const E_NOSYS: i64 = -38;
    pub const E_INVAL: i64 = -22;
    pub const E_PERM: i64 = -1;
}

#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct JhConsole {
    pub address: u64,
    pub size: u32,
    pub kind: u16,
    pub flags: u16,
    pub divider: u32,
    pub gate_nr: u32,
    pub clock_reg: u64,
}

/// Jailhouse-compatible head of the comm region. Jailhouse packs it; every
/// field here is naturally aligned, so `repr(C)` gives the same offsets.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct JhCommHeader {
    pub signature: [u8; 6],
    pub revision: u16,
    pub cell_state: u32,
    pub msg_to_cell: u32,
    pub reply_from_cell: u32,
    pub flags: u32,
    pub console: JhConsole,
    pub pci_mmconfig_base: u64,
    pub gic_version: u8,
    pub _pad: [u8; 7],
    pub gicd_base: u64,
    pub gicc_base: u64,
    pub gicr_base: u64,
    pub vpci_irq_base: u32,
    pub _pad2: u32,
}

/// Where the shim staged this cell's inputs (IPAs inside the cell's RAM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Staged {
    pub ipa: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CellbootInfo {
    pub magic: [u8; 8],
    pub cell_index: u32,
    pub num_cells: u32,
    pub board: Board,
    pub cell: CellConfig,
    pub board_dtb: Staged,
    pub kernel: Staged,
    pub initrd: Staged,
    pub vpci_template: Staged,
    pub overlays: [Staged; 4],
    pub num_overlays: u32,
    /// Number of ivshmem devices on this cell's virtual bus.
    pub num_vpci_devices: u32,
    /// Loader's error report (NUL-terminated), valid when `cell_state` is FAILED.
    pub error: [u8; 256],
    /// PCI device numbers (0..31) of the first `num_vpci_devices` ivshmem
    /// devices on this cell's virtual bus 0 (`IvshmemLink::device`); the loader
    /// writes one `interrupt-map` row per device.
    pub vpci_devices: [u8; 8],
    /// Payload names (`PayloadEntry::name`, NUL-padded) of `overlays[..num_overlays]`:
    /// the loader's errors name a failing overlay by them (empty: `overlay<k>`).
    pub overlay_names: [[u8; 24]; 4],
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CommRegion {
    pub header: JhCommHeader,
    pub _reserved: [u8; CELLBOOT_INFO_OFFSET - core::mem::size_of::<JhCommHeader>()],
    pub info: CellbootInfo,
}

const _: () = assert!(core::mem::size_of::<CommRegion>() <= COMM_REGION_SIZE);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn jailhouse_header_offsets() {
        assert_eq!(offset_of!(JhCommHeader, cell_state), 8);
        assert_eq!(offset_of!(JhCommHeader, flags), 20);
        assert_eq!(offset_of!(JhCommHeader, console), 24);
        assert_eq!(size_of::<JhConsole>(), 32);
        assert_eq!(offset_of!(JhCommHeader, pci_mmconfig_base), 56);
        assert_eq!(offset_of!(JhCommHeader, gic_version), 64);
        assert_eq!(offset_of!(JhCommHeader, gicd_base), 72);
        assert_eq!(offset_of!(JhCommHeader, gicc_base), 80);
        assert_eq!(offset_of!(JhCommHeader, gicr_base), 88);
        assert_eq!(offset_of!(JhCommHeader, vpci_irq_base), 96);
        assert_eq!(offset_of!(CommRegion, info), CELLBOOT_INFO_OFFSET);
    }
}

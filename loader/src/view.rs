//! Everything the DTB edits need to know about a cell — what the loader finds
//! in the comm region's `CellbootInfo`, and what the host CLI builds from a
//! config file.

use cellboot_abi::{Board, CellConfig, CellbootInfo, MemRegion, mem};

/// Most ivshmem devices one cell's virtual bus carries.
pub const MAX_VPCI_DEVICES: usize = 8;

#[derive(Clone, Copy)]
pub struct CellView<'a> {
    pub board: &'a Board,
    pub cell: &'a CellConfig,
    /// Guest-physical address and size of the initrd, if any.
    pub initrd: Option<(u64, u64)>,
    /// PCI device numbers (0..31) of the ivshmem devices on the cell's bus 0.
    pub vpci_devices: &'a [u8],
}

impl<'a> CellView<'a> {
    /// The view the loader gets from its comm region.
    pub fn from_info(info: &'a CellbootInfo) -> Self {
        let n = (info.num_vpci_devices as usize).min(info.vpci_devices.len());
        let initrd = (info.initrd.size != 0).then_some((info.initrd.ipa, info.initrd.size));
        Self {
            board: &info.board,
            cell: &info.cell,
            initrd,
            vpci_devices: &info.vpci_devices[..n],
        }
    }

    /// Regions the guest sees as RAM in `/memory`.
    pub fn ram_regions(&self) -> impl Iterator<Item = &'a MemRegion> + 'a {
        self.cell
            .mem_regions()
            .iter()
            .filter(|r| r.flags & mem::RAM != 0 && r.flags & (mem::SHARED | mem::IO) == 0)
    }

    /// MPIDR affinity (Aff3..Aff0, as in a cpu node's `reg`) of the cell's CPUs.
    pub fn owns_mpidr(&self, reg: u64) -> bool {
        let n = (self.board.num_cpus as usize).min(self.board.mpidr.len());
        (0..n).any(|i| {
            self.cell.owns_cpu(i) && self.board.mpidr[i] & MPIDR_AFF_MASK == reg & MPIDR_AFF_MASK
        })
    }

    /// Whether the guest-physical range lies inside one of the cell's memory
    /// regions (RAM, IO or shared) or its vPCI windows.
    pub fn owns_range(&self, base: u64, size: u64) -> bool {
        let size = size.max(1);
        let inside = |b: u64, s: u64| {
            s != 0 && base >= b && base.saturating_add(size) <= b.saturating_add(s)
        };
        let v = &self.cell.vpci;
        self.cell
            .mem_regions()
            .iter()
            .any(|r| inside(r.virt, r.size))
            || inside(v.ecam_base, v.ecam_size)
            || (v.ecam_size != 0 && inside(v.mmio_base, v.mmio_size))
    }
}

/// Aff3 (bits 39:32) and Aff2..Aff0 (bits 23:0) of MPIDR_EL1.
pub const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;

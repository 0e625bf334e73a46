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
    /// The board's compiled vPCI template overlay
    /// (`boards/<board>/vpci-template.dts`): when present the vPCI node is
    /// made by patching and applying it instead of by the direct writer (same
    /// guest tree either way). Needs scratch ([`crate::build_guest_dtb_in`]).
    pub vpci_template: Option<&'a [u8]>,
    /// User overlays, applied in this order after the loader's own edits.
    /// Needs scratch ([`crate::build_guest_dtb_in`]).
    pub overlays: &'a [Overlay<'a>],
}

/// A compiled (`dtc -@`) overlay and the name errors call it by (its payload
/// name). The blob is only read: the loader applies a copy in its scratch.
#[derive(Clone, Copy)]
pub struct Overlay<'a> {
    pub name: &'a str,
    pub blob: &'a [u8],
}

impl<'a> CellView<'a> {
    /// The view the loader gets from its comm region. Template and overlays
    /// are staged in cell RAM, which only the firmware can map: it fills
    /// `vpci_template` and `overlays` itself.
    pub fn from_info(info: &'a CellbootInfo) -> Self {
        let n = (info.num_vpci_devices as usize).min(info.vpci_devices.len());
        let initrd = (info.initrd.size != 0).then_some((info.initrd.ipa, info.initrd.size));
        Self {
            board: &info.board,
            cell: &info.cell,
            initrd,
            vpci_devices: &info.vpci_devices[..n],
            vpci_template: None,
            overlays: &[],
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
        (0..n).any(|i| self.cell.owns_cpu(i) && self.board.mpidr[i] & MPIDR_AFF_MASK == reg & MPIDR_AFF_MASK)
    }

    /// Whether the guest-physical range lies inside one of the cell's memory
    /// regions (RAM, IO or shared) or its vPCI windows.
    pub fn owns_range(&self, base: u64, size: u64) -> bool {
        let size = size.max(1);
        let inside = |b: u64, s: u64| s != 0 && base >= b && base.saturating_add(size) <= b.saturating_add(s);
        let v = &self.cell.vpci;
        self.cell.mem_regions().iter().any(|r| inside(r.virt, r.size))
            || inside(v.ecam_base, v.ecam_size)
            || (v.ecam_size != 0 && inside(v.mmio_base, v.mmio_size))
    }
}

/// Aff3 (bits 39:32) and Aff2..Aff0 (bits 23:0) of MPIDR_EL1.
pub const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;

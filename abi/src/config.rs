//! The binary system config the shim reads (built from `boards/*/*.toml` by
//! host tooling): board facts, the shim's own memory, cells, ivshmem links.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

pub const SYSCONFIG_MAGIC: [u8; 8] = *b"CELLSYS\0";
pub const SYSCONFIG_REVISION: u32 = 2;

pub const MAX_CPUS: usize = 8;
pub const MAX_CELLS: usize = 4;
pub const MAX_MEM_REGIONS: usize = 16;
pub const MAX_IRQ_RANGES: usize = 8;
pub const MAX_LINKS: usize = 4;
pub const MAX_DISABLE: usize = 12;
pub const NAME_LEN: usize = 32;
pub const PATH_LEN: usize = 64;
pub const BOOTARGS_LEN: usize = 512;

/// `MemRegion::flags` bits (same meaning as Jailhouse's `JAILHOUSE_MEM_*`
/// where one exists).
pub mod mem {
    pub const READ: u64 = 1 << 0;
    pub const WRITE: u64 = 1 << 1;
    pub const EXECUTE: u64 = 1 << 2;
    pub const DMA: u64 = 1 << 3;
    /// Device memory: mapped with device attributes, may be a device the cell owns.
    pub const IO: u64 = 1 << 4;
    /// RAM the guest sees in `/memory`.
    pub const RAM: u64 = 1 << 8;
    /// Shared with another cell (ivshmem); never listed in `/memory`.
    pub const SHARED: u64 = 1 << 9;
    /// The staging window of a managing cell (`crate::mgmt`): its own
    /// memory, never listed in `/memory`, that the shim copies images from.
    pub const STAGING: u64 = 1 << 10;
}

/// How the board starts secondary CPUs.
pub mod cpu_start {
    pub const PSCI_SMC: u32 = 1;
    pub const PSCI_HVC: u32 = 2;
    pub const SPIN_TABLE: u32 = 3;
}

/// Which console UART driver the shim uses (`Board::uart_driver`).
pub mod uart_driver {
    /// ARM PL011 (`arm,pl011`).
    pub const PL011: u32 = 0;
    /// Cadence UART as in the Zynq UltraScale+ (`cdns,uart-r1p12`, `xlnx,xuartps`).
    pub const CDNS: u32 = 1;
    /// The DTB compatibles each driver takes, with board.toml's name for it.
    pub const COMPATIBLES: [(&str, u32, &str); 3] = [
        ("arm,pl011", PL011, "pl011"),
        ("cdns,uart-r1p12", CDNS, "cdns"),
        ("xlnx,xuartps", CDNS, "cdns"),
    ];
}

/// What the loader boots in a cell.
pub mod boot_kind {
    /// arm64 Linux `Image` (64-byte header, text_offset, x0 = DTB).
    pub const LINUX: u32 = 1;
    /// Raw binary entered at its load address with x0 = DTB.
    pub const RAW: u32 = 2;
    /// Jailhouse inmate(s) with `jailhouse cell load` semantics: no loader,
    /// no DTB; the shim copies each image to its IPA, the command line to
    /// `BootConfig::cmdline_ipa`, and enters the CPU at `reset_address`
    /// (`crate::jailhouse`).
    pub const JAILHOUSE: u32 = 3;
}

/// `BootConfig::flags` bits.
pub mod boot_flags {
    /// Build the vPCI host node with the loader's direct writer, not the
    /// board's template overlay (config: `vpci_template = false`).
    pub const DIRECT_VPCI: u32 = 1 << 0;
}

/// Where the shim image sits in the hypervisor region (its arm64 Image
/// header's `text_offset`: boot firmware loads it at region base + this).
pub const SHIM_TEXT_OFFSET: u64 = 0x20_0000;

pub const NO_PAYLOAD: u32 = u32::MAX;
/// `IvshmemLink::peers[1]` of a link with only one peer so far.
pub const NO_PEER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MemRegion {
    pub phys: u64,
    /// Guest-physical address (IPA) in the cell.
    pub virt: u64,
    pub size: u64,
    pub flags: u64,
}

impl MemRegion {
    pub fn phys_end(&self) -> u64 {
        self.phys.saturating_add(self.size)
    }
    pub fn virt_end(&self) -> u64 {
        self.virt.saturating_add(self.size)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct IrqRange {
    /// GIC INTID of the first SPI (>= 32).
    pub first: u32,
    pub count: u32,
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Board {
    pub name: [u8; NAME_LEN],
    pub ram_base: u64,
    pub ram_size: u64,
    pub uart_base: u64,
    pub uart_size: u64,
    /// 2 or 3.
    pub gic_version: u32,
    /// Number of interrupt IDs the distributor implements (SPIs end below this).
    pub num_irqs: u32,
    pub gicd_base: u64,
    pub gicd_size: u64,
    /// GICv2 CPU interface (0 on GICv3).
    pub gicc_base: u64,
    pub gicc_size: u64,
    /// GICv3 redistributors (0 on GICv2); one `gicr_stride` frame per CPU.
    pub gicr_base: u64,
    pub gicr_stride: u64,
    pub cpu_start: u32,
    pub num_cpus: u32,
    /// `uart_driver::*`.
    pub uart_driver: u32,
    pub reserved: u32,
    /// MPIDR affinity of physical CPU `i`.
    pub mpidr: [u64; MAX_CPUS],
    /// Spin-table release address of CPU `i` (spin-table boards only).
    pub release_addr: [u64; MAX_CPUS],
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VpciConfig {
    /// Trapped ECAM window (bus 0 only: 1 MiB).
    pub ecam_base: u64,
    pub ecam_size: u64,
    /// 32-bit MEM window BARs are assigned from.
    pub mmio_base: u64,
    pub mmio_size: u64,
    /// SPI INTID for INTA; INTB..INTD follow.
    pub irq_base: u32,
    pub domain: u32,
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct BootConfig {
    pub kind: u32,
    /// Payload indices (see `PayloadTable`); `NO_PAYLOAD` when absent.
    pub kernel: u32,
    pub initrd: u32,
    /// First user overlay payload index and count (applied after the loader's edits).
    pub overlay_first: u32,
    pub overlay_count: u32,
    /// `boot_flags::*`.
    pub flags: u32,
    /// Linux/raw: the kernel command line. Jailhouse kind: the string
    /// copied to `cmdline_ipa` (`jailhouse cell load -s`), none when empty.
    pub bootargs: [u8; BOOTARGS_LEN],
    pub stdout_path: [u8; PATH_LEN],
    /// Jailhouse kind: the rest of these fields (`crate::jailhouse`).
    pub jailhouse: crate::jailhouse::JailhouseBoot,
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct CellConfig {
    pub name: [u8; NAME_LEN],
    /// Bit `i` set: physical CPU `i` belongs to this cell. The lowest is the boot CPU.
    pub cpu_mask: u64,
    pub num_mem: u32,
    pub num_irq_ranges: u32,
    pub mem: [MemRegion; MAX_MEM_REGIONS],
    pub irqs: [IrqRange; MAX_IRQ_RANGES],
    /// IPA where the shim maps this cell's comm region page.
    pub comm_region_ipa: u64,
    /// IPA (inside a RAM region) where the shim places the loader.
    pub loader_ipa: u64,
    pub vpci: VpciConfig,
    pub boot: BootConfig,
    pub num_disable: u32,
    /// Bit `i` set: this cell may control cell `i` through its management
    /// PCI function (`crate::mgmt`); 0: it has none.
    pub manage: u32,
    /// Device-tree paths the loader disables in addition to every device
    /// whose `reg` lies outside the cell's regions.
    pub disable: [[u8; PATH_LEN]; MAX_DISABLE],
}

impl CellConfig {
    pub fn mem_regions(&self) -> &[MemRegion] {
        &self.mem[..(self.num_mem as usize).min(MAX_MEM_REGIONS)]
    }
    pub fn irq_ranges(&self) -> &[IrqRange] {
        &self.irqs[..(self.num_irq_ranges as usize).min(MAX_IRQ_RANGES)]
    }
    pub fn disabled_paths(&self) -> impl Iterator<Item = &str> {
        self.disable[..(self.num_disable as usize).min(MAX_DISABLE)]
            .iter()
            .map(crate::str_field)
    }
    pub fn owns_irq(&self, intid: u32) -> bool {
        self.irq_ranges()
            .iter()
            .any(|r| intid.checked_sub(r.first).is_some_and(|k| k < r.count))
    }
    pub fn owns_cpu(&self, cpu: usize) -> bool {
        cpu < 64 && self.cpu_mask & (1 << cpu) != 0
    }
    /// Whether this cell was granted control of cell `other`.
    pub fn manages(&self, other: usize) -> bool {
        other < 32 && self.manage & (1 << other) != 0
    }
    /// The cell's staging window (the first region flagged STAGING).
    pub fn staging_window(&self) -> Option<&MemRegion> {
        self.mem_regions().iter().find(|r| r.flags & mem::STAGING != 0)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct IvshmemLink {
    /// Physical base of the shared memory: state table | R/W | one output section per peer.
    pub shmem_phys: u64,
    pub state_size: u64,
    pub rw_size: u64,
    /// Size of each peer's output section.
    pub out_size: u64,
    /// Cell indices of peer 0 and peer 1; peer 1 may be [`NO_PEER`] (a
    /// one-peer link, until the second cell exists).
    pub peers: [u32; 2],
    /// PCI device number on each cell's virtual bus 0.
    pub device: u32,
    /// ivshmem protocol in the class code's low 16 bits (0 = undefined).
    pub protocol: u32,
}

impl IvshmemLink {
    /// The whole shared memory's size; `u64::MAX` when the sum overflows
    /// (validation refuses such a link: it fits no RAM).
    pub fn shmem_size(&self) -> u64 {
        self.checked_shmem_size().unwrap_or(u64::MAX)
    }
    /// `state_size + rw_size + 2 * out_size`, `None` on overflow.
    pub fn checked_shmem_size(&self) -> Option<u64> {
        self.state_size
            .checked_add(self.rw_size)?
            .checked_add(self.out_size.checked_mul(2)?)
    }
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SystemConfig {
    pub magic: [u8; 8],
    pub revision: u32,
    /// Length of the whole config in bytes (`size_of::<SystemConfig>()`).
    pub length: u32,
    /// See [`checksum`]: computed with this field zero.
    pub checksum: u32,
    pub num_cells: u32,
    pub num_links: u32,
    pub _pad: u32,
    pub board: Board,
    /// The shim's own memory: image, payloads, tables. No cell may map it.
    pub hypervisor: MemRegion,
    pub cells: [CellConfig; MAX_CELLS],
    pub links: [IvshmemLink; MAX_LINKS],
}

impl SystemConfig {
    pub fn cells(&self) -> &[CellConfig] {
        &self.cells[..(self.num_cells as usize).min(MAX_CELLS)]
    }
    pub fn links(&self) -> &[IvshmemLink] {
        &self.links[..(self.num_links as usize).min(MAX_LINKS)]
    }
    /// A zeroed config with magic, revision and length filled in.
    pub fn empty() -> Self {
        let mut c = Self::new_zeroed();
        c.magic = SYSCONFIG_MAGIC;
        c.revision = SYSCONFIG_REVISION;
        c.length = core::mem::size_of::<Self>() as u32;
        c
    }
    /// Recomputes and stores the checksum.
    pub fn seal(&mut self) {
        self.checksum = 0;
        self.checksum = checksum(self.as_bytes());
    }
}

/// Fletcher-32 over the config bytes, with the `checksum` field read as zero.
pub fn checksum(bytes: &[u8]) -> u32 {
    const CK_OFF: usize = core::mem::offset_of!(SystemConfig, checksum);
    const CK_END: usize = CK_OFF.saturating_add(4);
    let (mut a, mut b) = (0xffffu32, 0xffffu32);
    let mut at = 0usize;
    for pair in bytes.chunks(2) {
        let w = if (CK_OFF..CK_END).contains(&at) {
            0
        } else {
            u32::from(pair[0]) | u32::from(*pair.get(1).unwrap_or(&0)) << 8
        };
        // a, b < 65535 and w <= 0xffff: the sums stay below 2^17.
        a = a.wrapping_add(w) % 65535;
        b = b.wrapping_add(a) % 65535;
        at = at.saturating_add(2);
    }
    (b << 16) | a
}

//! `boards/<board>/<system>.toml`: cells, their memory/IRQs/boot payloads, ivshmem links.

use crate::Source;
use crate::error::{ConfigError, from_toml};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    pub cells: Vec<Cell>,
    #[serde(default)]
    pub links: Vec<Link>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub name: String,
    pub cpus: Vec<u32>,
    #[serde(default)]
    pub memory: Vec<Region>,
    #[serde(default)]
    pub irqs: Vec<Irqs>,
    /// Required for linux/raw; the jailhouse kind defaults to 0x8000_0000.
    pub comm_region_ipa: Option<u64>,
    /// Required for linux/raw; a jailhouse cell has no loader.
    pub loader_ipa: Option<u64>,
    /// Absent: the board's `[vpci]` defaults.
    #[serde(default)]
    pub vpci: Option<Vpci>,
    pub boot: Boot,
    #[serde(default)]
    pub disable: Vec<String>,
    /// User DT overlays (`.dts`, compiled by the packer, or `.dtbo`),
    /// relative to the system file; applied in order after the loader's edits.
    #[serde(default)]
    pub overlays: Vec<String>,
    /// `false`: the vPCI node comes from the loader's direct writer instead
    /// of the board's `vpci-template.dts` (same tree either way).
    #[serde(default = "yes")]
    pub vpci_template: bool,
    /// Cells (by name) this cell may list, stop, start and load through
    /// its management PCI function (docs/management.md); it then needs a
    /// memory region flagged "staging".
    #[serde(default)]
    pub manage: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub phys: u64,
    /// Guest-physical address; defaults to `phys`.
    pub virt: Option<u64>,
    pub size: u64,
    pub flags: Vec<Flag>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Flag {
    Read,
    Write,
    Execute,
    Dma,
    Io,
    Ram,
    Shared,
    Staging,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::Read => "read",
            Flag::Write => "write",
            Flag::Execute => "execute",
            Flag::Dma => "dma",
            Flag::Io => "io",
            Flag::Ram => "ram",
            Flag::Shared => "shared",
            Flag::Staging => "staging",
        }
    }
    pub fn bits(self) -> u64 {
        use cellboot_abi::mem;
        match self {
            Flag::Read => mem::READ,
            Flag::Write => mem::WRITE,
            Flag::Execute => mem::EXECUTE,
            Flag::Dma => mem::DMA,
            Flag::Io => mem::IO,
            Flag::Ram => mem::RAM,
            Flag::Shared => mem::SHARED,
            Flag::Staging => mem::STAGING,
        }
    }
}

/// A range of SPIs by GIC INTID (SPI n = INTID n + 32).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Irqs {
    pub first: u32,
    pub count: u32,
}

/// Each field absent: the board's default.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Vpci {
    pub ecam_base: Option<u64>,
    pub ecam_size: Option<u64>,
    pub mmio_base: Option<u64>,
    pub mmio_size: Option<u64>,
    pub irq_base: Option<u32>,
    pub domain: Option<u32>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BootKind {
    Linux,
    Raw,
    Jailhouse,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boot {
    pub kind: BootKind,
    /// Kernel Image (linux) or binary (raw), relative to the system file.
    #[serde(default)]
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    /// Jailhouse kind: the images `jailhouse cell load` would take.
    #[serde(default)]
    pub images: Vec<JailhouseImage>,
    /// Jailhouse kind: the string of `jailhouse cell load -s`.
    pub cmdline: Option<String>,
    /// Jailhouse kind: where the string goes (default 0x1000).
    pub cmdline_ipa: Option<u64>,
    /// Jailhouse kind: where the CPU starts (default 0).
    pub reset_address: Option<u64>,
    #[serde(default)]
    pub bootargs: String,
    #[serde(default)]
    pub stdout_path: String,
}

/// One `jailhouse cell load` image: a raw binary and the IPA it goes to
/// (the first defaults to 0, the others need one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JailhouseImage {
    pub file: String,
    pub ipa: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub shmem: u64,
    pub state_size: u64,
    pub rw_size: u64,
    pub out_size: u64,
    /// Cell names: one or two.
    pub peers: Vec<String>,
    pub device: u32,
    #[serde(default)]
    pub protocol: u32,
}

pub fn parse(src: &Source) -> Result<SystemFile, ConfigError> {
    toml::from_str(&src.text).map_err(|e| from_toml(&src.path, &src.text, &e))
}

//! The compiled system: the sealed binary config plus the payloads to pack.

use cellboot_abi::SystemConfig;
use cellboot_abi::zerocopy::IntoBytes;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct System {
    /// Sealed (checksum filled in).
    pub config: SystemConfig,
    pub board_name: String,
    pub cell_names: Vec<String>,
    /// In payload-table order: `BootConfig::kernel`/`initrd`/`overlay_first`
    /// index this list.
    pub payloads: Vec<Payload>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// `cellboot_abi::payload_kind::*`.
    pub kind: u32,
    /// At most 23 bytes (the table's name field is 24, NUL-terminated).
    pub name: String,
    pub source: PayloadSource,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadSource {
    /// [`System::to_bytes`].
    SystemConfig,
    /// The loader binary, built by the packer.
    Loader,
    /// A file named in the system file (resolved against its directory), or
    /// the board's `vpci-template.dts`. A `.dts` file (overlays, template) is
    /// packed compiled: `dtc -@ -I dts -O dtb` (docs/overlays.md).
    File(PathBuf),
}

impl System {
    /// The binary system config the shim reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.config.as_bytes().to_vec()
    }
}

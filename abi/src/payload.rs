//! The payload table host tooling appends to the shim image (at the first
//! 4 KiB boundary past the shim's `_end`): system config, loader, kernels,
//! initramfs, overlays. One file boots everywhere a Linux Image boots.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const PAYLOAD_MAGIC: [u8; 8] = *b"CBPAYLD\0";
pub const MAX_PAYLOADS: usize = 16;
/// Payload data offsets are multiples of this.
pub const PAYLOAD_ALIGN: u64 = 4096;

pub mod payload_kind {
    pub const SYSCONFIG: u32 = 1;
    pub const LOADER: u32 = 2;
    pub const KERNEL: u32 = 3;
    pub const INITRD: u32 = 4;
    pub const OVERLAY: u32 = 5;
    pub const INMATE: u32 = 6;
    /// Template overlay for the virtual PCI host node.
    pub const VPCI_TEMPLATE: u32 = 7;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PayloadEntry {
    pub kind: u32,
    pub _pad: u32,
    /// Offset from the start of the `PayloadTable`.
    pub offset: u64,
    pub size: u64,
    pub name: [u8; 24],
}

#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PayloadTable {
    pub magic: [u8; 8],
    pub count: u32,
    pub _pad: u32,
    pub entries: [PayloadEntry; MAX_PAYLOADS],
}

impl PayloadTable {
    pub fn entries(&self) -> &[PayloadEntry] {
        &self.entries[..(self.count as usize).min(MAX_PAYLOADS)]
    }
    pub fn find(&self, kind: u32) -> Option<(usize, &PayloadEntry)> {
        self.entries().iter().enumerate().find(|(_, e)| e.kind == kind)
    }
}

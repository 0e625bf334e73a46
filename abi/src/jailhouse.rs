//! The `jailhouse` boot kind: what `jailhouse cell load IMAGE -a ADDR ...
//! -s STRING -a 0x1000` plus the cell config's `cpu_reset_address` give an
//! unmodified Jailhouse inmate, and the comm-region facts Jailhouse's
//! hypervisor fills for it (`hypervisor/control.c`, `arm-common/control.c`).

use crate::config::{CellConfig, boot_kind, mem};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Images one jailhouse cell can load (`jailhouse cell load` takes any
/// number; four covers an inmate plus data blobs).
pub const MAX_IMAGES: usize = 4;

/// Jailhouse's defaults: inmates are linked at 0 (`CONFIG_INMATE_BASE`),
/// read their command line from 0x1000 (`.cmdline` in `inmate.lds.S`) and
/// their comm region from 0x8000_0000 (`COMM_REGION_BASE`, arm64).
pub const DEFAULT_IMAGE_IPA: u64 = 0;
pub const DEFAULT_CMDLINE_IPA: u64 = 0x1000;
pub const DEFAULT_RESET_ADDRESS: u64 = 0;
pub const DEFAULT_COMM_REGION_IPA: u64 = 0x8000_0000;

/// `jailhouse_console.type` / `.flags` (Jailhouse `include/jailhouse/console.h`).
pub mod console {
    pub const TYPE_NONE: u16 = 0;
    pub const TYPE_PL011: u16 = 3;
    pub const TYPE_XUARTPS: u16 = 4;
    pub const ACCESS_MMIO: u16 = 1 << 0;
    /// Registers 4 bytes apart (PL011, Cadence); clear means 1 byte apart.
    pub const REGDIST_4: u16 = 1 << 1;

    /// The type for the board's console driver (`crate::uart_driver`).
    pub fn type_of(uart_driver: u32) -> u16 {
        if uart_driver == crate::uart_driver::CDNS {
            TYPE_XUARTPS
        } else {
            TYPE_PL011
        }
    }
}

/// Comm region `flags` (Jailhouse `JAILHOUSE_COMM_FLAG_*`).
pub mod comm_flags {
    /// The cell may use the DEBUG_CONSOLE_PUTC hypercall.
    pub const DBG_PUTC_PERMITTED: u32 = 1 << 0;
    /// The inmate library prints through that hypercall by default.
    pub const DBG_PUTC_ACTIVE: u32 = 1 << 1;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct JailhouseBoot {
    /// Where the CPU starts (Jailhouse's `cpu_reset_address`).
    pub reset_address: u64,
    /// IPA the command-line string (`BootConfig::bootargs`) is copied to.
    pub cmdline_ipa: u64,
    /// Payload index of image 0; image k is payload `image_first + k`.
    pub image_first: u32,
    pub image_count: u32,
    pub image_ipa: [u64; MAX_IMAGES],
}

impl JailhouseBoot {
    pub fn images(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let n = (self.image_count as usize).min(MAX_IMAGES);
        self.image_ipa[..n]
            .iter()
            .enumerate()
            .map(move |(k, &ipa)| (self.image_first.saturating_add(k as u32), ipa))
    }
}

pub fn is_jailhouse(c: &CellConfig) -> bool {
    c.boot.kind == boot_kind::JAILHOUSE
}

/// Whether [ipa, ipa + len) lies in one of the cell's memory regions that
/// is not device memory (RAM or shared memory: what `cell load` may write).
pub fn in_loadable_memory(c: &CellConfig, ipa: u64, len: u64) -> bool {
    let Some(end) = ipa.checked_add(len) else { return false };
    c.mem_regions()
        .iter()
        .any(|r| r.flags & mem::IO == 0 && ipa >= r.virt && end <= r.virt_end())
}

/// Whether the cell's memory map covers the board UART (then its comm
/// region names it as the console, as a Jailhouse cell config with the
/// UART mapped and `.console` set does).
pub fn owns_uart(c: &CellConfig, uart_base: u64) -> bool {
    c.mem_regions()
        .iter()
        .any(|r| r.flags & mem::IO != 0 && uart_base >= r.phys && uart_base < r.phys_end() && r.virt == r.phys)
}

/// Jailhouse kind problems: (field under `cells[i].boot`, value).
pub fn check(c: &CellConfig, mut bad: impl FnMut(&'static str, u64)) {
    let j = &c.boot.jailhouse;
    if j.image_count == 0 || j.image_count as usize > MAX_IMAGES {
        bad("images", j.image_count.into());
    }
    for (_, ipa) in j.images() {
        if !in_loadable_memory(c, ipa, 1) {
            bad("images.ipa", ipa);
        }
    }
    let exec = c.mem_regions().iter().any(|r| {
        r.flags & mem::IO == 0
            && r.flags & mem::EXECUTE != 0
            && j.reset_address >= r.virt
            && j.reset_address < r.virt_end()
    });
    if !exec || j.reset_address & 3 != 0 {
        bad("reset_address", j.reset_address);
    }
    let cmdline_len = c
        .boot
        .bootargs
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(c.boot.bootargs.len());
    if cmdline_len != 0 && !in_loadable_memory(c, j.cmdline_ipa, (cmdline_len as u64).saturating_add(1)) {
        bad("cmdline_ipa", j.cmdline_ipa);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BootConfig, JhCommHeader, JhConsole};
    use core::mem::{offset_of, size_of};

    /// Jailhouse's `struct jailhouse_comm_region` (arm-common) is packed and
    /// 100 bytes long; ours ends in 4 bytes of padding after `vpci_irq_base`.
    #[test]
    fn comm_header_matches_jailhouse_packed_layout() {
        assert_eq!(offset_of!(JhCommHeader, revision), 6);
        assert_eq!(offset_of!(JhCommHeader, msg_to_cell), 12);
        assert_eq!(offset_of!(JhCommHeader, reply_from_cell), 16);
        assert_eq!(offset_of!(JhConsole, kind), 12);
        assert_eq!(offset_of!(JhConsole, flags), 14);
        assert_eq!(offset_of!(JhConsole, divider), 16);
        assert_eq!(offset_of!(JhConsole, gate_nr), 20);
        assert_eq!(offset_of!(JhConsole, clock_reg), 24);
        assert_eq!(offset_of!(JhCommHeader, vpci_irq_base), 96);
        assert_eq!(size_of::<JhCommHeader>(), 104);
    }

    #[test]
    fn jailhouse_boot_layout() {
        assert_eq!(size_of::<JailhouseBoot>(), 24 + 8 * MAX_IMAGES);
        assert_eq!(offset_of!(JailhouseBoot, image_ipa), 24);
        assert_eq!(offset_of!(BootConfig, jailhouse) % 8, 0);
    }

    #[test]
    fn images_are_consecutive_payloads() {
        let j = JailhouseBoot {
            image_first: 7,
            image_count: 3,
            image_ipa: [0, 0x8000, 0x10000, 0],
            ..Default::default()
        };
        let v: [(u32, u64); 3] = core::array::from_fn(|k| j.images().nth(k).unwrap());
        assert_eq!(v, [(7, 0), (8, 0x8000), (9, 0x10000)]);
        let over = JailhouseBoot {
            image_count: 99,
            ..Default::default()
        };
        assert_eq!(over.images().count(), MAX_IMAGES);
    }
}

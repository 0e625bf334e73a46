//! The ivshmem-v2 configuration space (type 0 header + vendor capability),
//! emulated one dword at a time. Sub-dword accesses are shifted/merged by the
//! bus; here every write carries a byte-enable mask.
//!
//! Layout per the ivshmem-v2 spec (Jailhouse Documentation/
//! ivshmem-v2-specification.md): 110a:4106, class ff/protocol, status with
//! the capability-list bit, BAR0 = 4 KiB 32-bit memory, no MSI-X (INTx pin
//! A), capability pointer 0x40 → vendor-specific capability (id 09h, 20h
//! long, with the shared-memory base address because there is no BAR2).

use super::ivshmem::{BAR0_SIZE, Ivshmem};

pub const VENDOR_ID: u16 = 0x110a;
pub const DEVICE_ID: u16 = 0x4106;
pub const CLASS_OTHER: u32 = 0xff;
pub const REVISION: u8 = 0;

pub const CMD_MEMORY: u16 = 1 << 1;
pub const CMD_MASTER: u16 = 1 << 2;
pub const CMD_INTX_DISABLE: u16 = 1 << 10;
/// The spec's writable command bits (no I/O BAR, so no I/O-space bit).
pub const CMD_WRITABLE: u16 = CMD_MEMORY | CMD_MASTER | CMD_INTX_DISABLE;

pub const STS_INTX: u16 = 1 << 3;
pub const STS_CAP_LIST: u16 = 1 << 4;

pub const REG_ID: u16 = 0x00;
pub const REG_COMMAND: u16 = 0x04;
pub const REG_CLASS: u16 = 0x08;
pub const REG_HEADER: u16 = 0x0c;
pub const REG_BAR0: u16 = 0x10;
pub const REG_SUBSYSTEM: u16 = 0x2c;
pub const REG_CAP_PTR: u16 = 0x34;
pub const REG_INTERRUPT: u16 = 0x3c;
pub const VNDR_CAP: u16 = 0x40;
pub const VNDR_CAP_ID: u8 = 0x09;
pub const VNDR_CAP_LEN: u8 = 0x20;

/// BAR0 address bits: 4 KiB aligned; low bits 0 = 32-bit, non-prefetchable memory.
const BAR0_ADDR_MASK: u32 = !(BAR0_SIZE as u32 - 1);

/// INTx only: every device uses pin INTA; the host bridge's interrupt-map
/// sends device d's INTA to `irq_base + d % 4` (see `VirtualPciBus::irq_for_device`).
pub const INTERRUPT_PIN: u8 = 1;

impl Ivshmem {
    fn status(&self) -> u16 {
        // Deviation from the spec (which never sets Interrupt Status): the
        // latch lets Linux's generic INTx users (uio_pci_generic,
        // pci_check_and_mask_intx) tell our interrupt apart; it clears when
        // the guest masks INTx, exactly the step those users take.
        STS_CAP_LIST | if self.intx_status { STS_INTX } else { 0 }
    }

    /// Reads the dword at `reg & !3`.
    pub fn cfg_read_dword(&self, reg: u16) -> u32 {
        let p = &self.params;
        // By dword: a byte or word read inside a capability field must see
        // that field's bytes, not zero.
        let vndr = |off: u16| reg & !3 == VNDR_CAP + off;
        match reg & !3 {
            REG_ID | REG_SUBSYSTEM => u32::from(DEVICE_ID) << 16 | u32::from(VENDOR_ID),
            REG_COMMAND => u32::from(self.status()) << 16 | u32::from(self.command),
            REG_CLASS => CLASS_OTHER << 24 | u32::from(p.protocol) << 8 | u32::from(REVISION),
            // Header type 0, single function; cache line / latency not implemented.
            REG_HEADER => 0,
            REG_BAR0 => self.bar0,
            REG_CAP_PTR => u32::from(VNDR_CAP),
            REG_INTERRUPT => u32::from(INTERRUPT_PIN) << 8 | u32::from(self.interrupt_line),
            r if r == VNDR_CAP => {
                u32::from(self.one_shot) << 24 | u32::from(VNDR_CAP_LEN) << 16 | u32::from(VNDR_CAP_ID)
            }
            _ if vndr(0x04) => p.state_size as u32,
            _ if vndr(0x08) => p.rw_size as u32,
            _ if vndr(0x0c) => (p.rw_size >> 32) as u32,
            _ if vndr(0x10) => p.out_size as u32,
            _ if vndr(0x14) => (p.out_size >> 32) as u32,
            _ if vndr(0x18) => p.shmem_ipa as u32,
            _ if vndr(0x1c) => (p.shmem_ipa >> 32) as u32,
            // BAR1..5 (no MSI-X, no relocatable shmem), ROM BAR, the rest of
            // the header and extended space: not implemented → 0 (spec).
            _ => 0,
        }
    }

    /// Writes the bytes of `value` selected by `mask` into the dword at
    /// `reg & !3`. Read-only bits are dropped silently, as hardware does.
    pub fn cfg_write_dword(&mut self, reg: u16, value: u32, mask: u32) {
        let merged = (self.cfg_read_dword(reg) & !mask) | (value & mask);
        match reg & !3 {
            REG_COMMAND if mask & 0xffff != 0 => {
                let cmd = merged as u16 & CMD_WRITABLE;
                if cmd & CMD_INTX_DISABLE != 0 {
                    self.intx_status = false;
                }
                self.command = cmd;
            }
            REG_BAR0 => self.bar0 = merged & BAR0_ADDR_MASK,
            REG_INTERRUPT => self.interrupt_line = merged as u8,
            r if r == VNDR_CAP => self.one_shot = merged & (1 << 24) != 0,
            _ => {}
        }
    }
}

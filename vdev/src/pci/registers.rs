//! The ivshmem-v2 BAR0 register page: ID, MAX_PEERS, INT_CONTROL, DOORBELL,
//! STATE. The spec allows only aligned 32-bit accesses; other offsets in the
//! page read 0 and ignore writes so the whole page can be handed to an
//! unprivileged user.

use super::MmioEffect;
use super::ivshmem::Ivshmem;

pub const REG_ID: u64 = 0x00;
pub const REG_MAX_PEERS: u64 = 0x04;
pub const REG_INT_CONTROL: u64 = 0x08;
pub const REG_DOORBELL: u64 = 0x0c;
pub const REG_STATE: u64 = 0x10;

pub const INT_CONTROL_ENABLE: u32 = 1 << 0;

/// INTx carries exactly one vector (the spec: MSI-X or one INTx vector).
pub const INTX_VECTORS: u32 = 1;

impl Ivshmem {
    /// `off` is the offset inside BAR0 (< 4 KiB).
    pub fn reg_read(&self, off: u64, size: u8) -> u64 {
        if size != 4 || !off.is_multiple_of(4) {
            return 0;
        }
        let v = match off {
            REG_ID => self.params.peer_id,
            REG_MAX_PEERS => self.params.max_peers,
            REG_INT_CONTROL => u32::from(self.int_enable),
            REG_STATE => self.state,
            // DOORBELL is write-only (reads undefined → 0); unbacked → 0.
            _ => 0,
        };
        u64::from(v)
    }

    pub fn reg_write(&mut self, off: u64, size: u8, value: u64) -> MmioEffect {
        if size != 4 || !off.is_multiple_of(4) {
            return MmioEffect::Ignored {
                reason: "ivshmem: registers take aligned 32-bit accesses only",
            };
        }
        let v = value as u32;
        match off {
            REG_ID | REG_MAX_PEERS => MmioEffect::Ignored {
                reason: "ivshmem: read-only register",
            },
            REG_INT_CONTROL => {
                self.int_enable = v & INT_CONTROL_ENABLE != 0;
                MmioEffect::None
            }
            REG_DOORBELL => {
                let (peer, vector) = (v >> 16, v & 0xffff);
                if peer >= self.params.max_peers {
                    MmioEffect::Ignored {
                        reason: "ivshmem: doorbell to a peer that does not exist",
                    }
                } else if vector >= INTX_VECTORS {
                    MmioEffect::Ignored {
                        reason: "ivshmem: doorbell vector not available (INTx has vector 0 only)",
                    }
                } else {
                    MmioEffect::Doorbell { peer, vector }
                }
            }
            REG_STATE => {
                // The spec interrupts peers only when the value changes.
                if v == self.state {
                    MmioEffect::None
                } else {
                    self.state = v;
                    MmioEffect::StateChanged { state: v }
                }
            }
            _ => MmioEffect::Ignored {
                reason: "ivshmem: no register at this offset",
            },
        }
    }
}

//! The management function on a bus: placed at `mgmt::PCI_DEVICE`, its
//! BAR0 decoded by the same rules as ivshmem's (inside the MEM window, or
//! wherever it collides with nothing), its mailbox reached through
//! [`VirtualPciBus::mgmt_read`] / [`VirtualPciBus::mgmt_write`].

use cellboot_abi::SystemConfig;
use cellboot_abi::mgmt;

use super::mgmt::{Mgmt, MgmtParams, MgmtWrite, Reply};
use super::{VirtualPciBus, VpciError};

impl VirtualPciBus {
    /// Places the management function at device `mgmt::PCI_DEVICE`.
    /// Errors: `DeviceInUse` when an ivshmem link has that number,
    /// `BadParams` when there is no staging window or one is placed already.
    pub fn add_mgmt(&mut self, p: MgmtParams) -> Result<(), VpciError> {
        if self.find(mgmt::PCI_DEVICE).is_some() {
            return Err(VpciError::DeviceInUse(mgmt::PCI_DEVICE));
        }
        if self.mgmt.is_some() {
            return Err(VpciError::BadParams("the bus has a management function already"));
        }
        if p.window_size == 0 {
            return Err(VpciError::BadParams("a management function needs a staging window"));
        }
        self.mgmt = Some(Mgmt::new(p));
        self.publish(mgmt::PCI_DEVICE);
        Ok(())
    }

    /// The management function's parameters (`None`: this bus has none).
    pub fn mgmt_params(&self) -> Option<&MgmtParams> {
        self.mgmt.as_ref().map(|m| &m.params)
    }

    /// The offset of `ipa` in the management function's BAR0 when that
    /// decodes (memory space on, placed where it may be).
    pub fn mgmt_hit(&self, ipa: u64) -> Option<u64> {
        let m = self.mgmt.as_ref()?;
        let base = u64::from(m.bar0());
        let off = ipa.checked_sub(base).filter(|&o| o < mgmt::BAR0_SIZE)?;
        (m.memory_enabled() && self.bar_refusal(base).is_none()).then_some(off)
    }

    /// A BAR0 read; `None` when `ipa` is not in the decoding BAR0.
    pub fn mgmt_read(&self, ipa: u64, size: u8) -> Option<u64> {
        let off = self.mgmt_hit(ipa)?;
        self.mgmt.as_ref().map(|m| m.reg_read(off, size))
    }

    /// A BAR0 write; `None` when `ipa` is not in the decoding BAR0. A
    /// [`MgmtWrite::Run`] leaves the mailbox BUSY until
    /// [`VirtualPciBus::mgmt_complete`].
    pub fn mgmt_write(&mut self, ipa: u64, size: u8, value: u64, sys: &SystemConfig) -> Option<MgmtWrite> {
        let off = self.mgmt_hit(ipa)?;
        self.mgmt.as_mut().map(|m| m.reg_write(off, size, value, sys))
    }

    /// Ends the running command with `status` and its result record.
    pub fn mgmt_complete(&mut self, status: u32, reply: Reply) {
        if let Some(m) = self.mgmt.as_mut() {
            m.complete(status, reply);
        }
    }
}

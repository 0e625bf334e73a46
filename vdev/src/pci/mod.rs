//! Virtual PCI host bridge: one bus (bus 0) behind an ECAM window (reads
//! from read-only mapped config pages, `image.rs`; writes trapped),
//! carrying up to [`MAX_DEVICES`] ivshmem-v2 devices, plus their trapped
//! BAR0 register pages.
//!
//! The shim owns one [`VirtualPciBus`] per cell. Effects that cross cells
//! (doorbells, state changes) come back as [`MmioEffect`] values; the shim
//! resolves the peer, writes the state table and raises the peer's SPI after
//! asking the peer's bus [`VirtualPciBus::take_interrupt`].

mod access;
mod bar_place;
mod config_space;
mod from_config;
mod image;
mod ivshmem;
#[cfg(feature = "mgmt")]
mod mgmt;
#[cfg(not(feature = "mgmt"))]
#[path = "mgmt_off.rs"]
mod mgmt;
#[cfg(feature = "mgmt")]
mod mgmt_bus;
mod registers;

use cellboot_abi::VpciConfig;

use access::{decode, dword_mask, fits_one_dword, ones};
use ivshmem::Ivshmem;
use mgmt::Mgmt;

pub use bar_place::{MAX_RESERVED, ReservedIpas};
pub use config_space::{DEVICE_ID, INTERRUPT_PIN, VENDOR_ID};
pub use image::{BUS0_PAGES, CleanFn, ConfigPage, EcamImage, PAGE_BYTES};
pub use ivshmem::BAR0_SIZE;
#[cfg(feature = "mgmt")]
pub use mgmt::{MgmtParams, MgmtWrite, Reply, Request, info_from_config, load_target};
pub use registers::{REG_DOORBELL, REG_ID, REG_INT_CONTROL, REG_MAX_PEERS, REG_STATE};

/// Devices one bus can hold (one per ivshmem link the cell is a peer of).
pub const MAX_DEVICES: usize = cellboot_abi::MAX_LINKS;
/// PCI device numbers on a bus are 5 bits.
pub const MAX_DEVICE_NUMBER: u8 = 31;

/// What one endpoint of an ivshmem link looks like to its cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IvshmemParams {
    /// This peer's ID (BAR0 ID register); its index in the link's peer list.
    pub peer_id: u32,
    /// BAR0 MAX_PEERS (2 ..= 65536 per the spec).
    pub max_peers: u32,
    /// Where the shared memory starts in this cell's IPA space (vendor cap).
    pub shmem_ipa: u64,
    pub state_size: u64,
    pub rw_size: u64,
    /// Size of each peer's output section.
    pub out_size: u64,
    /// ivshmem protocol, in the class code's sub-class/prog-if bytes.
    pub protocol: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpciError {
    /// PCI device numbers are 0..=31.
    DeviceOutOfRange(u8),
    /// The device number is already taken on this bus.
    DeviceInUse(u8),
    /// All [`MAX_DEVICES`] slots are used.
    Full,
    /// The parameters break an ivshmem-v2 rule (the text says which).
    BadParams(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcamOutcome {
    Done,
    /// Nothing was written; `reason` is for the shim's log (absent device,
    /// access no config cycle can express, outside bus 0).
    Ignored {
        reason: &'static str,
    },
    /// Written, but the device's BAR0 (memory decode on) at `bar0` does not
    /// decode: it lies outside the MEM window and covers `collides_with`.
    BarNotDecoded {
        bar0: u64,
        collides_with: &'static str,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioEffect {
    /// Handled; nothing for the shim to do.
    None,
    /// Raise `vector` at peer `peer` of the same link (if the receiver's
    /// [`VirtualPciBus::take_interrupt`] agrees).
    Doorbell { peer: u32, vector: u32 },
    /// This peer's state changed: write `state` into the state-table entry
    /// `shmem + 4 * peer_id` and interrupt the other peers (spec).
    StateChanged { state: u32 },
    /// Write dropped; `reason` is for the shim's log.
    Ignored { reason: &'static str },
}

pub struct VirtualPciBus {
    cfg: VpciConfig,
    slots: [Option<Ivshmem>; MAX_DEVICES],
    /// The management function (`mgmt_bus.rs`), on a granted cell's bus only.
    mgmt: Option<Mgmt>,
    /// Kept equal to the config space of every device (see `image.rs`).
    /// With the function that cleans a changed page to memory.
    image: Option<(&'static EcamImage, CleanFn)>,
    /// What a BAR outside the MEM window must avoid; `None`: BARs decode
    /// only inside the window.
    reserved: Option<ReservedIpas>,
}

impl VirtualPciBus {
    /// An empty bus for the cell's vPCI windows.
    pub fn new(cfg: &VpciConfig) -> Self {
        Self {
            cfg: *cfg,
            slots: [None; MAX_DEVICES],
            mgmt: None,
            image: None,
            reserved: None,
        }
    }

    /// Lets BARs decode outside the MEM window wherever they avoid `r`.
    pub fn allow_bars_outside_window(&mut self, r: ReservedIpas) {
        self.reserved = Some(r);
    }

    pub fn config(&self) -> &VpciConfig {
        &self.cfg
    }

    /// Places an ivshmem endpoint at `device` (function 0).
    ///
    /// Errors: `DeviceOutOfRange` (device > 31), `DeviceInUse`, `Full`,
    /// `BadParams` (max_peers outside 2..=65536, peer_id >= max_peers,
    /// state table empty, too small for all peers or wider than its 32-bit
    /// capability field).
    pub fn add_ivshmem(&mut self, device: u8, p: IvshmemParams) -> Result<(), VpciError> {
        if device > MAX_DEVICE_NUMBER {
            return Err(VpciError::DeviceOutOfRange(device));
        }
        if !(2..=65536).contains(&p.max_peers) {
            return Err(VpciError::BadParams("max_peers must be 2..=65536"));
        }
        if p.peer_id >= p.max_peers {
            return Err(VpciError::BadParams("peer_id must be below max_peers"));
        }
        if p.state_size > u64::from(u32::MAX) {
            return Err(VpciError::BadParams("state table size must fit 32 bits"));
        }
        if p.state_size < 4 * u64::from(p.max_peers) {
            return Err(VpciError::BadParams("state table must hold a u32 per peer"));
        }
        if self.find(device).is_some() {
            return Err(VpciError::DeviceInUse(device));
        }
        let slot = self.slots.iter_mut().find(|s| s.is_none()).ok_or(VpciError::Full)?;
        *slot = Some(Ivshmem::new(device, p));
        self.publish(device);
        Ok(())
    }

    /// Device numbers present on the bus, in slot order.
    pub fn devices(&self) -> impl Iterator<Item = u8> + '_ {
        self.slots.iter().flatten().map(|d| d.device)
    }

    /// The parameters a device was created with.
    pub fn params(&self, device: u8) -> Option<&IvshmemParams> {
        self.find(device).map(|d| &d.params)
    }

    /// GIC INTID of device `device`'s INTA: `irq_base + device % 4`. The
    /// loader's interrupt-map has one row per device (mask keeps device and
    /// pin), so devices on one bus spread over four SPIs.
    pub fn irq_for_device(&self, device: u8) -> u32 {
        self.cfg.irq_base.wrapping_add(u32::from(device % 4))
    }

    /// Whether `device` would accept an interrupt now (INT_CONTROL enabled,
    /// INTx not masked in the command register). False for absent devices.
    pub fn interrupts_enabled(&self, device: u8) -> bool {
        self.find(device).is_some_and(|d| d.interrupts_enabled())
    }

    /// The receiving side of a doorbell/state event: true when the shim
    /// should raise `irq_for_device(device)`. Applies one-shot mode (clears
    /// INT_CONTROL) and latches the Interrupt Status bit.
    pub fn take_interrupt(&mut self, device: u8) -> bool {
        let taken = self.find_mut(device).is_some_and(|d| d.take_interrupt());
        if taken {
            self.publish(device); // Interrupt Status latched
        }
        taken
    }

    /// This peer's current STATE register (what its state-table entry holds).
    pub fn state(&self, device: u8) -> Option<u32> {
        self.find(device).map(|d| d.state)
    }

    /// Which device's enabled BAR0 `ipa` falls in, so the shim can tie an
    /// [`MmioEffect`] to its link.
    pub fn device_at(&self, ipa: u64) -> Option<u8> {
        self.bar_hit(ipa).map(|(i, _)| self.slots[i].map_or(0, |d| d.device))
    }

    /// Power-on state for every device (cell reset). The shim zeroes this
    /// cell's state-table entries and notifies peers, as the spec asks.
    pub fn reset(&mut self) {
        self.slots.iter_mut().flatten().for_each(Ivshmem::reset);
        if let Some(m) = self.mgmt.as_mut() {
            m.reset();
        }
        for device in 0..=MAX_DEVICE_NUMBER {
            self.publish(device);
        }
    }

    /// A config read of `size` bytes at ECAM `offset`. All-ones for absent
    /// functions and for accesses no config cycle can express.
    pub fn ecam_read(&mut self, offset: u64, size: u8) -> u64 {
        let Some(a) = decode(offset) else {
            return ones(size);
        };
        if !fits_one_dword(a.reg, size) || a.function != 0 {
            return ones(size);
        }
        let dword = match (self.find(a.device), self.mgmt_at_device(a.device)) {
            (Some(dev), _) => dev.cfg_read_dword(a.reg),
            (None, Some(m)) => m.cfg_read_dword(a.reg),
            (None, None) => return ones(size),
        };
        u64::from((dword & dword_mask(a.reg, size)) >> ((a.reg % 4) * 8))
    }

    /// A config write; `Ignored` says why nothing happened (the shim logs it;
    /// the guest never faults). Writes to read-only fields of a present
    /// device are dropped silently and report `Done`, as on real hardware.
    pub fn ecam_write(&mut self, offset: u64, size: u8, value: u64) -> EcamOutcome {
        let Some(a) = decode(offset) else {
            return EcamOutcome::Ignored {
                reason: "vpci: config write beyond bus 0",
            };
        };
        if !fits_one_dword(a.reg, size) {
            return EcamOutcome::Ignored {
                reason: "vpci: config write not within one dword (size/alignment)",
            };
        }
        if a.function != 0 {
            return EcamOutcome::Ignored {
                reason: "vpci: config write to an absent function",
            };
        }
        let shift = u32::from(a.reg % 4) * 8;
        let (v, mask) = ((value as u32) << shift, dword_mask(a.reg, size));
        let (enabled, bar0) = if let Some(dev) = self.find_mut(a.device) {
            dev.cfg_write_dword(a.reg, v, mask);
            (dev.memory_enabled(), u64::from(dev.bar0))
        } else if let Some(m) = self.mgmt_at_device_mut(a.device) {
            m.cfg_write_dword(a.reg, v, mask);
            (m.memory_enabled(), u64::from(m.bar0()))
        } else {
            return EcamOutcome::Ignored {
                reason: "vpci: config write to an absent device",
            };
        };
        self.publish(a.device);
        match self.bar_refusal(bar0) {
            Some(collides_with)
                if enabled && matches!(a.reg & !3, config_space::REG_COMMAND | config_space::REG_BAR0) =>
            {
                EcamOutcome::BarNotDecoded { bar0, collides_with }
            }
            _ => EcamOutcome::Done,
        }
    }

    /// Why a BAR0 at `base` would not decode (`None`: it does).
    pub(crate) fn bar_refusal(&self, base: u64) -> Option<&'static str> {
        let end = base.checked_add(BAR0_SIZE)?;
        let win_end = self.cfg.mmio_base.saturating_add(self.cfg.mmio_size);
        if base >= self.cfg.mmio_base && end <= win_end {
            return None;
        }
        match &self.reserved {
            None => Some("nothing: it is outside the vPCI MEM window"),
            Some(r) => r.collision(base, BAR0_SIZE),
        }
    }

    /// A BAR0 register read; `None` when `ipa` is in no enabled BAR0.
    pub fn mmio_read(&mut self, ipa: u64, size: u8) -> Option<u64> {
        let (i, off) = self.bar_hit(ipa)?;
        self.slots[i].as_ref().map(|d| d.reg_read(off, size))
    }

    /// A BAR0 register write; `None` when `ipa` is in no enabled BAR0.
    pub fn mmio_write(&mut self, ipa: u64, size: u8, value: u64) -> Option<MmioEffect> {
        let (i, off) = self.bar_hit(ipa)?;
        self.slots[i].as_mut().map(|d| d.reg_write(off, size, value))
    }

    /// The management function when `device` is its number.
    fn mgmt_at_device(&self, device: u8) -> Option<&Mgmt> {
        self.mgmt.as_ref().filter(|_| device == cellboot_abi::mgmt::PCI_DEVICE)
    }

    fn mgmt_at_device_mut(&mut self, device: u8) -> Option<&mut Mgmt> {
        self.mgmt.as_mut().filter(|_| device == cellboot_abi::mgmt::PCI_DEVICE)
    }

    fn find(&self, device: u8) -> Option<&Ivshmem> {
        self.slots.iter().flatten().find(|d| d.device == device)
    }

    fn find_mut(&mut self, device: u8) -> Option<&mut Ivshmem> {
        self.slots.iter_mut().flatten().find(|d| d.device == device)
    }

    /// Slot and BAR offset of the enabled BAR0 containing `ipa`. A BAR only
    /// decodes while memory space is enabled and it lies wholly inside the
    /// cell's vPCI MEM window, or (`allow_bars_outside_window`) anywhere it
    /// collides with nothing the cell's address space already means: the
    /// guest picks BAR addresses, and this keeps it from making us claim
    /// addresses the shim routes elsewhere. If the guest overlaps two BARs,
    /// the lower slot wins (deterministic, harmless).
    fn bar_hit(&self, ipa: u64) -> Option<(usize, u64)> {
        self.slots.iter().enumerate().find_map(|(i, s)| {
            let d = s.as_ref()?;
            let base = u64::from(d.bar0);
            let end = base + BAR0_SIZE;
            let decodes = d.memory_enabled() && self.bar_refusal(base).is_none();
            (decodes && (base..end).contains(&ipa)).then(|| (i, ipa - base))
        })
    }
}

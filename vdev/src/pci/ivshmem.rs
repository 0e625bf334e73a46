//! One ivshmem-v2 endpoint: its parameters and the mutable state a guest can
//! change (command register, BAR0, interrupt line, one-shot mode, the BAR0
//! registers). Config-space and register-page views live in
//! `config_space.rs` and `registers.rs`.

use super::IvshmemParams;

/// Size of the BAR0 register page (the spec asks for a page the user can map).
pub const BAR0_SIZE: u64 = 0x1000;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Ivshmem {
    pub device: u8,
    pub params: IvshmemParams,
    /// PCI command register (only the writable bits are ever stored).
    pub command: u16,
    /// Status bit 3 (Interrupt Status) latch; see `config_space.rs`.
    pub intx_status: bool,
    /// BAR0 as the guest programmed it (address bits only).
    pub bar0: u32,
    pub interrupt_line: u8,
    /// Vendor capability Privileged Control bit 0.
    pub one_shot: bool,
    /// BAR0 INT_CONTROL bit 0.
    pub int_enable: bool,
    /// BAR0 STATE: this peer's state value.
    pub state: u32,
}

impl Ivshmem {
    pub fn new(device: u8, params: IvshmemParams) -> Self {
        Self {
            device,
            params,
            command: 0,
            intx_status: false,
            bar0: 0,
            interrupt_line: 0,
            one_shot: false,
            int_enable: false,
            state: 0,
        }
    }

    /// Power-on state, as after a PCI reset (params are kept).
    pub fn reset(&mut self) {
        *self = Self::new(self.device, self.params);
    }

    pub fn memory_enabled(&self) -> bool {
        self.command & super::config_space::CMD_MEMORY != 0
    }

    /// Whether an event for this endpoint would raise its INTx now: the guest
    /// enabled reception in INT_CONTROL and has not masked INTx in the
    /// command register.
    pub fn interrupts_enabled(&self) -> bool {
        self.int_enable && self.command & super::config_space::CMD_INTX_DISABLE == 0
    }

    /// Consumes one interrupt delivery: applies one-shot mode (the spec
    /// clears INT_CONTROL on each delivery) and latches Interrupt Status.
    pub fn take_interrupt(&mut self) -> bool {
        if !self.interrupts_enabled() {
            return false;
        }
        if self.one_shot {
            self.int_enable = false;
        }
        self.intx_status = true;
        true
    }
}

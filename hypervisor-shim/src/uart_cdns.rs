//! Cadence UART transmit (Zynq UltraScale+, `cdns,uart-r1p12`): the console
//! driver `console` uses on boards whose `[uart] driver = "cdns"`.

use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_bitfields! [u32,
    CR [
        TX_DIS OFFSET(5) NUMBITS(1) [],
        TX_EN OFFSET(4) NUMBITS(1) [],
    ],
    SR [
        TXFULL OFFSET(4) NUMBITS(1) [],
    ],
];

register_structs! {
    CdnsRegs {
        (0x00 => cr: ReadWrite<u32, CR::Register>),
        (0x04 => _reserved0),
        (0x2c => sr: ReadOnly<u32, SR::Register>),
        (0x30 => fifo: ReadWrite<u32>),
        (0x34 => @END),
    }
}

/// Queues `b` once the TX FIFO has room. The transmitter comes out of reset
/// disabled and only firmware enables it (QEMU's model, entered straight at
/// EL2, has none), so it is enabled here when it is off.
pub fn putb(base: usize, b: u8) {
    // SAFETY: the Cadence UART block at `base` (a board fact) is
    // identity-mapped as Device memory (el2_map; 1:1 before the MMU is on);
    // it is never handed out as Rust memory.
    let r = unsafe { &*(base as *const CdnsRegs) };
    if !r.cr.matches_all(CR::TX_EN::SET + CR::TX_DIS::CLEAR) {
        r.cr.modify(CR::TX_EN::SET + CR::TX_DIS::CLEAR);
    }
    while r.sr.is_set(SR::TXFULL) {}
    r.fifo.set(b.into());
}

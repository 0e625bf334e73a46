//! The Jailhouse part of a cell's comm region, filled as Jailhouse's
//! hypervisor fills it at `cell start` (`hypervisor/control.c`,
//! `arch/arm-common/control.c`): magic and ABI revision, state RUNNING,
//! flags, console, PCI ECAM base, GIC version and bases, vPCI IRQ base as
//! an SPI number.

use cellboot_abi::jailhouse::{comm_flags, console, owns_uart};
use cellboot_abi::{Board, COMM_REVISION, COMM_SIGNATURE, CellConfig, JhCommHeader, cell_state};

/// The console a cell may drive itself (the board UART when the cell maps
/// it, as a Jailhouse config with `.console` set and the UART region
/// shared); otherwise none, and the inmate library prints through
/// DEBUG_CONSOLE_PUTC (ACTIVE), which every cell may use (PERMITTED).
pub fn fill(h: &mut JhCommHeader, b: &Board, c: &CellConfig) {
    h.signature = COMM_SIGNATURE;
    h.revision = COMM_REVISION;
    h.cell_state = cell_state::RUNNING;
    h.msg_to_cell = 0;
    h.reply_from_cell = 0;
    h.flags = comm_flags::DBG_PUTC_PERMITTED;
    if owns_uart(c, b.uart_base) {
        h.console.address = b.uart_base;
        h.console.size = b.uart_size as u32;
        h.console.kind = console::TYPE_PL011;
        h.console.flags = console::ACCESS_MMIO | console::REGDIST_4;
    } else {
        h.console.kind = console::TYPE_NONE;
        h.flags |= comm_flags::DBG_PUTC_ACTIVE;
    }
    h.pci_mmconfig_base = c.vpci.ecam_base;
    h.gic_version = b.gic_version as u8;
    h.gicd_base = b.gicd_base;
    h.gicc_base = b.gicc_base;
    h.gicr_base = b.gicr_base;
    // Jailhouse's `vpci_irq_base` counts SPIs (its inmates add 32); the
    // config holds the INTID.
    h.vpci_irq_base = c.vpci.irq_base.saturating_sub(32);
}

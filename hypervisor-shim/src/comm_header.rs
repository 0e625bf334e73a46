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
        h.console.kind = console::type_of(b.uart_driver);
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

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::zerocopy::FromZeros;
    use cellboot_abi::{MemRegion, mem};

    const UART: u64 = 0x0900_0000;

    fn board() -> Board {
        let mut b = Board::new_zeroed();
        b.uart_base = UART;
        b.uart_size = 0x1000;
        b.gic_version = 3;
        b.gicd_base = 0x0800_0000;
        b.gicr_base = 0x080a_0000;
        b
    }

    fn cell(uart_mapped_at: Option<u64>) -> CellConfig {
        let mut c = CellConfig::new_zeroed();
        c.vpci.ecam_base = 0x3000_0000;
        c.vpci.irq_base = 40;
        if let Some(virt) = uart_mapped_at {
            c.mem[0] = MemRegion {
                phys: UART,
                virt,
                size: 0x1000,
                flags: mem::READ | mem::WRITE | mem::IO,
            };
            c.num_mem = 1;
        }
        c
    }

    #[test]
    fn a_cell_mapping_the_uart_1_to_1_gets_it_as_its_console() {
        let mut h = JhCommHeader::new_zeroed();
        fill(&mut h, &board(), &cell(Some(UART)));
        assert_eq!(h.signature, COMM_SIGNATURE);
        assert_eq!(h.revision, COMM_REVISION);
        assert_eq!(h.cell_state, cell_state::RUNNING);
        assert_eq!(h.console.kind, console::TYPE_PL011);
        assert_eq!(h.console.address, UART);
        assert_eq!(h.flags, comm_flags::DBG_PUTC_PERMITTED);
    }

    #[test]
    fn any_other_cell_prints_through_the_hypercall() {
        for c in [cell(None), cell(Some(0x1000_0000))] {
            let mut h = JhCommHeader::new_zeroed();
            fill(&mut h, &board(), &c);
            assert_eq!(h.console.kind, console::TYPE_NONE);
            assert_eq!(h.flags, comm_flags::DBG_PUTC_PERMITTED | comm_flags::DBG_PUTC_ACTIVE);
        }
    }

    #[test]
    fn gic_and_pci_facts_as_jailhouse_reports_them() {
        let mut h = JhCommHeader::new_zeroed();
        fill(&mut h, &board(), &cell(None));
        assert_eq!(h.gic_version, 3);
        assert_eq!((h.gicd_base, h.gicr_base), (0x0800_0000, 0x080a_0000));
        assert_eq!(h.pci_mmconfig_base, 0x3000_0000);
        // An SPI number, not an INTID.
        assert_eq!(h.vpci_irq_base, 8);
    }
}

//! EL2 exception dispatch (called from arch vectors with the saved frame).

use crate::arch::{self, GuestFrame};
use crate::cell::{self, CPU_CELL};
use crate::{hypercall, mmio, psci};
use cellboot_abi::{cell_state, hypercall::HVC_IMM};
use core::sync::atomic::Ordering;

mod ec {
    pub const HVC64: u64 = 0x16;
    pub const SMC64: u64 = 0x17;
    pub const IABT_LOWER: u64 = 0x20;
    pub const DABT_LOWER: u64 = 0x24;
}

/// `kind`: vector index (0-3 current EL SP0, 4-7 current EL SPx, 8-11 lower
/// EL AArch64, 12-15 lower EL AArch32; sync, irq, fiq, serror each).
#[unsafe(no_mangle)]
extern "C" fn el2_trap(frame: &mut GuestFrame, kind: u64) {
    let (esr, far, hpfar) = arch::trap_syndrome();
    if kind < 8 {
        crate::fatal(format_args!(
            "shim exception (vector {kind}) ESR {esr:#x} ELR {:#x} FAR {far:#x}",
            frame.elr
        ));
    }
    let cpu = arch::cpu_index();
    let ci = CPU_CELL[cpu].load(Ordering::SeqCst);
    if ci >= cell::cfg().cells().len() {
        crate::fatal(format_args!("trap from CPU {cpu}, which belongs to no cell"));
    }
    if !cell::is_running(ci) {
        // The cell was stopped (another of its CPUs failed or shut it down):
        // its stage-2 is empty, so this CPU arrived here. Park it.
        cell::park_this_cpu();
    }
    if kind != 8 {
        info!(
            "cell {}: unexpected {} from EL1 (ESR {esr:#x}, ELR {:#x}): stopping the cell",
            cell::name(ci),
            ["sync", "IRQ", "FIQ", "SError"][(kind & 3) as usize],
            frame.elr
        );
        stop_and_park(ci);
    }
    match esr >> 26 {
        ec::HVC64 => {
            // ELR already points past the HVC.
            match esr & 0xffff {
                imm if imm == HVC_IMM as u64 => hypercall::handle(frame, ci),
                0 => psci::handle(frame, ci),
                imm => {
                    info!("cell {}: HVC #{imm:#x} is not a service: NOT_SUPPORTED", cell::name(ci));
                    frame.x[0] = psci::NOT_SUPPORTED as u64;
                }
            }
        }
        ec::SMC64 => {
            // A trapped SMC returns to the SMC itself: skip it.
            frame.elr += 4;
            psci::handle(frame, ci);
        }
        ec::DABT_LOWER => mmio::handle(frame, ci, esr, far, hpfar),
        ec::IABT_LOWER => {
            let ipa = ((hpfar >> 4) & 0xff_ffff_ffff) << 12 | (far & 0xfff);
            info!(
                "cell {}: denied instruction fetch at IPA {ipa:#x} (pc {:#x}): stopping the cell",
                cell::name(ci),
                frame.elr
            );
            report_el1_state(ci);
            stop_and_park(ci);
        }
        class => {
            info!(
                "cell {}: unhandled exception class {class:#x} (ESR {esr:#x}, ELR {:#x}, FAR {far:#x}): stopping the cell",
                cell::name(ci),
                frame.elr
            );
            stop_and_park(ci);
        }
    }
}

/// A fetch from a low address usually means the guest took an exception
/// before installing its vectors (VBAR_EL1 = 0): show what it was.
fn report_el1_state(ci: usize) {
    let (esr, elr, far) = arch::guest_el1_fault_state();
    if esr != 0 {
        info!(
            "cell {}: guest EL1 state: ESR_EL1 {esr:#x} (class {:#x}), ELR_EL1 {elr:#x}, FAR_EL1 {far:#x}",
            cell::name(ci),
            esr >> 26
        );
    }
}

fn stop_and_park(ci: usize) -> ! {
    cell::stop(ci, cell_state::FAILED);
    cell::park_this_cpu()
}

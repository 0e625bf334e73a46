//! EL2 exception dispatch (called from arch vectors with the saved frame).

use crate::arch::{self, GuestFrame};
use crate::cell;
use crate::state::{self, name};
use crate::stats;
use crate::syndrome::{self, ec};
use crate::sysreg;
use crate::{gic, hypercall, mmio, psci, vpsci};
use cellboot_abi::mgmt::exit;
use cellboot_abi::{cell_state, hypercall::HVC_IMM};
use core::sync::atomic::{AtomicU8, Ordering};

/// `kind`: vector index (0-3 current EL SP0, 4-7 current EL SPx, 8-11 lower
/// EL AArch64, 12-15 lower EL AArch32; sync, irq, fiq, serror each).
#[unsafe(no_mangle)]
extern "C" fn el2_trap(frame: &mut GuestFrame, kind: u64) {
    let (esr, far, hpfar) = arch::trap_syndrome();
    if kind < 8 {
        fatal!(
            "shim exception (vector {}) ESR {:#x} ELR {:#x} FAR {:#x}",
            kind,
            esr,
            frame.elr,
            far
        );
    }
    let cpu = arch::cpu_index();
    let ci = state::cpu(cpu).cell();
    if ci >= state::cfg().cells().len() {
        fatal!("trap from CPU {}, which belongs to no cell", cpu);
    }
    if !cell::is_running(ci) {
        // The cell was stopped (another of its CPUs failed or shut it down):
        // its stage-2 is empty, so this CPU arrived here. Park it.
        cell::park_this_cpu();
    }
    let vgic = gic::get().irqs_through_el2();
    if kind == 9 && vgic {
        crate::vgic::handle_irq();
        return;
    }
    if kind != 8 {
        cell_info!(
            name(ci),
            "unexpected {} from EL1 (ESR {:#x}, ELR {:#x}): stopping the cell",
            ["sync", "IRQ", "FIQ", "SError"][(kind & 3) as usize],
            esr,
            frame.elr
        );
        stop_and_park(ci);
    }
    match syndrome::ec_bits(esr) {
        ec::HVC64 => {
            // ELR already points past the HVC.
            match syndrome::hvc_imm(esr) {
                imm if imm == HVC_IMM as u64 => {
                    stats::count(exit::HYPERCALL);
                    hypercall::handle(frame, ci)
                }
                imm if imm == cellboot_abi::psci::HVC_IMM as u64 => {
                    stats::count(exit::PSCI);
                    vpsci::handle(frame, ci)
                }
                imm => {
                    cell_info!(name(ci), "HVC #{:#x} is not a service: NOT_SUPPORTED", imm);
                    frame.x[0] = psci::NOT_SUPPORTED as u64;
                }
            }
        }
        ec::SMC64 => {
            // A trapped SMC returns to the SMC itself: skip it.
            frame.elr += 4;
            stats::count(exit::PSCI);
            vpsci::handle(frame, ci);
        }
        ec::DABT_LOWER => mmio::handle(frame, ci, esr, far, hpfar),
        ec::SYSREG => {
            stats::count(exit::OTHER);
            sysreg_trap(frame, ci, esr)
        }
        ec::IABT_LOWER => {
            stats::count(exit::DENIED);
            let ipa = syndrome::hpfar_ipa(far, hpfar);
            cell_info!(
                name(ci),
                "denied instruction fetch at IPA {:#x} (pc {:#x}): stopping the cell",
                ipa,
                frame.elr
            );
            report_el1_state(ci);
            stop_and_park(ci);
        }
        _ => unhandled(ci, frame, esr),
    }
    if vgic {
        crate::vgic::refill();
    }
}

/// Log lines per cell and kind (SGI refusals, set/way operations, ACTLR writes): a flood
/// must not flood the console.
const SYSREG_LOG_LIMIT: u8 = 6;
static SYSREG_LOGGED: [[AtomicU8; 3]; cellboot_abi::MAX_CELLS] =
    [const { [const { AtomicU8::new(0) }; 3] }; cellboot_abi::MAX_CELLS];

/// Logs "`what` `value`: `outcome`" for cell `ci`, up to the limit per
/// `kind` (0 SGI, 1 set/way, 2 ACTLR); the last line says that it is the last.
#[inline(never)]
fn log_sysreg(ci: usize, kind: usize, what: &str, value: u64, outcome: &str) {
    let n = SYSREG_LOGGED[ci][kind]
        .fetch_add(1, Ordering::Relaxed)
        .min(SYSREG_LOG_LIMIT);
    if n < SYSREG_LOG_LIMIT {
        let last = if n + 1 == SYSREG_LOG_LIMIT {
            " (no more logged)"
        } else {
            ""
        };
        cell_info!(name(ci), "{} {:#x}: {}{}", what, value, outcome, last);
    }
}

/// A trapped system-register access or system instruction (EC 0x18; the
/// instruction is skipped after it).
fn sysreg_trap(frame: &mut GuestFrame, ci: usize, esr: u64) {
    frame.elr += 4;
    match sysreg::decode(esr) {
        sysreg::Op::Sgi { reg, value_reg } => {
            let value = frame.reg(value_reg);
            let b = &state::cfg().board;
            let c = &state::cfg().cells()[ci];
            let why = match reg {
                sysreg::SgiReg::Sgi1r => {
                    let cpus = &b.mpidr[..(b.num_cpus as usize).min(b.mpidr.len())];
                    match sysreg::check_sgi_targets(value, cpus, |cpu| c.owns_cpu(cpu)) {
                        Ok(()) => return arch::gicv3::send_sgi1(value),
                        Err(sysreg::SgiRefusal::Foreign(_)) => "refused, another cell's CPU",
                        Err(sysreg::SgiRefusal::Broadcast) => "refused, broadcast",
                    }
                }
                _ => "refused, group 0 or secure",
            };
            log_sysreg(ci, 0, reg.name(), value, why);
        }
        sysreg::Op::DcSetWay { name, value_reg } => {
            // Upgraded to clean+invalidate: an invalidate would discard
            // other cells' (and the shim's) dirty lines of that set/way.
            let v = frame.reg(value_reg);
            arch::dc_cisw(v);
            log_sysreg(ci, 1, name, v, "done as DC CISW");
        }
        sysreg::Op::Actlr { rt, read: true } => frame.set_reg(rt, arch::actlr_el1()),
        sysreg::Op::Actlr { rt, read: false } => log_sysreg(ci, 2, "ACTLR_EL1 write", frame.reg(rt), "ignored"),
        sysreg::Op::Other { .. } => {
            frame.elr -= 4;
            unhandled(ci, frame, esr);
        }
    }
}

fn unhandled(ci: usize, frame: &GuestFrame, esr: u64) -> ! {
    cell_info!(
        name(ci),
        "unhandled exception class {:#x} (ESR {:#x}, ELR {:#x}): stopping the cell",
        syndrome::ec_bits(esr),
        esr,
        frame.elr
    );
    stop_and_park(ci)
}

/// A fetch from a low address usually means the guest took an exception
/// before installing its vectors (VBAR_EL1 = 0): show what it was.
fn report_el1_state(ci: usize) {
    let (esr, elr, far) = arch::guest_el1_fault_state();
    if esr != 0 {
        cell_info!(
            name(ci),
            "guest EL1 state: ESR_EL1 {:#x} (class {:#x}), ELR_EL1 {:#x}, FAR_EL1 {:#x}",
            esr,
            syndrome::ec_bits(esr),
            elr,
            far
        );
    }
}

fn stop_and_park(ci: usize) -> ! {
    cell::stop(ci, cell_state::FAILED, cellboot_abi::mgmt::reason::FAULT);
    cell::park_this_cpu()
}

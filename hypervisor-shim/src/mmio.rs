//! Stage-2 data aborts: decode the syndrome, emulate the trapped windows
//! (vPCI ECAM writes, which fault on its read-only config pages, and reads
//! beyond bus 0; vPCI BAR window; GIC distributor), deny everything else.

use crate::arch::GuestFrame;
use crate::gic;
use crate::state::{self, cell_rt, name};
use crate::stats;
use crate::syndrome::DataAbort;
use cellboot_abi::mgmt::exit;
use cellboot_abi::text;
use cellboot_abi::{cell_state, mem};
use cellboot_vdev::gicd::GicdOutcome;
use cellboot_vdev::pci::EcamOutcome;

/// GICD writes refused per cell that are logged.
const GICD_LOG_LIMIT: u32 = 8;

fn inside(a: u64, base: u64, size: u64) -> bool {
    size != 0 && a >= base && a - base < size
}

/// Emulates or denies the access; a denial is reflected to the cell as an
/// abort, or stops the cell when it cannot take one (see `deny`).
pub fn handle(frame: &mut GuestFrame, ci: usize, esr: u64, far: u64, hpfar: u64) {
    // A translation fault (a hole) or a permission fault (a write to the
    // read-only ECAM image pages) alike: only the IPA's source differs.
    let a = DataAbort::decode(esr, far, hpfar, crate::arch::guest_stage1_ipa);
    // Stage-1 table walks that hit an unmapped IPA are never emulated.
    let s1ptw = crate::syndrome::on_stage1_walk(esr);
    if !a.valid || s1ptw {
        return deny(
            frame,
            ci,
            &a,
            if s1ptw {
                " (stage-1 table walk)"
            } else {
                " (no syndrome: ISV=0)"
            },
        );
    }
    let sys = state::cfg();
    let c = &sys.cells()[ci];
    let b = &sys.board;
    let value = if a.write { frame.reg(a.reg) } else { 0 };
    let result: Option<u64> = if inside(a.ipa, c.vpci.ecam_base, c.vpci.ecam_size) {
        stats::count(exit::MMIO);
        let off = a.ipa - c.vpci.ecam_base;
        let mut rt = cell_rt(ci).lock();
        let Some(bus) = rt.vpci_mut() else {
            drop(rt);
            return deny(frame, ci, &a, "");
        };
        if a.write {
            match bus.ecam_write(off, a.size, value) {
                EcamOutcome::Done => {}
                EcamOutcome::Ignored { reason } => {
                    drop(rt);
                    cell_info!(name(ci), "ECAM write {:#x} at +{:#x} ignored: {}", value, off, reason);
                }
                EcamOutcome::BarNotDecoded { bar0, collides_with } => {
                    drop(rt);
                    cell_info!(
                        name(ci),
                        "ivshmem BAR0 refused (not decoded): it would cover {} at {:#x}",
                        collides_with,
                        bar0
                    );
                }
            }
            Some(0)
        } else {
            let cycle = matches!(a.size, 1 | 2 | 4) && off % 4 + u64::from(a.size) <= 4;
            let v = bus.ecam_read(off, a.size);
            drop(rt);
            if !cycle {
                cell_info!(
                    name(ci),
                    "ECAM read of {} at +{:#x} is no config cycle: all-ones",
                    SizeText(a.size),
                    off
                );
            }
            Some(v)
        }
    } else if inside(a.ipa, c.vpci.mmio_base, c.vpci.mmio_size) || bar_outside_window(ci, a.ipa) {
        stats::count(exit::MMIO);
        #[cfg(feature = "mgmt")]
        if let Some(v) = crate::mgmt::access(ci, a.ipa, a.size, a.write, value) {
            return finish(frame, &a, v);
        }
        let mut rt = cell_rt(ci).lock();
        let Some(bus) = rt.vpci_mut() else {
            drop(rt);
            return deny(frame, ci, &a, "");
        };
        if a.write {
            let dev = bus.device_at(a.ipa);
            let eff = bus.mmio_write(a.ipa, a.size, value);
            drop(rt);
            match (eff, dev) {
                (Some(e), Some(d)) => {
                    crate::ivshmem::effect(ci, d, e);
                    Some(0)
                }
                _ => None,
            }
        } else {
            bus.mmio_read(a.ipa, a.size)
        }
    } else if inside(a.ipa, b.gicd_base, b.gicd_size) {
        stats::count(exit::GICD);
        let off = a.ipa - b.gicd_base;
        if a.write {
            if let GicdOutcome::Denied { irq, reason } = gic::write(ci, off, a.size, value) {
                let n = cell_rt(ci).lock().count_gicd_denial();
                if n <= GICD_LOG_LIMIT {
                    match irq {
                        Some(i) => cell_info!(name(ci), "GICD write at +{:#x} (IRQ {}): {}", off, i, reason),
                        None => cell_info!(name(ci), "GICD write {:#x} at +{:#x}: {}", value, off, reason),
                    }
                }
                if n == GICD_LOG_LIMIT {
                    cell_info!(
                        name(ci),
                        "further GICD refusals are not logged (a guest GIC driver touches every SPI)"
                    );
                }
            }
            Some(0)
        } else {
            Some(gic::read(ci, off, a.size))
        }
    } else if gic::get().in_redistributors(a.ipa) {
        stats::count(exit::GICD);
        // Only other cells' frames trap (the cell's own are mapped).
        if a.write {
            cell_info!(
                name(ci),
                "write to another CPU's redistributor at IPA {:#x} ignored",
                a.ipa
            );
            Some(0)
        } else {
            Some(gic::gicr_foreign_read(a.ipa - b.gicr_base, a.size))
        }
    } else {
        None
    };
    let Some(v) = result else {
        return deny(frame, ci, &a, "");
    };
    finish(frame, &a, v)
}

/// Completes an emulated access: a read's value into its register
/// (sign-extended as the load asked), the instruction skipped.
#[inline(always)]
fn finish(frame: &mut GuestFrame, a: &DataAbort, v: u64) {
    if !a.write {
        frame.set_reg(a.reg, a.load_value(v));
    }
    frame.elr += 4;
}

/// Whether `ipa` is in a BAR0 the cell placed outside its MEM window that
/// its bus decodes (`cellboot_vdev::pci::ReservedIpas` says where it may).
fn bar_outside_window(ci: usize, ipa: u64) -> bool {
    cell_rt(ci).lock().vpci().is_some_and(|bus| {
        #[cfg(feature = "mgmt")]
        if bus.mgmt_hit(ipa).is_some() {
            return true;
        }
        bus.device_at(ipa).is_some()
    })
}

/// A denied access is reflected into the cell as a synchronous external
/// abort when the cell has EL1 vectors that can take it (the guest decides
/// what a bus error means: Linux oopses or signals, an RTOS recovers). A cell
/// without usable vectors, or one faulting inside its own vector table, would
/// only loop: that is fatal, and the cell (only that cell) is stopped.
fn deny(frame: &mut GuestFrame, ci: usize, a: &DataAbort, why: &str) {
    stats::count(exit::DENIED);
    let dir = if a.write { "write" } else { "read" };
    let far = crate::arch::fault_address();
    let pc = frame.elr;
    let verdict = match vectors_usable(ci, pc) {
        Ok(()) => crate::arch::reflect_data_abort(frame, far, a.write).ok_or("not an AArch64 EL0/EL1 context"),
        Err(e) => Err(e),
    };
    match verdict {
        Ok(vector) => cell_info!(
            name(ci),
            "denied {} {} at IPA {:#x} (pc {:#x}){}: abort injected (EL1 vector {:#x})",
            dir,
            SizeText(a.size),
            a.ipa,
            pc,
            why,
            vector
        ),
        Err(reason) => {
            cell_info!(
                name(ci),
                "denied {} {} at IPA {:#x} (pc {:#x}){}: stopping the cell ({})",
                dir,
                SizeText(a.size),
                a.ipa,
                pc,
                why,
                reason
            );
            crate::cell::stop(ci, cell_state::FAILED, cellboot_abi::mgmt::reason::FAULT);
            crate::cell::park_this_cpu()
        }
    }
}

/// Whether an abort can be delivered to the cell's EL1 vectors: set, inside
/// the cell's executable RAM when its MMU is off (VBAR is then an IPA), and
/// the fault did not happen inside the vector table itself.
fn vectors_usable(ci: usize, pc: u64) -> Result<(), &'static str> {
    let (vbar, mmu_on) = crate::arch::guest_el1_vectors();
    if vbar == 0 {
        return Err("no EL1 vector table");
    }
    if pc >= vbar && pc - vbar < 0x800 {
        return Err("fault inside its own EL1 vector table");
    }
    if !mmu_on {
        let c = &state::cfg().cells()[ci];
        let ok = c.mem_regions().iter().any(|r| {
            r.flags & mem::EXECUTE != 0
                && r.flags & mem::IO == 0
                && vbar >= r.virt
                && vbar.saturating_add(0x800) <= r.virt_end()
        });
        if !ok {
            return Err("EL1 vector table outside its executable RAM");
        }
    }
    Ok(())
}

struct SizeText(u8);
impl text::Render for SizeText {
    fn render(&self, s: &mut dyn text::Sink) {
        match self.0 {
            0 => s.put(b"of unknown size"),
            1 => s.put(b"1 byte"),
            n => text::write(s, "{} bytes", &cellboot_abi::args!(n)),
        }
    }
}
cellboot_abi::render_arg!(SizeText);

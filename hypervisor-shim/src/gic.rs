//! The GIC distributor, shared by all cells: real MMIO for the vdev
//! mediation (`cellboot_vdev::gicd`) and doorbell delivery, under one lock.
//! GICv2 and GICv3 differ only in what vdev does with the offsets; CPU
//! interfaces / redistributors are mapped straight into cells.

use cellboot_vdev::gicd::{self, CellIrqs, GicdHw, GicdOutcome, WokenSpi};
use core::sync::atomic::{AtomicU8, Ordering};

/// GICv2: the CPU interface mask of each physical CPU, as the CPU itself
/// reads it from the banked GICD_ITARGETSR0 (0 = that CPU has not run yet).
/// The wiring of cores to GIC-400 interfaces is the SoC's choice, so the
/// shim asks rather than assuming interface n = CPU n.
static CPU_IF: [AtomicU8; cellboot_abi::MAX_CPUS] = [const { AtomicU8::new(0) }; cellboot_abi::MAX_CPUS];

/// Records this CPU's GICv2 interface mask (call on the CPU, before it
/// enters its cell). No-op on GICv3.
pub fn record_cpu_interface(cpu: usize) {
    if crate::cell::cfg().board.gic_version != 2 || cpu >= CPU_IF.len() {
        return;
    }
    let mask = {
        let _g = LOCK.lock();
        // GICD_ITARGETSR0 byte 0: SGI 0's target = the reader.
        hw().read8(gicd::regs::ITARGETSR)
    };
    CPU_IF[cpu].store(mask, Ordering::SeqCst);
}

/// CPU `cpu`'s interface mask: what it read itself, else interface `cpu`
/// (the usual wiring, also the Raspberry Pi 4's) until it has run.
fn cpu_interface_mask(cpu: usize) -> u8 {
    match CPU_IF.get(cpu).map(|m| m.load(Ordering::SeqCst)) {
        Some(0) | None => {
            if cpu < 8 {
                1 << cpu
            } else {
                0
            }
        }
        Some(m) => m,
    }
}

/// Serialises every distributor access (vdev's read-modify-writes need it).
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

struct Mmio {
    base: u64,
}

impl Mmio {
    fn at<T>(&self, off: u64) -> *mut T {
        (self.base + (off & 0xffff)) as *mut T
    }
}

// Each method: `base` is the board's GICD (validated config), the
// offset is masked into its 64 KiB frame, accesses are naturally aligned by
// the callers (vdev passes register offsets) and the EL2 map makes the
// distributor Device memory, so these are MMIO accesses no Rust object aliases.
impl GicdHw for Mmio {
    fn read32(&mut self, off: u64) -> u32 {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u32>(off & !3).read_volatile() }
    }
    fn write32(&mut self, off: u64, v: u32) {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u32>(off & !3).write_volatile(v) }
    }
    fn read64(&mut self, off: u64) -> u64 {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u64>(off & !7).read_volatile() }
    }
    fn write64(&mut self, off: u64, v: u64) {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u64>(off & !7).write_volatile(v) }
    }
    fn read8(&mut self, off: u64) -> u8 {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u8>(off).read_volatile() }
    }
    fn write8(&mut self, off: u64, v: u8) {
        // SAFETY: a GICD register (see above).
        unsafe { self.at::<u8>(off).write_volatile(v) }
    }
}

fn hw() -> Mmio {
    Mmio {
        base: crate::cell::cfg().board.gicd_base,
    }
}

/// What cell `ci` owns, in vdev's terms: its SPIs (config ranges plus its
/// vPCI INTx lines) and its CPUs.
fn with_cell_irqs<R>(ci: usize, f: impl FnOnce(&CellIrqs) -> R) -> R {
    let sys = crate::cell::cfg();
    let c = &sys.cells()[ci];
    let vpci = c.vpci;
    let owns = move |intid: u32| {
        c.owns_irq(intid) || (vpci.ecam_size != 0 && intid >= vpci.irq_base && intid - vpci.irq_base < 4)
    };
    let mut aff = [0u64; cellboot_abi::MAX_CPUS];
    let mut n = 0;
    let mut if_mask = 0u8;
    for cpu in 0..(sys.board.num_cpus as usize).min(cellboot_abi::MAX_CPUS) {
        if c.owns_cpu(cpu) {
            aff[n] = sys.board.mpidr[cpu];
            n += 1;
            if_mask |= cpu_interface_mask(cpu);
        }
    }
    f(&CellIrqs {
        owns: &owns,
        cpu_affinities: &aff[..n],
        cpu_if_mask: if_mask,
    })
}

pub fn read(ci: usize, off: u64, size: u8) -> u64 {
    let version = crate::cell::cfg().board.gic_version;
    with_cell_irqs(ci, |c| {
        let _g = LOCK.lock();
        gicd::mediate_read(&mut hw(), version, off, size, c)
    })
}

pub fn write(ci: usize, off: u64, size: u8, value: u64) -> GicdOutcome {
    let version = crate::cell::cfg().board.gic_version;
    with_cell_irqs(ci, |c| {
        let _g = LOCK.lock();
        gicd::mediate_write(&mut hw(), version, off, size, value, c)
    })
}

pub fn set_spi_pending(intid: u32) {
    let _g = LOCK.lock();
    gicd::set_spi_pending(&mut hw(), intid);
}

/// Wakes physical CPU `cpu` from WFI whatever its GIC state with `intid`,
/// one of its cell's own SPIs (vdev's `wake_spi` says why an SPI); `None`
/// when `intid` is no SPI. [`unkick`] puts the SPI back.
pub fn kick(cpu: usize, intid: u32) -> Option<WokenSpi> {
    let b = &crate::cell::cfg().board;
    let target = if b.gic_version == 3 {
        b.mpidr[cpu] & gicd::AFF_MASK
    } else {
        u64::from(cpu_interface_mask(cpu))
    };
    let _g = LOCK.lock();
    gicd::wake_spi(&mut hw(), b.gic_version, intid, target)
}

pub fn unkick(w: &WokenSpi) {
    let version = crate::cell::cfg().board.gic_version;
    let _g = LOCK.lock();
    gicd::restore_spi(&mut hw(), version, w);
}

/// GICv3: reads of another CPU's redistributor frame (Linux walks every
/// frame until GICR_TYPER.Last). Identification and TYPER/CTLR come from the
/// hardware (read-only facts); everything else reads as zero. `off` is
/// relative to `gicr_base`, inside the board's redistributor frames.
pub fn gicr_foreign_read(off: u64, size: u8) -> u64 {
    let b = &crate::cell::cfg().board;
    let in_frame = off % b.gicr_stride;
    let visible = matches!(in_frame, 0x0..=0xf) || (0xffd0..0x1_0000).contains(&in_frame);
    if !visible || !matches!(size, 4 | 8) || !off.is_multiple_of(u64::from(size)) {
        return 0;
    }
    let pa = b.gicr_base + off;
    // SAFETY: a naturally aligned read of a read-only register inside the
    // board's redistributor frames (validated config), Device memory in the
    // EL2 map; no side effects.
    unsafe {
        if size == 8 {
            (pa as *const u64).read_volatile()
        } else {
            u64::from((pa as *const u32).read_volatile())
        }
    }
}

/// Cell start: cell `ci`'s SPIs grouped, prioritised and routed to it, the
/// distributor's group enables set (`cellboot_vdev::gicd::prepare_cell_spis`).
pub fn prepare_cell_spis(ci: usize) -> u32 {
    let version = crate::cell::cfg().board.gic_version;
    with_cell_irqs(ci, |c| {
        let _g = LOCK.lock();
        gicd::prepare_cell_spis(&mut hw(), version, c)
    })
}

/// GICv2 cell start, on the entering CPU: its banked SGI/PPI priorities.
pub fn prepare_banked_v2() {
    let _g = LOCK.lock();
    gicd::prepare_banked_v2(&mut hw());
}

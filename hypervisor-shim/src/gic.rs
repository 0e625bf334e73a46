//! The GIC, chosen once at boot ([`choose`]): v2 (GIC-400: the CPU
//! interface mapped into cells, interrupts straight to EL1) or v3 (the
//! redistributors mapped per CPU, interrupts through the list registers,
//! `vgic`). Every version-dependent step is a method of [`Gic`], so the
//! rest of the shim has no version test of its own.
//!
//! The distributor is shared by all cells: real MMIO for the vdev
//! mediation (`cellboot_vdev::gicd`) and doorbell delivery, under one lock.

use crate::arch;
use crate::stage2::{Kind, Leaves, MapError, Perm, Pool};
use crate::state::{self, cfg};
use cellboot_abi::CellConfig;
use cellboot_vdev::gicd::{self, CellIrqs, GicdHw, GicdOutcome, WokenSpi};
use core::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Gic {
    V2,
    V3,
}

static IS_V3: AtomicBool = AtomicBool::new(false);

/// Picks the GIC of the validated board (once, at boot).
pub fn choose(version: u32) -> Gic {
    IS_V3.store(version == 3, Ordering::Relaxed);
    get()
}

pub fn get() -> Gic {
    if IS_V3.load(Ordering::Relaxed) {
        Gic::V3
    } else {
        Gic::V2
    }
}

impl Gic {
    /// The architecture version, as vdev's mediation takes it.
    pub fn version(self) -> u32 {
        match self {
            Gic::V2 => 2,
            Gic::V3 => 3,
        }
    }

    /// The board's CPU-side GIC frames, base and size: the CPU interface
    /// (v2) or every CPU's redistributor (v3).
    pub fn cpu_frames(self, b: &cellboot_abi::Board) -> (u64, u64) {
        match self {
            Gic::V2 => (b.gicc_base, b.gicc_size),
            Gic::V3 => (b.gicr_base, b.gicr_stride.saturating_mul(b.num_cpus.into())),
        }
    }

    /// Whether cells' interrupts are taken at EL2 and passed on through the
    /// list registers (`vgic`): GICv3, but in the `direct-irqs` bench build.
    pub fn irqs_through_el2(self) -> bool {
        self == Gic::V3 && crate::vgic::ON_GICV3
    }

    /// Maps the CPU-side GIC frames a cell drives itself into its stage 2:
    /// the redistributors of the CPUs it owns (v3), or the CPU interface (v2).
    pub fn map_cpu_frames(self, pool: &mut Pool, root: usize, c: &CellConfig) -> Result<(), (MapError, u64)> {
        let b = &cfg().board;
        let rw = Perm {
            read: true,
            write: true,
            exec: false,
        };
        match self {
            Gic::V3 => {
                for cpu in 0..arch::MAX_CPUS {
                    if c.owns_cpu(cpu) {
                        let frame = b.gicr_base + cpu as u64 * b.gicr_stride;
                        pool.map(root, frame, frame, b.gicr_stride, Kind::Device, rw, Leaves::Blocks)
                            .map_err(|e| (e, frame))?;
                    }
                }
            }
            Gic::V2 if b.gicc_base != 0 => {
                pool.map(
                    root,
                    b.gicc_base,
                    b.gicc_base,
                    b.gicc_size.next_multiple_of(4096),
                    Kind::Device,
                    rw,
                    Leaves::Blocks,
                )
                .map_err(|e| (e, b.gicc_base))?;
            }
            Gic::V2 => {}
        }
        Ok(())
    }

    /// This CPU's interrupt side as it enters a cell (after its EL2 setup).
    // One caller (`cell::run_on_this_cpu`): inlined, it costs no call frame.
    #[inline(always)]
    pub fn enter_cell(self, cpu: usize) {
        if self.irqs_through_el2() {
            crate::vgic::init_this_cpu();
        } else if self == Gic::V2 {
            arch::set_gicv2_mode();
            record_cpu_interface(cpu);
        }
    }

    /// This CPU's interrupt side as it leaves its cell for good or parks.
    pub fn leave_cell(self) {
        if self.irqs_through_el2() {
            crate::vgic::release_this_cpu();
        }
    }

    /// Whether `ipa` is in the board's redistributor frames (GICv3 only):
    /// reads of other CPUs' frames trap there.
    pub fn in_redistributors(self, ipa: u64) -> bool {
        let b = &cfg().board;
        let size = b.gicr_stride.saturating_mul(b.num_cpus.into());
        self == Gic::V3 && ipa >= b.gicr_base && ipa - b.gicr_base < size
    }
}

/// Records this CPU's GICv2 interface mask, as the CPU itself reads it from
/// the banked GICD_ITARGETSR0 (call on the CPU, before it enters its cell).
/// The wiring of cores to GIC-400 interfaces is the SoC's choice, so the
/// shim asks rather than assuming interface n = CPU n.
fn record_cpu_interface(cpu: usize) {
    let Some(this) = state::try_cpu(cpu) else {
        return;
    };
    let mask = {
        let _g = LOCK.lock();
        // GICD_ITARGETSR0 byte 0: SGI 0's target = the reader.
        hw().read8(gicd::regs::ITARGETSR)
    };
    this.set_gic_interface(mask);
}

/// CPU `cpu`'s interface mask: what it read itself, else interface `cpu`
/// (the usual wiring, also the Raspberry Pi 4's) until it has run.
fn cpu_interface_mask(cpu: usize) -> u8 {
    match state::try_cpu(cpu).map(|c| c.gic_interface()) {
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
static LOCK: crate::lock::Mutex<()> = crate::lock::Mutex::new(());

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
        base: cfg().board.gicd_base,
    }
}

/// What cell `ci` owns, in vdev's terms: its SPIs (config ranges plus its
/// vPCI INTx lines) and its CPUs.
fn with_cell_irqs<R>(ci: usize, f: impl FnOnce(&CellIrqs) -> R) -> R {
    let sys = cfg();
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
    let version = get().version();
    with_cell_irqs(ci, |c| {
        let _g = LOCK.lock();
        gicd::mediate_read(&mut hw(), version, off, size, c)
    })
}

pub fn write(ci: usize, off: u64, size: u8, value: u64) -> GicdOutcome {
    let version = get().version();
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
    let gic = get();
    let target = match gic {
        Gic::V3 => cfg().board.mpidr[cpu] & gicd::AFF_MASK,
        Gic::V2 => u64::from(cpu_interface_mask(cpu)),
    };
    let _g = LOCK.lock();
    gicd::wake_spi(&mut hw(), gic.version(), intid, target)
}

pub fn unkick(w: &WokenSpi) {
    let version = get().version();
    let _g = LOCK.lock();
    gicd::restore_spi(&mut hw(), version, w);
}

/// GICv3: reads of another CPU's redistributor frame (Linux walks every
/// frame until GICR_TYPER.Last). Identification and TYPER/CTLR come from the
/// hardware (read-only facts); everything else reads as zero. `off` is
/// relative to `gicr_base`, inside the board's redistributor frames.
pub fn gicr_foreign_read(off: u64, size: u8) -> u64 {
    let b = &cfg().board;
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
    let version = get().version();
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

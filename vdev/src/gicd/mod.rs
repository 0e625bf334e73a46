//! GIC distributor mediation for GICv2 (GIC-400) and GICv3: the GICD page is
//! shared by all cells, so the shim traps it and a cell may only see and
//! change state of the SPIs it owns.
//!
//! Callers must (a) perform the hardware accesses on the CPU that trapped
//! (GICv2 banks SGI/PPI registers per CPU) and (b) serialise all mediated
//! GICD accesses with one lock: read-modify-write of shared words
//! (IGROUPR, ICFGR, …) is only atomic under it.

/// Real distributor accesses, done by the shim with device-memory MMIO.
/// Offsets are relative to the GICD base.
pub trait GicdHw {
    fn read32(&mut self, off: u64) -> u32;
    fn write32(&mut self, off: u64, v: u32);
    fn read64(&mut self, off: u64) -> u64;
    fn write64(&mut self, off: u64, v: u64);
    fn read8(&mut self, off: u64) -> u8;
    fn write8(&mut self, off: u64, v: u8);
}

/// What the trapping cell owns.
pub struct CellIrqs<'a> {
    /// Whether the cell owns SPI `intid` (only asked for INTIDs >= 32).
    pub owns: &'a dyn Fn(u32) -> bool,
    /// MPIDR affinity (Aff3..Aff0 in MPIDR bit positions) of the cell's CPUs.
    pub cpu_affinities: &'a [u64],
    /// GICv2 CPU interface bits (ITARGETSR/SGIR encoding) of the cell's CPUs.
    pub cpu_if_mask: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicdOutcome {
    /// Applied in full.
    Done,
    /// All or part of the write was dropped (the cell's own part, if any,
    /// was applied). For the shim's log; the guest is never faulted.
    Denied { irq: Option<u32>, reason: &'static str },
}

/// A mediated distributor read (`size` 1, 2, 4 or 8 bytes at `off`).
/// Denied reads return 0 (RAZ).
pub fn mediate_read(hw: &mut dyn GicdHw, version: u32, off: u64, size: u8, cell: &CellIrqs) -> u64 {
    let _ = (hw, version, off, size, cell);
    0
}

/// A mediated distributor write.
pub fn mediate_write(
    hw: &mut dyn GicdHw,
    version: u32,
    off: u64,
    size: u8,
    value: u64,
    cell: &CellIrqs,
) -> GicdOutcome {
    let _ = (hw, version, off, size, value, cell);
    GicdOutcome::Denied { irq: None, reason: "gicd: not implemented yet" }
}

/// Makes SPI `intid` pending (ivshmem doorbell delivery). INTIDs outside the
/// SPI range 32..1020 are ignored.
pub fn set_spi_pending(hw: &mut dyn GicdHw, intid: u32) {
    if (32..1020).contains(&intid) {
        hw.write32(0x200 + 4 * u64::from(intid / 32), 1 << (intid % 32));
    }
}

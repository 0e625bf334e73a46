//! GICD_CTLR. The distributor is shared: if one cell could clear an enable
//! bit, every other cell would stop receiving interrupts. So writes may only
//! set the enable / affinity-routing bits, never clear anything. Linux's
//! GIC drivers write 0 first (disable, configure, enable); the disable is
//! simply ignored, which is safe because the configuration they then do is
//! per-IRQ and mediated anyway.

use super::ownership::denied_if;
use super::regs::CTLR;
use super::{GicdHw, GicdOutcome};

/// GICv2 (non-secure view): EnableGrp0/Enable, EnableGrp1.
const V2_SETTABLE: u32 = 0b11;
/// GICv3: EnableGrp0, EnableGrp1NS (Grp1A), EnableGrp1S, ARE_S, ARE_NS.
/// Not DS (disabling security is not a cell's call) nor anything else.
const V3_SETTABLE: u32 = 0b11_0111;
/// GICv3 RWP (register write pending): read-only, never written back.
const RWP: u32 = 1 << 31;

pub fn ctlr_write(hw: &mut dyn GicdHw, version: u32, value: u32) -> GicdOutcome {
    let settable = if version == 2 { V2_SETTABLE } else { V3_SETTABLE };
    let cur = hw.read32(CTLR) & !RWP;
    let new = cur | (value & settable);
    if new != cur {
        hw.write32(CTLR, new);
    }
    let cleared = cur & !value & settable != 0;
    let forbidden = value & !settable & !cur & !RWP != 0;
    denied_if(
        cleared || forbidden,
        None,
        "gicd: CTLR may only enable (shared distributor); rest ignored",
    )
}

//! Waking a CPU whatever its GIC state: one of its cell's SPIs at the top
//! priority, aimed at it and made pending, then put back. A CPU parked inside
//! an interrupt handler it never EOIs (Linux before a reboot) is signalled
//! nothing of that handler's priority again, and SGI priorities are banked
//! per CPU on GICv2: only an SPI the shim reconfigures from another CPU
//! reaches it (docs/cell-reset.md).

use super::{GicdHw, ownership, regs};

/// What [`wake_spi`] changed on the SPI, for [`restore_spi`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WokenSpi {
    intid: u32,
    priority: u8,
    route: u64,
    enabled: bool,
}

fn bank(intid: u32) -> (u64, u32) {
    (4 * u64::from(intid / 32), 1 << (intid % 32))
}

fn set_route(hw: &mut dyn GicdHw, version: u32, intid: u32, v: u64) {
    let n = u64::from(intid);
    if version == 3 {
        hw.write64(regs::IROUTER + 8 * n, v);
    } else {
        hw.write8(regs::ITARGETSR + n, v as u8);
    }
}

/// Makes SPI `intid` pending at priority 0 for one CPU: `target` is its
/// affinity (GICv3 IROUTER, Aff fields only) or its CPU interface bit
/// (GICv2 ITARGETSR). `None`, and nothing touched, outside 32..1020.
pub fn wake_spi(hw: &mut dyn GicdHw, version: u32, intid: u32, target: u64) -> Option<WokenSpi> {
    if !ownership::SPI_RANGE.contains(&intid) {
        return None;
    }
    let (n, (word, bit)) = (u64::from(intid), bank(intid));
    let route = if version == 3 {
        hw.read64(regs::IROUTER + 8 * n)
    } else {
        u64::from(hw.read8(regs::ITARGETSR + n))
    };
    let woken = WokenSpi {
        intid,
        priority: hw.read8(regs::IPRIORITYR + n),
        route,
        enabled: hw.read32(regs::ISENABLER + word) & bit != 0,
    };
    hw.write8(regs::IPRIORITYR + n, 0);
    set_route(hw, version, intid, target);
    hw.write32(regs::ISENABLER + word, bit);
    hw.write32(regs::ISPENDR + word, bit);
    Some(woken)
}

/// Undoes [`wake_spi`]: the SPI not pending, its priority, route and enable
/// as they were.
pub fn restore_spi(hw: &mut dyn GicdHw, version: u32, w: &WokenSpi) {
    let (n, (word, bit)) = (u64::from(w.intid), bank(w.intid));
    if !w.enabled {
        hw.write32(regs::ICENABLER + word, bit);
    }
    hw.write32(regs::ICPENDR + word, bit);
    hw.write8(regs::IPRIORITYR + n, w.priority);
    set_route(hw, version, w.intid, w.route);
}

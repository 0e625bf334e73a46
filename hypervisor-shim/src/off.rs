//! The way out: power the machine off, or report an internal error and
//! power off. The bottom of the shim (console and arch only), so every
//! module may end the run without importing the layers above.

use crate::arch;
use crate::psci::fid;
use core::sync::atomic::{AtomicBool, Ordering};

/// Set on the first power-off: an error on the way (a fault, a fatal
/// report) halts instead of powering off again, which could loop for ever.
/// A plain load and store: no exclusives, which may not work this early.
static POWERING_OFF: AtomicBool = AtomicBool::new(false);

/// Whether firmware takes PSCI calls. Before a config is validated: the
/// board the shim was built for (an SMC on the Pi is UNDEFINED, or under
/// QEMU raspi4b enters an EL3 with no vectors); then what
/// `cpu_power::choose` read from the board.
static PSCI_FIRMWARE: AtomicBool = AtomicBool::new(env!("SHIM_PSCI_FIRMWARE").as_bytes()[0] == b'1');

/// Called once, when the CPU power method is chosen at boot.
pub fn set_psci_firmware(yes: bool) {
    PSCI_FIRMWARE.store(yes, Ordering::Relaxed);
}

/// Real PSCI SYSTEM_OFF (QEMU virt exits). Does not return. Spin-table
/// boards have no firmware to ask (an SMC there is UNDEFINED with the Pi's
/// SCR_EL3.SMD = 1, or enters QEMU raspi4b's EL3 stub): the CPU halts.
pub fn system_off() -> ! {
    if POWERING_OFF.load(Ordering::Relaxed) {
        arch::halt()
    }
    POWERING_OFF.store(true, Ordering::Relaxed);
    if PSCI_FIRMWARE.load(Ordering::Relaxed) {
        arch::smc(fid::SYSTEM_OFF as u64, 0, 0, 0);
    }
    info!("no PSCI power-off: halting (power off by hand)");
    arch::halt()
}

/// An internal error of the shim itself: `[shim] internal error: <message>`
/// (`fatal!`), then power off.
#[inline(never)]
pub fn fatal(fmt: &str, args: &[cellboot_abi::text::Arg]) -> ! {
    crate::console::shim_line(
        "internal error: {}",
        &cellboot_abi::args!(crate::console::Message(fmt, args)),
    );
    system_off()
}

/// An internal error (`info!` syntax): report and power off.
#[macro_export]
macro_rules! fatal {
    ($fmt:literal $(, $a:expr)* $(,)?) => {
        {
            const _: () = assert!(
                cellboot_abi::text::valid($fmt, <[&str]>::len(&[$(stringify!($a)),*])),
                "format string and arguments do not match (cellboot_abi::text::valid)"
            );
            $crate::off::fatal($fmt, &cellboot_abi::args!($($a),*))
        }
    };
}

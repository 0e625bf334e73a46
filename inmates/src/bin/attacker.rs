//! attacker: placeholder (filled in by the hostile-guest suite).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod hostile {
    use cellboot_inmates::arch::{self, Frame};
    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(_dtb: u64) -> ! {
        loop { arch::wfi() }
    }
    #[unsafe(no_mangle)]
    fn inmate_handle(_frame: &mut Frame, _kind: u64) {}
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        loop { arch::wfi() }
    }
}

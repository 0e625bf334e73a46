//! Link the bare-metal binaries: the shim with linker/shim.ld at a build-time
//! base (`SHIM_BASE`, default QEMU virt's 0x4020_0000; also the board's early
//! UART and whether it has PSCI firmware), the QEMU test payload
//! with its own script. Nothing to do for host builds.
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../linker/shim.ld");
    println!("cargo:rerun-if-changed=tests-payload/payload.ld");
    println!("cargo:rerun-if-changed=tests-armstub/armstub.ld");
    println!("cargo:rerun-if-env-changed=SHIM_BASE");
    println!("cargo:rerun-if-env-changed=SHIM_EARLY_UART");
    println!("cargo:rerun-if-env-changed=SHIM_EARLY_UART_DRIVER");
    println!("cargo:rerun-if-env-changed=SHIM_PSCI_FIRMWARE");
    println!("cargo:rerun-if-env-changed=SHIM_STAGE2_RAM");

    let base = env::var("SHIM_BASE").unwrap_or_else(|_| "0x40200000".into());
    let uart = env::var("SHIM_EARLY_UART").unwrap_or_else(|_| "0x09000000".into());
    for (name, v) in [("SHIM_BASE", &base), ("SHIM_EARLY_UART", &uart)] {
        let digits = v.trim_start_matches("0x");
        if u64::from_str_radix(digits, 16).is_err() {
            panic!("{name}={v} is not a hex address");
        }
    }
    println!("cargo:rustc-env=SHIM_EARLY_UART={uart}");
    // Its console driver: cellboot_abi::uart_driver (0 PL011, 1 Cadence).
    let driver = env::var("SHIM_EARLY_UART_DRIVER").unwrap_or_else(|_| "0".into());
    if driver != "0" && driver != "1" {
        panic!("SHIM_EARLY_UART_DRIVER={driver} is not 0 or 1");
    }
    println!("cargo:rustc-env=SHIM_EARLY_UART_DRIVER={driver}");
    // Whether firmware takes PSCI SMCs (QEMU virt), or the board has none
    // (spin-table: the Pi, where an SMC is UNDEFINED or lands in a stub).
    let psci = env::var("SHIM_PSCI_FIRMWARE").unwrap_or_else(|_| "1".into());
    if psci != "0" && psci != "1" {
        panic!("SHIM_PSCI_FIRMWARE={psci} is not 0 or 1");
    }
    println!("cargo:rustc-env=SHIM_PSCI_FIRMWARE={psci}");
    // Cell RAM's stage-2 leaves: "pages" under QEMU, "blocks" on hardware
    // (src/stage2.rs, RAM_LEAVES).
    let leaves = env::var("SHIM_STAGE2_RAM").unwrap_or_else(|_| "pages".into());
    if leaves != "pages" && leaves != "blocks" {
        panic!("SHIM_STAGE2_RAM={leaves} is not pages or blocks");
    }
    println!("cargo:rustc-env=SHIM_STAGE2_RAM={leaves}");

    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bin=hypervisor-shim=--defsym=SHIM_BASE={base}");
    println!("cargo:rustc-link-arg-bin=hypervisor-shim=-T{dir}/../linker/shim.ld");
    println!("cargo:rustc-link-arg-bin=hypervisor-shim=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bin=hypervisor-shim=--icf=all");
    println!("cargo:rustc-link-arg-bin=shim-test-payload=-T{dir}/tests-payload/payload.ld");
    println!("cargo:rustc-link-arg-bin=el3-armstub=-T{dir}/tests-armstub/armstub.ld");
}

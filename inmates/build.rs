//! Links the bare-metal inmates with linker/inmate.ld at their cell's load
//! address (RAM base + 2 MiB, where the loader copies a RAW payload). The
//! addresses must match boards/qemu-virt/two-cell.toml / hostile.toml; the
//! startup code refuses to run anywhere else. Host builds are untouched.

/// (binary, link address).
const BINS: &[(&str, &str)] = &[
    ("rtos-demo", "0x61200000"),
    ("attacker", "0x62200000"),
    ("ecam-bench", "0x63200000"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed={dir}/../linker/inmate.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    for (bin, base) in BINS {
        println!("cargo:rustc-link-arg-bin={bin}=--defsym=INMATE_BASE={base}");
        println!("cargo:rustc-link-arg-bin={bin}=-T{dir}/../linker/inmate.ld");
        println!("cargo:rustc-link-arg-bin={bin}=-zmax-page-size=4096");
    }
    // Jailhouse's layout: linked at 0, command line at 0x1000.
    println!("cargo:rerun-if-changed={dir}/../linker/jailhouse-inmate.ld");
    println!("cargo:rustc-link-arg-bin=jh-conform=-T{dir}/../linker/jailhouse-inmate.ld");
    println!("cargo:rustc-link-arg-bin=jh-conform=-zmax-page-size=4096");
    // The Linux user program: a plain static ELF at the linker's default base.
    println!("cargo:rustc-link-arg-bin=ivshmem-rtt=-zmax-page-size=4096");
    println!("cargo:rustc-link-arg-bin=ivshmem-rtt=--entry=_start");
}

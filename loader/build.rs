//! Link the bare-metal `loader` binary as a position-independent executable
//! with our linker script; host builds (the stub `main`) are untouched.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = format!("{dir}/../linker/loader.ld");
    println!("cargo:rerun-if-changed={script}");
    println!("cargo:rerun-if-changed=build.rs");
    if target_os == "none" {
        for arg in [
            "-pie",
            "--no-dynamic-linker",
            "-z",
            "norelro",
            "-z",
            "notext",
            "--pack-dyn-relocs=relr",
            // Identical functions (monomorphised copies) once: size.
            "--icf=all",
            "-T",
            &script,
        ] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}

//! The real board DTBs the differential tests and the benchmark run on.

use std::path::PathBuf;

/// QEMU virt (`-machine dumpdtb`), 1 MiB totalsize.
pub const QEMU_VIRT: &str = "qemu-virt.dtb";
/// Raspberry Pi 4 B, from Debian's kernel package.
pub const RPI4: &str = "bcm2711-rpi-4-b.dtb";

/// `<workspace>/build/fixtures`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("build")
        .join("fixtures")
}

/// The bytes of fixture `name`; panics with the command that makes it if missing.
pub fn load(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => panic!(
            "fixture {} is missing ({e}); create it with `cargo xtask fetch` from the workspace root",
            path.display()
        ),
    }
}

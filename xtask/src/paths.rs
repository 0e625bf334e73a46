//! Where things live: the repository, build/ and cargo's target dir.

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn build() -> PathBuf {
    root().join("build")
}

pub fn downloads() -> PathBuf {
    build().join("downloads")
}

pub fn guest() -> PathBuf {
    build().join("guest")
}

pub fn fixtures() -> PathBuf {
    build().join("fixtures")
}

pub fn logs() -> PathBuf {
    build().join("logs")
}

pub fn board_dir(board: &str) -> PathBuf {
    root().join("boards").join(board)
}

pub fn board_out(board: &str) -> PathBuf {
    build().join(board)
}

/// Raw arm64 Image of the Debian cloud kernel (QEMU virt).
pub fn cloud_image() -> PathBuf {
    guest().join("cloud/Image")
}

/// Raw arm64 Image of the Debian generic kernel (Raspberry Pi 4).
pub fn generic_image() -> PathBuf {
    guest().join("generic/Image")
}

pub fn initramfs() -> PathBuf {
    guest().join("initramfs.cpio.gz")
}

/// Path relative to the repository root, for messages.
pub fn show(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

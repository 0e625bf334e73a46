//! `xtask initramfs`: build/guest/initramfs.cpio.gz with busybox-static and
//! qemu/init.sh as /init (the guest side of the end-to-end checks).

use crate::{cmd, cpio::Cpio, fetch, paths};
use anyhow::{Context, Result};
use std::io::Write;

pub fn initramfs() -> Result<std::path::PathBuf> {
    let busybox_path = crate::manifest::load()?.busybox.file("busybox")?;
    let init_path = paths::root().join("qemu/init.sh");
    let busybox = std::fs::read(&busybox_path)
        .with_context(|| format!("cannot read {}: run `cargo xtask fetch`", paths::show(&busybox_path)))?;
    let init = std::fs::read(&init_path).with_context(|| format!("cannot read {}", paths::show(&init_path)))?;
    cmd::step("initramfs: busybox-static + qemu/init.sh");
    let raw = busybox_base(&busybox, &init, &[]).finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw)?;
    let out = paths::initramfs();
    std::fs::create_dir_all(out.parent().unwrap())?;
    fetch::write_if_changed(&out, &gz.finish()?)?;
    Ok(out)
}

/// The skeleton every guest initramfs shares (directories, then `extra_dirs`,
/// console and null devices, busybox as /bin/sh, /init); the partition
/// initramfs appends its files after it.
pub fn busybox_base(busybox: &[u8], init: &[u8], extra_dirs: &[&str]) -> Cpio {
    let mut c = Cpio::new();
    let dirs = [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "root",
    ];
    for d in dirs.iter().chain(extra_dirs) {
        c.dir(d);
    }
    c.char_dev("dev/console", 0o600, 5, 1);
    c.char_dev("dev/null", 0o666, 1, 3);
    c.file("bin/busybox", 0o755, busybox);
    c.symlink("bin/sh", "busybox");
    c.file("init", 0o755, init);
    c
}

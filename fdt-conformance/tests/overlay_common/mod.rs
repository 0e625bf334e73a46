//! Inputs for the overlay tests: the dts sources under `overlays/`, compiled
//! with `dtc -@` into the target dir, and the real board DTBs.
#![allow(dead_code)]

use fdt_conformance::overlay_ffi::{compile_dts, work_dir};
use fdt_conformance::{fixtures, libfdt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Free space given to the base by default (both sides get the same).
pub const ROOM: usize = 8192;

pub fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("overlays")
}

/// A compiled input: its bytes and where the dtb lives (for fdtoverlay).
pub struct Dtb {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// `overlays/<rel>.dts` compiled with `dtc -@` (`-f` for the malformed ones).
pub fn dts(rel: &str) -> Dtb {
    let src = src_dir().join(format!("{rel}.dts"));
    let out = work_dir("dtb").join(format!("{}.dtb", rel.replace('/', "__")));
    let bytes = compile_dts(&src, &out, rel.starts_with("bad/"));
    Dtb { path: out, bytes }
}

/// The test board base.
pub fn board() -> Dtb {
    dts("base-board")
}

/// The board base compiled without `-@`: no `__symbols__`.
pub fn board_without_symbols() -> Dtb {
    let out = work_dir("dtb").join("base-board-nosyms.dtb");
    let o = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(src_dir().join("base-board.dts"))
        .output()
        .expect("dtc");
    assert!(o.status.success());
    Dtb {
        bytes: std::fs::read(&out).unwrap(),
        path: out,
    }
}

/// A real board DTB from build/fixtures, optionally with `__symbols__`
/// entries added by `fdtput` (the Debian/QEMU blobs carry none).
pub fn fixture(name: &str, symbols: &[(&str, &str)]) -> Dtb {
    let out = work_dir("dtb").join(format!("fixture-{name}"));
    std::fs::write(&out, fixtures::load(name)).unwrap();
    if !symbols.is_empty() {
        run(Command::new("fdtput").arg("-c").arg(&out).arg("/__symbols__"));
        for (label, path) in symbols {
            run(Command::new("fdtput")
                .arg("-ts")
                .arg(&out)
                .arg("/__symbols__")
                .arg(label)
                .arg(path));
        }
    }
    Dtb {
        bytes: std::fs::read(&out).unwrap(),
        path: out,
    }
}

fn run(c: &mut Command) {
    let o = c.output().expect("run tool");
    assert!(o.status.success(), "{c:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// Data end (off_dt_strings + size_dt_strings) of a blob.
pub fn data_end(b: &[u8]) -> usize {
    (libfdt::be32(b, 12) + libfdt::be32(b, 32)) as usize
}

pub fn write(path: &Path, b: &[u8]) {
    std::fs::write(path, b).unwrap();
}

//! Overlay oracles: libfdt's `fdt_overlay_apply` over FFI, the `fdtoverlay`
//! and `dtc` tools, and the side-by-side runner the overlay tests, the fuzz
//! target and the benchmark share.
//!
//! Both sides start from the same bytes: the base opened with libfdt's
//! `fdt_open_into` into `totalsize + room`, so any output difference is the
//! apply's alone.

use crate::AlignedBuf;
use crate::libfdt::{self, Result};
use cellfdt::Error;
use core::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;

unsafe extern "C" {
    fn fdt_overlay_apply(fdt: *mut c_void, fdto: *mut c_void) -> c_int;
}

/// libfdt's `fdt_overlay_apply(base, overlay)`; both are edited in place
/// (and poisoned on error, as libfdt does).
pub fn libfdt_overlay_apply(base: &mut [u8], overlay: &mut [u8]) -> Result<()> {
    for b in [&*base, &*overlay] {
        if b.len() < libfdt::HEADER_SIZE || libfdt::totalsize(b) > b.len() {
            return Err(Error::Truncated);
        }
    }
    // SAFETY: both buffers are exclusively borrowed, distinct, and hold at
    // least their header's totalsize bytes (checked); libfdt reads and
    // writes each blob only within its totalsize.
    let rc = unsafe { fdt_overlay_apply(base.as_mut_ptr().cast(), overlay.as_mut_ptr().cast()) };
    libfdt::rc(rc).map(|_| ())
}

/// `base` opened (libfdt `fdt_open_into`) with `room` bytes of free space.
pub fn open_base(base: &[u8], room: usize) -> AlignedBuf {
    let mut buf = AlignedBuf::zeroed(libfdt::totalsize(base) + room);
    libfdt::open_into(base, &mut buf).expect("fdt_open_into of a test base");
    buf
}

/// What one side produced: the result and the whole base buffer after it.
pub struct Applied {
    pub result: Result<()>,
    pub base: AlignedBuf,
}

/// libfdt applies `overlays` in sequence to `base` opened with `room`.
pub fn apply_with_libfdt(base: &[u8], room: usize, overlays: &[&[u8]]) -> Applied {
    let mut buf = open_base(base, room);
    let mut result = Ok(());
    for ov in overlays {
        let mut ov = AlignedBuf::from_slice(ov);
        result = libfdt_overlay_apply(&mut buf, &mut ov);
        if result.is_err() {
            break;
        }
    }
    Applied { result, base: buf }
}

/// cellfdt applies `overlays` in sequence; scratch = the base's totalsize.
pub fn apply_with_cellfdt(base: &[u8], room: usize, overlays: &[&[u8]]) -> Applied {
    let mut buf = open_base(base, room);
    let mut scratch = vec![0u8; buf.len()];
    let mut result = Ok(());
    for ov in overlays {
        let mut ov = AlignedBuf::from_slice(ov);
        result = cellfdt::overlay::overlay_apply(&mut buf, &mut ov, &mut scratch);
        if result.is_err() {
            break;
        }
    }
    Applied { result, base: buf }
}

/// The packed blob (`fdt_pack`, then `totalsize` bytes).
pub fn packed(buf: &[u8]) -> Vec<u8> {
    let mut b = AlignedBuf::from_slice(buf);
    libfdt::pack(&mut b).expect("fdt_pack");
    b[..libfdt::totalsize(&b)].to_vec()
}

/// Where test inputs and outputs go (under the cargo target dir).
pub fn work_dir(tag: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let d = base.join("overlay-work").join(tag);
    std::fs::create_dir_all(&d).expect("create overlay work dir");
    d
}

/// `dtc -@ -I dts -O dtb` (`-f` if `force`: malformed test overlays) of a
/// source file (symbols on, so overlays carry
/// `__fixups__`/`__local_fixups__`/`__symbols__` and bases `__symbols__`).
pub fn compile_dts(src: &Path, out: &Path, force: bool) -> Vec<u8> {
    let o = Command::new("dtc")
        .args(["-@", "-q", "-I", "dts", "-O", "dtb"])
        .args(if force { &["-f"][..] } else { &[][..] })
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .expect("run dtc (apt-get install device-tree-compiler)");
    assert!(
        o.status.success(),
        "dtc {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(out).expect("read dtc output")
}

/// `fdtoverlay -i base -o out overlays...`: Ok(packed output) or Err(stderr).
pub fn fdtoverlay(base: &Path, overlays: &[PathBuf], out: &Path) -> std::result::Result<Vec<u8>, String> {
    let o = Command::new("fdtoverlay")
        .arg("-i")
        .arg(base)
        .arg("-o")
        .arg(out)
        .args(overlays)
        .output()
        .expect("run fdtoverlay");
    if o.status.success() {
        Ok(std::fs::read(out).expect("read fdtoverlay output"))
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// `dtc -I dtb -O dts` of a blob (for comparing trees, not bytes).
pub fn to_dts(blob: &[u8], tmp: &Path) -> String {
    std::fs::write(tmp, blob).expect("write dtb");
    let o = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(tmp)
        .output()
        .expect("run dtc");
    assert!(o.status.success(), "dtc -I dtb: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The libfdt pylibfdt bundles (1.7.2, `libfdt_current`) applies `overlays`
/// in sequence to `base` opened with `room`; stops at the first error.
pub fn apply_with_current(base: &[u8], room: usize, overlays: &[&[u8]]) -> Applied {
    let buf = open_base(base, room);
    let calls: Vec<_> = overlays
        .iter()
        .map(|o| crate::libfdt_current::Call::OverlayApply(o))
        .collect();
    let (rets, after) = crate::libfdt_current::run(&buf, &calls);
    let first_err = rets.iter().find_map(|r| match r {
        crate::libfdt_current::Ret::Code(c) if *c != 0 => Some(*c),
        _ => None,
    });
    let result = match first_err {
        None => Ok(()),
        Some(c) => Err(Error::from_code(c).unwrap_or(Error::Internal)),
    };
    Applied {
        result,
        base: AlignedBuf::from_slice(&after),
    }
}

//! Instructions per overlay apply, cellfdt vs libfdt's fdt_overlay_apply,
//! counted by callgrind on the same base + overlay.
//!
//! `overlay-bench` (no arguments) re-runs itself under
//! `valgrind --tool=callgrind --toggle-collect=<one side's function>` once per
//! side and workload, and prints instructions per apply and the ratio.
//! Only the apply is counted: fresh copies of base and overlay are made
//! outside the collected function. cellfdt's count includes its copy into
//! scratch and back (that is its price for atomicity).
//! `overlay-bench --child <side> <workload>` is the measured process.

use fdt_conformance::overlay_ffi::{compile_dts, libfdt_overlay_apply, open_base, work_dir};
use fdt_conformance::{AlignedBuf, fixtures};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

const ITERS: usize = 50;
const ROOM: usize = 16384;

/// (name, base DTB, overlay dts under overlays/)
fn workload(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("overlays");
    let out = work_dir("bench");
    let ov = |n: &str| compile_dts(&dir.join(format!("{n}.dts")), &out.join(format!("{n}.dtbo")), false);
    match name {
        "rpi4-cell" => (fixtures::load(fixtures::RPI4), ov("ov-rpi-cell")),
        "board-vpci" => (
            compile_dts(&dir.join("base-board.dts"), &out.join("base.dtb"), false),
            ov("ov-vpci"),
        ),
        "board-fixups" => (
            compile_dts(&dir.join("base-board.dts"), &out.join("base.dtb"), false),
            ov("ov-fixups-chain"),
        ),
        "board-local" => (
            compile_dts(&dir.join("base-board.dts"), &out.join("base.dtb"), false),
            ov("ov-local-fixups"),
        ),
        _ => panic!("unknown workload {name}"),
    }
}

const WORKLOADS: &[&str] = &["rpi4-cell", "board-vpci", "board-fixups", "board-local"];

#[inline(never)]
fn measured_cellfdt_apply(base: &mut [u8], ov: &mut [u8], scratch: &mut [u8]) {
    cellfdt::overlay::overlay_apply(base, ov, scratch).expect("cellfdt apply");
}

#[inline(never)]
fn measured_libfdt_apply(base: &mut [u8], ov: &mut [u8]) {
    libfdt_overlay_apply(base, ov).expect("libfdt apply");
}

fn child(side: &str, name: &str) {
    let (base, ov) = workload(name);
    let opened = open_base(&base, ROOM);
    let mut scratch = vec![0u8; opened.len()];
    for _ in 0..ITERS {
        let mut b = opened.clone();
        let mut o = AlignedBuf::from_slice(&ov);
        match side {
            "cellfdt" => measured_cellfdt_apply(black_box(&mut b), &mut o, &mut scratch),
            _ => measured_libfdt_apply(black_box(&mut b), &mut o),
        }
        black_box(&b);
    }
}

/// Instructions callgrind collected while `side`'s measured function ran.
fn count(side: &str, name: &str) -> u64 {
    let exe = std::env::current_exe().expect("own path");
    let out = work_dir("bench").join(format!("callgrind.{side}.{name}"));
    let glob = format!("*measured_{side}_apply*");
    let st = Command::new("valgrind")
        .args(["--tool=callgrind", "-q"])
        .arg(format!("--toggle-collect={glob}"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args(["--child", side, name])
        .status()
        .expect("run valgrind");
    assert!(st.success(), "callgrind run failed");
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("callgrind summary line");
    assert!(total > 0, "nothing collected for {glob}: symbol not found?");
    total
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--child" {
        return child(&args[2], &args[3]);
    }
    println!("{:<14} {:>12} {:>12} {:>7}", "workload", "cellfdt", "libfdt", "ratio");
    let (mut sum_c, mut sum_l) = (0u64, 0u64);
    for name in WORKLOADS {
        let c = count("cellfdt", name) / ITERS as u64;
        let l = count("libfdt", name) / ITERS as u64;
        sum_c += c;
        sum_l += l;
        println!("{name:<14} {c:>12} {l:>12} {:>6.2}x", c as f64 / l as f64);
    }
    println!(
        "{:<14} {sum_c:>12} {sum_l:>12} {:>6.2}x  (instructions per apply; target <= 0.70x)",
        "total",
        sum_c as f64 / sum_l as f64
    );
}

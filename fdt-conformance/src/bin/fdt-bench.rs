//! Cell-fixup benchmark: cellfdt vs libfdt vs one memcpy, in instructions
//! counted by callgrind.
//!
//! `fdt-bench` (no arguments) checks that cellfdt and libfdt produce identical
//! bytes on each board DTB, then runs itself once per (board, variant) under
//! `valgrind --tool=callgrind --toggle-collect=*bench_<variant>*`, so only the
//! variant's function (and its callees) is counted, and prints a table.
//! `fdt-bench <board> <variant> <iters>` is that inner run.

use fdt_conformance::cell_fixup::{self, Plan};
use fdt_conformance::{AlignedBuf, fixtures};
use std::hint::black_box;
use std::process::Command;

const ITERS: u32 = 20;
const VARIANTS: [&str; 3] = ["cellfdt", "libfdt", "memcpy"];

struct Board {
    name: &'static str,
    file: &'static str,
    disable: [&'static str; 3],
}

const BOARDS: [Board; 2] = [
    Board { name: "qemu-virt", file: fixtures::QEMU_VIRT, disable: ["/pl061@9030000", "/pl031@9010000", "/fw-cfg@9020000"] },
    Board {
        name: "rpi4",
        file: fixtures::RPI4,
        disable: ["/soc/hdmi@7ef00700", "/soc/i2c@7ef04500", "/soc/avs-monitor@7d5d2000"],
    },
];

#[inline(never)]
fn bench_cellfdt(src: &[u8], buf: &mut [u8], plan: &Plan) -> usize {
    cell_fixup::with_cellfdt(src, buf, plan).expect("cellfdt fixup")
}

#[inline(never)]
fn bench_libfdt(src: &[u8], buf: &mut [u8], plan: &Plan) -> usize {
    cell_fixup::with_libfdt(src, buf, plan).expect("libfdt fixup")
}

#[inline(never)]
fn bench_memcpy(src: &[u8], buf: &mut [u8], _plan: &Plan) -> usize {
    buf[..src.len()].copy_from_slice(src);
    src.len()
}

fn inner(board: &Board, variant: &str, iters: u32) {
    let src = fixtures::load(board.file);
    let plan = Plan::new(&src, board.disable);
    let mut buf = AlignedBuf::zeroed(plan.bufsize);
    let f = match variant {
        "cellfdt" => bench_cellfdt,
        "libfdt" => bench_libfdt,
        _ => bench_memcpy,
    };
    for _ in 0..iters {
        black_box(f(black_box(&src), black_box(&mut buf), &plan));
    }
}

fn check_equal(board: &Board) -> usize {
    let src = fixtures::load(board.file);
    let plan = Plan::new(&src, board.disable);
    let (mut a, mut b) = (AlignedBuf::zeroed(plan.bufsize), AlignedBuf::zeroed(plan.bufsize));
    let ta = bench_cellfdt(&src, &mut a, &plan);
    let tb = bench_libfdt(&src, &mut b, &plan);
    assert_eq!(ta, tb, "{}: totalsize cellfdt {ta} vs libfdt {tb}", board.name);
    if let Some(d) = a[..ta].iter().zip(&b[..tb]).position(|(x, y)| x != y) {
        panic!("{}: cellfdt and libfdt fixup bytes differ at offset {d}", board.name);
    }
    fdt_conformance::libfdt::check_full(&b[..tb]).expect("fixed-up blob passes fdt_check_full");
    ta
}

/// Instructions callgrind counted inside `bench_<variant>` over `iters` runs.
fn measure(board: &Board, variant: &str, iters: u32) -> u64 {
    let exe = std::env::current_exe().expect("own path");
    let out = std::env::temp_dir().join(format!("fdt-bench-{}-{}-{}.cg", std::process::id(), board.name, variant));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect=*bench_{variant}*"))
        .arg("-q")
        .arg(&exe)
        .args([board.name, variant, &iters.to_string()])
        .status()
        .expect("valgrind runs (apt-get install valgrind)");
    assert!(status.success(), "callgrind run failed for {} {variant}", board.name);
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("callgrind summary line")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [board, variant, iters] = args.as_slice() {
        let b = BOARDS.iter().find(|b| b.name == board).expect("known board");
        inner(b, variant, iters.parse().expect("iterations"));
        return;
    }
    println!("cell fixup, instructions per run (callgrind, {ITERS} runs each)");
    println!("{:<10} {:>8} {:>12} {:>12} {:>10} {:>16} {:>16}", "board", "out B", "cellfdt", "libfdt", "memcpy", "cellfdt/libfdt", "cellfdt/memcpy");
    let mut ok = true;
    for b in &BOARDS {
        let size = check_equal(b);
        let n: Vec<u64> = VARIANTS.iter().map(|v| measure(b, v, ITERS) / ITERS as u64).collect();
        let (r1, r2) = (n[0] as f64 / n[1] as f64, n[0] as f64 / n[2] as f64);
        ok &= r1 <= 0.5 && r2 <= 3.0;
        println!("{:<10} {:>8} {:>12} {:>12} {:>10} {:>10.3} (≤0.5) {:>10.2} (≤3)", b.name, size, n[0], n[1], n[2], r1, r2);
    }
    println!("bytes: cellfdt == libfdt on every board; targets {}", if ok { "met" } else { "MISSED" });
}

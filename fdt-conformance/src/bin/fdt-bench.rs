//! Cell-fixup benchmark in instructions counted by callgrind: cellfdt as the
//! host builds it and as the loader builds it, libfdt (C, the same run),
//! one memcpy of the DTB, and the peer Rust editors fdt-edit and dtoolkit.
//!
//! `fdt-bench` (no arguments) checks that cellfdt and libfdt produce identical
//! bytes on each input (and, through `fdt-peers --check`, that the peers'
//! trees hold the same nodes and properties), then runs one process per
//! (input, variant) under `valgrind --tool=callgrind
//! --toggle-collect=*bench_<variant>*`, so only the variant's function (and
//! its callees) is counted, and prints a table.
//! `fdt-bench <board> <variant> <iters>` is that inner run.
//!
//! Other builds come in through the environment (`cargo xtask bench` sets
//! both): `FDT_BENCH_LOADER_EXE`, this program built with the loader's
//! profile and cellfdt features, and `FDT_BENCH_PEERS_EXE`, the fdt-peers
//! program (the peers are not dependencies of cellfdt or of this crate).

use fdt_conformance::AlignedBuf;
use fdt_conformance::cell_fixup::{self, BOARDS, Board, Plan};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

/// Host build and loader build of cellfdt must both stay at or below this
/// fraction of libfdt's instructions on the real board DTBs. On the
/// generated 1 MB tree every size-changing edit moves about 1 MB, as
/// libfdt's does: only the peers are compared there.
const LIBFDT_RATIO_TARGET: f64 = 0.1;
const LIBFDT_TARGET_INPUTS: [&str; 2] = ["qemu-virt", "rpi4"];

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

/// Fewer runs for the big generated tree: the peers parse all of it.
fn iters(board: &Board) -> u32 {
    if board.name == "gen-1m" { 3 } else { 20 }
}

fn inner(board: &Board, variant: &str, iters: u32) {
    let src = (board.load)();
    let plan = Plan::new(&src, board.disable);
    let mut buf = AlignedBuf::zeroed(plan.bufsize);
    let f = match variant {
        "cellfdt" => bench_cellfdt,
        "libfdt" => bench_libfdt,
        "memcpy" => bench_memcpy,
        other => panic!("unknown variant {other}"),
    };
    for _ in 0..iters {
        black_box(f(black_box(&src), black_box(&mut buf), &plan));
    }
}

fn check_equal(board: &Board) -> usize {
    let src = (board.load)();
    let plan = Plan::new(&src, board.disable);
    let (mut a, mut b) = (AlignedBuf::zeroed(plan.bufsize), AlignedBuf::zeroed(plan.bufsize));
    let ta = bench_cellfdt(&src, &mut a, &plan);
    let tb = bench_libfdt(&src, &mut b, &plan);
    assert_eq!(ta, tb, "{}: totalsize cellfdt {ta} vs libfdt {tb}", board.name);
    if let Some(d) = fdt_conformance::defined::first_defined_diff(&a[..ta], &b[..tb]) {
        panic!("{}: cellfdt and libfdt fixup bytes differ at offset {d}", board.name);
    }
    fdt_conformance::libfdt::check_full(&b[..tb]).expect("fixed-up blob passes fdt_check_full");
    ta
}

/// Instructions callgrind counted inside `bench_<variant>` of `exe` over
/// `iters` runs.
fn measure(exe: &PathBuf, board: &Board, variant: &str, iters: u32) -> u64 {
    let out = std::env::temp_dir().join(format!(
        "fdt-bench-{}-{}-{}.cg",
        std::process::id(),
        board.name,
        variant
    ));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect=*bench_{variant}*"))
        .arg("-q")
        .arg(exe)
        .args([board.name, variant, &iters.to_string()])
        .status()
        .expect("valgrind runs (apt-get install valgrind)");
    assert!(
        status.success(),
        "callgrind run failed for {} {variant} ({})",
        board.name,
        exe.display()
    );
    let text = std::fs::read_to_string(&out).expect("callgrind output");
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("callgrind summary line")
}

fn env_exe(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [board, variant, iters] = args.as_slice() {
        let b = BOARDS.iter().find(|b| b.name == board).expect("known board");
        inner(b, variant, iters.parse().expect("iterations"));
        return;
    }
    let me = std::env::current_exe().expect("own path");
    let loader = env_exe("FDT_BENCH_LOADER_EXE");
    let peers = env_exe("FDT_BENCH_PEERS_EXE");
    // (column, program, variant)
    let mut cols: Vec<(&str, PathBuf, &str)> = vec![("cellfdt", me.clone(), "cellfdt")];
    if let Some(l) = &loader {
        cols.push(("loader", l.clone(), "cellfdt"));
    }
    cols.push(("libfdt", me.clone(), "libfdt"));
    cols.push(("memcpy", me.clone(), "memcpy"));
    if let Some(p) = &peers {
        cols.push(("fdt-edit", p.clone(), "fdt_edit"));
        cols.push(("dtoolkit", p.clone(), "dtoolkit"));
    }
    println!("cell fixup, instructions per run (callgrind; cellfdt = host release build, loader = the loader's build)");
    print!("{:<10} {:>8}", "input", "out B");
    for (c, _, _) in &cols {
        print!(" {c:>11}");
    }
    println!("   ratios");
    let mut ok = true;
    for b in &BOARDS {
        let size = check_equal(b);
        if let Some(p) = &peers {
            let st = Command::new(p)
                .args(["--check", b.name])
                .status()
                .expect("fdt-peers runs");
            assert!(st.success(), "{}: a peer's fixed-up tree differs from libfdt's", b.name);
        }
        let n = iters(b);
        let counts: Vec<u64> = cols
            .iter()
            .map(|(_, exe, v)| measure(exe, b, v, n) / u64::from(n))
            .collect();
        let get = |name: &str| cols.iter().position(|c| c.0 == name).map(|i| counts[i] as f64);
        print!("{:<10} {:>8}", b.name, size);
        for c in &counts {
            print!(" {c:>11}");
        }
        let (cell, lib) = (get("cellfdt").unwrap_or(0.0), get("libfdt").unwrap_or(1.0));
        let target = LIBFDT_TARGET_INPUTS.contains(&b.name);
        let mut ratios = vec![format!("cellfdt/libfdt {:.3}", cell / lib)];
        ok &= !target || cell / lib <= LIBFDT_RATIO_TARGET;
        if let Some(l) = get("loader") {
            ratios.push(format!("loader/libfdt {:.3}", l / lib));
            ok &= !target || l / lib <= LIBFDT_RATIO_TARGET;
        }
        if let Some(m) = get("memcpy") {
            ratios.push(format!("cellfdt/memcpy {:.2}", cell / m));
        }
        for peer in ["fdt-edit", "dtoolkit"] {
            if let Some(p) = get(peer) {
                let worst = cell.max(get("loader").unwrap_or(0.0));
                ratios.push(format!("{peer}/cellfdt {:.1}", p / cell));
                ok &= p > worst;
            }
        }
        println!("   {}", ratios.join(", "));
    }
    println!(
        "bytes: cellfdt == libfdt on every input; targets (cellfdt and loader <= {LIBFDT_RATIO_TARGET} x libfdt on {}, every peer slower than both everywhere) {}",
        LIBFDT_TARGET_INPUTS.join(" and "),
        if ok { "met" } else { "MISSED" }
    );
}

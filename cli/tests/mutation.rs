//! Mutated configs and board DTBs through `cellboot check/dtb/build`, with
//! the invariants of issue 15: no panic (exit 101) and no hang; every exit
//! code is one README.md names; a config `check` accepts is accepted by
//! `dtb` (every cell) and `build`, and by the shim's own validation
//! (`cellboot_abi::validate` on the built binary, the shim's DTB trim and
//! full structure check on the board DTB); every blob `dtb` writes passes
//! libfdt's fdt_check_full; the config crate's verdict is the shim's.
//!
//! Deterministic (fixed seed) and bounded for CI. A longer campaign by hand:
//! `CELLBOOT_MUTANTS=10000,5000 cargo test --release -p cellboot --test
//! mutation -- --nocapture` (config mutants, DTB mutants); the counts and
//! the exit-code histogram are printed.

mod common;

use cellboot_abi::staging::{BOARD_DTB_MAX, trim_board_dtb};
use cellboot_abi::zerocopy::FromBytes;
use cellboot_abi::{SystemConfig, validate, validate_header};
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use toml::{Table, Value};

/// xorshift64*: a fixed seed gives the same mutants everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const HANG: Duration = Duration::from_secs(20);

/// Exit code of `cellboot args` (None: killed after [`HANG`]), and stderr.
fn run(args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cellboot"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cellboot");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Default)]
struct Tally {
    runs: BTreeMap<String, usize>,
    violations: Vec<String>,
}

impl Tally {
    fn code(&mut self, what: &str, code: Option<i32>, err: &str, case: &str) -> Option<i32> {
        let kind = if case.starts_with("config") {
            "config mutants"
        } else {
            "DTB mutants"
        };
        let key = match code {
            Some(c) => format!("{kind}: {what} exit {c}"),
            None => format!("{kind}: {what} hang"),
        };
        *self.runs.entry(key).or_default() += 1;
        if !matches!(code, Some(0..=2)) {
            self.violations.push(format!("{case}: {what} exit {code:?}: {err}"));
        }
        code
    }
}

/// Integer leaves worth setting, and what values to try.
fn interesting(rng: &mut Rng, old: i64) -> i64 {
    const V: [i64; 20] = [
        0,
        1,
        2,
        3,
        4,
        31,
        32,
        0xfff,
        0x1000,
        0x1_0000,
        0x2_0000,
        0x4_0000,
        0x10_0000,
        0xffff_fffd,
        0xffff_ffff,
        0x1_0000_0000,
        0x80_0000_0000,
        0x7fff_ffff_ffff_f000,
        i64::MAX,
        -1,
    ];
    match rng.below(6) {
        0 => old.wrapping_add(1),
        1 => old.wrapping_sub(0x1000),
        2 => old ^ (1 << rng.below(40)),
        3 => old.wrapping_mul(2),
        _ => V[rng.below(V.len())],
    }
}

/// Paths to every leaf of `v` (array elements by index).
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Table(t) => {
            for (k, x) in t {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            out.push(path.clone());
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(v, |cur, k| match cur {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        Value::Table(t) => t.get_mut(k).unwrap(),
        _ => unreachable!(),
    })
}

/// One to three edits of the board or system TOML (or a byte edit of its text).
fn mutate_toml(rng: &mut Rng, text: &str) -> String {
    if rng.below(12) == 0 {
        let mut b = text.as_bytes().to_vec();
        let i = rng.below(b.len());
        match rng.below(3) {
            0 => b[i] = rng.next() as u8,
            1 => {
                b.remove(i);
            }
            _ => b.insert(i, b"\0\n=[]\"'{}#.x9"[rng.below(13)]),
        }
        return String::from_utf8_lossy(&b).into_owned();
    }
    let mut doc = Value::Table(text.parse::<Table>().unwrap());
    for _ in 0..=rng.below(3) {
        let mut all = Vec::new();
        leaves(&doc, &mut Vec::new(), &mut all);
        let p = all[rng.below(all.len())].clone();
        let other = all[rng.below(all.len())].clone();
        let copied = at(&mut doc, &other).clone();
        let leaf = at(&mut doc, &p);
        *leaf = match (leaf.clone(), rng.below(8)) {
            (_, 0) => copied,
            (Value::Integer(n), _) => Value::Integer(interesting(rng, n)),
            (Value::String(s), k) => Value::String(match k {
                1 => String::new(),
                2 => "/".into(),
                3 => format!("{s}\0\n"),
                4 => "x".repeat(600),
                _ => format!("{s}/x"),
            }),
            (Value::Array(mut a), k) if !a.is_empty() => {
                let i = rng.below(a.len());
                if k < 4 {
                    a.remove(i);
                } else {
                    let x = a[i].clone();
                    a.push(x);
                }
                Value::Array(a)
            }
            (Value::Boolean(b), _) => Value::Boolean(!b),
            (v, _) => v,
        };
    }
    toml::to_string(&doc).unwrap()
}

/// A DTB edit: a structure/strings word or byte, a header field, a cut.
fn mutate_dtb(rng: &mut Rng, good: &[u8]) -> Vec<u8> {
    let mut b = good.to_vec();
    let be = |b: &[u8], o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    let (st, st_len) = (be(&b, 8) as usize, be(&b, 36) as usize);
    for _ in 0..=rng.below(2) {
        let word = st + 4 * rng.below(st_len / 4);
        let v: u32 = match rng.below(10) {
            0..=3 => {
                let vals = [0u32, 1, 2, 3, 4, 9, 0xffff_ffff, 0xffff_fff0, 0x10, 0x100];
                vals[rng.below(vals.len())]
            }
            4 => be(&b, word) ^ (1 << rng.below(32)),
            5 => be(&b, word).wrapping_add(1),
            6 => be(&b, word).wrapping_sub(1),
            7 => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
                continue;
            }
            8 => {
                let f = 4 * (1 + rng.below(9));
                let v = be(&b, f);
                let nv = [v.wrapping_add(1), v.wrapping_sub(1), v.wrapping_add(8), 0, 0xffff_ffff][rng.below(5)];
                b[f..f + 4].copy_from_slice(&nv.to_be_bytes());
                continue;
            }
            _ => {
                let cut = rng.below(b.len());
                b.truncate(cut.max(1));
                return b;
            }
        };
        b[word..word + 4].copy_from_slice(&v.to_be_bytes());
    }
    b
}

/// A board's files in a temp dir, payload paths pointing at real files
/// (kernel from build/guest, a made-up 1 MiB initrd).
struct Workspace {
    dir: tempfile::TempDir,
    board: &'static str,
    system: String,
    board_text: String,
}

impl Workspace {
    fn new(board: &'static str, system: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_board_sources(board, dir.path());
        let initrd = dir.path().join("initrd.img");
        std::fs::write(&initrd, vec![0u8; 1 << 20]).unwrap();
        let guest = repo().join("build/guest");
        let system = read(&repo_file(system))
            .replace("../../build/guest/initramfs.cpio.gz", &initrd.display().to_string())
            .replace("../../build/guest", &guest.display().to_string());
        let board_text = read(&repo_file(&format!("boards/{board}/board.toml")));
        Self {
            dir,
            board,
            system,
            board_text,
        }
    }
    fn path(&self, n: &str) -> PathBuf {
        self.dir.path().join(n)
    }
    fn write(&self, board: &str, system: &str, dtb: &[u8]) {
        std::fs::write(self.path("board.toml"), board).unwrap();
        std::fs::write(self.path("system.toml"), system).unwrap();
        std::fs::write(self.path("board.dtb"), dtb).unwrap();
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The shim's own verdicts, compiled for the host: its config validation
/// on `bin` and its DTB acceptance (trim + full structure check).
fn shim_accepts_config(bin: &[u8]) -> bool {
    let mut n = validate_header(bin, &mut |_| {});
    if n == 0 {
        let cfg = SystemConfig::ref_from_prefix(bin).unwrap().0;
        n += validate(cfg, &mut |_| {});
    }
    n == 0
}

fn shim_accepts_dtb(raw: &[u8]) -> bool {
    let mut out = vec![0u8; BOARD_DTB_MAX];
    let Ok(n) = trim_board_dtb(raw, &mut out) else {
        return false;
    };
    cellfdt::Fdt::new(&out[..n]).and_then(|f| f.check_full()).is_ok()
}

fn libfdt_ok(blob: &[u8]) -> bool {
    matches!(fdt_conformance::libfdt::check_full_or_skip(blob), Some(Ok(())))
}

/// One input through check, then (when check accepts) dtb for every cell
/// and build; the invariants recorded in `t`.
fn one(t: &mut Tally, w: &Workspace, case: &str) {
    let (sys, dtb) = (s(&w.path("system.toml")), s(&w.path("board.dtb")));
    let (code, err) = run(&["check".into(), sys.clone(), "--dtb".into(), dtb.clone()]);
    let check = t.code("check", code, &err, case);
    // The config crate's verdict vs the shim's on the same binary config.
    let srcs = (
        cellboot_config::Source {
            path: w.path("board.toml"),
            text: std::fs::read_to_string(w.path("board.toml")).unwrap(),
        },
        cellboot_config::Source {
            path: w.path("system.toml"),
            text: std::fs::read_to_string(w.path("system.toml")).unwrap(),
        },
    );
    let mut cells = vec!["linux".to_string()];
    if let Ok(raw) = cellboot_config::compile_sources_unvalidated(&srcs.0, &srcs.1) {
        use cellboot_abi::zerocopy::IntoBytes;
        // A jailhouse-kind cell gets no device tree (`dtb` refuses it).
        cells = raw
            .cell_names
            .iter()
            .zip(&raw.config.cells)
            .filter(|(_, c)| !cellboot_abi::is_jailhouse(c))
            .map(|(n, _)| n.clone())
            .collect();
        let shim = shim_accepts_config(raw.config.as_bytes());
        let config = cellboot_config::compile_sources(&srcs.0, &srcs.1).is_ok();
        if shim != config {
            t.violations.push(format!(
                "{case}: config crate says {config}, the shim's validate {shim}"
            ));
        }
    }
    let raw = std::fs::read(w.path("board.dtb")).unwrap();
    for cell in &cells {
        let out = w.path("guest.dtb");
        let _ = std::fs::remove_file(&out);
        let args = ["dtb", "--system", &sys, "--dtb", &dtb, "--cell", cell, "-o", &s(&out)];
        let (code, err) = run(&args.map(String::from));
        let code = t.code("dtb", code, &err, case);
        if code == Some(0) {
            let blob = std::fs::read(&out).unwrap();
            if !libfdt_ok(&blob) {
                t.violations.push(format!(
                    "{case}: dtb --cell {cell} exit 0, libfdt fdt_check_full rejects the output"
                ));
            }
        } else if out.exists() {
            t.violations
                .push(format!("{case}: dtb exit {code:?} left {}", out.display()));
        }
        // A payload path the mutant moved away from every file is an I/O
        // error of `dtb` (exit 2), not a config problem `check` missed.
        let io = code == Some(2) && err.contains("cannot read");
        if check == Some(0) && code != Some(0) && !io {
            t.violations
                .push(format!("{case}: check ok, dtb --cell {cell} exit {code:?}: {err}"));
        }
    }
    if check != Some(0) {
        return;
    }
    if !shim_accepts_dtb(&raw) {
        t.violations
            .push(format!("{case}: check ok, the shim refuses the board DTB"));
    }
    let bin = w.path("system.bin");
    let (code, err) = run(&["build".into(), sys, "-o".into(), s(&bin)]);
    if t.code("build", code, &err, case) != Some(0) {
        t.violations
            .push(format!("{case}: check ok, build exit {code:?}: {err}"));
    } else if !shim_accepts_config(&std::fs::read(&bin).unwrap()) {
        t.violations.push(format!(
            "{case}: check ok, the shim's validate refuses the built config"
        ));
    }
}

fn counts() -> (usize, usize) {
    let v = std::env::var("CELLBOOT_MUTANTS").unwrap_or_else(|_| "240,160".into());
    let (a, b) = v.split_once(',').expect("CELLBOOT_MUTANTS=configs,dtbs");
    (a.trim().parse().unwrap(), b.trim().parse().unwrap())
}

#[test]
fn mutants_keep_the_invariants() {
    let (n_config, n_dtb) = counts();
    let mut rng = Rng(0x15_c0ff_ee15);
    let mut t = Tally::default();
    let boards = [
        (
            Workspace::new("qemu-virt", VIRT_SYSTEM),
            std::fs::read(repo_file(VIRT_DTB)).unwrap(),
        ),
        (
            Workspace::new("rpi4b", PI_SYSTEM),
            std::fs::read(repo_file(PI_DTB)).unwrap(),
        ),
    ];
    for i in 0..n_config {
        let (w, dtb) = &boards[i % 2];
        let (mut board, mut system) = (w.board_text.clone(), w.system.clone());
        if rng.below(3) == 0 {
            board = mutate_toml(&mut rng, &board);
        } else {
            system = mutate_toml(&mut rng, &system);
        }
        w.write(&board, &system, dtb);
        one(&mut t, w, &format!("config mutant {i} ({})", w.board));
    }
    for i in 0..n_dtb {
        let (w, dtb) = &boards[i % 2];
        w.write(&w.board_text, &w.system, &mutate_dtb(&mut rng, dtb));
        one(&mut t, w, &format!("DTB mutant {i} ({})", w.board));
    }
    eprintln!("{n_config} config mutants, {n_dtb} DTB mutants; runs by exit code:");
    for (k, n) in &t.runs {
        eprintln!("  {k}: {n}");
    }
    eprintln!("{} violations", t.violations.len());
    assert!(t.violations.is_empty(), "{}", t.violations.join("\n"));
}

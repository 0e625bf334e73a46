//! A system file and a board DTB, both mutated, through `cellboot check`
//! and `cellboot dtb` (the CLI's own code, in process) with issue 15's
//! invariants:
//! - nothing panics (a panic is the fuzzer's crash);
//! - the config crate's verdict is the shim's: `cellboot_abi::validate` on
//!   the same binary config accepts exactly what `compile_sources` accepts;
//! - `check` ok => the shim keeps the board DTB (its trim and full structure
//!   check), `dtb` builds every cell, and every blob `dtb` produces passes
//!   libfdt's fdt_check_full.
//!
//! Input: byte 0 picks the board (bit 0: QEMU virt / Raspberry Pi 4); up to
//! the first 0xff byte, the system file's text (lossy UTF-8; empty: the
//! board's linux-demo.toml); after it, (u16 word index, u32 value) pairs
//! written big-endian over the board's fixture DTB's structure block.
#![no_main]

use cellboot::cmd_check;
use cellboot::config_input::ConfigSources;
use cellboot::failure::Failure;
use cellboot::guest;
use cellboot_abi::staging::{BOARD_DTB_MAX, trim_board_dtb};
use cellboot_abi::zerocopy::IntoBytes;
use cellboot_config::{Source, compile_sources, compile_sources_unvalidated};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Board {
    dir: PathBuf,
    board: String,
    system: String,
    dtb: Vec<u8>,
}

fn boards() -> &'static [Board; 2] {
    static B: OnceLock<[Board; 2]> = OnceLock::new();
    B.get_or_init(|| {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let load = |name: &str, fixture: &str| {
            let dir = repo.join("boards").join(name);
            let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            Board {
                board: read(dir.join("board.toml")),
                system: read(dir.join("linux-demo.toml")),
                dtb: std::fs::read(repo.join("build/fixtures").join(fixture))
                    .expect("build/fixtures: run `cargo xtask fetch`"),
                dir,
            }
        };
        [load("qemu-virt", "qemu-virt.dtb"), load("rpi4b", "bcm2711-rpi-4-b.dtb")]
    })
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

fn mutated_dtb(good: &[u8], script: &[u8]) -> Vec<u8> {
    let mut b = good.to_vec();
    let be = |b: &[u8], o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let (start, words) = (be(&b, 8), be(&b, 36) / 4);
    for op in script.chunks_exact(6) {
        let w = usize::from(u16::from_be_bytes([op[0], op[1]])) % words.max(1);
        let at = start + 4 * w;
        b[at..at + 4].copy_from_slice(&op[2..6]);
    }
    b
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let board = &boards()[usize::from(pick & 1)];
    let (text, script) = match rest.iter().position(|&b| b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let system = if text.is_empty() {
        board.system.clone()
    } else {
        String::from_utf8_lossy(text).into_owned()
    };
    let dtb = mutated_dtb(&board.dtb, script);
    let sources = ConfigSources {
        board: Source {
            path: board.dir.join("board.toml"),
            text: board.board.clone(),
        },
        system: Source {
            path: board.dir.join("fuzz.toml"),
            text: system,
        },
    };
    let compiled = compile_sources(&sources.board, &sources.system);
    if let Ok(raw) = compile_sources_unvalidated(&sources.board, &sources.system) {
        let mut n = cellboot_abi::validate_header(raw.config.as_bytes(), &mut |_| {});
        n += cellboot_abi::validate(&raw.config, &mut |_| {});
        assert_eq!(n == 0, compiled.is_ok(), "config crate and shim disagree");
    }
    let dtb_path = Path::new("fuzz.dtb");
    let Ok((problems, _, _)) = cmd_check::problems(&sources, Some((dtb_path, &dtb))) else {
        return; // an I/O failure (overlay file or dtc), exit 2
    };
    let Ok(sys) = compiled else {
        assert!(!problems.is_empty(), "check ok for a config the config crate refuses");
        return;
    };
    let check_ok = problems.is_empty();
    if check_ok {
        assert!(shim_accepts_dtb(&dtb), "check ok, the shim refuses the board DTB");
    }
    let Ok(trimmed) = cellboot::shim_staging::trim_board_dtb(&dtb) else {
        assert!(!check_ok);
        return;
    };
    for ci in 0..sys.cell_names.len() {
        if sys.config.cells.get(ci).is_some_and(cellboot_abi::is_jailhouse) {
            continue; // no device tree for a jailhouse-kind cell
        }
        let initrd = guest::staged_initrd_size(&sys, ci);
        match guest::build_cell(&sys, ci, &trimmed, &sources.system.path, dtb_path, initrd) {
            Ok(blob) => assert!(libfdt_ok(&blob), "dtb output fails libfdt's fdt_check_full"),
            Err(Failure::Problem(m)) => assert!(!check_ok, "check ok, dtb refuses: {m}"),
            Err(_) => {}
        }
    }
});

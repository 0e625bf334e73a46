//! Bounded replay of the fuzz corpus on stable (CI): every file under
//! `corpus/edit/` is an `edit_diff` input, every file under `corpus/read/`
//! a `read_walk` input (seeds plus any crashers found by `cargo +nightly fuzz`).

use fdt_conformance::{decode, diff, fuzz_seeds, libfdt, ro_compare, ro_walk};
use std::path::PathBuf;

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.truncate(2000);
    v
}

#[test]
fn edit_corpus_replays_clean() {
    let fs = files("edit");
    assert!(!fs.is_empty(), "no edit corpus");
    for f in fs {
        let data = std::fs::read(&f).unwrap();
        let Some((&pick, rest)) = data.split_first() else {
            continue;
        };
        if let Err(m) = diff::run_script(fuzz_seeds::blob(pick), &decode::script(rest, 40)) {
            panic!("{}: {m}", f.display());
        }
    }
}

#[test]
fn read_corpus_replays_clean() {
    let fs = files("read");
    assert!(!fs.is_empty(), "no read corpus");
    for f in fs {
        let data = std::fs::read(&f).unwrap();
        ro_walk::walk_everything(&data);
        if libfdt::check_full_or_skip(&data) == Some(Ok(())) {
            ro_compare::compare_views(&data).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
}

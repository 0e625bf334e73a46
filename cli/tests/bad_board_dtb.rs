//! Board DTBs the shim refuses (its full structure check of the trimmed
//! copy) are refused by `check --dtb` and `dtb` too, naming the input, and
//! `dtb` never writes a blob that fails libfdt's fdt_check_full.

mod common;

use common::*;
use std::path::Path;

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
}

/// (offset, tag) of every token of the structure block.
fn tokens(b: &[u8]) -> Vec<(usize, u32)> {
    let mut o = be32(b, 8) as usize;
    let mut out = Vec::new();
    loop {
        let t = be32(b, o);
        out.push((o, t));
        o = match t {
            1 => (o + 4 + b[o + 4..].iter().position(|&c| c == 0).unwrap() + 1).next_multiple_of(4),
            3 => (o + 12 + be32(b, o + 4) as usize).next_multiple_of(4),
            2 | 4 => o + 4,
            9 => return out,
            t => panic!("tag {t} at {o}"),
        };
    }
}

fn put32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_be_bytes());
}

/// The examples, each on the virt fixture.
fn mutants() -> Vec<(&'static str, Vec<u8>)> {
    let good = std::fs::read(repo_file(VIRT_DTB)).unwrap();
    let toks = tokens(&good);
    let first_prop = toks.iter().find(|t| t.1 == 3).unwrap().0;
    let last = |tag| toks.iter().rev().find(|t| t.1 == tag).unwrap().0;
    let mut out = Vec::new();
    let mut b = good.clone();
    put32(&mut b, first_prop + 8, 0xffff_ffff);
    out.push(("name offset 0xffffffff", b));
    let mut b = good.clone();
    put32(&mut b, 36, be32(&good, 36) - 1);
    out.push(("size_dt_struct one short", b));
    let mut b = good.clone();
    put32(&mut b, last(9), 4);
    out.push(("FDT_END replaced by NOP", b));
    let mut b = good.clone();
    put32(&mut b, last(2), 4);
    out.push(("root END_NODE replaced by NOP", b));
    out
}

fn write(dir: &Path, name: &str, blob: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, blob).unwrap();
    p.display().to_string()
}

#[test]
fn check_refuses_what_the_shim_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    for (what, blob) in mutants() {
        let dtb = write(tmp.path(), "bad.dtb", &blob);
        let o = cellboot(["check", VIRT_SYSTEM, "--dtb", &dtb]);
        assert_exit(&o, 1);
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{dtb}: ")) && err.contains("board DTB unusable"),
            "{what}: {err}"
        );
        assert!(!stdout(&o).contains("ok"), "{what}");
    }
}

#[test]
fn dtb_writes_nothing_and_dts_blames_the_input_not_dtc() {
    let tmp = tempfile::tempdir().unwrap();
    for (what, blob) in mutants() {
        let dtb = write(tmp.path(), "bad.dtb", &blob);
        let out = tmp.path().join("guest.dtb");
        let mut args = guest_args("qemu-virt");
        let i = args.iter().position(|a| a == VIRT_DTB).unwrap();
        args[i] = dtb.clone();
        let mut a = vec!["dtb".to_string()];
        a.extend(args.iter().cloned());
        a.extend(["-o".into(), out.display().to_string()]);
        let o = cellboot(&a);
        assert_exit(&o, 1);
        assert!(!out.exists(), "{what}: wrote {}", out.display());
        assert!(stderr(&o).contains(&dtb), "{what}: {}", stderr(&o));
        let mut a = vec!["dtb".to_string()];
        a.extend(args);
        a.push("--dts".into());
        let o = cellboot(&a);
        assert_exit(&o, 1);
        let err = stderr(&o);
        assert!(err.contains(&dtb) && !err.contains("dtc"), "{what}: {err}");
    }
}

#[test]
fn the_good_fixture_still_passes() {
    let o = cellboot(["check", VIRT_SYSTEM, "--dtb", VIRT_DTB]);
    assert_exit(&o, 0);
    let tmp = tempfile::tempdir().unwrap();
    let (_, blob) = build_guest("qemu-virt", tmp.path());
    let verdict = fdt_conformance::libfdt::check_full_or_skip(&blob).expect("a v17 blob");
    assert!(verdict.is_ok(), "libfdt: {verdict:?}");
}

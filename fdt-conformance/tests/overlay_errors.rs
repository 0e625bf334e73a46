//! Every way an overlay apply can fail: cellfdt reports libfdt's error class
//! and leaves the base byte-for-byte as it was (libfdt poisons it).

mod overlay_common;

use cellfdt::Error::{self, *};
use cellfdt::overlay::overlay_apply;
use fdt_conformance::AlignedBuf;
use fdt_conformance::overlay_ffi::{apply_with_cellfdt, apply_with_libfdt, open_base};
use overlay_common::*;

/// (overlay under overlays/bad/, expected error, whether the merge had
/// already edited the base when it failed — the cases libfdt leaves broken)
const BAD: &[(&str, Error, bool)] = &[
    ("missing-label", NotFound, false),
    ("missing-label-ref", NotFound, false),
    ("target-path-missing", NotFound, true),
    ("target-phandle-missing", NotFound, true),
    ("target-phandle-minus1", BadPhandle, false),
    ("target-phandle-short", BadPhandle, false),
    ("no-target", BadOverlay, true),
    ("fixup-no-offset", BadOverlay, false),
    ("fixup-no-colon", BadOverlay, false),
    ("fixup-trailing-colon", BadOverlay, false),
    ("fixup-empty-name", BadOverlay, false),
    ("fixup-bad-number", BadOverlay, false),
    ("fixup-not-terminated", BadOverlay, false),
    ("fixup-empty", BadOverlay, false),
    ("fixup-offset-range", NoSpace, false),
    ("fixup-path-missing", BadOverlay, false),
    ("fixup-prop-missing", NotFound, false),
    ("local-fixup-range", BadOverlay, false),
    ("local-fixup-odd-len", BadOverlay, false),
    ("local-fixup-no-node", BadOverlay, false),
    ("local-fixup-no-prop", BadOverlay, false),
    ("phandle-overflow", NoPhandles, false),
    ("phandle-short", BadPhandle, false),
    ("symbol-not-string", BadValue, true),
    ("symbol-relative", BadValue, true),
    ("symbol-no-fragment", BadOverlay, true),
    ("symbol-bad-target", BadOverlay, true),
];

/// Runs both sides; asserts the error class and that our base is untouched.
fn fails_atomically(what: &str, base: &[u8], room: usize, ovs: &[&[u8]], want: Error) {
    let lib = apply_with_libfdt(base, room, ovs);
    let ours = apply_with_cellfdt(base, room, ovs);
    assert_eq!(lib.result, Err(want), "{what}: libfdt");
    assert_eq!(ours.result, Err(want), "{what}: cellfdt");
    let fresh = open_base(base, room);
    assert!(ours.base[..] == fresh[..], "{what}: cellfdt changed the base on error");
    // libfdt poisons the magic; proves the case really reached the apply.
    assert_eq!(libfdt_magic(&lib.base), 0xffff_ffff, "{what}: libfdt did not poison");
}

fn libfdt_magic(b: &[u8]) -> u32 {
    fdt_conformance::libfdt::be32(b, 0)
}

#[test]
fn malformed_overlays_fail_like_libfdt_and_leave_base_intact() {
    let base = board();
    let mut after_merge = 0;
    for &(name, want, merged) in BAD {
        let ov = dts(&format!("bad/{name}"));
        fails_atomically(name, &base.bytes, ROOM, &[&ov.bytes], want);
        if merged {
            // libfdt had already edited the base: show it differs beyond the
            // poisoned magic, i.e. atomicity is something we add.
            let lib = apply_with_libfdt(&base.bytes, ROOM, &[&ov.bytes]);
            let fresh = open_base(&base.bytes, ROOM);
            assert!(
                lib.base[4..] != fresh[4..],
                "{name}: expected libfdt to have edited the base"
            );
            after_merge += 1;
        }
    }
    println!(
        "overlay errors: {} malformed overlays, {after_merge} failing after the merge began",
        BAD.len()
    );
}

#[test]
fn base_without_symbols_gives_notfound() {
    let base = board_without_symbols();
    let ov = dts("ov-label-target");
    fails_atomically("no __symbols__", &base.bytes, ROOM, &[&ov.bytes], NotFound);
}

#[test]
fn base_symbols_that_lead_nowhere() {
    let qemu = fixture(
        fdt_conformance::fixtures::QEMU_VIRT,
        &[
            ("gic", "/intc@8000000"),
            ("chosen", "/chosen"),
            ("ghost", "/no/such/node"),
        ],
    );
    for name in ["fixup-label-no-phandle", "fixup-symbol-dangling"] {
        let ov = dts(&format!("bad/{name}"));
        fails_atomically(name, &qemu.bytes, ROOM, &[&ov.bytes], NotFound);
    }
}

#[test]
fn stacked_overlay_needs_the_first() {
    // ov-stack-2 references a label only ov-stack-1 defines.
    let ov = dts("ov-stack-2");
    fails_atomically("stack-2 alone", &board().bytes, ROOM, &[&ov.bytes], NotFound);
}

#[test]
fn no_space_at_every_room_is_atomic() {
    // overlay_diff sweeps every room size; here the plain zero-room case.
    let ov = dts("ov-vpci");
    fails_atomically("room 0", &board().bytes, 0, &[&ov.bytes], NoSpace);
}

#[test]
fn scratch_rules() {
    let base = board();
    let ov = dts("ov-vpci");
    let fresh = open_base(&base.bytes, ROOM);
    let data = data_end(&fresh);
    let want = apply_with_cellfdt(&base.bytes, ROOM, &[&ov.bytes]);
    let grown = data_end(&want.base);

    // Shorter than the base's data: refused up front, overlay untouched too.
    let (mut b, mut o) = (fresh.clone(), AlignedBuf::from_slice(&ov.bytes));
    let mut scratch = vec![0u8; data - 1];
    assert_eq!(overlay_apply(&mut b, &mut o, &mut scratch), Err(NoSpace));
    assert!(b[..] == fresh[..] && o[..] == ov.bytes[..]);

    // Enough for the base but not the growth: NOSPACE, base untouched.
    let mut o = AlignedBuf::from_slice(&ov.bytes);
    let mut scratch = vec![0u8; grown - 1];
    assert_eq!(overlay_apply(&mut b, &mut o, &mut scratch), Err(NoSpace));
    assert!(b[..] == fresh[..]);

    // Exactly the grown data size suffices, same bytes as a full scratch.
    let mut o = AlignedBuf::from_slice(&ov.bytes);
    let mut scratch = vec![0u8; grown];
    assert_eq!(overlay_apply(&mut b, &mut o, &mut scratch), Ok(()));
    assert!(b[..] == want.base[..]);
}

#[test]
fn bad_headers() {
    let base = board();
    let ov = dts("ov-label-target");
    let fresh = open_base(&base.bytes, ROOM);
    let mut scratch = vec![0u8; fresh.len()];
    // What is corrupted, how, and the error expected.
    type Case = (&'static str, fn(&mut [u8]), Error);
    let cases: [Case; 3] = [
        ("magic", |o| o[0] ^= 1, BadMagic),
        ("version", |o| o[23] = 16, BadVersion),
        (
            "truncated",
            |o| o[4..8].copy_from_slice(&u32::MAX.to_be_bytes()),
            Truncated,
        ),
    ];
    for (what, corrupt, want) in cases {
        let mut b = fresh.clone();
        let mut o = AlignedBuf::from_slice(&ov.bytes);
        corrupt(&mut o);
        assert_eq!(overlay_apply(&mut b, &mut o, &mut scratch), Err(want), "overlay {what}");
        assert!(b[..] == fresh[..]);
        let mut b = fresh.clone();
        corrupt(&mut b);
        let before = b.clone();
        let mut o = AlignedBuf::from_slice(&ov.bytes);
        assert_eq!(overlay_apply(&mut b, &mut o, &mut scratch), Err(want), "base {what}");
        assert!(b[..] == before[..]);
    }
}

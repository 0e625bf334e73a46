//! cellfdt's overlay_apply against libfdt's fdt_overlay_apply and the
//! fdtoverlay tool, on dtc-compiled overlays and real board DTBs.
//!
//! For every case: same result; on success the *whole* base buffer (free
//! space included) is byte-identical to libfdt 1.7.2's (pylibfdt's) and,
//! outside `PHANDLE_RULE_CASES`, to the linked libfdt 1.6.1's, the result passes
//! fdt_check_full, and the packed result equals fdtoverlay's output file.
//! Then every free-space size from 0 up to what the apply needs is tried:
//! both sides agree at each size, and each NOSPACE leaves our base intact.

mod overlay_common;

use fdt_conformance::libfdt;
use fdt_conformance::overlay_ffi::{
    apply_with_cellfdt, apply_with_current, apply_with_libfdt, fdtoverlay, open_base, packed, to_dts, work_dir,
};
use overlay_common::*;

/// (case name, base, overlays applied in order)
fn cases() -> Vec<(String, Dtb, Vec<Dtb>)> {
    let singles = [
        "ov-label-target",
        "ov-path-target",
        "ov-nested",
        "ov-replace",
        "ov-multi-fragment",
        "ov-fixups-chain",
        "ov-local-fixups",
        "ov-symbols",
        "ov-stack-1",
        "ov-vpci",
        "ov-alias-target",
        "ov-unit-name",
    ];
    let mut v: Vec<(String, Dtb, Vec<Dtb>)> = singles.iter().map(|s| (s.to_string(), board(), vec![dts(s)])).collect();
    let chains: [&[&str]; 5] = [
        &["ov-stack-1", "ov-stack-2"],
        &["ov-label-target", "ov-replace"],
        &["ov-symbols", "ov-local-fixups", "ov-local-fixups"],
        &["ov-vpci", "ov-fixups-chain", "ov-nested", "ov-multi-fragment"],
        &singles,
    ];
    for chain in chains {
        v.push((chain.join("+"), board(), chain.iter().map(|s| dts(s)).collect()));
    }
    v.push((
        "rpi4+ov-rpi-cell".into(),
        fixture(fdt_conformance::fixtures::RPI4, &[]),
        vec![dts("ov-rpi-cell")],
    ));
    let qemu = || fixture(fdt_conformance::fixtures::QEMU_VIRT, &[("gic", "/intc@8000000")]);
    v.push(("qemu-virt+ov-qemu-vpci".into(), qemu(), vec![dts("ov-qemu-vpci")]));
    v
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    overlays: usize,
    identical_buffers: usize,
    fdtoverlay_bytes: usize,
    fdtoverlay_dts_only: usize,
    nospace_sizes: usize,
    phandle_rule: usize,
}

/// Cases where an overlay node merges into a base node that already has a
/// phandle: libfdt >= 1.7.1 keeps the base's (and so does cellfdt), 1.6.1
/// and the system fdtoverlay overwrite it. Compared with 1.7.2 only.
const PHANDLE_RULE_CASES: &[&str] = &["ov-symbols+ov-local-fixups+ov-local-fixups"];

#[test]
fn overlays_match_libfdt_and_fdtoverlay() {
    let mut t = Tally::default();
    let tmp = work_dir("diff");
    for (name, base, ovs) in cases() {
        let ov_bytes: Vec<&[u8]> = ovs.iter().map(|o| o.bytes.as_slice()).collect();
        let lib = apply_with_libfdt(&base.bytes, ROOM, &ov_bytes);
        let ours = apply_with_cellfdt(&base.bytes, ROOM, &ov_bytes);
        let cur = apply_with_current(&base.bytes, ROOM, &ov_bytes);
        assert_eq!(lib.result, Ok(()), "{name}: libfdt failed");
        assert_eq!(ours.result, Ok(()), "{name}: cellfdt failed");
        assert_eq!(cur.result, Ok(()), "{name}: libfdt 1.7.2 failed");
        assert!(
            ours.base[..] == cur.base[..],
            "{name}: buffers differ from libfdt 1.7.2's"
        );
        let rule = PHANDLE_RULE_CASES.contains(&name.as_str());
        if rule {
            assert!(
                ours.base[..] != lib.base[..],
                "{name}: expected libfdt 1.6.1 to overwrite a base phandle"
            );
            t.phandle_rule += 1;
        } else {
            assert!(
                ours.base[..] == lib.base[..],
                "{name}: buffers differ from libfdt 1.6.1's"
            );
        }
        libfdt::check_full(&ours.base[..libfdt::totalsize(&ours.base)])
            .unwrap_or_else(|e| panic!("{name}: check_full {e}"));
        t.cases += 1;
        t.overlays += ovs.len();
        t.identical_buffers += 1;

        if base.bytes.len() <= 64 * 1024 {
            t.nospace_sizes += nospace_sweep(&name, &base.bytes, &ov_bytes, rule);
        }
        // The system fdtoverlay is 1.6.1's.
        if rule {
            continue;
        }
        let paths: Vec<_> = ovs.iter().map(|o| o.path.clone()).collect();
        let tool = fdtoverlay(&base.path, &paths, &tmp.join("fdtoverlay.dtb"))
            .unwrap_or_else(|e| panic!("{name}: fdtoverlay: {e}"));
        let mine = packed(&ours.base);
        if mine == tool {
            t.fdtoverlay_bytes += 1;
        } else {
            // Only property padding may differ (fdtoverlay's buffer is
            // realloc'd, not zeroed); the trees must not.
            assert_eq!(
                to_dts(&mine, &tmp.join("a.dtb")),
                to_dts(&tool, &tmp.join("b.dtb")),
                "{name}: tree differs from fdtoverlay"
            );
            t.fdtoverlay_dts_only += 1;
        }
        // A change was made at all (the test can fail).
        assert!(
            mine != packed(&open_base(&base.bytes, 0)),
            "{name}: overlay changed nothing"
        );
    }
    println!("overlay diff: {t:?}");
    assert!(t.cases >= 19);
}

/// Every room size from 0 to the growth the apply needs. The phandle rule
/// writes in place, so 1.6.1's results still hold for `rule` cases; their
/// bytes are compared with 1.7.2's.
fn nospace_sweep(name: &str, base: &[u8], ovs: &[&[u8]], rule: bool) -> usize {
    let full = apply_with_cellfdt(base, ROOM, ovs);
    let need = data_end(&full.base) - data_end(base);
    let mut nospace = 0;
    for room in 0..=need + 8 {
        let lib = apply_with_libfdt(base, room, ovs);
        let ours = apply_with_cellfdt(base, room, ovs);
        assert_eq!(ours.result, lib.result, "{name}: room {room}");
        match ours.result {
            Ok(()) if rule => {
                let cur = apply_with_current(base, room, ovs);
                assert!(
                    ours.base[..] == cur.base[..],
                    "{name}: room {room}: bytes differ from libfdt 1.7.2's"
                );
            }
            Ok(()) => assert!(ours.base[..] == lib.base[..], "{name}: room {room}: bytes differ"),
            Err(e) => {
                assert_eq!(e, cellfdt::Error::NoSpace, "{name}: room {room}");
                nospace += 1;
                assert_atomic(name, room, base, ovs);
            }
        }
    }
    assert!(nospace > 0, "{name}: sweep never hit NOSPACE");
    nospace
}

/// Applies `ovs` one by one and checks the failing one left the base as the
/// previous ones made it.
fn assert_atomic(name: &str, room: usize, base: &[u8], ovs: &[&[u8]]) {
    let mut buf = open_base(base, room);
    let mut scratch = vec![0u8; buf.len()];
    for ov in ovs {
        let before = buf.to_vec();
        let mut ov = fdt_conformance::AlignedBuf::from_slice(ov);
        if cellfdt::overlay::overlay_apply(&mut buf, &mut ov, &mut scratch).is_err() {
            assert!(
                buf[..] == before[..],
                "{name}: room {room}: failed apply changed the base"
            );
            return;
        }
    }
    panic!("{name}: room {room}: expected a failure");
}

//! Mismatches found by the differential tests and the fuzzer, kept as fixed
//! cases (each documented in build/conformance-findings.md).

use fdt_conformance::malform::{self, Mutation};
use fdt_conformance::{fixtures, libfdt, libfdt_ro, ro_compare, ro_walk};

/// F1: off_dt_strings lowered by one; root's first property name becomes
/// "\tcompatible" and several names become "". getprop(0, "") must return
/// the first property whose name is "" (libfdt: `model`), not compatible.
#[test]
fn f1_getprop_empty_name_with_shifted_strings() {
    let blob = malform::apply(&fixtures::load(fixtures::RPI4), &Mutation::HeaderDelta(3, -1));
    let fdt = cellfdt::Fdt::new(&blob).unwrap();
    assert_eq!(fdt.getprop(0, ""), libfdt_ro::getprop(&blob, 0, ""));
    ro_compare::compare_views(&blob).unwrap();
}

/// F2: version and last_comp_version lowered below 16 (old blobs name nodes
/// by full path): libfdt 1.6.1's fdt_check_full dereferences the NULL that
/// fdt_get_name returns for the root "" and dies with SIGSEGV (seen as a
/// flaky crash of tests/malformed.rs). The wrapper must not call it; cellfdt
/// must reject the blob with fdt_get_name's BADSTRUCTURE and stay clean.
#[test]
fn f2_pre_v16_root_without_leaf_name() {
    let rpi = fixtures::load(fixtures::RPI4);
    for v in [2, 3, 15] {
        let blob = malform::apply(&rpi, &Mutation::HeaderField(5, v));
        let blob = malform::apply(&blob, &Mutation::HeaderField(6, 2));
        assert_eq!(libfdt::check_header(&blob), Ok(()), "v{v}");
        assert_eq!(
            libfdt::check_full_or_skip(&blob),
            None,
            "v{v}: libfdt 1.6.1 would crash"
        );
        let fdt = cellfdt::Fdt::new(&blob).unwrap();
        assert_eq!(fdt.check_full(), Err(cellfdt::Error::BadStructure), "v{v}");
        assert_eq!(fdt.get_name(0), Err(cellfdt::Error::BadStructure), "v{v}");
        ro_walk::walk_everything(&blob);
        ro_compare::compare_views(&blob).unwrap_or_else(|e| panic!("v{v}: {e}"));
    }
}

/// F2's guard is narrow: a v15 root named "/" (a real pre-v16 root) has a
/// leaf name, so libfdt's fdt_check_full runs and cellfdt must match it.
#[test]
fn f2_pre_v16_root_named_slash_still_compared() {
    let mut blob = malform::apply(&fixtures::load(fixtures::RPI4), &Mutation::HeaderField(5, 15));
    blob = malform::apply(&blob, &Mutation::HeaderField(6, 2));
    let root_name = libfdt::be32(&blob, 8) as usize + 4;
    assert_eq!(blob[root_name], 0, "rpi4 root is unnamed");
    blob[root_name] = b'/';
    let lf = libfdt::check_full_or_skip(&blob).expect("a root named / does not trip the libfdt bug");
    assert_eq!(cellfdt::Fdt::new(&blob).and_then(|f| f.check_full()), lf);
    ro_compare::compare_views(&blob).unwrap();
}

//! Mismatches found by the differential tests and the fuzzer, kept as fixed
//! cases (each documented in build/conformance-findings.md).

use fdt_conformance::malform::{self, Mutation};
use fdt_conformance::{fixtures, libfdt_ro, ro_compare};

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

//! Arbitrary bytes as a blob: every read-only cellfdt call must return
//! (no panic, no hang); when libfdt's fdt_check_full accepts the blob, both
//! libraries' views must agree.
#![no_main]

use fdt_conformance::{libfdt, ro_compare, ro_walk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ro_walk::walk_everything(data);
    let cf = cellfdt::Fdt::new(data).and_then(|f| f.check_full());
    // libfdt 1.6.1 crashes on a pre-v16 root without a leaf name: cellfdt must reject it.
    let Some(lf) = libfdt::check_full_or_skip(data) else {
        assert!(cf.is_err(), "accepted a pre-v16 blob whose root has no name");
        return;
    };
    if data.len() >= libfdt::HEADER_SIZE && libfdt::totalsize(data) <= data.len() {
        assert_eq!(lf, cf, "check_full disagrees");
    }
    if lf.is_ok() {
        if let Err(e) = ro_compare::compare_views(data) {
            panic!("{e}");
        }
    }
});

//! Read-only conformance: cellfdt's Fdt against libfdt on the real DTBs, on
//! libfdt-built random trees and on libfdt-edited fixtures.

mod common;

use common::{config, script, tree};
use fdt_conformance::script::resolve;
use fdt_conformance::{AlignedBuf, apply_libfdt, fixtures, libfdt, ro_compare, tree_gen};
use proptest::prelude::*;

#[test]
fn fixtures_read_alike() {
    for name in [fixtures::QEMU_VIRT, fixtures::RPI4] {
        let blob = fixtures::load(name);
        ro_compare::compare_views(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// `blob` edited by libfdt alone with `ops` (libfdt as a tree generator).
fn libfdt_edited(blob: &[u8], ops: &[fdt_conformance::script::Op]) -> Vec<u8> {
    let mut buf = AlignedBuf::from_slice(blob);
    for op in ops {
        let t = libfdt::totalsize(&buf).min(buf.len());
        let e = resolve(&buf[..t], op);
        let _ = apply_libfdt::apply(&mut buf, &e);
    }
    let t = libfdt::totalsize(&buf).min(buf.len());
    buf[..t].to_vec()
}

proptest! {
    #![proptest_config(config(800))]

    #[test]
    fn libfdt_built_trees_read_alike(t in tree(), flags in 0u32..2) {
        let run = tree_gen::build_libfdt(&t.calls(), 64 << 10, flags);
        let total = libfdt::totalsize(&run.buf);
        prop_assert!(run.results.iter().all(|r| r.is_ok()));
        ro_compare::compare_views(&run.buf[..total]).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn libfdt_edited_rpi4_reads_alike(ops in script()) {
        let blob = fixtures::load(fixtures::RPI4);
        let edited = libfdt_edited(&blob, &ops);
        ro_compare::compare_views(&edited).map_err(TestCaseError::fail)?;
    }
}

//! Generated trees through libfdt's fdt_sw and cellfdt's Writer: same call
//! results (incl. NOSPACE in tight buffers) and identical finished bytes.
#![cfg(all(feature = "cellfdt-rw", feature = "cellfdt-sw"))]

mod common;

use cellfdt::FdtMut;
use common::{config, tree};
use fdt_conformance::{AlignedBuf, libfdt, libfdt_sw, tree_gen};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn roomy_buffer_same_bytes(t in tree(), flags in 0u32..2) {
        let built = tree_gen::build_both(&t.calls(), 64 << 10, flags).map_err(TestCaseError::fail)?;
        let blob = built.expect("fits");
        prop_assert_eq!(libfdt::check_full(&blob), Ok(()));
    }

    #[test]
    fn tight_buffer_same_errors(t in tree(), flags in 0u32..2, frac in 0.0f64..1.1) {
        let calls = t.calls();
        let full = tree_gen::build_both(&calls, 64 << 10, flags).map_err(TestCaseError::fail)?.expect("fits");
        let size = ((full.len() as f64) * frac) as usize;
        tree_gen::build_both(&calls, size, flags).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn bad_flags_rejected_alike() {
    for flags in [2u32, 0x80, u32::MAX] {
        let l = tree_gen::build_libfdt(&[], 256, flags).results;
        let c = tree_gen::build_cellfdt(&[], 256, flags).results;
        assert_eq!(l, c, "flags {flags:#x}");
        assert!(l[0].is_err(), "libfdt accepted flags {flags:#x}");
    }
}

#[test]
fn empty_tree_same_bytes() {
    for size in [0usize, 16, 40, 71, 72, 73, 128, 4096] {
        let mut l = AlignedBuf::zeroed(size);
        let mut c = AlignedBuf::zeroed(size);
        let lr = libfdt_sw::create_empty_tree(&mut l);
        let cr = FdtMut::create_empty_tree(&mut c).map(|_| ());
        assert_eq!(lr, cr, "create_empty_tree in {size} bytes");
        assert_eq!(&l[..], &c[..], "create_empty_tree bytes in {size} bytes");
    }
}

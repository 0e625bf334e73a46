//! Malformed input: truncated blobs, lying header sizes, overlapping blocks,
//! bad tags, unterminated names/strings, huge offsets. cellfdt must never
//! panic, must report the same error as libfdt's header/full checks, and
//! must agree with libfdt on everything when both accept the blob.

mod common;

use cellfdt::{Error, Fdt};
use common::config;
use fdt_conformance::malform::{self, Mutation};
use fdt_conformance::{fixtures, libfdt, ro_compare, ro_walk};
use proptest::prelude::*;

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..30_000).prop_map(Mutation::Truncate),
        (
            0u8..10,
            prop_oneof![
                any::<u32>(),
                0u32..64,
                Just(u32::MAX),
                Just(0x7fff_ffff),
                Just(0xd00dfeed)
            ]
        )
            .prop_map(|(f, v)| Mutation::HeaderField(f, v)),
        (0u8..10, -64i32..64).prop_map(|(f, d)| Mutation::HeaderDelta(f, d)),
        (any::<u32>(), any::<u32>()).prop_map(|(i, v)| Mutation::StructWord(i, v)),
        (any::<u32>(), 0u32..12).prop_map(|(i, v)| Mutation::Tag(i, v)),
        any::<u32>().prop_map(Mutation::UnterminateStrings),
        any::<u32>().prop_map(Mutation::UnterminateName),
        (any::<u32>(), any::<u8>()).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (0u32..20).prop_map(Mutation::Version),
    ]
}

/// The checks both libraries make must agree; cellfdt must not panic.
fn check_malformed(blob: &[u8]) -> Result<(), TestCaseError> {
    let lh = libfdt::check_header(blob);
    let ch = Fdt::new(blob).map(|_| ());
    match lh {
        // libfdt's fdt_check_header cannot see the buffer length; a header
        // claiming more than the buffer must be TRUNCATED for cellfdt.
        Ok(()) if blob.len() < libfdt::totalsize(blob) => {
            prop_assert_eq!(ch, Err(Error::Truncated), "check_header, short buffer")
        }
        _ if blob.len() < libfdt::HEADER_SIZE => prop_assert!(ch.is_err(), "accepted a {}-byte blob", blob.len()),
        _ => prop_assert_eq!(ch, lh, "check_header"),
    }
    let cf = Fdt::new(blob).and_then(|f| f.check_full());
    // None: libfdt 1.6.1's fdt_check_full would SIGSEGV on this blob (a
    // pre-v16 root without a leaf name, see check_full_or_skip); it must be
    // rejected all the same.
    let lf = libfdt::check_full_or_skip(blob);
    match lf {
        Some(lf) => prop_assert_eq!(cf, lf, "check_full"),
        None => prop_assert!(cf.is_err(), "check_full accepted a pre-v16 root without a leaf name"),
    }
    ro_walk::walk_everything(blob);
    if lf == Some(Ok(())) {
        ro_compare::compare_views(blob).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn corrupted_rpi4(ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut blob = fixtures::load(fixtures::RPI4);
        for m in &ms {
            blob = malform::apply(&blob, m);
        }
        check_malformed(&blob)?;
    }

    #[test]
    fn random_bytes_after_valid_header(tail in proptest::collection::vec(any::<u8>(), 0..512), total in 40u32..700) {
        let mut blob = vec![0u8; 40];
        for (i, v) in [0xd00d_feedu32, total, 40, 40 + 256, 40, 17, 16, 0, 0, 256].iter().enumerate() {
            blob[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
        }
        blob.extend_from_slice(&tail);
        check_malformed(&blob)?;
    }
}

#[test]
fn every_truncation_of_rpi4() {
    let blob = fixtures::load(fixtures::RPI4);
    for n in (0..blob.len()).step_by(97).chain(0..64) {
        let cut = &blob[..n];
        assert!(Fdt::new(cut).is_err(), "accepted blob truncated to {n} bytes");
        assert!(libfdt::check_full_or_skip(cut).is_none_or(|r| r.is_err()));
        ro_walk::walk_everything(cut);
    }
}

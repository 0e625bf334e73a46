//! Edit script from bytes, run differentially (cellfdt vs libfdt) on one of
//! the seed blobs (first byte picks it); any disagreement panics.
#![no_main]

use fdt_conformance::{decode, diff, fuzz_seeds};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let blob = fuzz_seeds::blob(pick);
    let ops = decode::script(rest, 40);
    if let Err(m) = diff::run_script(blob, &ops) {
        panic!("{m}");
    }
});

//! Fuzz overlay_apply with an arbitrary base and overlay.
//!
//! Input: room (u16 LE), base length (u16 LE), base bytes, overlay bytes.
//! Properties: no panic; on error the base buffer is unchanged; on success a
//! base that passed libfdt's fdt_check_full still passes it. (No byte diff
//! against libfdt here: libfdt 1.6.1 reads out of bounds on some malformed
//! overlays, which would crash the fuzzer on libfdt's bugs, not ours.)
#![no_main]

use fdt_conformance::{AlignedBuf, libfdt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let room = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let split = usize::from(u16::from_le_bytes([data[2], data[3]])).min(data.len() - 4);
    let (base, overlay) = data[4..].split_at(split);

    // Give the base its free space the way a caller would: open_into when
    // libfdt accepts it, else the raw bytes plus zeroed room.
    let mut buf = AlignedBuf::zeroed(base.len() + room);
    let opened = libfdt::check_header(base).is_ok() && libfdt::open_into(base, &mut buf).is_ok();
    if !opened {
        buf[..base.len()].copy_from_slice(base);
    }
    // Raw bytes may be a pre-v16 blob libfdt 1.6.1 crashes on: not valid.
    let valid_before = matches!(libfdt::check_full_or_skip(&buf), Some(Ok(())));
    let before = buf.clone();
    let mut ov = AlignedBuf::from_slice(overlay);
    let mut scratch = vec![0u8; buf.len()];
    match cellfdt::overlay::overlay_apply(&mut buf, &mut ov, &mut scratch) {
        Err(_) => assert!(buf[..] == before[..], "failed apply changed the base"),
        Ok(()) => {
            if valid_before {
                let after = libfdt::check_full_or_skip(&buf);
                assert!(
                    matches!(after, Some(Ok(()))),
                    "valid base + applied overlay fails fdt_check_full: {after:?}"
                );
            }
        }
    }
});

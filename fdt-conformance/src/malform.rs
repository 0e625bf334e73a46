//! Malformed blobs: structured corruptions of a valid blob.

use crate::libfdt::be32;

/// One corruption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Keep only the first `n` bytes.
    Truncate(usize),
    /// Set header word `field` (0 = magic .. 9 = size_dt_struct) to `value`.
    HeaderField(u8, u32),
    /// Add `delta` to header word `field` (lying sizes, overlapping blocks).
    HeaderDelta(u8, i32),
    /// Overwrite the struct-block word at word index `idx` with `value`.
    StructWord(u32, u32),
    /// Put a bad/unexpected tag (`value`, mostly 1..=9) at struct word `idx`.
    Tag(u32, u32),
    /// Overwrite every NUL in the strings block from string `idx` on with 'x'.
    UnterminateStrings(u32),
    /// Overwrite the first NUL at or after struct byte `idx` with 'x'.
    UnterminateName(u32),
    /// XOR the byte at `idx` (anywhere in the blob) with `mask`.
    Flip(u32, u8),
    /// Set version to `v` and last_comp_version to min(v, 16), so the header
    /// stays acceptable: pre-v16 blobs take libfdt's old-format paths (full
    /// path names, 8-aligned values), which two random header words rarely hit.
    Version(u32),
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(w) = b.get_mut(off..off + 4) {
        w.copy_from_slice(&v.to_be_bytes());
    }
}

/// Apply `m` to a copy of `blob`.
pub fn apply(blob: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = blob.to_vec();
    let off_struct = be32(blob, 8) as usize;
    let size_struct = (be32(blob, 36) as usize).max(4);
    let off_strings = be32(blob, 12) as usize;
    let size_strings = be32(blob, 32) as usize;
    match *m {
        Mutation::Truncate(n) => b.truncate(n),
        Mutation::HeaderField(f, v) => put32(&mut b, (f as usize % 10) * 4, v),
        Mutation::HeaderDelta(f, d) => {
            let off = (f as usize % 10) * 4;
            put32(&mut b, off, be32(blob, off).wrapping_add(d as u32));
        }
        Mutation::StructWord(i, v) => put32(&mut b, off_struct + (i as usize * 4) % size_struct, v),
        Mutation::Tag(i, v) => put32(&mut b, off_struct + (i as usize * 4) % size_struct, v),
        Mutation::UnterminateStrings(i) => {
            let end = (off_strings + size_strings).min(b.len());
            let mut seen = 0;
            for x in b.get_mut(off_strings..end).into_iter().flatten() {
                if *x == 0 {
                    seen += 1;
                    if seen > i as usize % 64 {
                        *x = b'x';
                    }
                }
            }
        }
        Mutation::UnterminateName(i) => {
            let start = off_struct + i as usize % size_struct;
            let end = (off_struct + size_struct).min(b.len());
            if let Some(p) = b.get(start..end).and_then(|s| s.iter().position(|&x| x == 0)) {
                b[start + p] = b'x';
            }
        }
        Mutation::Version(v) => {
            put32(&mut b, 20, v);
            put32(&mut b, 24, v.min(16));
        }
        Mutation::Flip(i, mask) => {
            if !b.is_empty() {
                let n = b.len();
                b[i as usize % n] ^= mask.max(1);
            }
        }
    }
    b
}

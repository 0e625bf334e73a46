//! What libfdt defines about a blob, for byte comparisons: the header, the
//! memory reservation map, the structure and strings blocks and the gaps
//! between them, i.e. bytes `0 .. off_dt_strings + size_dt_strings`.
//! Not compared: free space after the strings block, and the alignment
//! padding after a node name's NUL or a property value (libfdt leaves
//! whatever a memmove brought there, which may come from free space).
//! cellfdt never copies or scans free space, so its free space holds what
//! the caller's buffer held before.

fn be32(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Bytes `0 .. data end` of `blob` (clamped to its length), with the
/// padding of every node name and property value in the structure block
/// zeroed. A structure block that does not walk is compared as it is.
pub fn defined_bytes(blob: &[u8]) -> Vec<u8> {
    let end = match (be32(blob, 12), be32(blob, 32)) {
        (Some(off), Some(size)) => off.saturating_add(size).min(blob.len()),
        _ => blob.len(),
    };
    let mut out = blob[..end].to_vec();
    if let (Some(off_struct), Some(version)) = (be32(blob, 8), be32(blob, 20)) {
        let limit = if version >= 17 {
            be32(blob, 36).map_or(end, |s| off_struct.saturating_add(s).min(end))
        } else {
            end
        };
        mask_padding(&mut out, off_struct, limit);
    }
    out
}

fn mask_padding(b: &mut [u8], start: usize, limit: usize) {
    let mut off = start;
    while off + 4 <= limit {
        let Some(tag) = be32(b, off) else { return };
        match tag {
            1 => {
                let name = off + 4;
                let Some(nul) = b.get(name..limit).and_then(|r| r.iter().position(|&c| c == 0)) else {
                    return;
                };
                let next = align4(name + nul + 1);
                if next > limit {
                    return;
                }
                b[name + nul + 1..next].fill(0);
                off = next;
            }
            3 => {
                let Some(len) = be32(b, off + 4) else { return };
                let val = off + 12;
                let Some(next) = val.checked_add(len).map(align4) else {
                    return;
                };
                if next > limit {
                    return;
                }
                b[val + len..next].fill(0);
                off = next;
            }
            2 | 4 => off += 4,
            _ => return,
        }
    }
}

/// First offset where the defined bytes of `a` and `b` differ.
pub fn first_defined_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    let (a, b) = (defined_bytes(a), defined_bytes(b));
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Vec<u8> {
        // header (40) + rsv terminator (16) + root with prop "a" = [1, 2, 3]
        // + end + strings "a\0", then 8 bytes of free space.
        let mut b = vec![0u8; 40];
        let mut s: Vec<u8> = Vec::new();
        s.extend([0u8; 16]);
        let st = 56;
        let mut st_block: Vec<u8> = Vec::new();
        st_block.extend(1u32.to_be_bytes());
        st_block.extend([0, 0, 0, 0]);
        st_block.extend(3u32.to_be_bytes());
        st_block.extend(3u32.to_be_bytes());
        st_block.extend(0u32.to_be_bytes());
        st_block.extend([1, 2, 3, 0]);
        st_block.extend(2u32.to_be_bytes());
        st_block.extend(9u32.to_be_bytes());
        let strings = st + st_block.len();
        for (at, v) in [
            (8, st),
            (12, strings),
            (16, 40),
            (20, 17),
            (32, 2),
            (36, st_block.len()),
        ] {
            b[at..at + 4].copy_from_slice(&(v as u32).to_be_bytes());
        }
        b.extend(s);
        b.extend(st_block);
        b.extend(b"a\0");
        b.extend([0u8; 8]);
        b
    }

    #[test]
    fn free_space_and_padding_are_not_compared_values_are() {
        let a = blob();
        let mut b = a.clone();
        let n = b.len();
        b[n - 3] = 0xa5; // free space
        b[56 + 4 + 4 + 12 + 3] = 0xa5; // value padding
        assert_eq!(first_defined_diff(&a, &b), None);
        b[56 + 4 + 4 + 12] = 9; // value byte
        assert_eq!(first_defined_diff(&a, &b), Some(56 + 20));
    }
}

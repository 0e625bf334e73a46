//! Header layout, tag values and `fdt_check_header`.
//!
//! Every accessor reads through `.get()`: a blob shorter than the field reads
//! as 0 rather than panicking (libfdt would read past the buffer there).

use crate::{Error, Result};

pub(crate) const FDT_MAGIC: u32 = 0xd00d_feed;
/// Magic of an unfinished sequential-write blob (libfdt's `FDT_SW_MAGIC`).
pub(crate) const FDT_SW_MAGIC: u32 = !FDT_MAGIC;

pub(crate) const FDT_BEGIN_NODE: u32 = 0x1;
pub(crate) const FDT_END_NODE: u32 = 0x2;
pub(crate) const FDT_PROP: u32 = 0x3;
pub(crate) const FDT_NOP: u32 = 0x4;
pub(crate) const FDT_END: u32 = 0x9;

pub(crate) const TAGSIZE: usize = 4;
/// tag + len + nameoff
pub(crate) const PROP_HDR: usize = 12;
pub(crate) const RSV_ENTRY: usize = 16;

pub(crate) const V1_SIZE: usize = 28;
pub(crate) const V2_SIZE: usize = 32;
pub(crate) const V3_SIZE: usize = 36;
pub(crate) const V16_SIZE: usize = V3_SIZE;
pub(crate) const V17_SIZE: usize = 40;
/// Where `open_into`/`pack` put the memory reservation map.
pub(crate) const HDR_ALIGNED: usize = 40;

pub(crate) const FIRST_SUPPORTED_VERSION: u32 = 0x02;
pub(crate) const LAST_COMPATIBLE_VERSION: u32 = 0x10;
pub(crate) const LAST_SUPPORTED_VERSION: u32 = 0x11;

/// libfdt keeps sizes in `int`; anything at or above this is "truncated".
pub(crate) const INT_MAX: usize = i32::MAX as usize;

// Byte offsets of the header fields.
pub(crate) const H_MAGIC: usize = 0;
pub(crate) const H_TOTALSIZE: usize = 4;
pub(crate) const H_OFF_DT_STRUCT: usize = 8;
pub(crate) const H_OFF_DT_STRINGS: usize = 12;
pub(crate) const H_OFF_MEM_RSVMAP: usize = 16;
pub(crate) const H_VERSION: usize = 20;
pub(crate) const H_LAST_COMP_VERSION: usize = 24;
pub(crate) const H_BOOT_CPUID_PHYS: usize = 28;
pub(crate) const H_SIZE_DT_STRINGS: usize = 32;
pub(crate) const H_SIZE_DT_STRUCT: usize = 36;

#[cfg_attr(not(feature = "size"), inline(always))]
pub(crate) const fn tag_align(n: usize) -> usize {
    (n + 3) & !3
}

/// Big-endian u32 at `off`, or 0 when the bytes are not there.
#[cfg_attr(not(feature = "size"), inline(always))]
#[cfg_attr(feature = "size", inline(never))]
pub(crate) fn be32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off.wrapping_add(4)) {
        Some(&[a, b1, c, d]) => u32::from_be_bytes([a, b1, c, d]),
        _ => 0,
    }
}

/// Big-endian u64 at `off`, or 0 when the bytes are not there.
#[cfg_attr(not(feature = "size"), inline(always))]
pub(crate) fn be64(b: &[u8], off: usize) -> u64 {
    (u64::from(be32(b, off)) << 32) | u64::from(be32(b, off.wrapping_add(4)))
}

/// Stores a big-endian u32 if the bytes exist (callers have checked bounds).
#[cfg_attr(not(feature = "size"), inline(always))]
#[cfg_attr(feature = "size", inline(never))]
pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off.wrapping_add(4)) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

#[cfg_attr(not(feature = "size"), inline(always))]
pub(crate) fn put64(b: &mut [u8], off: usize, v: u64) {
    if let Some(d) = b.get_mut(off..off.wrapping_add(8)) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

/// Header field as usize.
#[cfg_attr(not(feature = "size"), inline(always))]
pub(crate) fn hdr(b: &[u8], field: usize) -> usize {
    be32(b, field) as usize
}

pub(crate) const fn header_size_for(version: u32) -> usize {
    match version {
        0 | 1 => V1_SIZE,
        2 => V2_SIZE,
        3 => V3_SIZE,
        4..=16 => V16_SIZE,
        _ => V17_SIZE,
    }
}

/// libfdt insists on 8-byte aligned blobs; so do we, to return the same errors.
#[inline]
pub(crate) fn check_alignment(b: &[u8]) -> Result<()> {
    if (b.as_ptr() as usize) & 7 != 0 {
        return Err(Error::Alignment);
    }
    Ok(())
}

fn off_ok(hdrsize: usize, total: usize, off: usize) -> bool {
    off >= hdrsize && off <= total
}

fn block_ok(hdrsize: usize, total: usize, base: usize, size: usize) -> bool {
    // usize cannot overflow on two u32 values, so "base + size < base" is moot.
    off_ok(hdrsize, total, base) && off_ok(hdrsize, total, base + size)
}

/// `fdt_check_header`, on the bytes at the start of `b`.
///
/// Callers must already know `b` holds at least a V1 header; fields past the
/// slice read as 0.
pub(crate) fn check_header(b: &[u8]) -> Result<()> {
    check_alignment(b)?;
    check_header_fields(b)
}

/// `fdt_check_header` without the alignment check: magic, versions, and
/// every block inside `totalsize`. Overlay apply uses it as is (it has never
/// required aligned buffers).
pub(crate) fn check_header_fields(b: &[u8]) -> Result<()> {
    if be32(b, H_MAGIC) != FDT_MAGIC {
        return Err(Error::BadMagic);
    }
    let version = be32(b, H_VERSION);
    let last_comp = be32(b, H_LAST_COMP_VERSION);
    if version < FIRST_SUPPORTED_VERSION || last_comp > LAST_SUPPORTED_VERSION {
        return Err(Error::BadVersion);
    }
    if version < last_comp {
        return Err(Error::BadVersion);
    }
    let hdrsize = header_size_for(version);
    let total = hdr(b, H_TOTALSIZE);
    if total < hdrsize || total > INT_MAX {
        return Err(Error::Truncated);
    }
    if !off_ok(hdrsize, total, hdr(b, H_OFF_MEM_RSVMAP)) {
        return Err(Error::Truncated);
    }
    let off_struct = hdr(b, H_OFF_DT_STRUCT);
    let struct_ok = if version < 17 {
        off_ok(hdrsize, total, off_struct)
    } else {
        block_ok(hdrsize, total, off_struct, hdr(b, H_SIZE_DT_STRUCT))
    };
    if !struct_ok {
        return Err(Error::Truncated);
    }
    if !block_ok(hdrsize, total, hdr(b, H_OFF_DT_STRINGS), hdr(b, H_SIZE_DT_STRINGS)) {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// `fdt_check_full`'s preamble: the buffer holds a whole header, the header
/// is sane, and the buffer holds `totalsize` bytes.
pub(crate) fn check_buffer(b: &[u8]) -> Result<usize> {
    if b.len() < V1_SIZE || b.len() < header_size_for(be32(b, H_VERSION)) {
        return Err(Error::Truncated);
    }
    check_header(b)?;
    let total = hdr(b, H_TOTALSIZE);
    if b.len() < total {
        return Err(Error::Truncated);
    }
    Ok(total)
}

/// `fdt_ro_probe_`: the lighter check libfdt does on entry to most calls.
/// Returns totalsize.
pub(crate) fn ro_probe(b: &[u8]) -> Result<usize> {
    check_alignment(b)?;
    if b.len() < V1_SIZE {
        return Err(Error::Truncated);
    }
    match be32(b, H_MAGIC) {
        FDT_MAGIC => {
            if be32(b, H_VERSION) < FIRST_SUPPORTED_VERSION || be32(b, H_LAST_COMP_VERSION) > LAST_SUPPORTED_VERSION {
                return Err(Error::BadVersion);
            }
        }
        FDT_SW_MAGIC => {
            if be32(b, H_SIZE_DT_STRUCT) == 0 {
                return Err(Error::BadState);
            }
        }
        _ => return Err(Error::BadMagic),
    }
    let total = hdr(b, H_TOTALSIZE);
    if total < INT_MAX {
        Ok(total)
    } else {
        Err(Error::Truncated)
    }
}

/// Index of the first NUL in `b` at or after `from` (`None` if there is
/// none): eight bytes per step, the bytes before the first NUL decide.
/// Inlined even with `size`: it is the inner loop of every node step.
#[inline(always)]
pub(crate) fn find_nul(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut p = from;
    while let Some(w) = b.get(p..p.wrapping_add(8)) {
        let Ok(w) = <[u8; 8]>::try_from(w) else { break };
        let w = u64::from_le_bytes(w);
        // Flags every zero byte; bytes above the first zero may be flagged
        // falsely (borrow), so only the lowest flag is used.
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return Some(p + (z.trailing_zeros() / 8) as usize);
        }
        p += 8;
    }
    b.get(p..)?.iter().position(|&c| c == 0).map(|i| p + i)
}

/// Big-endian u32 at `off`, `None` when the bytes are not there.
#[cfg_attr(not(feature = "size"), inline(always))]
pub(crate) fn be32_opt(b: &[u8], off: usize) -> Option<u32> {
    match b.get(off..off.wrapping_add(4)) {
        Some(&[a, b1, c, d]) => Some(u32::from_be_bytes([a, b1, c, d])),
        _ => None,
    }
}

/// Big-endian u64 at `off`, `None` when the bytes are not there.
#[inline(always)]
pub(crate) fn read_be64(b: &[u8], off: usize) -> Option<u64> {
    let w: [u8; 8] = b.get(off..off.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_be_bytes(w))
}

#[cfg(test)]
mod tests {
    use super::find_nul;

    #[test]
    fn find_nul_matches_a_byte_scan() {
        // Every placement of up to two NULs (and 0x01/0x80 neighbours, which
        // the word trick could misflag) in buffers of 0..=20 bytes.
        let fill = [0x01u8, 0x80, 0xff, b'a'];
        for len in 0..=20usize {
            for &f in &fill {
                for a in 0..=len {
                    for b in a..=len {
                        let mut buf = [f; 20];
                        let buf = &mut buf[..len];
                        if a < len {
                            buf[a] = 0;
                        }
                        if b < len {
                            buf[b] = 0;
                        }
                        for from in 0..=len + 1 {
                            let want = buf
                                .get(from..)
                                .and_then(|r| r.iter().position(|&c| c == 0))
                                .map(|i| from + i);
                            assert_eq!(find_nul(buf, from), want, "{buf:?} from {from}");
                        }
                    }
                }
            }
        }
    }
}

//! How a trapped ECAM access is decoded: which function and register it
//! names, and whether its size/alignment is one PCI config cycles can carry.

/// Bus 0 only: ECAM gives each bus 1 MiB, so any offset at or beyond this
/// names another bus, which does not exist behind our bridge.
pub(crate) const BUS0_SPAN: u64 = 1 << 20;

/// A config-space address on bus 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CfgAddr {
    pub device: u8,
    pub function: u8,
    /// Byte offset inside the function's 4 KiB config space.
    pub reg: u16,
}

/// ECAM offset = bus << 20 | device << 15 | function << 12 | register.
pub(crate) fn decode(offset: u64) -> Option<CfgAddr> {
    if offset >= BUS0_SPAN {
        return None;
    }
    Some(CfgAddr {
        device: ((offset >> 15) & 0x1f) as u8,
        function: ((offset >> 12) & 0x7) as u8,
        reg: (offset & 0xfff) as u16,
    })
}

/// All-ones of `size` bytes: what a master-abort returns for a read.
pub(crate) fn ones(size: u8) -> u64 {
    match size {
        0 => 0,
        s if s >= 8 => u64::MAX,
        s => (1u64 << (u32::from(s) * 8)) - 1,
    }
}

/// A config cycle is one dword with byte enables: 1, 2 or 4 bytes that stay
/// inside one dword. Anything else (8-byte, dword-crossing, odd sizes) cannot
/// be expressed on the bus, so it is rejected rather than split.
pub(crate) fn fits_one_dword(reg: u16, size: u8) -> bool {
    matches!(size, 1 | 2 | 4) && usize::from(reg % 4) + usize::from(size) <= 4
}

/// Byte-enable mask (as a 32-bit value mask) of an access inside its dword.
/// Only meaningful when [`fits_one_dword`] holds.
pub(crate) fn dword_mask(reg: u16, size: u8) -> u32 {
    let shift = u32::from(reg % 4) * 8;
    (ones(size) as u32) << shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_splits_ecam_fields() {
        let a = decode(3 << 15 | 5 << 12 | 0x3d).unwrap();
        assert_eq!(
            a,
            CfgAddr {
                device: 3,
                function: 5,
                reg: 0x3d
            }
        );
        assert_eq!(decode(BUS0_SPAN), None);
        assert_eq!(decode(u64::MAX), None);
    }

    #[test]
    fn dword_rules() {
        assert!(fits_one_dword(0, 4));
        assert!(fits_one_dword(2, 2));
        assert!(fits_one_dword(1, 2), "byte enables 1-2 are a valid cycle");
        assert!(!fits_one_dword(2, 4));
        assert!(!fits_one_dword(3, 2));
        assert!(!fits_one_dword(0, 8));
        assert!(!fits_one_dword(0, 3));
        assert!(!fits_one_dword(0, 0));
        assert_eq!(dword_mask(2, 2), 0xffff_0000);
        assert_eq!(dword_mask(1, 1), 0x0000_ff00);
        assert_eq!(ones(2), 0xffff);
        assert_eq!(ones(8), u64::MAX);
    }
}

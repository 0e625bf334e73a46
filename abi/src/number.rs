//! Numbers in text the firmware's helpers are handed (bootargs, argv):
//! strict, so that a typo is an error rather than some other number.

/// A decimal or `0x`/`0X` hex number: digits only, no sign, no overflow.
pub fn parse_u64(s: &str) -> Option<u64> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        let d = char::from(b).to_digit(radix)?;
        acc.checked_mul(u64::from(radix))?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::parse_u64;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("0x0"), Some(0));
        assert_eq!(parse_u64("0X1f"), Some(31));
        assert_eq!(parse_u64("0xABCdef"), Some(0xab_cdef));
        assert_eq!(parse_u64("007"), Some(7), "leading zeros are decimal, not octal");
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(
            parse_u64("0x0000000000000000ff"),
            Some(0xff),
            "leading zeros do not overflow"
        );
        for bad in [
            "",
            "0x",
            "0X",
            "x10",
            "0x10000000000000000",
            "18446744073709551616",
            "12a",
            "0xg",
            "+5",
            "-5",
            "0x+5",
            " 5",
            "1 ",
        ] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }
}

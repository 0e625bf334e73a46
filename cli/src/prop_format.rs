//! Property values shown the way dtc writes them: strings, cells or bytes.

/// Longer values are cut after this many cells (or bytes) in diffs.
const MAX_SHOWN: usize = 24;

/// `"a", "b"` for string lists, `<0x1 0x2>` for cell lists, `[01 02]`
/// otherwise; empty for a property without a value.
pub fn format_value(v: &[u8]) -> String {
    if v.is_empty() {
        return String::new();
    }
    if let Some(strings) = as_strings(v) {
        return strings.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    }
    let (body, shown, total) = if v.len().is_multiple_of(4) {
        let cells: Vec<String> = v
            .chunks_exact(4)
            .take(MAX_SHOWN)
            .map(|c| format!("{:#x}", u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        (format!("<{}", cells.join(" ")), cells.len(), v.len() / 4)
    } else {
        let bytes: Vec<String> = v.iter().take(MAX_SHOWN).map(|b| format!("{b:02x}")).collect();
        (format!("[{}", bytes.join(" ")), bytes.len(), v.len())
    };
    let close = if v.len().is_multiple_of(4) { ">" } else { "]" };
    if shown < total {
        format!("{body} ...{close} ({} bytes)", v.len())
    } else {
        format!("{body}{close}")
    }
}

/// The strings of a NUL-separated list of printable, non-empty strings.
fn as_strings(v: &[u8]) -> Option<Vec<&str>> {
    let body = v.strip_suffix(&[0])?;
    let parts: Vec<&[u8]> = body.split(|&b| b == 0).collect();
    let printable = |p: &&[u8]| !p.is_empty() && p.iter().all(|&b| (0x20..0x7f).contains(&b));
    if !parts.iter().all(printable) {
        return None;
    }
    parts.into_iter().map(|p| std::str::from_utf8(p).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::format_value;

    #[test]
    fn strings_cells_bytes() {
        assert_eq!(format_value(b""), "");
        assert_eq!(format_value(b"okay\0"), "\"okay\"");
        assert_eq!(
            format_value(b"arm,pl011\0arm,primecell\0"),
            "\"arm,pl011\", \"arm,primecell\""
        );
        assert_eq!(format_value(&[0, 0, 0, 1, 0, 0, 0x10, 0]), "<0x1 0x1000>");
        assert_eq!(format_value(&[1, 2, 3]), "[01 02 03]");
        // "\0\0\0\x01" is not a string list.
        assert_eq!(format_value(&[0, 0, 0, 1]), "<0x1>");
        let long = vec![0u8; 4 * 30];
        assert!(format_value(&long).ends_with("...> (120 bytes)"));
    }
}

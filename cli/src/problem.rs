//! One problem as `check` reports it: file, TOML field, value, message —
//! the config crate's `ConfigError`, plus the DTB cross-check's findings.

use cellboot_config::ConfigError;
use serde::Serialize;
use std::fmt;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    /// TOML path (`cells[0].memory[1].phys`); empty for whole-file problems.
    pub field: String,
    /// The value as written (hex for addresses); empty when none.
    pub value: String,
    pub message: String,
}

impl Problem {
    pub fn new(file: &Path, field: impl Into<String>, value: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: escape_controls(&file.display().to_string(), false),
            field: escape_controls(&field.into(), false),
            value: escape_controls(&value.into(), false),
            message: escape_controls(&message.into(), false),
        }
    }
}

/// `s` with control characters (NUL, ESC, CR, ...; newlines too unless
/// `keep_newlines`) written as Rust escapes, so input bytes cannot forge
/// lines or drive the terminal.
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push(c),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

impl From<&ConfigError> for Problem {
    fn from(e: &ConfigError) -> Self {
        Self::new(&e.file, e.field.clone(), e.value.clone(), e.message.clone())
    }
}

/// Same shape as `ConfigError`'s: `file: field = value: message`.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        match (self.field.is_empty(), self.value.is_empty()) {
            (false, false) => write!(f, ": {} = {}", self.field, self.value)?,
            (false, true) => write!(f, ": {}", self.field)?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// `0x4800_0000`-style hex, as the TOML files and the config crate's
/// messages write addresses.
pub fn hex(v: u64) -> String {
    let digits = format!("{v:x}");
    let mut out = String::from("0x");
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 4 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_like_the_config_crate() {
        assert_eq!(super::hex(0x4800_0000), "0x4800_0000");
        assert_eq!(super::hex(0x10_0000), "0x10_0000");
        assert_eq!(super::hex(0), "0x0");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::escape_controls("a\0b\nc\u{1b}[2J", false),
            "a\\u{0}b\\nc\\u{1b}[2J"
        );
        assert_eq!(super::escape_controls("x\ny\r", true), "x\ny\\r");
    }
}

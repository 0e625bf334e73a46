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
    pub fn new(
        file: &Path,
        field: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.display().to_string(),
            field: field.into(),
            value: value.into(),
            message: message.into(),
        }
    }
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
}

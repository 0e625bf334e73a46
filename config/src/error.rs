//! One error in a config file: which file, which TOML field, which value, what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// TOML path such as `cells[0].memory[1].phys`; empty for whole-file errors.
    pub field: String,
    /// The offending value as written (hex for addresses); empty when none.
    pub value: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &Path, field: impl Into<String>, value: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            field: field.into(),
            value: value.into(),
            message: message.into(),
        }
    }
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self::new(file, "", "", message)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        match (self.field.is_empty(), self.value.is_empty()) {
            (false, false) => write!(f, ": {} = {}", self.field, self.value)?,
            (false, true) => write!(f, ": {}", self.field)?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// `0x4800_0000`-style hex, as the TOML files write addresses.
pub fn hex(v: u64) -> String {
    let digits = format!("{v:x}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && digits.len().saturating_sub(i).is_multiple_of(4) {
            out.push('_');
        }
        out.push(c);
    }
    format!("0x{out}")
}

/// A TOML parse error: the field it is in (when one can be told), with
/// its line and column in the message.
pub fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let start = e.span().map(|s| s.start.min(text.len()));
    let at = start.map(|start| {
        let before = &text[..start];
        let line = before.matches('\n').count().saturating_add(1);
        let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
        let col = before.len().saturating_sub(line_start).saturating_add(1);
        format!("line {line} column {col}")
    });
    let field = start
        .and_then(|s| crate::toml_field::field_at(text, s))
        .unwrap_or_default();
    let message = e.message().trim();
    let message = match at {
        Some(at) => format!("{at}: {message}"),
        None => message.to_string(),
    };
    ConfigError::new(file, field, "", message)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_groups_digits_by_four() {
        assert_eq!(super::hex(0x4800_0000), "0x4800_0000");
        assert_eq!(super::hex(0x1000), "0x1000");
        assert_eq!(super::hex(0x10_0000), "0x10_0000");
        assert_eq!(super::hex(0), "0x0");
    }
}

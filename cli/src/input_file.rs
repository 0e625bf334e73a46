//! Reading an input file: only regular files (a FIFO or device would block
//! or never end), an unreadable one is an I/O error (exit 2).

use crate::failure::Failure;
use std::path::Path;

/// The bytes of the regular file `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    regular(path)?;
    std::fs::read(path).map_err(|e| Failure::io(path, "read", e))
}

/// The text of the regular file `path`.
pub fn read_text(path: &Path) -> Result<String, Failure> {
    regular(path)?;
    std::fs::read_to_string(path).map_err(|e| Failure::io(path, "read", e))
}

/// Size of the regular file `path`.
pub fn size(path: &Path) -> Result<u64, Failure> {
    regular(path).map(|m| m.len())
}

fn regular(path: &Path) -> Result<std::fs::Metadata, Failure> {
    let m = std::fs::metadata(path).map_err(|e| Failure::io(path, "read", e))?;
    if !m.is_file() {
        return Err(Failure::io(path, "read", std::io::Error::other("not a regular file")));
    }
    Ok(m)
}

//! Writing results to stdout without panicking when the reader goes away
//! (`cellboot diff ... | head`).

use crate::failure::Failure;
use std::io::{ErrorKind, Write};

/// Writes `text` to stdout; a closed pipe ends output quietly.
pub fn put(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::io(std::path::Path::new("<stdout>"), "write", e)),
    }
}

//! Board and system config files (TOML) to the binary `cellboot_abi::SystemConfig`.
//!
//! A system file `boards/<board>/<name>.toml` describes cells and ivshmem links;
//! its board is the sibling `board.toml`. [`load_system`] parses both (unknown
//! keys are errors), builds the sealed config, runs `cellboot_abi::validate`
//! and reports every problem as a [`ConfigError`] naming the file, the TOML
//! field path and the value. The result lists the payloads to pack after the
//! shim, in payload-table order (boot configs refer to them by index).

// Config values are untrusted: every operation on them is checked.
#![deny(clippy::arithmetic_side_effects)]

mod board_file;
mod compile;
pub mod dtc;
mod error;
mod jailhouse_kind;
mod problems;
mod system;
mod system_file;
mod toml_field;

pub use compile::VPCI_TEMPLATE_FILE;
pub use error::ConfigError;
pub use system::{Payload, PayloadSource, System};

use std::path::{Path, PathBuf};

/// Name of the board file next to every system file.
pub const BOARD_FILE: &str = "board.toml";

/// Loads `path` (a system file) and the `board.toml` beside it.
pub fn load_system(path: &Path) -> Result<System, Vec<ConfigError>> {
    let board_path = path.parent().unwrap_or(Path::new(".")).join(BOARD_FILE);
    let read = |p: &Path| {
        let fail = |e: &dyn std::fmt::Display| vec![ConfigError::file(p, format!("cannot read: {e}"))];
        // A FIFO or device would block or never end.
        if !std::fs::metadata(p).map_err(|e| fail(&e))?.is_file() {
            return Err(fail(&"not a regular file"));
        }
        std::fs::read_to_string(p).map_err(|e| fail(&e))
    };
    let board_src = read(&board_path)?;
    let system_src = read(path)?;
    compile_sources(
        &Source {
            path: board_path,
            text: board_src,
        },
        &Source {
            path: path.to_path_buf(),
            text: system_src,
        },
    )
}

/// One config file's name (for messages; relative payload paths are resolved
/// against its directory) and text.
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// [`load_system`] on text already in memory.
pub fn compile_sources(board: &Source, system: &Source) -> Result<System, Vec<ConfigError>> {
    let board_file = board_file::parse(board);
    let system_file = system_file::parse(system);
    let (board_file, system_file) = match (board_file, system_file) {
        (Ok(b), Ok(s)) => (b, s),
        (b, s) => return Err(b.err().into_iter().chain(s.err()).collect()),
    };
    let sys = compile::compile(&board_file, board, &system_file, system)?;
    let errors = problems::check(&sys, &board.path, &system.path, &system_file);
    if errors.is_empty() { Ok(sys) } else { Err(errors) }
}

/// Like [`compile_sources`] without `cellboot_abi::validate`: for building
/// deliberately broken images in tests of the shim's own checks.
pub fn compile_sources_unvalidated(board: &Source, system: &Source) -> Result<System, Vec<ConfigError>> {
    let board_file = board_file::parse(board).map_err(|e| vec![e])?;
    let system_file = system_file::parse(system).map_err(|e| vec![e])?;
    compile::compile(&board_file, board, &system_file, system)
}

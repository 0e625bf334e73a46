//! Reading the board + system TOML files and compiling them with the config
//! crate (the same path `cargo xtask build` takes).

use crate::failure::Failure;
use cellboot_config::{BOARD_FILE, ConfigError, Source, System, compile_sources};
use std::path::{Path, PathBuf};

/// The two config files, read. An unreadable file is an I/O error (exit 2),
/// not a config problem.
pub struct ConfigSources {
    pub board: Source,
    pub system: Source,
}

impl ConfigSources {
    /// `board` defaults to `board.toml` beside the system file, as
    /// `cellboot_config::load_system` finds it.
    pub fn read(system: &Path, board: Option<&Path>) -> Result<Self, Failure> {
        let board_path = match board {
            Some(b) => b.to_path_buf(),
            None => system.parent().unwrap_or(Path::new(".")).join(BOARD_FILE),
        };
        let read = |p: PathBuf| crate::input_file::read_text(&p).map(|text| Source { path: p, text });
        Ok(Self {
            board: read(board_path)?,
            system: read(system.to_path_buf())?,
        })
    }

    /// Parsed, compiled and validated (`cellboot_abi::validate`).
    pub fn compile(&self) -> Result<System, Vec<ConfigError>> {
        compile_sources(&self.board, &self.system)
    }

    /// Like [`compile`](Self::compile), printing every problem to stderr.
    pub fn compile_or_report(&self) -> Result<System, Failure> {
        self.compile().map_err(|errors| {
            report(&errors);
            Failure::Problems
        })
    }
}

/// One line per error on stderr (`file: field = value: message`), then a count.
pub fn report(errors: &[ConfigError]) {
    for e in errors {
        eprintln!("error: {}", crate::problem::Problem::from(e));
    }
    let n = errors.len();
    eprintln!("{n} problem{}", if n == 1 { "" } else { "s" });
}

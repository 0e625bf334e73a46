//! How a command ends when it does not succeed, and the exit code for each.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes: 0 success, 1 problems found in the inputs (config invalid,
/// guest DTB cannot be built), 2 usage or I/O error (clap uses 2 as well).
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_USAGE_OR_IO: u8 = 2;

#[derive(Debug)]
pub enum Failure {
    /// Problems already printed (to stderr, or as JSON to stdout).
    Problems,
    /// One problem with an input, not yet printed.
    Problem(String),
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    /// Arguments that parse but do not make sense together.
    Usage(String),
    /// An external tool (dtc, diff) is missing or failed to run.
    Tool(String),
}

impl Failure {
    pub fn io(path: &Path, what: &'static str, error: std::io::Error) -> Self {
        Failure::Io {
            path: path.to_path_buf(),
            what,
            error,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Problems | Failure::Problem(_) => ExitCode::from(EXIT_PROBLEMS),
            Failure::Io { .. } | Failure::Usage(_) | Failure::Tool(_) => ExitCode::from(EXIT_USAGE_OR_IO),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Problems => Ok(()),
            Failure::Problem(m) | Failure::Usage(m) | Failure::Tool(m) => f.write_str(m),
            Failure::Io { path, what, error } => {
                write!(f, "{}: cannot {what}: {error}", path.display())
            }
        }
    }
}

pub type Outcome = Result<(), Failure>;

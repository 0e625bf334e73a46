//! What can go wrong, and the exit code each kind gives (as the host
//! `cellboot`: 0 ok, 1 the device refused, 2 usage or I/O error).

use cellboot_abi::mgmt::status;
use std::fmt;
use std::process::ExitCode;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The command line or its arguments (a cell name, a file).
    Usage(String),
    /// No device, a sysfs or mapping failure, a device that breaks the protocol.
    Io(String),
    /// The device refused `what` with `status` (the shim logged it too).
    Refused { what: String, status: u32 },
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Refused { .. } => ExitCode::from(1),
            Error::Usage(_) | Error::Io(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Io(m) => f.write_str(m),
            Error::Refused { what, status: s } => {
                write!(f, "{what} refused: {} (status {s})", status::message(*s))
            }
        }
    }
}

//! `dtc -I dtb -O dts`: the source form people read and diff.

use crate::failure::Failure;
use std::io::Write;
use std::process::{Command, Stdio};

/// Decompiles `blob`; returns the source (dtc's warnings go to our stderr).
pub fn to_dts(blob: &[u8]) -> Result<String, Failure> {
    let mut child = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            Failure::Tool(format!(
                "dtc: cannot run: {e} (install the device-tree-compiler package)"
            ))
        })?;
    // dtc reads all of stdin before writing; a write error shows up as its exit status.
    let _ = child.stdin.take().map(|mut s| s.write_all(blob));
    let out = child
        .wait_with_output()
        .map_err(|e| Failure::Tool(format!("dtc: {e}")))?;
    if !out.status.success() {
        return Err(Failure::Tool(format!("dtc -I dtb -O dts failed ({})", out.status)));
    }
    String::from_utf8(out.stdout).map_err(|_| Failure::Tool("dtc printed non-UTF-8 source".into()))
}

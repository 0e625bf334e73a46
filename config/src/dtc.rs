//! Compiling `.dts` overlays (user overlays, the board's vPCI template) the
//! one way the packer (`cargo xtask build`) and the preview (`cellboot dtb`)
//! both use, so what is previewed is what is packed.

use std::path::Path;
use std::process::Command;

/// dtc's arguments: `-@` puts labels into `__symbols__` and references into
/// `__fixups__`/`__local_fixups__`. An overlay node with `reg` makes dtc warn
/// `reg_format`/`avoid_default_addr_size` (it cannot see the target's cells):
/// those two are silenced, any other warning is an error.
pub const DTC_ARGS: &[&str] = &[
    "-@",
    "-I",
    "dts",
    "-O",
    "dtb",
    "-W",
    "no-reg_format",
    "-W",
    "no-avoid_default_addr_size",
];

/// Why an overlay's bytes could not be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtcError {
    /// The file (or dtc itself) could not be read or run: an I/O error.
    Unavailable(String),
    /// dtc refused the source or warned about it: a problem in the input.
    Invalid(String),
}

impl std::fmt::Display for DtcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DtcError::Unavailable(m) | DtcError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The payload bytes of `path`: a `.dts` compiled with dtc, anything else as
/// is. Only regular files are read (a FIFO would block dtc forever).
pub fn payload_bytes(path: &Path) -> Result<Vec<u8>, DtcError> {
    let unavailable =
        |e: &dyn std::fmt::Display| DtcError::Unavailable(format!("{}: cannot read: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| unavailable(&e))?;
    if !meta.is_file() {
        return Err(unavailable(&"not a regular file"));
    }
    if path.extension().is_some_and(|e| e == "dts") {
        compile_dts(path)
    } else {
        std::fs::read(path).map_err(|e| unavailable(&e))
    }
}

/// `dtc -@ -I dts -O dtb` on `path`; its warnings and errors are the error.
pub fn compile_dts(path: &Path) -> Result<Vec<u8>, DtcError> {
    let out = Command::new("dtc")
        .args(DTC_ARGS)
        .arg("-o")
        .arg("-")
        .arg(path)
        .output()
        .map_err(|e| {
            DtcError::Unavailable(format!(
                "{}: cannot run dtc: {e} (install the device-tree-compiler package)",
                path.display()
            ))
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(DtcError::Invalid(format!(
            "{}: dtc failed ({}):\n{}",
            path.display(),
            out.status,
            stderr.trim_end()
        )));
    }
    if !stderr.trim().is_empty() {
        return Err(DtcError::Invalid(format!(
            "{}: dtc warnings (fix the source; only reg_format/avoid_default_addr_size are ignored):\n{}",
            path.display(),
            stderr.trim_end()
        )));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cellboot-dtc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn overlay_with_reg_compiles_quietly_with_fixups() {
        let p = tmp("ok.dts", "/dts-v1/;\n/plugin/;\n&uart0 { x: sub@1 { reg = <1>; }; };\n");
        let blob = compile_dts(&p).unwrap();
        assert_eq!(&blob[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
        let has = |s: &[u8]| blob.windows(s.len()).any(|w| w == s);
        assert!(has(b"__fixups__") && has(b"__symbols__"), "-@ missing");
    }

    #[test]
    fn other_warnings_and_syntax_errors_fail_naming_the_file() {
        // unit_address_vs_reg: a node with a unit address and no reg
        let p = tmp("warn.dts", "/dts-v1/;\n/plugin/;\n&uart0 { sub@1 { }; };\n");
        let e = compile_dts(&p).unwrap_err().to_string();
        assert!(e.contains("warn.dts") && e.contains("warning"), "{e}");
        let p = tmp("bad.dts", "/dts-v1/;\n/plugin/;\n&uart0 { \n");
        let e = compile_dts(&p).unwrap_err().to_string();
        assert!(e.contains("bad.dts") && e.contains("dtc failed"), "{e}");
    }
}

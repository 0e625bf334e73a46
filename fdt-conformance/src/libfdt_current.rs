//! The second C oracle: the libfdt that PyPI's pylibfdt bundles (1.7.2),
//! called through `py/libfdt_current.py` (ctypes on its C functions).
//!
//! The linked system libfdt (1.6.1) stays the oracle for everything the two
//! versions agree on; this one checks where libfdt changed since 1.6.1 and
//! cellfdt follows the newer behaviour: alias validation, names cut at a NUL
//! in the write-in-place calls, `appendprop_addrrange`'s 32-bit bound and
//! the overlay rule that a base node's phandle is never overwritten.
//! `pip install pylibfdt==1.7.2` provides it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The pylibfdt release these tests expect (its bundled libfdt version).
pub const VERSION: &str = "1.7.2";

/// One call for the script; byte strings are passed as they are (a C
/// caller's `char *` sees them up to their first NUL).
#[derive(Clone, Debug)]
pub enum Call<'a> {
    NopProperty(usize, &'a [u8]),
    SetpropInplace(usize, &'a [u8], &'a [u8]),
    PathOffset(&'a [u8]),
    GetAlias(&'a [u8]),
    AppendpropAddrrange {
        parent: usize,
        node: usize,
        name: &'a [u8],
        addr: u64,
        size: u64,
    },
    /// The overlay blob; applied to the buffer, consumed as libfdt does.
    OverlayApply(&'a [u8]),
}

/// A call's result: a libfdt return code, or `get_alias`'s string
/// (`None` for NULL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ret {
    Code(i32),
    Alias(Option<Vec<u8>>),
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from libfdt_current.py"))
        .collect()
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join("libfdt_current.py")
}

/// Runs `calls` in order on a copy of `buf` (the whole buffer, free space
/// included) with libfdt 1.7.2; returns each call's result and the buffer
/// afterwards. Panics when python3 or pylibfdt 1.7.2 is missing.
pub fn run(buf: &[u8], calls: &[Call]) -> (Vec<Ret>, Vec<u8>) {
    let dir = crate::overlay_ffi::work_dir("libfdt-current");
    let n = std::process::id() as u64 * 1_000_000 + COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let blob = dir.join(format!("buf-{n}.dtb"));
    std::fs::write(&blob, buf).expect("write blob");
    let mut lines = String::new();
    let mut files = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let l = match c {
            Call::NopProperty(node, name) => format!("nop_property {node} {}", hex(name)),
            Call::SetpropInplace(node, name, val) => {
                format!("setprop_inplace {node} {} {}", hex(name), hex(val))
            }
            Call::PathOffset(p) => format!("path_offset {}", hex(p)),
            Call::GetAlias(a) => format!("get_alias {}", hex(a)),
            Call::AppendpropAddrrange {
                parent,
                node,
                name,
                addr,
                size,
            } => {
                format!("appendprop_addrrange {parent} {node} {} {addr} {size}", hex(name))
            }
            Call::OverlayApply(ov) => {
                let f = dir.join(format!("ov-{n}-{i}.dtbo"));
                std::fs::write(&f, ov).expect("write overlay");
                files.push(f.clone());
                format!("overlay_apply {}", f.display())
            }
        };
        lines.push_str(&l);
        lines.push('\n');
    }
    let mut child = Command::new("python3")
        .arg(script())
        .arg(&blob)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("send calls");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "libfdt_current.py failed (needs `pip install pylibfdt=={VERSION}`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut it = text.lines();
    let version = it.next().unwrap_or("");
    assert!(
        version.starts_with(VERSION),
        "pylibfdt {version} found, these tests expect {VERSION}"
    );
    let rets = calls
        .iter()
        .zip(&mut it)
        .map(|(c, l)| match c {
            Call::GetAlias(_) => Ret::Alias((l != "null").then(|| unhex(l))),
            _ => Ret::Code(l.parse().expect("return code")),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        rets.len(),
        calls.len(),
        "libfdt_current.py answered {} of {} calls",
        rets.len(),
        calls.len()
    );
    let after = std::fs::read(&blob).expect("read blob back");
    let _ = std::fs::remove_file(&blob);
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    (rets, after)
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A cellfdt result as the libfdt return code it stands for (0 for success).
pub fn code<T>(r: &cellfdt::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.code(),
    }
}

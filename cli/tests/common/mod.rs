//! Shared by the CLI's integration tests: run the binary, find repo files,
//! make broken copies of config files.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn repo_file(rel: &str) -> PathBuf {
    let p = repo().join(rel);
    assert!(
        p.exists(),
        "{} missing (run the provisioning script / cargo xtask fetch)",
        p.display()
    );
    p
}

/// Runs `cellboot` with `args` from the repo root.
pub fn cellboot<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_cellboot"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("run cellboot")
}

/// `cellboot check SYSTEM --dtb DTB`.
pub fn check_with_dtb(system: &Path, dtb: &Path) -> Output {
    cellboot(["check".as_ref(), system.as_os_str(), "--dtb".as_ref(), dtb.as_os_str()])
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The board's files system files refer to (`overlays/`, `vpci-template.dts`),
/// copied into `dir` so a system file copied there still finds them.
pub fn copy_board_sources(board: &str, dir: &Path) {
    let src = repo().join("boards").join(board);
    let t = src.join("vpci-template.dts");
    if t.exists() {
        std::fs::copy(&t, dir.join("vpci-template.dts")).unwrap();
    }
    if let Ok(list) = std::fs::read_dir(src.join("overlays")) {
        std::fs::create_dir_all(dir.join("overlays")).unwrap();
        for e in list.flatten() {
            std::fs::copy(e.path(), dir.join("overlays").join(e.file_name())).unwrap();
        }
    }
}

/// A temp dir holding `board.toml` of `board` and `system.toml`, the given
/// system file text (typically a broken copy of a real one).
pub struct ConfigCopy {
    pub dir: tempfile::TempDir,
}

impl ConfigCopy {
    pub fn new(board: &str, system_text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            repo_file(&format!("boards/{board}/board.toml")),
            dir.path().join("board.toml"),
        )
        .unwrap();
        std::fs::write(dir.path().join("system.toml"), system_text).unwrap();
        copy_board_sources(board, dir.path());
        Self { dir }
    }
    pub fn system(&self) -> PathBuf {
        self.dir.path().join("system.toml")
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `text` with `from` replaced by `to`, which must occur exactly once.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

pub const VIRT_SYSTEM: &str = "boards/qemu-virt/linux-demo.toml";
pub const VIRT_DTB: &str = "build/fixtures/qemu-virt.dtb";
pub const PI_SYSTEM: &str = "boards/rpi4b/linux-demo.toml";
/// Found beside the system file anyway; passed explicitly to exercise `--board`.
pub const PI_BOARD: &str = "boards/rpi4b/board.toml";
pub const PI_DTB: &str = "build/fixtures/bcm2711-rpi-4-b.dtb";

/// `cellboot dtb` arguments for both boards (initrd size given, so the
/// guest files need not exist).
pub fn guest_args(board: &str) -> Vec<String> {
    let v: &[&str] = match board {
        "qemu-virt" => &[
            "--system",
            VIRT_SYSTEM,
            "--cell",
            "linux",
            "--dtb",
            VIRT_DTB,
            "--initrd-size",
            "0x20_0000",
        ],
        "rpi4b" => &[
            "--system",
            PI_SYSTEM,
            "--board",
            PI_BOARD,
            "--cell",
            "linux",
            "--dtb",
            PI_DTB,
            "--initrd-size",
            "0x20_0000",
        ],
        other => panic!("no board {other}"),
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// Builds the guest DTB of `board` into a temp file with the CLI.
pub fn build_guest(board: &str, dir: &Path) -> (PathBuf, Vec<u8>) {
    let out = dir.join(format!("{board}-guest.dtb"));
    let mut args = vec!["dtb".to_string()];
    args.extend(guest_args(board));
    args.extend(["-o".to_string(), out.display().to_string()]);
    let o = cellboot(&args);
    assert_exit(&o, 0);
    let blob = std::fs::read(&out).unwrap();
    (out, blob)
}

/// The virt cell's staging by docs/boot-flow.md's rule, computed here from
/// the fixture's header: (board DTB used size, its IPA, the initrd's IPA)
/// for a 2 MiB initrd below the top of RAM (0x6000_0000).
pub fn virt_staging() -> (u64, u64, u64) {
    let b = std::fs::read(repo_file(VIRT_DTB)).unwrap();
    let h = |i: usize| u64::from(u32::from_be_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()));
    let used = (h(2) + h(9)).max(h(3) + h(8)).next_multiple_of(8);
    let dtb = (0x6000_0000 - used) & !0xfff;
    (used, dtb, (dtb - 0x20_0000) & !0xfff)
}

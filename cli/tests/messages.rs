//! Messages and exit codes for bad input as README.md states them: missing
//! overlay or dtc and unreadable inputs exit 2, bad input exits 1 naming it,
//! control characters are escaped, a FIFO is refused without blocking.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn with_overlay(file: &str) -> ConfigCopy {
    let text = replace_once(
        &read(&repo_file(VIRT_SYSTEM)),
        "overlays = [\"overlays/cellboot-demo.dts\"]",
        &format!("overlays = [\"overlays/{file}\"]"),
    );
    ConfigCopy::new("qemu-virt", &text)
}

fn dtb_args(cfg: &ConfigCopy) -> Vec<String> {
    vec![
        "dtb".into(),
        "--system".into(),
        cfg.system().display().to_string(),
        "--dtb".into(),
        repo_file(VIRT_DTB).display().to_string(),
        "--initrd-size".into(),
        "0x1000".into(),
        "-o".into(),
        cfg.path("guest.dtb").display().to_string(),
    ]
}

#[test]
fn missing_overlay_exits_2_in_check_and_dtb() {
    let cfg = with_overlay("missing.dts");
    let dtb = repo_file(VIRT_DTB);
    let o = check_with_dtb(&cfg.system(), &dtb);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("missing.dts"), "{}", stderr(&o));
    let o = cellboot(dtb_args(&cfg));
    assert_exit(&o, 2);
}

#[test]
fn missing_dtc_exits_2() {
    let cfg = with_overlay("cellboot-demo.dts");
    let o = Command::new(env!("CARGO_BIN_EXE_cellboot"))
        .current_dir(repo())
        .env("PATH", "/nonexistent")
        .args(dtb_args(&cfg))
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("dtc"), "{}", stderr(&o));
}

#[test]
fn a_full_dtb_is_not_an_overlay() {
    let cfg = with_overlay("full.dts");
    std::fs::write(cfg.path("overlays/full.dts"), "/dts-v1/;\n/ { model = \"x\"; };\n").unwrap();
    let o = cellboot(dtb_args(&cfg));
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("full.dtbo") && stderr(&o).contains("not a /plugin/ overlay"),
        "{}",
        stderr(&o)
    );
    assert!(!cfg.path("guest.dtb").exists());
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let cfg = with_overlay("fifo.dts");
    let fifo = cfg.path("overlays/fifo.dts");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for args in [
        dtb_args(&cfg),
        vec![
            "check".into(),
            cfg.system().display().to_string(),
            "--dtb".into(),
            fifo.display().to_string(),
        ],
        vec!["check".into(), fifo.display().to_string()],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cellboot"))
            .current_dir(repo())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("{args:?} blocked on the FIFO");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn control_characters_are_escaped() {
    let text = replace_once(
        &read(&repo_file(VIRT_SYSTEM)),
        "name = \"linux\"",
        "name = \"li\\u0000n\\nux\\u001b[2J\"",
    );
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(!err.contains('\0') && !err.contains('\u{1b}'), "{err:?}");
    assert!(
        err.lines()
            .all(|l| l.starts_with("error: ") || l.ends_with("problems") || l.ends_with("problem")),
        "{err}"
    );
}

#[test]
fn toml_errors_name_the_field() {
    let text = replace_once(&read(&repo_file(VIRT_SYSTEM)), "irq_base = 140", "irq_base = \"140\"");
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
    assert_exit(&o, 1);
    let want = format!("error: {}: cells[0].vpci.irq_base: line ", cfg.system().display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn root_size_cells_zero_is_named_as_such() {
    let mut b = std::fs::read(repo_file(VIRT_DTB)).unwrap();
    let be = |b: &[u8], o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let (mut o, strings) = (be(&b, 8), be(&b, 12));
    assert_eq!(be(&b, o), 1);
    o = (o + 4 + b[o + 4..].iter().position(|&c| c == 0).unwrap() + 1).next_multiple_of(4);
    while be(&b, o) == 3 {
        let (len, name) = (be(&b, o + 4), be(&b, o + 8));
        if b[strings + name..].starts_with(b"#size-cells\0") {
            b[o + 12..o + 16].copy_from_slice(&0u32.to_be_bytes());
        }
        o = (o + 12 + len).next_multiple_of(4);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dtb = tmp.path().join("sc0.dtb");
    std::fs::write(&dtb, &b).unwrap();
    let mut args = guest_args("qemu-virt");
    let i = args.iter().position(|a| a == VIRT_DTB).unwrap();
    args[i] = dtb.display().to_string();
    let mut a = vec!["dtb".to_string()];
    a.extend(args);
    a.extend(["-o".into(), tmp.path().join("g.dtb").display().to_string()]);
    let o = cellboot(&a);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("vpci: / #size-cells ") && !err.contains("BadNCells"),
        "{err}"
    );
}

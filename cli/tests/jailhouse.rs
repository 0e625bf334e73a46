//! The `jailhouse` boot kind at the CLI: `check --dtb` accepts RAM at IPA 0
//! on virt (no device tree reaches the cell, so /flash@0 is not in its way),
//! `dtb` refuses the cell by name, `import-jailhouse` names file and field.

mod common;

use common::*;

const JH_VIRT: &str = "boards/qemu-virt/jailhouse-demo.toml";

#[test]
fn check_accepts_ram_at_ipa_0_on_virt() {
    let o = cellboot(["check", JH_VIRT, "--dtb", repo_file(VIRT_DTB).to_str().unwrap()]);
    assert_exit(&o, 0);
    assert!(stdout(&o).starts_with("ok: "), "{}", stdout(&o));
}

#[test]
fn check_still_reports_ipa_0_for_a_cell_that_gets_the_dtb() {
    // The same region in a loader-booted cell overlaps /flash@0 of its DTB.
    let text = read(&repo_file(VIRT_SYSTEM));
    let text = replace_once(
        &text,
        "flags = [\"read\", \"write\", \"execute\", \"dma\", \"ram\"]",
        "flags = [\"read\", \"write\", \"execute\", \"dma\", \"ram\"]\n\n[[cells.memory]]\nphys = 0x5f00_0000\nvirt = 0\nsize = 0x10_0000\nflags = [\"read\", \"write\", \"ram\"]",
    );
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let o = cellboot([
        "check".as_ref(),
        cfg.system().as_os_str(),
        "--dtb".as_ref(),
        repo_file(VIRT_DTB).as_os_str(),
    ]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("overlaps device /flash@0"), "{}", stderr(&o));
}

#[test]
fn dtb_refuses_a_jailhouse_cell() {
    let o = cellboot([
        "dtb",
        "--system",
        JH_VIRT,
        "--cell",
        "jh-a",
        "--dtb",
        repo_file(VIRT_DTB).to_str().unwrap(),
        "--dts",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("cells[0]: boot.kind = \"jailhouse\": the cell gets no device tree"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn import_names_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.cell");
    std::fs::write(&f, b"JHCLX\x02\x0e\x00").unwrap();
    let o = cellboot(["import-jailhouse".as_ref(), f.as_os_str()]);
    assert_exit(&o, 1);
    let want = format!("{}: size = 8 bytes", f.display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

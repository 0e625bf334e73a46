//! `--help` shows examples; usage errors exit 2.

mod common;

use common::*;

#[test]
fn help_shows_examples_for_every_command() {
    let o = cellboot(["--help"]);
    assert_exit(&o, 0);
    let top = stdout(&o);
    for cmd in [
        "cellboot dtb --system",
        "cellboot diff --system",
        "cellboot check ",
        "cellboot build ",
    ] {
        assert!(top.contains(cmd), "top-level help lacks {cmd:?}:\n{top}");
    }
    assert!(top.contains("Exit status: 0 ok, 1 problems found"), "{top}");
    for (sub, example) in [
        (
            "dtb",
            "cellboot dtb --system boards/qemu-virt/linux-demo.toml --cell linux",
        ),
        ("diff", "cellboot diff --system"),
        ("check", "cellboot check boards/qemu-virt/linux-demo.toml --dtb"),
        ("build", "cellboot build boards/qemu-virt/linux-demo.toml -o system.bin"),
    ] {
        let o = cellboot([sub, "--help"]);
        assert_exit(&o, 0);
        assert!(
            stdout(&o).contains("Examples:") && stdout(&o).contains(example),
            "{sub} --help:\n{}",
            stdout(&o)
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["dtb", "--system", VIRT_SYSTEM, "--dtb", VIRT_DTB][..], // neither -o nor --dts
        &[
            "dtb",
            "--system",
            VIRT_SYSTEM,
            "--dtb",
            VIRT_DTB,
            "--dts",
            "--initrd-size",
            "lots",
        ][..],
        &["build", VIRT_SYSTEM][..],
    ] {
        let o = cellboot(args);
        assert_exit(&o, 2);
        assert!(!stderr(&o).is_empty());
    }
}

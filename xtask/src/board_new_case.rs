//! e2e case `board-new`: `cellboot board new` on the DTB QEMU hands the
//! shim (its `dumpdtb`), into build/<board>/board-new/, then linux-demo from
//! the generated files booted as the hand-written one (same Linux markers).

use crate::qemu_runner::Case;
use crate::{assemble, cmd, paths, qemu_settings};
use anyhow::{Context, Result};
use std::time::Duration;

/// Run with the other cases on qemu-virt; `rpi4b/board-new` takes QEMU
/// raspi4b's DTB (its /memory filled in, as a real Pi's firmware does).
pub const CASES: &[&str] = &["board-new", "rpi4b/board-new"];

pub fn case(board: &str, release: bool) -> Result<Case> {
    let q = qemu_settings::load(board)?;
    let dir = paths::board_out(board).join("board-new").join(board);
    std::fs::create_dir_all(&dir).with_context(|| paths::show(&dir))?;
    // The DTB the shim is handed: QEMU's own, with /memory as QEMU fills it.
    let dtb = dir.join("board.dtb");
    let boot = q.boot_command(None);
    let mut dump = std::process::Command::new(boot.get_program());
    dump.args(boot.get_args())
        .arg("-machine")
        .arg(format!("dumpdtb={}", dtb.display()));
    cmd::output(&mut dump).context("QEMU -machine dumpdtb")?;
    let mut cli = cmd::cargo();
    cli.args([
        "run", "-q", "-p", "cellboot", "--", "board", "new", "--force", "--name", board,
    ]);
    cli.arg("--dtb").arg(&dtb).arg("-o").arg(&dir);
    cli.arg("--kernel")
        .arg(paths::generic_image())
        .arg("--initrd")
        .arg(paths::initramfs());
    cmd::run(&mut cli).context("cellboot board new")?;
    let system = dir.join("linux-demo.toml");
    let sys = cellboot_config::load_system(&system).map_err(|errs| {
        for e in &errs {
            eprintln!("error: {e}");
        }
        anyhow::anyhow!("{}: {} error(s)", paths::show(&system), errs.len())
    })?;
    let bins = assemble::binaries(&sys, release)?;
    let img = dir.join("e2e-board-new.img");
    assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
    let mut c = q.boot_command(None);
    c.arg("-kernel").arg(&img);
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Ok(Case {
        name: format!("{board}-board-new"),
        qemu: c,
        expect: list(crate::e2e::LINUX_MARKERS),
        fail_on: list(&[
            "CELLBOOT: FAIL",
            "Kernel panic",
            crate::e2e::SYSCONFIG_INVALID,
            crate::e2e::BOARD_DTB_INVALID,
        ]),
        timeout: Duration::from_secs(300),
    })
}

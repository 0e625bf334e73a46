//! e2e case `board-new`: `cellboot board new` on the DTB the board boots
//! with, into build/<board>/board-new/, then linux-demo from the generated
//! files booted exactly as the hand-written one (same Linux markers).

use crate::qemu_runner::Case;
use crate::{assemble, cmd, paths, qemu_settings};
use anyhow::{Context, Result};
use std::time::Duration;

/// Run with the other cases on qemu-virt (the Pi's DTB leaves its RAM size
/// to the firmware and its demo needs hand-chosen disables on QEMU).
pub const CASES: &[&str] = &["board-new"];

pub fn case(board: &str, release: bool) -> Result<Case> {
    let q = qemu_settings::load(board)?;
    let dtb = q
        .board_dtb()
        .with_context(|| format!("board {board} names no DTB (qemu settings)"))?;
    let dir = paths::board_out(board).join("board-new").join(board);
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

//! `cellboot diff`: what the loader changes in the board DTB for one cell.

use crate::args::GuestArgs;
use crate::failure::{Failure, Outcome};
use crate::stdout::put;
use crate::tree_diff::{diff, flatten, render};
use crate::{dtc, guest};
use cellfdt::Fdt;
use std::process::Command;

pub fn run(a: &GuestArgs, dts: bool) -> Outcome {
    let g = guest::build(a)?;
    let read = |blob: &[u8], what: &str| {
        Fdt::new(blob)
            .and_then(|f| flatten(&f))
            .map_err(|e| Failure::Problem(format!("{what}: cannot walk the tree: {e:?}")))
    };
    let old = read(&g.board, &a.dtb.display().to_string())?;
    let new = read(&g.guest, "guest DTB")?;
    put(&render(&diff(&old, &new)))?;
    if dts {
        put(&unified(&dtc::to_dts(&g.board)?, &dtc::to_dts(&g.guest)?)?)?;
    }
    Ok(())
}

/// `diff -u` of the two sources (diffutils).
fn unified(old: &str, new: &str) -> Result<String, Failure> {
    let dir = tempdir()?;
    let (a, b) = (dir.join("board.dts"), dir.join("guest.dts"));
    std::fs::write(&a, old).map_err(|e| Failure::io(&a, "write", e))?;
    std::fs::write(&b, new).map_err(|e| Failure::io(&b, "write", e))?;
    let out = Command::new("diff").arg("-u").arg(&a).arg(&b).output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.map_err(|e| Failure::Tool(format!("diff: cannot run: {e} (install diffutils)")))?;
    // diff exits 1 when the files differ, 2 on trouble.
    if out.status.code() == Some(2) {
        return Err(Failure::Tool(format!(
            "diff -u failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tempdir() -> Result<std::path::PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("cellboot-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Failure::io(&dir, "create", e))?;
    Ok(dir)
}

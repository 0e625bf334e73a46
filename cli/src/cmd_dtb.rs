//! `cellboot dtb`: write the guest DTB and/or print its source.

use crate::args::GuestArgs;
use crate::failure::{Failure, Outcome};
use crate::stdout::put;
use crate::{dtc, guest};
use std::path::Path;

pub fn run(a: &GuestArgs, output: Option<&Path>, dts: bool) -> Outcome {
    let g = guest::build(a)?;
    if let Some(out) = output {
        std::fs::write(out, &g.guest).map_err(|e| Failure::io(out, "write", e))?;
        eprintln!(
            "{}: {} bytes (board DTB {} bytes used)",
            out.display(),
            g.guest.len(),
            g.board.len()
        );
    }
    if dts {
        put(&dtc::to_dts(&g.guest)?)?;
    }
    Ok(())
}

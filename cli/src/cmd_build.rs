//! `cellboot build`: the binary system config, `System::to_bytes()` — the
//! bytes `cargo xtask build` packs as the image's SYSCONFIG payload.

use crate::config_input::ConfigSources;
use crate::failure::{Failure, Outcome};
use crate::stdout::put;
use std::path::Path;

pub fn run(config: &Path, board: Option<&Path>, output: &Path) -> Outcome {
    let sys = ConfigSources::read(config, board)?.compile_or_report()?;
    let bytes = sys.to_bytes();
    std::fs::write(output, &bytes).map_err(|e| Failure::io(output, "write", e))?;
    put(&format!(
        "{}: {} bytes, board {}, cells {}\n",
        output.display(),
        bytes.len(),
        sys.board_name,
        sys.cell_names.join(", ")
    ))
}

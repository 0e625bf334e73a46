//! `cellboot import-jailhouse`: Jailhouse binary cell configs (`.cell`) to a
//! cellboot system file (`jailhouse_cell`). Cells sharing ivshmem memory
//! become one link.

use crate::failure::{Failure, Outcome};
use crate::jailhouse_cell::{parse, to_toml};
use crate::stdout::put;
use std::path::{Path, PathBuf};

pub fn run(cells: &[PathBuf], output: Option<&Path>) -> Outcome {
    let mut names = Vec::new();
    let mut parsed = Vec::new();
    for f in cells {
        let bytes = std::fs::read(f).map_err(|e| Failure::io(f, "read", e))?;
        let name = f.display().to_string();
        parsed.push(parse(&name, &bytes).map_err(Failure::Problem)?);
        names.push(name);
    }
    let text = to_toml(&names, &parsed).map_err(Failure::Problem)?;
    match output {
        Some(o) => std::fs::write(o, text).map_err(|e| Failure::io(o, "write", e)),
        None => put(&text),
    }
}

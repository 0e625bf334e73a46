//! A cell's guest DTB, built by the loader's own `build_guest_dtb` from the
//! inputs the shim would hand it (see `shim_staging`).

use crate::args::GuestArgs;
use crate::config_input::ConfigSources;
use crate::failure::Failure;
use crate::shim_staging::{cellboot_info, stage, trim_board_dtb};
use cellboot_abi::NO_PAYLOAD;
use cellboot_config::{PayloadSource, System};
use cellboot_loader::{CellView, build_guest_dtb};
use std::path::Path;

pub struct GuestDtb {
    /// The board DTB as the shim keeps it (trimmed to its used part).
    pub board: Vec<u8>,
    /// The packed guest DTB.
    pub guest: Vec<u8>,
}

pub fn build(a: &GuestArgs) -> Result<GuestDtb, Failure> {
    let sys = ConfigSources::read(&a.system, a.board.as_deref())?.compile_or_report()?;
    let ci = select_cell(&sys, a.cell.as_deref())?;
    let raw = std::fs::read(&a.dtb).map_err(|e| Failure::io(&a.dtb, "read", e))?;
    let board =
        trim_board_dtb(&raw).map_err(|m| Failure::Problem(format!("{}: {m}", a.dtb.display())))?;
    let initrd = initrd_size(&sys, ci, a)?;
    let at = |m: String| Failure::Problem(format!("{}: cells[{ci}]: {m}", a.system.display()));
    let staging = stage(&sys.config, ci, board.len() as u64, initrd).map_err(at)?;
    let info = cellboot_info(&sys.config, ci, &staging);
    let view = CellView::from_info(&info);
    let mut out = vec![0u8; cellboot_loader::image::DTB_MAX as usize];
    let n = build_guest_dtb(&board, &mut out, &view).map_err(|e| {
        Failure::Problem(format!(
            "{}: cell {:?}: {e}",
            a.dtb.display(),
            sys.cell_names[ci]
        ))
    })?;
    out.truncate(n);
    Ok(GuestDtb { board, guest: out })
}

fn select_cell(sys: &System, name: Option<&str>) -> Result<usize, Failure> {
    let names = || {
        sys.cell_names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(n) => sys.cell_names.iter().position(|c| c == n).ok_or_else(|| {
            Failure::Usage(format!("--cell {n:?}: no such cell (cells: {})", names()))
        }),
        None if sys.cell_names.len() == 1 => Ok(0),
        None => Err(Failure::Usage(format!(
            "--cell is needed: the system has cells {}",
            names()
        ))),
    }
}

/// The staged initrd's size: `None` when the cell has no initrd.
fn initrd_size(sys: &System, ci: usize, a: &GuestArgs) -> Result<Option<u64>, Failure> {
    let idx = sys.config.cells[ci].boot.initrd;
    if idx == NO_PAYLOAD {
        if a.initrd.is_some() || a.initrd_size.is_some() {
            eprintln!(
                "warning: cell {:?} boots without an initrd; --initrd/--initrd-size ignored",
                sys.cell_names[ci]
            );
        }
        return Ok(None);
    }
    if let Some(n) = a.initrd_size {
        return Ok(Some(n));
    }
    let file_len = |p: &Path| std::fs::metadata(p).map(|m| Some(m.len()));
    if let Some(p) = &a.initrd {
        return file_len(p).map_err(|e| Failure::io(p, "read", e));
    }
    match sys.payloads.get(idx as usize).map(|p| &p.source) {
        Some(PayloadSource::File(p)) => file_len(p).map_err(|e| {
            Failure::Usage(format!(
                "{}: cannot read: {e}; the initrd's size decides its address in /chosen: pass --initrd FILE or --initrd-size N",
                p.display()
            ))
        }),
        _ => Err(Failure::Problem(format!("cells[{ci}].boot.initrd: payload {idx} is not a file"))),
    }
}

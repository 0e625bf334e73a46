//! A cell's guest DTB, built by the loader's own `build_guest_dtb_in` from
//! the inputs the shim would hand it (see `shim_staging`): the same board
//! DTB trim, staging plan, vPCI template and user overlays (compiled with
//! `cellboot_config::dtc`, as `cargo xtask build` packs them).

use crate::args::GuestArgs;
use crate::config_input::ConfigSources;
use crate::failure::Failure;
use crate::input_file;
use crate::shim_staging::{cellboot_info, trim_board_dtb};
use cellboot_abi::staging::{self, StageSizes};
use cellboot_abi::{NO_PAYLOAD, payload_kind};
use cellboot_config::dtc::DtcError;
use cellboot_config::{PayloadSource, System};
use cellboot_loader::{CellView, Overlay, build_guest_dtb_in, scratch_len};
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
    let board = read_board_dtb(&a.dtb)?;
    let initrd = initrd_size(&sys, ci, a)?;
    let guest = build_cell(&sys, ci, &board, &a.system, &a.dtb, initrd)?;
    Ok(GuestDtb { board, guest })
}

/// The board DTB file as the shim keeps it (trimmed, structure checked);
/// a DTB the shim would refuse is a problem naming the file.
pub fn read_board_dtb(path: &Path) -> Result<Vec<u8>, Failure> {
    let raw = input_file::read(path)?;
    trim_board_dtb(&raw).map_err(|m| Failure::Problem(format!("{}: {m}", path.display())))
}

/// Cell `ci`'s guest DTB from the trimmed `board` DTB (read from
/// `dtb_path`), with an initrd of `initrd` bytes staged. The result passed
/// the full structure check (libfdt's fdt_check_full): a blob that fails it
/// is never handed out.
pub fn build_cell(
    sys: &System,
    ci: usize,
    board: &[u8],
    system_path: &Path,
    dtb_path: &Path,
    initrd: Option<u64>,
) -> Result<Vec<u8>, Failure> {
    let at = |m: String| Failure::Problem(format!("{}: cells[{ci}]: {m}", system_path.display()));
    let cell = &sys.config.cells[ci];
    if cellboot_abi::is_jailhouse(cell) {
        return Err(at(
            "boot.kind = \"jailhouse\": the cell gets no device tree (docs/jailhouse-inmates.md)".into(),
        ));
    }
    let n_ovl = staging::overlay_count(cell).map_err(|e| at(e.to_string()))?;
    let mut overlays = Vec::new();
    for k in 0..n_ovl {
        let idx = (cell.boot.overlay_first as usize).saturating_add(k);
        let name = sys.payloads.get(idx).map(|p| p.name.clone()).unwrap_or_default();
        overlays.push((name, payload_bytes(sys, idx)?));
    }
    let template = match sys.payloads.iter().position(|p| p.kind == payload_kind::VPCI_TEMPLATE) {
        Some(i) => Some(payload_bytes(sys, i)?),
        None => None,
    };
    let mut sizes = StageSizes {
        board_dtb: board.len() as u64,
        initrd,
        // Where the loader runs it when it fits (then its size moves nothing
        // else), else below the initrd: its size then moves only overlays
        // and template, which do not show in the tree; unknown (not fetched)
        // means not staged.
        kernel: file_size(sys, cell.boot.kernel),
        kernel_run: kernel_head(sys, cell.boot.kernel)
            .and_then(|(head, n)| staging::KernelRun::of(cell.boot.kind, &head, n)),
        vpci_template: template.as_ref().map(|t| t.len() as u64),
        ..StageSizes::default()
    };
    for (s, (_, blob)) in sizes.overlays.iter_mut().zip(&overlays) {
        *s = blob.len() as u64;
    }
    let plan = staging::plan(cell, &sizes).map_err(|e| at(e.to_string()))?;
    let names: Vec<&str> = overlays.iter().map(|(n, _)| n.as_str()).collect();
    let info = cellboot_info(&sys.config, ci, &plan, &names);
    let ovl: Vec<Overlay> = overlays.iter().map(|(name, blob)| Overlay { name, blob }).collect();
    let mut view = CellView::from_info(&info);
    // As the loader does: the staged template and overlays (plan decides).
    view.vpci_template = template.as_deref().filter(|_| plan.vpci_template.size != 0);
    view.overlays = &ovl;
    let mut out = vec![0u8; cellboot_loader::image::DTB_MAX as usize];
    let mut scratch = vec![0u8; scratch_len(&view, out.len())];
    let cell_name = &sys.cell_names[ci];
    let n = build_guest_dtb_in(board, &mut out, &mut scratch, &view)
        .map_err(|e| Failure::Problem(format!("{}: cell {cell_name:?}: {e}", dtb_path.display())))?;
    out.truncate(n);
    cellfdt::Fdt::new(&out).and_then(|f| f.check_full()).map_err(|e| {
        Failure::Problem(format!(
            "{}: cell {cell_name:?}: the guest DTB built from it fails the full structure check: {} ({e})",
            dtb_path.display(),
            e.describe()
        ))
    })?;
    Ok(out)
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
        Some(n) => sys
            .cell_names
            .iter()
            .position(|c| c == n)
            .ok_or_else(|| Failure::Usage(format!("--cell {n:?}: no such cell (cells: {})", names()))),
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
    if let Some(p) = &a.initrd {
        return input_file::size(p).map(Some);
    }
    match sys.payloads.get(idx as usize).map(|p| &p.source) {
        Some(PayloadSource::File(p)) => input_file::size(p).map(Some).map_err(|e| {
            Failure::Usage(format!(
                "{e}; the initrd's size decides its address in /chosen: pass --initrd FILE or --initrd-size N"
            ))
        }),
        _ => Err(Failure::Problem(format!(
            "cells[{ci}].boot.initrd: payload {idx} is not a file"
        ))),
    }
}

/// The size `check` stages for cell `ci`'s initrd: its file's when
/// readable, else 0; `None` without an initrd.
pub fn staged_initrd_size(sys: &System, ci: usize) -> Option<u64> {
    let idx = sys.config.cells.get(ci)?.boot.initrd;
    if idx == NO_PAYLOAD {
        return None;
    }
    match sys.payloads.get(idx as usize).map(|p| &p.source) {
        Some(PayloadSource::File(p)) => Some(input_file::size(p).unwrap_or(0)),
        _ => Some(0),
    }
}

/// Payload `idx` as packed: a `.dts` compiled with dtc (`cellboot_config::dtc`).
/// A missing file or dtc is an I/O error (exit 2), a bad source a problem.
fn payload_bytes(sys: &System, idx: usize) -> Result<Vec<u8>, Failure> {
    let Some(p) = sys.payloads.get(idx) else {
        return Err(Failure::Problem(format!("payload {idx} does not exist")));
    };
    match &p.source {
        PayloadSource::File(f) => cellboot_config::dtc::payload_bytes(f).map_err(|e| match e {
            DtcError::Unavailable(m) => Failure::Tool(format!("payload {}: {m}", p.name)),
            DtcError::Invalid(m) => Failure::Problem(format!("payload {}: {m}", p.name)),
        }),
        _ => Err(Failure::Problem(format!("payload {} is not a file", p.name))),
    }
}

/// The first 64 bytes (the arm64 Image header) and size of payload `idx`'s
/// file, when it is one and readable.
fn kernel_head(sys: &System, idx: u32) -> Option<(Vec<u8>, u64)> {
    use std::io::Read;
    let PayloadSource::File(f) = &sys.payloads.get(idx as usize)?.source else {
        return None;
    };
    // Opening a FIFO would block: regular files only.
    input_file::size(f).ok()?;
    let mut file = std::fs::File::open(f).ok()?;
    let mut head = Vec::with_capacity(64);
    file.by_ref().take(64).read_to_end(&mut head).ok()?;
    Some((head, file.metadata().ok()?.len()))
}

/// Size of payload `idx`'s file, when it is one and readable.
fn file_size(sys: &System, idx: u32) -> Option<u64> {
    match &sys.payloads.get(idx as usize)?.source {
        PayloadSource::File(f) => input_file::size(f).ok(),
        _ => None,
    }
}

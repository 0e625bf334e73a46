//! A cell's guest DTB, built by the loader's own `build_guest_dtb_in` from
//! the inputs the shim would hand it (see `shim_staging`): the same board
//! DTB trim, staging plan, vPCI template and user overlays (compiled with
//! `cellboot_config::dtc`, as `cargo xtask build` packs them).

use crate::args::GuestArgs;
use crate::config_input::ConfigSources;
use crate::failure::Failure;
use crate::shim_staging::{cellboot_info, trim_board_dtb};
use cellboot_abi::staging::{self, StageSizes};
use cellboot_abi::{NO_PAYLOAD, payload_kind};
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
    let raw = std::fs::read(&a.dtb).map_err(|e| Failure::io(&a.dtb, "read", e))?;
    let board =
        trim_board_dtb(&raw).map_err(|m| Failure::Problem(format!("{}: {m}", a.dtb.display())))?;
    let initrd = initrd_size(&sys, ci, a)?;
    let at = |m: String| Failure::Problem(format!("{}: cells[{ci}]: {m}", a.system.display()));
    let cell = &sys.config.cells[ci];
    if cellboot_abi::is_jailhouse(cell) {
        return Err(at("boot.kind = \"jailhouse\": the cell gets no device tree (docs/jailhouse-inmates.md)".into()));
    }
    let n_ovl = staging::overlay_count(cell).map_err(|e| at(e.to_string()))?;
    let mut overlays = Vec::new();
    for k in 0..n_ovl {
        let idx = cell.boot.overlay_first as usize + k;
        overlays.push((sys.payloads[idx].name.clone(), payload_bytes(&sys, idx)?));
    }
    let template = match sys.payloads.iter().position(|p| p.kind == payload_kind::VPCI_TEMPLATE) {
        Some(i) => Some(payload_bytes(&sys, i)?),
        None => None,
    };
    let mut sizes = StageSizes {
        board_dtb: board.len() as u64,
        initrd,
        // Where the loader runs it when it fits (then its size moves nothing
        // else), else below the initrd: its size then moves only overlays
        // and template, which do not show in the tree; unknown (not fetched)
        // means not staged.
        kernel: file_size(&sys, cell.boot.kernel),
        kernel_run: kernel_head(&sys, cell.boot.kernel)
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
    let n = build_guest_dtb_in(&board, &mut out, &mut scratch, &view).map_err(|e| {
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

/// Payload `idx` as packed: a `.dts` compiled with dtc (`cellboot_config::dtc`).
fn payload_bytes(sys: &System, idx: usize) -> Result<Vec<u8>, Failure> {
    let p = &sys.payloads[idx];
    match &p.source {
        PayloadSource::File(f) => cellboot_config::dtc::payload_bytes(f)
            .map_err(|e| Failure::Problem(format!("payload {}: {e}", p.name))),
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
    let mut file = std::fs::File::open(f).ok()?;
    let mut head = Vec::with_capacity(64);
    file.by_ref().take(64).read_to_end(&mut head).ok()?;
    Some((head, file.metadata().ok()?.len()))
}

/// Size of payload `idx`'s file, when it is one and readable.
fn file_size(sys: &System, idx: u32) -> Option<u64> {
    match &sys.payloads.get(idx as usize)?.source {
        PayloadSource::File(f) => std::fs::metadata(f).ok().map(|m| m.len()),
        _ => None,
    }
}

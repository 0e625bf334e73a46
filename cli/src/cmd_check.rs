//! `cellboot check`: the config crate's checks and `cellboot_abi::validate`
//! (what the shim runs), plus, with `--dtb`, the cells' windows against the
//! board DTB's devices. Every problem is reported.

use crate::config_input::ConfigSources;
use crate::dtb_devices::{Device, devices, overlapping};
use crate::failure::{Failure, Outcome};
use crate::guest;
use crate::problem::{Problem, hex};
use crate::shim_staging::trim_board_dtb;
use crate::stdout::put;
use cellboot_abi::{COMM_REGION_SIZE, SystemConfig, mem};
use cellboot_config::{System, compile_sources_unvalidated};
use std::path::Path;

pub fn run(config: &Path, board: Option<&Path>, dtb: Option<&Path>, json: bool) -> Outcome {
    let sources = ConfigSources::read(config, board)?;
    let raw = match dtb {
        Some(p) => Some((p, crate::input_file::read(p)?)),
        None => None,
    };
    let (problems, name, links) = problems(&sources, raw.as_ref().map(|(p, b)| (*p, b.as_slice())))?;
    if json {
        let text = serde_json::to_string_pretty(&problems).map_err(|e| Failure::Tool(format!("JSON: {e}")))?;
        put(&format!("{text}\n"))?;
    }
    if problems.is_empty() {
        if !json {
            put(&format!("ok: {} {name}\n{links}", config.display()))?;
        }
        return Ok(());
    }
    if !json {
        for p in &problems {
            eprintln!("error: {p}");
        }
        let n = problems.len();
        eprintln!("{n} problem{}", if n == 1 { "" } else { "s" });
    }
    Err(Failure::Problems)
}

/// Every problem `check` reports for the config files `sources` and, when
/// given, the board DTB (its path for messages, its bytes); then the
/// system's name (`board (n cells)`) and its links' account
/// (`link_report`), empty when the config is invalid. An error is an I/O
/// failure (an overlay or dtc missing), not a problem.
pub fn problems(
    sources: &ConfigSources,
    dtb: Option<(&Path, &[u8])>,
) -> Result<(Vec<Problem>, String, String), Failure> {
    let config = sources.system.path.as_path();
    let (mut problems, name, links) = match sources.compile() {
        Ok(sys) => (
            Vec::new(),
            format!("{} ({} cells)", sys.board_name, sys.cell_names.len()),
            crate::link_report::describe(&sys),
        ),
        Err(errors) => (errors.iter().map(Problem::from).collect(), String::new(), String::new()),
    };
    if let Some((dtb, raw)) = dtb {
        // The cross-check needs the binary config even when validation fails.
        if let Ok(sys) = compile_sources_unvalidated(&sources.board, &sources.system) {
            let found = cross_check(&sys.config, sources, dtb, raw)?;
            let board_ok = found.is_empty();
            problems.extend(found);
            // What the loader of every cell will run, when nothing before
            // it already failed (a broken config or DTB fails there anyway).
            if board_ok && problems.is_empty() {
                problems.extend(guest_builds(&sys, config, dtb, raw)?);
            }
        }
    }
    Ok((problems, name, links))
}

/// Windows of every cell that cover a board device: non-IO memory regions
/// (physical: any device; guest-physical: devices the guest still has) and
/// the vPCI ECAM/MMIO windows and comm region (devices the guest still has:
/// enabled in the board DTB and not on the cell's `disable` list).
fn cross_check(cfg: &SystemConfig, src: &ConfigSources, dtb: &Path, raw: &[u8]) -> Result<Vec<Problem>, Failure> {
    let bad_dtb = |m: String| vec![Problem::new(dtb, "", "", m)];
    let blob = match trim_board_dtb(raw) {
        Ok(b) => b,
        Err(m) => return Ok(bad_dtb(m)),
    };
    let fdt = match cellfdt::Fdt::new(&blob) {
        Ok(f) => f,
        Err(e) => {
            return Ok(bad_dtb(format!("cannot read the device tree: {} ({e})", e.describe())));
        }
    };
    let list = match devices(&fdt, &cfg.board) {
        Ok(l) => l,
        Err(e) => {
            return Ok(bad_dtb(format!("cannot read the device tree: {} ({e})", e.describe())));
        }
    };
    let sys_file = &src.system.path;
    let written: Option<toml::Value> = toml::from_str(&src.system.text).ok();
    let mut out = crate::board_vs_dtb::check(&fdt, &cfg.board, &list, &src.board.path, dtb);
    for (ci, c) in cfg.cells().iter().enumerate() {
        let disabled: Vec<&str> = c.disabled_paths().collect();
        // A jailhouse-kind cell gets no device tree: its guest-physical
        // space is its config alone (validate checks its regions against
        // each other and its windows), so no board device is "still there"
        // for its IPAs to collide with. Physical overlaps still count.
        let gets_dtb = !cellboot_abi::is_jailhouse(c);
        let visible = |d: &Device| {
            gets_dtb
                && d.enabled
                && !disabled
                    .iter()
                    .any(|p| d.path == *p || d.path.starts_with(&format!("{p}/")))
        };
        let mut report = |file: &Path, field: String, base: u64, size: u64, what: &str, only_visible: bool| {
            for (d, (b, s)) in overlapping(&list, base, size).filter(|(d, _)| !only_visible || visible(d)) {
                out.push(Problem::new(
                    file,
                    field.clone(),
                    format!("{}+{}", hex(base), hex(size)),
                    format!(
                        "{what} overlaps device {} (reg {}+{}) in {}",
                        d.path,
                        hex(b),
                        hex(s),
                        dtb.display()
                    ),
                ));
            }
        };
        for (ri, r) in c.mem_regions().iter().enumerate() {
            if r.flags & mem::IO != 0 || r.size == 0 {
                continue;
            }
            let at = format!("cells[{ci}].memory[{ri}]");
            report(
                sys_file,
                format!("{at}.phys"),
                r.phys,
                r.size,
                "memory (physical)",
                false,
            );
            if r.virt != r.phys {
                report(
                    sys_file,
                    format!("{at}.virt"),
                    r.virt,
                    r.size,
                    "memory (guest-physical)",
                    true,
                );
            }
        }
        let v = &c.vpci;
        if v.ecam_size != 0 {
            for (key, base, size, what) in [
                ("ecam_base", v.ecam_base, v.ecam_size, "vPCI ECAM window"),
                ("mmio_base", v.mmio_base, v.mmio_size, "vPCI MMIO window"),
            ] {
                let (file, field) = if cell_wrote(&written, ci, key) {
                    (sys_file, format!("cells[{ci}].vpci.{key}"))
                } else {
                    (&src.board.path, format!("vpci.{key}"))
                };
                report(file, field, base, size, what, true);
            }
        }
        let comm = (c.comm_region_ipa, COMM_REGION_SIZE as u64);
        report(
            sys_file,
            format!("cells[{ci}].comm_region_ipa"),
            comm.0,
            comm.1,
            "comm region",
            true,
        );
    }
    Ok(out)
}

/// Every cell's guest DTB built as `cellboot dtb` builds it (the loader's
/// code on the shim's inputs); each failure is a problem. The initrd's size
/// is its file's when readable (else 0: it moves addresses, not structure).
fn guest_builds(sys: &System, config: &Path, dtb: &Path, raw: &[u8]) -> Result<Vec<Problem>, Failure> {
    let board = match trim_board_dtb(raw) {
        Ok(b) => b,
        Err(m) => return Ok(vec![Problem::new(dtb, "", "", m)]),
    };
    let mut out = Vec::new();
    for ci in 0..sys.cell_names.len() {
        // A jailhouse-kind cell gets no device tree: nothing to build.
        if sys.config.cells.get(ci).is_some_and(cellboot_abi::is_jailhouse) {
            continue;
        }
        let initrd = guest::staged_initrd_size(sys, ci);
        match guest::build_cell(sys, ci, &board, config, dtb, initrd) {
            Ok(_) => {}
            Err(Failure::Problem(m)) => out.push(named(&m, config, dtb)),
            Err(f) => return Err(f),
        }
    }
    Ok(out)
}

/// A guest-build message `<file>: rest` as a problem of that file (the
/// system file or the DTB).
fn named(m: &str, config: &Path, dtb: &Path) -> Problem {
    for file in [config, dtb] {
        if let Some(rest) = m.strip_prefix(&format!("{}: ", file.display())) {
            return Problem::new(file, "", "", rest);
        }
    }
    Problem::new(dtb, "", "", m)
}

/// Whether the system file sets `cells[ci].vpci.<key>` (else the board's default applies).
fn cell_wrote(doc: &Option<toml::Value>, ci: usize, key: &str) -> bool {
    doc.as_ref()
        .and_then(|d| d.get("cells")?.get(ci)?.get("vpci")?.get(key))
        .is_some()
}

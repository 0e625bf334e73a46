//! `cellboot board new --dtb BOARD.dtb [-o DIR]`: a starting `board.toml`
//! and `linux-demo.toml` from a vendor DTB, then `check` on them (with the
//! DTB cross-check). Facts the DTB does not give are named (file + field)
//! and the command exits 1. See cli/README.md.

mod deps;
mod derive;
mod emit;
mod layout;
mod spis;
mod tree;

use crate::failure::{Failure, Outcome};
use crate::shim_staging::trim_board_dtb;
use crate::stdout::put;
use clap::Args;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "\
Examples:
  cellboot board new --dtb build/fixtures/qemu-virt.dtb -o boards/my-virt
  cellboot board new --dtb bcm2711-rpi-4-b.dtb --ram-size 0x8000_0000 -o boards/my-pi

Writes DIR/board.toml and DIR/linux-demo.toml (never over existing files
without --force), then runs `cellboot check DIR/linux-demo.toml --dtb DTB`.
Exit 1 names each fact the DTB does not give (file, field) for you to fill in.";

#[derive(Debug, Args)]
pub struct BoardNewArgs {
    /// The board's DTB (as its firmware passes it)
    #[arg(long)]
    pub dtb: PathBuf,
    /// Output directory [default: boards/<name>]
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Board name [default: the output directory's name, else the DTB's first compatible]
    #[arg(long)]
    pub name: Option<String>,
    /// RAM size in bytes, for DTBs whose firmware fills /memory in at boot
    #[arg(long, value_parser = crate::args::parse_size)]
    pub ram_size: Option<u64>,
    /// Kernel Image for linux-demo.toml (relative to the output directory)
    #[arg(long, default_value = "../../build/guest/generic/Image")]
    pub kernel: String,
    /// Initrd for linux-demo.toml (relative to the output directory)
    #[arg(long, default_value = "../../build/guest/initramfs.cpio.gz")]
    pub initrd: String,
    /// Overwrite existing files
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: &BoardNewArgs) -> Outcome {
    let raw = std::fs::read(&a.dtb).map_err(|e| Failure::io(&a.dtb, "read", e))?;
    let dtb_name = a.dtb.display().to_string();
    let blob = trim_board_dtb(&raw).map_err(|m| Failure::Problem(format!("{dtb_name}: {m}")))?;
    let fdt =
        cellfdt::Fdt::new(&blob).map_err(|e| Failure::Problem(format!("{dtb_name}: not a device tree: {e:?}")))?;
    let name = match (&a.name, &a.output) {
        (Some(n), _) => n.clone(),
        (None, Some(o)) => o
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Failure::Usage(format!("{}: give --name", o.display())))?,
        (None, None) => default_name(&fdt)
            .ok_or_else(|| Failure::Usage(format!("{dtb_name}: / has no compatible: give --name or -o")))?,
    };
    let out = a.output.clone().unwrap_or_else(|| Path::new("boards").join(&name));
    let mut facts = derive::derive(&fdt, a.ram_size).map_err(|m| Failure::Problem(format!("{dtb_name}: {m}")))?;
    let mut gaps = std::mem::take(&mut facts.gaps);
    let layout = layout::choose(&facts, &mut gaps);
    let board = emit::board(&name, &dtb_name, &facts, layout.as_ref(), &gaps);
    let paths = emit::Paths {
        kernel: &a.kernel,
        initrd: &a.initrd,
    };
    let demo = layout.as_ref().and_then(|l| emit::linux_demo(&facts, l, &paths));

    let board_path = out.join(derive::BOARD);
    let demo_path = out.join(DEMO);
    let mut files = vec![(board_path.clone(), board)];
    files.extend(demo.map(|d| (demo_path.clone(), d)));
    if !a.force
        && let Some((p, _)) = files.iter().find(|(p, _)| p.exists())
    {
        return Err(Failure::Usage(format!(
            "{}: exists (--force overwrites it)",
            p.display()
        )));
    }
    std::fs::create_dir_all(&out).map_err(|e| Failure::io(&out, "create", e))?;
    for (p, text) in &files {
        std::fs::write(p, text).map_err(|e| Failure::io(p, "write", e))?;
        put(&format!("wrote {}\n", p.display()))?;
    }
    if let Some(u) = facts.uart.as_ref().filter(|_| files.len() > 1) {
        for w in &u.disabled {
            eprintln!(
                "warning: {}: console {}: {w}: Linux will not bind it (give the cell the provider in an overlay)",
                demo_path.display(),
                u.path
            );
        }
    }
    if !gaps.is_empty() {
        for g in &gaps {
            eprintln!("error: {}: {}: {}", out.join(g.file).display(), g.field, g.need);
        }
        if files.len() == 1 {
            eprintln!(
                "error: {}: not written until board.toml is complete (run again with --force)",
                demo_path.display()
            );
        }
        let n = gaps.len();
        eprintln!("{n} fact{} to fill in", if n == 1 { "" } else { "s" });
        return Err(Failure::Problems);
    }
    crate::cmd_check::run(&demo_path, None, Some(&a.dtb), false)
}

/// The starting system file next to board.toml.
pub const DEMO: &str = "linux-demo.toml";

/// `vendor,board` -> `board`.
fn default_name(fdt: &cellfdt::Fdt<'_>) -> Option<String> {
    let c = tree::first_str(fdt, 0, "compatible")?;
    let n = c.rsplit(',').next()?;
    (!n.is_empty()).then(|| n.to_string())
}

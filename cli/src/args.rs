//! The command line (clap). Every subcommand's `--help` ends with examples.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const TOP_EXAMPLES: &str = "\
Examples:
  cellboot check boards/qemu-virt/linux-demo.toml
  cellboot check boards/qemu-virt/linux-demo.toml --dtb build/fixtures/qemu-virt.dtb --json
  cellboot dtb --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd-size 0x20_0000 -o guest.dtb
  cellboot dtb --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd-size 0x20_0000 --dts
  cellboot diff --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd-size 0x20_0000
  cellboot build boards/qemu-virt/linux-demo.toml -o system.bin
  cellboot board new --dtb build/fixtures/qemu-virt.dtb -o boards/my-virt

Exit status: 0 ok, 1 problems found (invalid config, guest DTB not buildable),
2 usage or I/O error.";

const DTB_EXAMPLES: &str = "\
Examples:
  cellboot dtb --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb -o guest.dtb
  cellboot dtb --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd build/guest/initramfs.cpio.gz --dts

The initrd's address in /chosen depends on its size (the shim stages the board
DTB, then the initrd, downwards from the top of the cell's first RAM region).
The size comes from --initrd-size, else --initrd, else the initrd file the
system config names.";

const DIFF_EXAMPLES: &str = "\
Examples:
  cellboot diff --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd-size 0x20_0000
  cellboot diff --system boards/qemu-virt/linux-demo.toml --cell linux \\
      --dtb build/fixtures/qemu-virt.dtb --initrd-size 0x20_0000 --dts

Lines: `+ node` added, `- node` removed, `~ node` changed; under a node,
`+ prop`, `- prop`, `~ prop: old -> new`; `status:` lines are status flips.";

const CHECK_EXAMPLES: &str = "\
Examples:
  cellboot check boards/qemu-virt/linux-demo.toml
  cellboot check boards/qemu-virt/linux-demo.toml --dtb build/fixtures/qemu-virt.dtb
  cellboot check my-system.toml --json | jq '.[].field'

Every problem is reported (file, TOML field, value, message), not only the first.";

const BUILD_EXAMPLES: &str = "\
Examples:
  cellboot build boards/qemu-virt/linux-demo.toml -o system.bin

Writes the same bytes `cargo xtask build` packs as the SYSCONFIG payload.";

#[derive(Debug, Parser)]
#[command(name = "cellboot", version, about = "Preview and validate what a cellboot cell will get, without booting", after_help = TOP_EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a cell's guest DTB exactly as the loader does
    #[command(after_help = DTB_EXAMPLES)]
    Dtb {
        #[command(flatten)]
        guest: GuestArgs,
        /// Write the guest DTB here
        #[arg(short = 'o', long = "output", required_unless_present = "dts")]
        output: Option<PathBuf>,
        /// Print the guest DTB as source (`dtc -I dtb -O dts`) on stdout
        #[arg(long)]
        dts: bool,
    },
    /// Show what the loader changes in the board DTB for a cell (structural diff)
    #[command(after_help = DIFF_EXAMPLES)]
    Diff {
        #[command(flatten)]
        guest: GuestArgs,
        /// Also print a unified diff of the two trees' dtc sources
        #[arg(long)]
        dts: bool,
    },
    /// Validate a system config the way the shim will
    #[command(after_help = CHECK_EXAMPLES)]
    Check {
        /// System file (boards/<board>/<system>.toml)
        config: PathBuf,
        /// Board file [default: board.toml beside the system file]
        #[arg(long)]
        board: Option<PathBuf>,
        /// Also check the cells' windows against this board DTB's devices
        #[arg(long)]
        dtb: Option<PathBuf>,
        /// Print the problems as a JSON array on stdout
        #[arg(long)]
        json: bool,
    },
    /// Write the binary system config the shim reads
    #[command(after_help = BUILD_EXAMPLES)]
    Build {
        /// System file (boards/<board>/<system>.toml)
        config: PathBuf,
        /// Board file [default: board.toml beside the system file]
        #[arg(long)]
        board: Option<PathBuf>,
        /// Output file
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Turn Jailhouse binary cell configs (.cell) into a system file
    #[command(after_help = IMPORT_EXAMPLES)]
    ImportJailhouse {
        /// Jailhouse cell configs (revision 14, arm64), one per cell
        #[arg(required = true)]
        cells: Vec<PathBuf>,
        /// Write the system file here [default: stdout]
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Bring up a board: generate its config from its DTB
    #[command(subcommand)]
    Board(BoardCommand),
}

#[derive(Debug, Subcommand)]
pub enum BoardCommand {
    /// Write board.toml and a starting linux-demo.toml from the board's DTB
    #[command(after_help = crate::board_new::EXAMPLES)]
    New(crate::board_new::BoardNewArgs),
}

const IMPORT_EXAMPLES: &str = "\
Examples:
  cellboot import-jailhouse qemu-arm64-gic-demo.cell -o boards/qemu-virt/gic-demo.toml
  cellboot import-jailhouse ivshmem-a.cell ivshmem-b.cell > boards/qemu-virt/ivshmem.toml

Each cell becomes a `jailhouse`-kind cell (memory regions, SPIs, vPCI IRQ base,
reset address, comm region); ivshmem devices whose memory the cells share
become one link. Set each cell's `images`, then run `cellboot check`.";

/// What the loader of one cell gets: config, board DTB, staged initrd.
#[derive(Debug, Args)]
pub struct GuestArgs {
    /// System file (boards/<board>/<system>.toml)
    #[arg(long)]
    pub system: PathBuf,
    /// Board file [default: board.toml beside the system file]
    #[arg(long)]
    pub board: Option<PathBuf>,
    /// Cell name [default: the only cell]
    #[arg(long)]
    pub cell: Option<String>,
    /// Board DTB (as the firmware passes it to the shim)
    #[arg(long)]
    pub dtb: PathBuf,
    /// Initrd file whose size decides where the shim stages it
    #[arg(long, conflicts_with = "initrd_size")]
    pub initrd: Option<PathBuf>,
    /// Initrd size in bytes (decimal or 0x hex, `_` allowed)
    #[arg(long, value_parser = parse_size)]
    pub initrd_size: Option<u64>,
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|e| format!("{s:?} is not a size in bytes: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0x20_0000"), Ok(0x20_0000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("4k").is_err());
        assert!(parse_size("").is_err());
    }
}

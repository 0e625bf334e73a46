//! The command line.

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples (on a cell whose config says manage = [\"rtos\"]):
  cellctl list                          every cell: state, CPUs, RAM, restarts
  cellctl stats rtos                    the shim's trap counters for rtos
  cellctl stats rtos --json             the same for scripts
  cellctl stop rtos                     park its CPUs, empty its stage 2
  cellctl load rtos rtos-v2.bin         copy an image to where its boot runs it
  cellctl load rtos app.bin --ipa 0x6140_0000 --start
  cellctl start rtos                    boot it again (the loaded image, else its payloads)
  cellctl restart rtos                  stop + start
  cellctl restart rtos --wait           ... and time it to the cell's first console line

Exit codes: 0 ok, 1 the management function refused (the shim logs it with
this cell's name), 2 usage or I/O error (no function: this cell has no grant).";

#[derive(Debug, Parser)]
#[command(name = "cellctl", version, about = "Manage cellboot cells at run time from this cell's Linux", after_help = EXAMPLES)]
pub struct Cli {
    /// Machine-readable output (one JSON document on stdout).
    #[arg(long, global = true)]
    pub json: bool,
    /// Also print how long the command took (`time_us=N`, wall clock).
    #[arg(long, global = true)]
    pub time: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Every cell of the system, with its state.
    List,
    /// The shim's per-cell counters (exits by kind, doorbells).
    Stats {
        /// Cell name (or index).
        cell: String,
    },
    /// Stop a running cell: its CPUs parked, its stage 2 emptied; its
    /// ivshmem peers see its state go to 0.
    Stop { cell: String },
    /// Boot a stopped cell again.
    Start { cell: String },
    /// Stop (if running), then start.
    Restart {
        cell: String,
        /// Wait for the cell's first console line (its first hypercall
        /// after the start) and say how long it took.
        #[arg(long)]
        wait: bool,
    },
    /// Copy an image into a stopped cell through the staging window.
    Load {
        cell: String,
        /// The image file (raw binary, arm64 Linux Image or Jailhouse inmate).
        image: std::path::PathBuf,
        /// Target IPA (default: where the cell's boot runs its kernel;
        /// 0 for a Jailhouse-kind cell).
        #[arg(long, value_parser = parse_ipa)]
        ipa: Option<u64>,
        /// Start the cell after loading.
        #[arg(long)]
        start: bool,
        /// Add to the images loaded before instead of replacing them
        /// (Jailhouse-kind cells take several).
        #[arg(long)]
        add: bool,
    },
    /// Forget loaded images: the next start boots the config's payloads.
    Unload { cell: String },
}

fn parse_ipa(s: &str) -> Result<u64, String> {
    crate::sysfs::parse_number(s).ok_or_else(|| format!("{s:?} is not a number (decimal or 0x hex)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cellctl").chain(a.iter().copied()))
    }

    #[test]
    fn commands_parse() {
        let c = parse(&["stats", "rtos", "--json"]).unwrap();
        assert!(c.json);
        assert_eq!(c.command, Command::Stats { cell: "rtos".into() });
        let c = parse(&["load", "rtos", "v2.bin", "--ipa", "0x6120_0000", "--start"]).unwrap();
        assert_eq!(
            c.command,
            Command::Load {
                cell: "rtos".into(),
                image: "v2.bin".into(),
                ipa: Some(0x6120_0000),
                start: true,
                add: false
            }
        );
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["stop"]).is_err());
        let e = parse(&["load", "rtos", "x", "--ipa", "zz"]).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn help_has_examples_and_exit_codes() {
        let h = parse(&["--help"]).unwrap_err().to_string();
        assert!(h.contains("cellctl load rtos") && h.contains("Exit codes"), "{h}");
    }
}

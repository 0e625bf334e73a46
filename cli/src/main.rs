//! `cellboot`: preview and validate what a cell gets, on the host, with the
//! code the firmware runs (config crate + `cellboot_abi::validate` for
//! configs, the loader's `build_guest_dtb` for guest DTBs). See README.md.

use cellboot::args::{self, Cli, Command};
use cellboot::failure::Failure;
use cellboot::{board_new, cmd_build, cmd_check, cmd_diff, cmd_dtb, cmd_import, problem};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Dtb { guest, output, dts } => cmd_dtb::run(guest, output.as_deref(), *dts),
        Command::Diff { guest, dts } => cmd_diff::run(guest, *dts),
        Command::Check {
            config,
            board,
            dtb,
            json,
        } => cmd_check::run(config, board.as_deref(), dtb.as_deref(), *json),
        Command::Build { config, board, output } => cmd_build::run(config, board.as_deref(), output),
        Command::Board(args::BoardCommand::New(a)) => board_new::run(a),
        Command::ImportJailhouse { cells, output } => cmd_import::run(cells, output.as_deref()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !matches!(f, Failure::Problems) {
                let kind = if matches!(f, Failure::Problem(_)) {
                    "error"
                } else {
                    "cellboot"
                };
                eprintln!("{kind}: {}", problem::escape_controls(&f.to_string(), true));
            }
            f.exit_code()
        }
    }
}

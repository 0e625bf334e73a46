//! `cellboot`: preview and validate what a cell gets, on the host, with the
//! code the firmware runs (config crate + `cellboot_abi::validate` for
//! configs, the loader's `build_guest_dtb` for guest DTBs). See README.md.

mod args;
mod board_new;
mod board_vs_dtb;
mod cmd_build;
mod cmd_check;
mod cmd_diff;
mod cmd_import;
mod cmd_dtb;
mod config_input;
mod dtb_devices;
mod dtc;
mod failure;
mod guest;
mod jailhouse_cell;
mod input_file;
mod link_report;
mod problem;
mod prop_format;
mod shim_staging;
mod stdout;
mod tree_diff;

use args::{Cli, Command};
use clap::Parser;
use failure::Failure;
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
        Command::Build {
            config,
            board,
            output,
        } => cmd_build::run(config, board.as_deref(), output),
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

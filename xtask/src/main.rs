//! `cargo xtask`: the one entry point for building, running and testing cellboot.

mod assemble;
mod cmd;
mod firmware;
mod image;
mod paths;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test cellboot")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile boards/<board>/<system>.toml, build shim + loader and pack build/<board>/cellboot.img
    Build {
        #[arg(long, default_value = "qemu-virt")]
        board: String,
        #[arg(long, default_value = "linux-demo")]
        system: String,
        #[arg(long)]
        release: bool,
    },
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Build { board, system, release } => {
            assemble::build(&assemble::BuildOpts { board: &board, system: &system, release })?;
        }
    }
    Ok(())
}

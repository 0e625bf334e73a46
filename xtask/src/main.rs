//! `cargo xtask`: the one entry point for building, running and testing cellboot.

mod assemble;
mod bench;
mod board_new_case;
mod cmd;
mod cpio;
mod e2e;
mod el3;
mod fetch;
mod firmware;
mod gates;
mod hostile;
mod image;
mod initramfs;
mod jailhouse_e2e;
mod manage;
mod manifest;
mod partition;
mod paths;
mod qemu_runner;
mod qemu_settings;
mod test_cmd;
mod toolchain;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test cellboot")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Which image `build` and `run` make.
#[derive(Args)]
struct ImageArgs {
    #[arg(long, default_value = "qemu-virt")]
    board: String,
    #[arg(long, default_value = "linux-demo")]
    system: String,
    #[arg(long)]
    release: bool,
    /// For a real board (`build` only): cell RAM in 2 MiB stage-2 blocks
    /// where aligned, not the 4 KiB pages QEMU's TLB model wants (docs/boot-time.md)
    #[arg(long)]
    hardware: bool,
}

impl ImageArgs {
    /// The inmates and partition initramfs first for systems that need them.
    fn build(&self) -> Result<std::path::PathBuf> {
        let ImageArgs {
            board, system, release, ..
        } = self;
        if system == manage::SYSTEM {
            manage::prepare(board, *release)?;
        } else if partition::SYSTEMS.contains(&system.as_str()) {
            partition::prepare(board, *release)?;
        }
        assemble::build(&assemble::BuildOpts {
            board,
            system,
            release: *release,
        })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Download the guest kernels and busybox (Debian arm64), write build/guest/* and the DTB fixtures
    Fetch,
    /// Build build/guest/initramfs.cpio.gz (busybox-static + qemu/init.sh as /init)
    Initramfs,
    /// Compile boards/<board>/<system>.toml, build shim + loader and pack build/<board>/cellboot.img
    Build(ImageArgs),
    /// fetch + initramfs + build, then boot the image in QEMU on this terminal (Ctrl-A x quits)
    Run(ImageArgs),
    /// The test suite: fmt and clippy gates, fetch, cargo test --workspace, firmware builds and their size budgets, end-to-end QEMU boots
    Test {
        #[arg(long, default_value = "qemu-virt")]
        board: String,
        /// Run only these e2e cases (linux-demo, cli-preview, bad-sysconfig-checksum, bad-sysconfig-overlap, bad-board-dtb, bad-overlay, two-cell, hostile; <board>/<case> such as rpi4b/two-cell runs a case on another board)
        #[arg(long = "case")]
        cases: Vec<String>,
        /// Skip the fmt and clippy gates and `cargo test --workspace`
        #[arg(long)]
        no_unit: bool,
        /// Stop after the firmware builds
        #[arg(long)]
        no_e2e: bool,
        /// Boot release firmware in the e2e cases
        #[arg(long)]
        release: bool,
    },
    /// Benchmarks: fdt-bench, boot time vs direct QEMU boot (median of 5), release sizes vs targets, ivshmem round trips, ECAM reads trapped vs direct
    Bench {
        #[arg(long, default_value = "qemu-virt")]
        board: String,
        /// Run only this bench (boot: shim+loader vs direct boot time; ecam: config reads, trapped vs direct; rtt: ivshmem round trips on the board's two-cell system; size: shim and loader release sizes against their budgets; fdt: the FDT library tables and the firmware sizes)
        #[arg(long)]
        only: Option<String>,
        /// With --only boot: firmware with counter timestamps at each boot phase, and their table
        #[arg(long)]
        phases: bool,
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
        Cmd::Fetch => fetch::fetch()?,
        Cmd::Initramfs => {
            initramfs::initramfs()?;
        }
        Cmd::Build(image) => {
            toolchain::ensure()?;
            if image.hardware {
                firmware::build_for_hardware();
            }
            image.build()?;
        }
        Cmd::Run(image) => {
            if image.hardware {
                anyhow::bail!("`run` boots QEMU: --hardware is for `build`");
            }
            toolchain::ensure()?;
            fetch::fetch()?;
            initramfs::initramfs()?;
            let img = image.build()?;
            let q = qemu_settings::load(&image.board)?;
            let mut c = q.boot_command(None);
            c.arg("-kernel").arg(&img);
            cmd::step("booting (QEMU monitor: Ctrl-A c, quit: Ctrl-A x)");
            if !q.exits_on_poweroff {
                eprintln!(
                    "    note: QEMU {} does not exit on poweroff: quit with Ctrl-A x",
                    q.machine
                );
            }
            cmd::run(&mut c)?;
        }
        Cmd::Test {
            board,
            cases,
            no_unit,
            no_e2e,
            release,
        } => {
            toolchain::ensure()?;
            test_cmd::test(&test_cmd::TestOpts {
                board,
                cases,
                no_unit,
                no_e2e,
                release,
            })?;
        }
        Cmd::Bench { board, only, phases } => {
            toolchain::ensure()?;
            bench::bench(&board, only.as_deref(), phases)?
        }
    }
    Ok(())
}

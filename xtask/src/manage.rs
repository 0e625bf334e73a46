//! Run-time cell management (docs/management.md): `cellctl` built for
//! aarch64-unknown-linux-musl, a second rtos-demo build that reports
//! version 2, the manage initramfs (the partition one plus both and
//! qemu/manage.sh) and the `manage` case on both boards: Linux lists the
//! cells, reads the rtos cell's counters, stops it, loads the v2 build,
//! starts it and runs the ivshmem round trip again against it.

use crate::partition::{self, Kernel};
use crate::qemu_runner::Case;
use crate::{assemble, cmd, fetch, firmware, paths, qemu_settings};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// The system file (boards/<board>/manage.toml) and the case name.
pub const SYSTEM: &str = "manage";
/// cellctl's target: a static Linux program (rust-toolchain.toml pins it,
/// .cargo/config.toml links it with rust-lld and the target's own musl).
pub const CELLCTL_TARGET: &str = "aarch64-unknown-linux-musl";

/// build/inmates/cellctl (always the release build: it ships in an initramfs).
pub fn cellctl() -> Result<PathBuf> {
    cmd::step(&format!("building cellctl for {CELLCTL_TARGET}"));
    let mut c = cmd::cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "cellctl",
        "--bin",
        "cellctl",
        "--target",
        CELLCTL_TARGET,
        "--message-format=json-render-diagnostics",
    ]);
    let exe = firmware::executable(c, "cellctl")?;
    let out = paths::build().join("inmates").join("cellctl");
    std::fs::create_dir_all(out.parent().context("build/inmates")?)?;
    fetch::write_if_changed(&out, &std::fs::read(&exe)?)?;
    Ok(out)
}

/// build/inmates/rtos-demo-v2.bin: rtos-demo with feature `demo-v2` (cargo
/// keeps it apart from the v1 build: features are part of its hash).
pub fn rtos_demo_v2(release: bool) -> Result<PathBuf> {
    cmd::step("building rtos-demo version 2 (feature demo-v2)");
    let mut c = cmd::cargo();
    c.args([
        "build",
        "--target",
        firmware::TARGET,
        "-p",
        "cellboot-inmates",
        "--bin",
        "rtos-demo",
        "--features",
        "demo-v2",
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        c.arg("--release");
    }
    let exe = firmware::executable(c, "rtos-demo")?;
    let dir = paths::build().join("inmates");
    let bin = firmware::to_binary(&exe, &dir.join("rtos-demo-v2.bin.tmp"))?;
    let out = dir.join("rtos-demo-v2.bin");
    fetch::write_if_changed(&out, &bin)?;
    Ok(out)
}

/// build/guest/initramfs-manage[-generic].cpio.gz (manage.toml names it).
pub fn initramfs_path(kernel: Kernel) -> PathBuf {
    match kernel {
        Kernel::Cloud => paths::guest().join("initramfs-manage.cpio.gz"),
        Kernel::Generic => paths::guest().join("initramfs-manage-generic.cpio.gz"),
    }
}

/// Everything `board`'s manage.toml names: the partition payloads, then
/// cellctl, rtos-demo v2 and the manage initramfs.
pub fn prepare(board: &str, release: bool) -> Result<()> {
    partition::prepare(board, release)?;
    let kernel = Kernel::for_board(board)?;
    let tool = std::fs::read(cellctl()?)?;
    let v2 = std::fs::read(rtos_demo_v2(release)?)?;
    let script = paths::root().join("qemu/manage.sh");
    let script = std::fs::read(&script).with_context(|| format!("cannot read {}", paths::show(&script)))?;
    cmd::step(&format!(
        "initramfs (manage, {} kernel): the partition one + cellctl + rtos-demo-v2.bin + manage.sh",
        kernel.name()
    ));
    partition::initramfs_with(
        kernel,
        &initramfs_path(kernel),
        &[
            ("bin/cellctl", 0o755, tool),
            ("rtos-demo-v2.bin", 0o644, v2),
            ("manage.sh", 0o755, script),
        ],
    )?;
    Ok(())
}

/// What the Linux cell shows after the peer test, in order: each refusal
/// (`cellboot.manage_hostile=1`) as the shim logs it, then as cellctl's
/// exit code 1 shows it.
const MANAGE: &[&str] = &[
    "CELLBOOT: cellctl list ok",
    "CELLBOOT: cellctl stats ok",
    "cell linux: mgmt LOAD of cell rtos refused: the cell is running: stop it first (status 6)",
    "CELLBOOT: mgmt refused load into a running cell (exit 1)",
    "cell linux: mgmt STOP of cell rtos: done",
    "CELLBOOT: rtos stopped, its ivshmem state 0",
    "cell linux: mgmt LOAD of cell rtos refused: the image range is not inside one of the cell's RAM regions (status 8)",
    "CELLBOOT: mgmt refused load outside the target's RAM (exit 1)",
    "cell linux: mgmt LOAD of cell rtos refused: the image range is not inside one of the cell's RAM regions (status 8)",
    "CELLBOOT: mgmt refused load over the shim (exit 1)",
    "cell linux: mgmt LOAD of cell rtos refused: the image is larger than the staging window (status 9)",
    "CELLBOOT: mgmt refused image larger than the window (exit 1)",
    "cell linux: mgmt LOAD of cell rtos: done",
    "CELLBOOT: cellctl load ok",
    "cell linux: mgmt START of cell rtos: done",
    "CELLBOOT: cellctl start ok",
];

/// The case on `board`: the two-cell markers, then [`MANAGE`], the rtos
/// coming up as version 2, the round trip again, Linux's own end.
pub fn case(board: &str, release: bool) -> Result<Case> {
    prepare(board, release)?;
    let sys = assemble::load_system(board, SYSTEM)?;
    let shim = sys.config.hypervisor.phys;
    let extra = format!(" cellboot.rtt=3 cellboot.rtt_native=20 cellboot.manage_hostile=1 cellboot.shim={shim:#x}");
    let img = partition::image_with(board, SYSTEM, release, &extra, SYSTEM)?;
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    c.arg("-kernel").arg(img);
    let up = partition::rtos_up(&sys)?;
    let mut expect = up.clone();
    let peer = partition::LINUX_PEER;
    let canary = peer
        .iter()
        .position(|m| m.starts_with("CELLBOOT: shmem canary"))
        .context("LINUX_PEER has no canary marker")?;
    expect.extend(partition::strings(&peer[..=canary]));
    expect.extend(partition::strings(MANAGE));
    // The restarted rtos: its first lines, then serving as version 2.
    expect.extend(up[..2].iter().cloned());
    expect.push("(version 2)".into());
    // (Not "peer 1 ready" again: the new rtos's first periodic-task line
    // lands on the shared UART just then and can split it.)
    expect.extend(partition::strings(&[
        "CELLBOOT: ivshmem round trip ok",
        "CELLBOOT: shmem canary intact",
        "CELLBOOT: manage ok",
    ]));
    expect.extend(partition::strings(&peer[canary + 1..]));
    let mut fail_on = partition::strings(partition::FAIL_ON);
    fail_on.extend(partition::strings(&["restart failed", "mgmt: start of rtos failed"]));
    let name = if board == "qemu-virt" {
        SYSTEM.to_string()
    } else {
        format!("{board}-{SYSTEM}")
    };
    Ok(Case {
        name,
        qemu: c,
        expect,
        fail_on,
        timeout: Duration::from_secs(300),
    })
}

/// `xtask bench --only manage` figures: (bytes, median µs) of a
/// window-sized `cellctl load`, and (n, median µs, max µs) of `cellctl
/// restart rtos --wait` to the rtos cell's first console line.
pub struct Bench {
    pub load: (u64, u64),
    pub restart: (u32, u64, u64),
}

/// One release boot of the manage system with `cellboot.manage_bench=n`.
pub fn bench(board: &str, n: u32) -> Result<Bench> {
    prepare(board, true)?;
    let sys = assemble::load_system(board, SYSTEM)?;
    let ri = sys
        .cell_names
        .iter()
        .position(|c| c == "rtos")
        .context("no cell rtos")?;
    let ram = sys.config.cells[ri]
        .mem_regions()
        .iter()
        .find(|r| r.flags & cellboot_abi::mem::RAM != 0)
        .copied()
        .context("the rtos cell has no RAM")?;
    let linux = &sys.config.cells[0];
    let window = linux
        .staging_window()
        .context("the Linux cell has no staging window")?
        .size;
    // The window-sized image at the top of the rtos cell's RAM.
    let ipa = ram.virt
        + ram
            .size
            .checked_sub(window)
            .context("rtos RAM smaller than the window")?;
    let extra =
        format!(" cellboot.rtt=3 cellboot.rtt_native=20 cellboot.manage_bench={n} cellboot.manage_bench_ipa={ipa:#x}");
    let img = partition::image_with(board, SYSTEM, true, &extra, "manage-bench")?;
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    c.arg("-kernel").arg(img);
    let name = format!("bench-{board}-manage");
    let o = crate::qemu_runner::run(Case {
        name: name.clone(),
        qemu: c,
        expect: partition::strings(&[
            "CELLBOOT: manage ok",
            "CELLBOOT: load-bench ",
            "CELLBOOT: restart-bench ",
        ]),
        fail_on: partition::strings(partition::FAIL_ON),
        timeout: Duration::from_secs(900),
    })?;
    if !o.passed {
        anyhow::bail!("{name}: {}\n{}", o.detail, crate::qemu_runner::tail(&o.log, 30));
    }
    parse_bench(&std::fs::read_to_string(&o.log)?).context("no load-bench / restart-bench lines in the log")
}

fn parse_bench(log: &str) -> Option<Bench> {
    let line = |m: &str| log.lines().find_map(|l| l.split(m).nth(1));
    let field = |l: &str, k: &str| {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (load, restart) = (line("CELLBOOT: load-bench ")?, line("CELLBOOT: restart-bench ")?);
    Some(Bench {
        load: (field(load, "bytes=")?, field(load, "median_us=")?),
        restart: (
            field(restart, "n=")? as u32,
            field(restart, "median_us=")?,
            field(restart, "max_us=")?,
        ),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_bench_lines() {
        let log = "x\r\nCELLBOOT: load-bench bytes=8388608 n=5 median_us=250000\r\nCELLBOOT: restart-bench n=20 median_us=31000 max_us=52000\r\n";
        let b = super::parse_bench(log).unwrap();
        assert_eq!(b.load, (8388608, 250000));
        assert_eq!(b.restart, (20, 31000, 52000));
        assert!(super::parse_bench("CELLBOOT: load-bench bytes=1 median_us=2\n").is_none());
    }
}

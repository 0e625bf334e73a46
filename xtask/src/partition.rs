//! Partitioned deployments (issue 8): the bare-metal inmates (inmates/), the
//! partition initramfs (init.sh + qemu/ivshmem-peer.sh + uio modules), the
//! end-to-end cases `two-cell` (Linux + rtos-demo over ivshmem) and
//! `hostile` (plus an attacker cell: containment table, fatal-fault
//! isolation), `ecam-fast` (the ecam-bench inmate's check of the shim's
//! config reads from the read-only mapped ECAM pages), the ivshmem round-trip
//! bench and the ECAM config-read bench (boards/qemu-virt/ecam-bench.toml).

use crate::qemu_runner::{self, Case};
use crate::{assemble, cmd, e2e, fetch, firmware, manifest, paths, qemu_settings};
use anyhow::{Context, Result, bail};
use cellboot_abi::zerocopy::IntoBytes;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

pub const CASES: &[&str] = &[
    "two-cell",
    "hostile",
    "ecam-fast",
    "two-cell-reset",
    "jailhouse-demo",
    crate::manage::SYSTEM,
];
/// System files whose payloads this module builds (inmates, partition initramfs).
pub const SYSTEMS: &[&str] = &["two-cell", "hostile", "ecam-bench", "jailhouse-demo"];
const INMATES: &[&str] = &["rtos-demo", "attacker", "ecam-bench", "jh-conform"];
/// The Linux-side round-trip timer (static arm64 ELF, inmates/src/bin/ivshmem-rtt.rs).
const LINUX_TOOL: &str = "ivshmem-rtt";

/// build/inmates/<name>.bin for every inmate (the system files point there).
pub fn inmates(release: bool) -> Result<()> {
    cmd::step(&format!(
        "building the inmates for {} ({})",
        firmware::TARGET,
        if release { "release" } else { "debug" }
    ));
    let mut c = cmd::cargo();
    c.args([
        "build",
        "--target",
        firmware::TARGET,
        "--message-format=json-render-diagnostics",
        "-p",
        "cellboot-inmates",
        "--bins",
    ]);
    if release {
        c.arg("--release");
    }
    c.stderr(std::process::Stdio::inherit());
    let out = c.output().context("cannot run cargo build for the inmates")?;
    if !out.status.success() {
        bail!("building cellboot-inmates failed: {}", out.status);
    }
    let dir = paths::build().join("inmates");
    std::fs::create_dir_all(&dir)?;
    let mut found = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(name)) = (msg["executable"].as_str(), msg["target"]["name"].as_str()) else {
            continue;
        };
        if name == LINUX_TOOL {
            // A static Linux ELF: it goes into the initramfs as it is.
            fetch::write_if_changed(&dir.join(name), &std::fs::read(exe)?)?;
            found += 1;
        } else if INMATES.contains(&name) {
            let bin = firmware::to_binary(std::path::Path::new(exe), &dir.join(format!("{name}.bin.tmp")))?;
            fetch::write_if_changed(&dir.join(format!("{name}.bin")), &bin)?;
            found += 1;
        }
    }
    if found != INMATES.len() + 1 {
        bail!("cargo reported {found} of {} inmate executables", INMATES.len() + 1);
    }
    Ok(())
}

/// Which Debian kernel a partition initramfs's modules must match: the
/// cloud kernel (QEMU virt) or the generic one (Raspberry Pi 4).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kernel {
    Cloud,
    Generic,
}

impl Kernel {
    /// The kernel the board's two-cell system boots (its Linux cell's
    /// kernel path names the flavour: build/guest/<flavour>/Image).
    pub fn for_board(board: &str) -> Result<Kernel> {
        let sys = assemble::load_system(board, "two-cell")?;
        let kernel = sys.config.cells[0].boot.kernel as usize;
        let path = match sys.payloads.get(kernel).map(|p| &p.source) {
            Some(cellboot_config::PayloadSource::File(f)) => f.clone(),
            _ => bail!("{board}/two-cell.toml: the Linux cell has no kernel file"),
        };
        match path.parent().and_then(|d| d.file_name()).and_then(|n| n.to_str()) {
            Some("cloud") => Ok(Kernel::Cloud),
            Some("generic") => Ok(Kernel::Generic),
            _ => bail!(
                "{}: not build/guest/cloud/Image or build/guest/generic/Image",
                path.display()
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Cloud => "cloud",
            Kernel::Generic => "generic",
        }
    }

    /// This flavour's kernel package, as `xtask fetch` resolved it.
    fn package(self) -> Result<manifest::Entry> {
        let m = manifest::load()?;
        Ok(match self {
            Kernel::Cloud => m.cloud,
            Kernel::Generic => m.generic,
        })
    }

    /// build/guest/initramfs-partition[-generic].cpio.gz (the system files name it).
    pub fn initramfs(self) -> PathBuf {
        match self {
            Kernel::Cloud => paths::guest().join("initramfs-partition.cpio.gz"),
            Kernel::Generic => paths::guest().join("initramfs-partition-generic.cpio.gz"),
        }
    }
}

/// uio.ko and uio_pci_generic.ko from the kernel package `xtask fetch`
/// downloaded (exactly those two files of it).
fn uio_modules(kernel: Kernel) -> Result<Vec<(String, Vec<u8>)>> {
    let pkg = kernel.package()?;
    let deb = pkg.deb_path();
    let name = pkg.package.clone();
    let kver = pkg
        .kernel_release
        .clone()
        .with_context(|| format!("{}: {name} has no kernel_release", paths::show(&manifest::path())))?;
    let out = paths::guest().join("uio").join(kernel.name());
    let members: Vec<String> = ["uio", "uio_pci_generic"]
        .iter()
        .map(|m| format!("lib/modules/{kver}/kernel/drivers/uio/{m}.ko"))
        .collect();
    std::fs::create_dir_all(&out)?;
    let stamp = out.join(".extracted");
    let stamp_text = format!("{}\n{}\n", pkg.deb, pkg.sha256);
    let have =
        std::fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text) && members.iter().all(|m| out.join(m).exists());
    if !have {
        // A new kernel's modules replace the old ones entirely.
        std::fs::remove_dir_all(&out)?;
        std::fs::create_dir_all(&out)?;
        fetch::untar(&deb, &out, &members)?;
        std::fs::write(&stamp, &stamp_text)?;
    }
    members
        .iter()
        .map(|m| {
            let data = std::fs::read(out.join(m)).with_context(|| format!("{m} missing from {name}"))?;
            Ok((m.rsplit('/').next().unwrap().to_string(), data))
        })
        .collect()
}

/// The partition initramfs for `kernel`: the e2e initramfs plus the
/// Linux-side peer program and that kernel's uio modules.
pub fn initramfs(kernel: Kernel) -> Result<PathBuf> {
    cmd::step(&format!(
        "initramfs (partition, {} kernel): busybox + init.sh + ivshmem-peer.sh + uio modules",
        kernel.name()
    ));
    initramfs_with(kernel, &kernel.initramfs(), &[])
}

/// The partition initramfs plus `extra` files (path, mode, bytes), written to `out`.
pub fn initramfs_with(kernel: Kernel, out: &std::path::Path, extra: &[(&str, u32, Vec<u8>)]) -> Result<PathBuf> {
    let read = |p: PathBuf| {
        std::fs::read(&p).with_context(|| format!("cannot read {}: run `cargo xtask fetch`", paths::show(&p)))
    };
    let busybox = read(manifest::load()?.busybox.file("busybox")?)?;
    let init = read(paths::root().join("qemu/init.sh"))?;
    let peer = read(paths::root().join("qemu/ivshmem-peer.sh"))?;
    let mut c = crate::initramfs::busybox_base(&busybox, &init, &["lib", "lib/modules"]);
    c.file("ivshmem-peer.sh", 0o755, &peer);
    c.file(
        "bin/ivshmem-rtt",
        0o755,
        &read(paths::build().join("inmates").join(LINUX_TOOL))?,
    );
    for (name, data) in uio_modules(kernel)? {
        c.file(&format!("lib/modules/{name}"), 0o644, &data);
    }
    for (name, mode, data) in extra {
        c.file(name, *mode, data);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&c.finish())?;
    fetch::write_if_changed(out, &gz.finish()?)?;
    Ok(out.to_path_buf())
}

/// Everything `board`'s partition systems' payload paths name.
pub fn prepare(board: &str, release: bool) -> Result<()> {
    inmates(release)?;
    initramfs(Kernel::for_board(board)?)?;
    Ok(())
}

pub(crate) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// What the rtos cell of `sys` prints while it comes up, in order: on its
/// CPU, its BAR0 at the start of its vPCI MEM window, the timer PPI.
pub(crate) fn rtos_up(sys: &cellboot_config::System) -> Result<Vec<String>> {
    let ri = sys
        .cell_names
        .iter()
        .position(|n| n == "rtos")
        .context("the system has no cell named rtos")?;
    let cell = &sys.config.cells[ri];
    let cpu = (0..64)
        .find(|&c| cell.cpu_mask & 1 << c != 0)
        .context("the rtos cell has no CPU")?;
    let mpidr = sys.config.board.mpidr[cpu] & 0xff_ffff;
    Ok(vec![
        format!("[rtos] rtos-demo: up on MPIDR {mpidr:#x}"),
        format!(
            "[rtos] rtos-demo: ivshmem 00:00.0 BAR0 {:#x} id 1/2",
            cell.vpci.mmio_base
        ),
        "[rtos] rtos-demo: timer INTID 27 at 100 Hz".into(),
    ])
}

/// The Linux cell's markers with the peer test (qemu/ivshmem-peer.sh).
pub(crate) const LINUX_PEER: &[&str] = &[
    "CELLBOOT: pci-node ok",
    "CELLBOOT: ivshmem 110a:4106 at ",
    "CELLBOOT: bar0 id=0 max_peers=2",
    "CELLBOOT: shmem pattern ok",
    "CELLBOOT: ivshmem driver uio_pci_generic bound",
    "CELLBOOT: ivshmem peer 1 ready",
    "CELLBOOT: ivshmem round trip ok",
    "CELLBOOT: ivshmem interrupts ",
    "CELLBOOT: rtt n=",
    "CELLBOOT: rtt-native n=",
    "[rtos] rtos-demo: served ",
    "CELLBOOT: shmem canary intact",
    "CELLBOOT: cpus=2 ",
    "CELLBOOT: cpu hotplug ok",
    "CELLBOOT: done",
];

pub(crate) const FAIL_ON: &[&str] = &[
    "CELLBOOT: FAIL",
    "Kernel panic",
    "rtos-demo: FAIL",
    "rtos-demo: exception",
    "cell linux: denied",
    "cell rtos: denied",
    "internal error",
    "PANIC",
    e2e::SYSCONFIG_INVALID,
    e2e::BOARD_DTB_INVALID,
];

/// Image for `system` with the Linux cell's round-trip counts (shell loop,
/// ivshmem-rtt program).
fn image(board: &str, system: &str, release: bool, rtt: u32, rtt_native: u32) -> Result<PathBuf> {
    image_with(
        board,
        system,
        release,
        &format!(" cellboot.rtt={rtt} cellboot.rtt_native={rtt_native}"),
        system,
    )
}

/// [`image`] with `extra` appended to the Linux cell's bootargs, written as
/// `e2e-<name>.img`.
pub(crate) fn image_with(board: &str, system: &str, release: bool, extra: &str, name: &str) -> Result<PathBuf> {
    prepare(board, release)?;
    let sys = assemble::load_system(board, system)?;
    let bins = assemble::binaries(&sys, release)?;
    let mut cfg = sys.config;
    let boot = &mut cfg.cells[0].boot;
    assemble::append_bootargs(&mut boot.bootargs, extra)?;
    cfg.seal();
    let img = paths::board_out(board).join(format!("e2e-{name}.img"));
    assemble::write(&assemble::pack(&sys, &bins, Some(cfg.as_bytes().to_vec()))?, &img)?;
    Ok(img)
}

pub fn case(name: &str, board: &str, release: bool) -> Result<Case> {
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    let (expect, fail_on) = match name {
        "two-cell" => {
            c.arg("-kernel").arg(image(board, "two-cell", release, 20, 200)?);
            let mut e = rtos_up(&assemble::load_system(board, "two-cell")?)?;
            e.extend(strings(LINUX_PEER));
            (e, strings(FAIL_ON))
        }
        "two-cell-reset" => {
            // The Linux cell reboots (PSCI SYSTEM_RESET) after its round
            // trips; the rtos cell runs on untouched and serves the
            // restarted Linux as before (docs/cell-reset.md).
            // reboot=s1: Linux resets from CPU 1, so the shim restarts the
            // boot CPU through CPU_ON (cell-reset covers the boot CPU's own call).
            let extra = " cellboot.rtt=5 cellboot.rtt_native=20 cellboot.reboot=1 reboot=s1";
            c.arg("-kernel")
                .arg(image_with(board, "two-cell", release, extra, name)?);
            let mut e = rtos_up(&assemble::load_system(board, "two-cell")?)?;
            e.extend(e2e::reset_markers(strings(LINUX_PEER), 1)?);
            let mut fail_on = strings(FAIL_ON);
            fail_on.extend(strings(&["restart failed", "cell rtos: PSCI"]));
            (e, fail_on)
        }
        "hostile" => {
            c.arg("-kernel").arg(image(board, "hostile", release, 20, 200)?);
            let mut fail_on = strings(FAIL_ON);
            fail_on.extend(strings(crate::hostile::FAIL_ON));
            (
                crate::hostile::expect(&assemble::load_system(board, "hostile")?)?,
                fail_on,
            )
        }
        "ecam-fast" => {
            inmates(release)?;
            let sys = assemble::load_system(board, "ecam-bench")?;
            let bins = assemble::binaries(&sys, release)?;
            let img = paths::board_out(board).join("e2e-ecam-bench.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            c.arg("-kernel").arg(&img);
            let mut fail_on = strings(FAIL_ON);
            fail_on.extend(strings(&[
                "ecam-bench: FAIL",
                "cell ecam-bench: denied",
                "is no config cycle",
            ]));
            let expect = strings(&[
                "ecam-bench: config reads from the mapped image agree",
                "ecam-bench: mapped ",
                "PSCI SYSTEM_OFF",
            ]);
            (expect, fail_on)
        }
        "jailhouse-demo" => {
            inmates(release)?;
            let sys = assemble::load_system(board, "jailhouse-demo")?;
            let bins = assemble::binaries(&sys, release)?;
            let img = paths::board_out(board).join("e2e-jailhouse-demo.img");
            assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
            c.arg("-kernel").arg(&img);
            (crate::jailhouse_e2e::expect(board), crate::jailhouse_e2e::fail_on())
        }
        crate::manage::SYSTEM => return crate::manage::case(board, release),
        other => bail!("no partition case {other:?} (cases: {})", CASES.join(", ")),
    };
    // Logs: build/logs/<case>.log on QEMU virt (as before), <board>-<case>.log elsewhere.
    let log_name = if board == "qemu-virt" {
        name.to_string()
    } else {
        format!("{board}-{name}")
    };
    Ok(Case {
        name: log_name,
        qemu: c,
        expect,
        fail_on,
        timeout: Duration::from_secs(300),
    })
}

/// `xtask bench` row: ivshmem round trips Linux → rtos-demo → Linux, as the
/// Linux shell sees them (busybox devmem per register access, TCG).
pub fn bench_rtt(board: &str, n: u32, n_native: u32) -> Result<Rtt> {
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    c.arg("-kernel").arg(image(board, "two-cell", true, n, n_native)?);
    let mut e = rtos_up(&assemble::load_system(board, "two-cell")?)?;
    e.extend(strings(LINUX_PEER));
    let o = qemu_runner::run(Case {
        name: format!("bench-{board}-two-cell-rtt"),
        qemu: c,
        expect: e,
        fail_on: strings(FAIL_ON),
        timeout: Duration::from_secs(600),
    })?;
    if !o.passed {
        bail!(
            "bench-{board}-two-cell-rtt: {}\n{}",
            o.detail,
            qemu_runner::tail(&o.log, 30)
        );
    }
    let log = std::fs::read_to_string(&o.log)?;
    let shell =
        parse_rtt(&log, "CELLBOOT: rtt ").context("no `CELLBOOT: rtt n=.. median_us=.. max_us=..` line in the log")?;
    let native = parse_rtt(&log, "CELLBOOT: rtt-native ").context("no `CELLBOOT: rtt-native n=..` line in the log")?;
    Ok(Rtt { shell, native })
}

/// Interrupt delivery on the board's two-cell system under QEMU `-icount`
/// (virtual time follows instructions, so the figures repeat): the
/// rtos-demo's timer latency (CNTV_CVAL to its handler) and the ivshmem
/// round trip, with the shim's list-register delivery (`direct` false) or
/// the `direct-irqs` build (interrupts straight to the cell).
pub fn bench_irq(board: &str, direct: bool, n_native: u32) -> Result<IrqBench> {
    crate::firmware::set_direct_irqs(direct);
    let built = image(board, "two-cell", true, 5, n_native);
    crate::firmware::set_direct_irqs(false);
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    c.args(["-icount", "shift=0,sleep=off"]).arg("-kernel").arg(built?);
    let mut e = rtos_up(&assemble::load_system(board, "two-cell")?)?;
    for m in LINUX_PEER {
        e.push(m.to_string());
        if m.starts_with("[rtos] rtos-demo: served") {
            e.push(TIMER_LATENCY.into());
        }
    }
    let name = format!("bench-{board}-irq-{}", if direct { "direct" } else { "vgic" });
    let o = qemu_runner::run(Case {
        name: name.clone(),
        qemu: c,
        expect: e,
        fail_on: strings(FAIL_ON),
        timeout: Duration::from_secs(900),
    })?;
    if !o.passed {
        bail!("{name}: {}\n{}", o.detail, qemu_runner::tail(&o.log, 30));
    }
    let log = std::fs::read_to_string(&o.log)?;
    let rtt = parse_rtt(&log, "CELLBOOT: rtt-native ").context("no `CELLBOOT: rtt-native n=..` line in the log")?;
    let timer = parse_timer_latency(&log)
        .context("no `rtos-demo: timer latency ... n= avg_ticks= max_ticks= cntfrq=` line in the log")?;
    Ok(IrqBench { timer, rtt })
}

const TIMER_LATENCY: &str = "[rtos] rtos-demo: timer latency (CNTV_CVAL -> handler) n=";

/// Timer latency (n, min, avg, max ns) and the round trip (n, median µs, max µs).
pub struct IrqBench {
    pub timer: (u64, f64, f64, f64),
    pub rtt: (u32, u64, u64),
}

fn parse_timer_latency(log: &str) -> Option<(u64, f64, f64, f64)> {
    let line = log.lines().find_map(|l| l.split("rtos-demo: timer latency ").nth(1))?;
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let hz = field("cntfrq=")?.max(1) as f64;
    let ns = |ticks: u64| ticks as f64 * 1e9 / hz;
    Some((
        field("n=")?,
        ns(field("min_ticks=")?),
        ns(field("avg_ticks=")?),
        ns(field("max_ticks=")?),
    ))
}

/// `xtask bench` row: the ecam-bench inmate alone on CPU 0 times config reads
/// from its mapped virtual ECAM and on QEMU's own PCIe ECAM.
pub fn bench_ecam(board: &str) -> Result<EcamReads> {
    bench_ecam_with(board, false)
}

/// [`bench_ecam`] with the shim built with its `mgmt` feature (and its exit
/// counters on every trap) or without.
pub fn bench_ecam_with(board: &str, mgmt: bool) -> Result<EcamReads> {
    const SYSTEM: &str = "ecam-bench";
    inmates(true)?;
    let sys = assemble::load_system(board, SYSTEM)?;
    let link = firmware::ShimLink {
        mgmt,
        ..assemble::shim_link(&sys)
    };
    let fw = firmware::build(true, &link)?;
    let out = paths::board_out(board);
    let bins = assemble::Binaries {
        shim: firmware::to_binary(&fw.shim_elf, &out.join("hypervisor-shim.bin"))?,
        loader: firmware::to_binary(&fw.loader_elf, &out.join("loader.bin"))?,
    };
    let img = paths::board_out(board).join(format!("bench-{SYSTEM}.img"));
    assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
    let q = qemu_settings::load(board)?;
    let mut c = q.boot_command(None);
    c.arg("-kernel").arg(&img);
    let mut fail_on = strings(FAIL_ON);
    fail_on.extend(strings(&["ecam-bench: FAIL", "cell ecam-bench: denied"]));
    let expect = strings(&[
        "ecam-bench: virtual ",
        "ecam-bench: floor ",
        "ecam-bench: el1 ",
        "ecam-bench: mapped ",
    ]);
    let o = qemu_runner::run(Case {
        name: "bench-ecam".into(),
        qemu: c,
        expect,
        fail_on,
        timeout: Duration::from_secs(120),
    })?;
    if !o.passed {
        bail!("bench-ecam: {}\n{}", o.detail, qemu_runner::tail(&o.log, 30));
    }
    let log = std::fs::read_to_string(&o.log)?;
    parse_ecam(&log).context(
        "no `ecam-bench: floor hvc <ticks> trap <ticks> reads <n>`, `ecam-bench: el1 svc <ticks> reads <n>` and `ecam-bench: mapped <ticks> direct <ticks> reads <n> cntfrq <hz>` lines in the log",
    )
}

/// Counter ticks for `reads` config reads each way; for as many null `hvc`
/// round trips, trapped reads the shim answers with no device model, and
/// `svc` round trips that never leave EL1 (the floor under any trapped read); and
/// the counter frequency.
#[derive(Debug, PartialEq)]
pub struct EcamReads {
    /// Reads from the cell's virtual ECAM (mapped read-only: no trap).
    pub mapped: u64,
    pub direct: u64,
    pub hvc: u64,
    pub trap: u64,
    pub svc: u64,
    pub reads: u64,
    pub cntfrq: u64,
}

impl EcamReads {
    /// Nanoseconds per read for a tick count.
    pub fn ns(&self, ticks: u64) -> f64 {
        ticks as f64 * 1e9 / self.cntfrq as f64 / self.reads as f64
    }
}

fn parse_ecam(log: &str) -> Option<EcamReads> {
    let words = |marker: &str| -> Option<Vec<String>> {
        let line = log.lines().find_map(|l| l.split(marker).nth(1))?;
        Some(line.split_whitespace().map(str::to_owned).collect())
    };
    let (main, floor, el1) = (
        words("ecam-bench: mapped ")?,
        words("ecam-bench: floor ")?,
        words("ecam-bench: el1 ")?,
    );
    let after = |w: &[String], k: &str| {
        w.iter()
            .position(|x| x == k)
            .and_then(|i| w.get(i + 1)?.parse::<u64>().ok())
    };
    let r = EcamReads {
        mapped: main.first()?.parse().ok()?,
        direct: after(&main, "direct")?,
        hvc: after(&floor, "hvc")?,
        trap: after(&floor, "trap")?,
        svc: after(&el1, "svc")?,
        reads: after(&main, "reads")?,
        cntfrq: after(&main, "cntfrq")?,
    };
    let same_count = after(&floor, "reads") == Some(r.reads) && after(&el1, "reads") == Some(r.reads);
    (r.reads > 0 && r.cntfrq > 0 && same_count).then_some(r)
}

/// (n, median µs, max µs) of the shell loop and of the ivshmem-rtt program.
pub struct Rtt {
    pub shell: (u32, u64, u64),
    pub native: (u32, u64, u64),
}

/// (n, median µs, max µs) from the peer script's rtt marker.
fn parse_rtt(log: &str, marker: &str) -> Option<(u32, u64, u64)> {
    let line = log.lines().find_map(|l| l.split(marker).nth(1))?;
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("n=")? as u32, field("median_us=")?, field("max_us=")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn boards_pick_their_kernel_flavour() {
        use super::Kernel;
        assert_eq!(Kernel::for_board("qemu-virt").unwrap(), Kernel::Cloud);
        assert_eq!(Kernel::for_board("rpi4b").unwrap(), Kernel::Generic);
    }

    #[test]
    fn parses_the_timer_latency_marker() {
        let log = "[rtos] rtos-demo: timer latency (CNTV_CVAL -> handler) n=812 min_ticks=3 avg_ticks=25 max_ticks=400 cntfrq=62500000\r\n";
        assert!(log.starts_with(super::TIMER_LATENCY));
        assert_eq!(super::parse_timer_latency(log), Some((812, 48.0, 400.0, 6400.0)));
        assert_eq!(
            super::parse_timer_latency("rtos-demo: timer latency n=1 avg_ticks=x"),
            None
        );
    }

    #[test]
    fn parses_the_rtt_marker() {
        let log = "x\r\nCELLBOOT: rtt n=50 median_us=8123 max_us=20111 (busybox devmem, TCG)\r\nCELLBOOT: rtt-native n=200 min_us=90 median_us=120 max_us=900 (x)\r\n";
        assert_eq!(super::parse_rtt(log, "CELLBOOT: rtt "), Some((50, 8123, 20111)));
        assert_eq!(super::parse_rtt(log, "CELLBOOT: rtt-native "), Some((200, 120, 900)));
        assert_eq!(
            super::parse_rtt("CELLBOOT: rtt n=5 median_us= max_us=1", "CELLBOOT: rtt "),
            None
        );
    }

    #[test]
    fn parses_the_ecam_bench_line() {
        let log = "x\r\n[ecam-bench] ecam-bench: floor hvc 1500 trap 1800 reads 2000\r\n[ecam-bench] ecam-bench: el1 svc 900 reads 2000\r\n[ecam-bench] ecam-bench: mapped 5000 direct 2500 reads 2000 cntfrq 62500000\r\n";
        let r = super::parse_ecam(log).unwrap();
        assert_eq!(
            r,
            super::EcamReads {
                mapped: 5000,
                direct: 2500,
                hvc: 1500,
                trap: 1800,
                svc: 900,
                reads: 2000,
                cntfrq: 62_500_000
            }
        );
        assert_eq!(r.ns(r.mapped), 40.0);
        let el1 = "ecam-bench: el1 svc 1 reads 2000\n";
        assert_eq!(
            super::parse_ecam(&format!(
                "ecam-bench: floor hvc 1 trap 1 reads 0\n{el1}ecam-bench: mapped 5 direct 2 reads 0 cntfrq 1"
            )),
            None
        );
        assert_eq!(
            super::parse_ecam(&format!("{el1}ecam-bench: mapped 5 direct 2 reads 2000 cntfrq 1")),
            None,
            "floor line missing"
        );
        assert_eq!(
            super::parse_ecam(
                "ecam-bench: floor hvc 1 trap 1 reads 2000\necam-bench: mapped 5 direct 2 reads 2000 cntfrq 1"
            ),
            None,
            "el1 line missing"
        );
        let mismatched =
            format!("ecam-bench: floor hvc 1 trap 1 reads 10\n{el1}ecam-bench: mapped 5 direct 2 reads 2000 cntfrq 1");
        assert_eq!(super::parse_ecam(&mismatched), None, "floor timed over another count");
    }
}

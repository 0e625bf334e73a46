//! `xtask bench`: the FDT library bench (fdt-conformance's fdt-bench), boot
//! time through shim + loader against QEMU booting the kernel directly, and
//! release binary sizes, each as a ratio to its target.

use crate::{assemble, cmd, fetch, firmware, initramfs, paths, qemu_runner, qemu_settings};
use anyhow::{Context, Result, bail};
use std::time::Duration;

const RUNS: usize = 5;
const BOOT_RATIO_TARGET: f64 = 1.10;
/// What init prints in both boot-time runs (cellboot.skip=pci,hotplug).
const BOOT_MARKERS: &[&str] = &["CELLBOOT: cpus=2 ", "CELLBOOT: done"];
/// Timed ivshmem round trips in the two-cell bench boot.
const RTT_ROUND_TRIPS: u32 = 50;
/// Timed round trips of the ivshmem-rtt program in the same boot.
const RTT_NATIVE_ROUND_TRIPS: u32 = 1000;
/// Config read from the virtual ECAM (mapped read-only) / on QEMU's own ECAM.
const ECAM_RATIO_TARGET: f64 = 2.0;

struct Row {
    what: String,
    value: String,
    target: String,
    ratio: Option<f64>,
    limit: f64,
}

pub fn bench(board: &str, only: Option<&str>, phases: bool) -> Result<()> {
    let mut rows = Vec::new();
    if phases && only != Some("boot") {
        bail!("--phases changes the firmware: use it with --only boot");
    }
    match only {
        None => {}
        Some("ecam") => {
            ecam_row(board, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some("boot") => {
            boot_row(board, &mut rows, phases)?;
            print(&rows);
            return Ok(());
        }
        Some("rtt") => {
            rtt_rows(board, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some("size" | "sizes") => {
            let sys = assemble::load_system(board, "linux-demo")?;
            size_rows(board, &sys, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some("fdt") => {
            // The FDT tables and the firmware sizes, without any boot.
            fdt_bench()?;
            let sys = assemble::load_system(board, "linux-demo")?;
            size_rows(board, &sys, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some("irq") => {
            irq_rows(board, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some("manage") => {
            manage_rows(board, &mut rows)?;
            print(&rows);
            return Ok(());
        }
        Some(other) => bail!("no bench {other:?} to run alone (benches: boot, ecam, fdt, irq, manage, rtt, size)"),
    }
    fdt_bench()?;

    let sys = boot_row(board, &mut rows, false)?;
    size_rows(board, &sys, &mut rows)?;

    rtt_rows(board, &mut rows)?;
    if board == "qemu-virt" {
        irq_rows(board, &mut rows)?;
        ecam_row(board, &mut rows)?;
    }
    manage_rows(board, &mut rows)?;

    print(&rows);
    Ok(())
}

/// GICv3 interrupt delivery through the shim's list registers vs straight
/// to the cell (the `direct-irqs` shim), one two-cell boot each under
/// `-icount`: rtos-demo timer latency and ivshmem round trip side by side.
fn irq_rows(board: &str, rows: &mut Vec<Row>) -> Result<()> {
    cmd::step(&format!(
        "bench: interrupt delivery, list registers vs direct (boards/{board}/two-cell.toml, -icount)"
    ));
    let vgic = crate::partition::bench_irq(board, false, IRQ_RTT_ROUND_TRIPS)?;
    let direct = crate::partition::bench_irq(board, true, IRQ_RTT_ROUND_TRIPS)?;
    let (tv, td) = (vgic.timer, direct.timer);
    rows.push(Row {
        what: format!(
            "rtos-demo timer latency, CVAL -> handler (-icount, n={}/{}): vGIC / direct, min",
            tv.0, td.0
        ),
        value: format!("{:.0}ns / {:.0}ns", tv.1, td.1),
        target: "-".into(),
        ratio: Some(tv.1 / td.1.max(1.0)),
        limit: f64::INFINITY,
    });
    rows.push(Row {
        what: "  same, avg (max): under -icount the vCPUs run round-robin, so these include other CPUs' turns".into(),
        value: format!("{:.0}ns ({:.0}) / {:.0}ns ({:.0})", tv.2, tv.3, td.2, td.3),
        target: "-".into(),
        ratio: Some(tv.2 / td.2.max(1.0)),
        limit: f64::INFINITY,
    });
    let (rv, rd) = (vgic.rtt, direct.rtt);
    rows.push(Row {
        what: format!(
            "ivshmem round trip, ivshmem-rtt (-icount, n={}): vGIC / direct, median (max)",
            rv.0
        ),
        value: format!("{}us ({}) / {}us ({})", rv.1, rv.2, rd.1, rd.2),
        target: "-".into(),
        ratio: Some(rv.1 as f64 / rd.1.max(1) as f64),
        limit: f64::INFINITY,
    });
    Ok(())
}

/// Round trips of the `irq` bench's ivshmem-rtt run (each boot runs under
/// `-icount`, single-threaded: fewer than the rtt bench).
const IRQ_RTT_ROUND_TRIPS: u32 = 200;

/// Release binary sizes of loader and shim against their budgets (the
/// gate of `xtask test` fails over them).
fn size_rows(board: &str, sys: &cellboot_config::System, rows: &mut Vec<Row>) -> Result<()> {
    let fw = firmware::build(true, &assemble::shim_link(sys))?;
    for (name, size, target) in crate::gates::sizes(&fw, &paths::board_out(board))? {
        rows.push(Row {
            what: format!("{name} release binary, stripped (bytes)"),
            value: size.to_string(),
            target: format!("<= {target}"),
            ratio: Some(size as f64 / target as f64),
            limit: 1.0,
        });
    }
    Ok(())
}

/// ivshmem round trips Linux -> rtos-demo -> Linux on the board's two-cell
/// system (QEMU virt: GICv3, cloud kernel; raspi4b: GIC-400, generic kernel).
fn rtt_rows(board: &str, rows: &mut Vec<Row>) -> Result<()> {
    cmd::step(&format!(
        "bench: ivshmem round trips Linux -> rtos-demo -> Linux (boards/{board}/two-cell.toml)"
    ));
    let rtt = crate::partition::bench_rtt(board, RTT_ROUND_TRIPS, RTT_NATIVE_ROUND_TRIPS)?;
    for (what, (n, median, max)) in [
        ("ivshmem-rtt program, CNTVCT", rtt.native),
        ("busybox sh + devmem", rtt.shell),
    ] {
        rows.push(Row {
            what: format!("ivshmem round trip on {board} (TCG), {what}, n={n}: median / max"),
            value: format!("{:.3}ms / {:.3}ms", median as f64 / 1e3, max as f64 / 1e3),
            target: "-".into(),
            ratio: None,
            limit: f64::INFINITY,
        });
    }
    Ok(())
}

/// linux-demo through shim + loader vs QEMU booting its kernel directly,
/// interleaved so the machine's load hits both alike.
fn boot_row(board: &str, rows: &mut Vec<Row>, phases: bool) -> Result<cellboot_config::System> {
    fetch::fetch()?;
    initramfs::initramfs()?;
    let mut sys = assemble::load_system(board, "linux-demo")?;
    // Both runs boot the same userspace work: init's vPCI/ivshmem checks
    // test the device (the direct run has none), they are not boot time.
    assemble::append_bootargs(&mut sys.config.cells[0].boot.bootargs, " cellboot.skip=pci,hotplug")?;
    sys.config.seal();
    if phases {
        firmware::enable_boot_timing();
    }
    let bins = assemble::binaries(&sys, true)?;
    let img = paths::board_out(board).join("bench-cellboot.img");
    assemble::write(&assemble::pack(&sys, &bins, None)?, &img)?;
    let q = qemu_settings::load(board)?;
    let cell = &sys.config.cells[0];
    let bootargs = cellboot_abi::str_field(&cell.boot.bootargs);
    let direct = q
        .direct
        .as_ref()
        .with_context(|| format!("qemu/{board}.toml has no [direct] section"))?;
    // The direct run gets the same QEMU machine (vCPU count included: QEMU
    // wakes every vCPU thread for a broadcast TLBI, online or not) and a
    // kernel limited to the cell's CPUs, so the ratio is the shim + loader.
    let direct_args = format!("{bootargs} maxcpus={}", cell.cpu_mask.count_ones());

    let mut through = Vec::new();
    let mut straight = Vec::new();
    let mut stamps: Vec<Vec<(String, f64)>> = Vec::new();
    let (mut through_cpu, mut straight_cpu) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        cmd::step(&format!(
            "bench: boot {}/{RUNS} through shim + loader, then direct",
            i + 1
        ));
        let mut c = q.boot_command(None);
        c.arg("-kernel").arg(&img);
        let name = format!("bench-cellboot-{i}");
        let (wall, cpu) = boot_time(&name, c, BOOT_MARKERS)?;
        through.push(wall);
        through_cpu.push(cpu);
        if phases {
            stamps.push(boot_phases(&paths::logs().join(format!("{name}.log")))?);
        }
        let mut c = q.command_sized(Some(direct.smp), &direct.memory);
        c.arg("-kernel")
            .arg(crate::manifest::load()?.cloud.file("image")?)
            .arg("-initrd")
            .arg(paths::initramfs());
        c.arg("-append").arg(&direct_args);
        let (wall, cpu) = boot_time(&format!("bench-direct-{i}"), c, BOOT_MARKERS)?;
        straight.push(wall);
        straight_cpu.push(cpu);
    }
    if phases {
        print_phases(&stamps, median(&mut through.clone()), median(&mut straight.clone()));
    }
    let (t, d) = (median(&mut through), median(&mut straight));
    rows.push(Row {
        what: "boot to `CELLBOOT: done`: shim+loader / direct (median of 5)".into(),
        value: format!("{t:.2}s / {d:.2}s"),
        target: format!("<= {BOOT_RATIO_TARGET:.2}"),
        ratio: Some(t / d),
        limit: BOOT_RATIO_TARGET,
    });
    // The same boots in QEMU CPU time: on a shared host the wall clock
    // mostly measures the other load; informational (the target is wall time).
    if let (Some(mut tc), Some(mut dc)) = (
        through_cpu.into_iter().collect::<Option<Vec<f64>>>(),
        straight_cpu.into_iter().collect::<Option<Vec<f64>>>(),
    ) {
        let (tc, dc) = (median(&mut tc), median(&mut dc));
        rows.push(Row {
            what: "same boots, QEMU CPU time (all threads): shim+loader / direct".into(),
            value: format!("{tc:.2}s / {dc:.2}s"),
            target: "-".into(),
            ratio: Some(tc / dc),
            limit: f64::INFINITY,
        });
    }
    Ok(sys)
}

/// `boot-phase <µs> <what>` lines of a run's log (shim and loader built
/// with `boot-timing`), in order, as (what, ms on the counter).
fn boot_phases(log: &std::path::Path) -> Result<Vec<(String, f64)>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("cannot read {}", log.display()))?;
    let v: Vec<(String, f64)> = text
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("boot-phase ")?;
            let (us, what) = rest.split_once(' ')?;
            Some((what.trim().to_string(), us.parse::<f64>().ok()? / 1e3))
        })
        .collect();
    if v.is_empty() {
        bail!(
            "{}: no boot-phase lines (firmware built without boot-timing?)",
            log.display()
        );
    }
    Ok(v)
}

/// Median counter time of each phase over the runs and the step from the
/// one before; the rest is Linux up to `CELLBOOT: done` (host clock).
fn print_phases(runs: &[Vec<(String, f64)>], through: f64, direct: f64) {
    eprintln!(
        "\n{:<36} {:>12} {:>10}",
        "boot phase (counter, median)", "at ms", "step ms"
    );
    let mut prev = 0.0;
    for (k, (what, _)) in runs[0].iter().enumerate() {
        let mut at: Vec<f64> = runs.iter().filter_map(|r| r.get(k).map(|p| p.1)).collect();
        let at = median(&mut at);
        eprintln!("{what:<36} {at:>12.1} {:>10.1}", at - prev);
        prev = at;
    }
    eprintln!(
        "{:<36} {:>12.1} {:>10.1}",
        "CELLBOOT: done (host clock)",
        through * 1e3,
        through * 1e3 - prev
    );
    eprintln!("{:<36} {:>12.1}", "direct: CELLBOOT: done (host clock)", direct * 1e3);
}

/// Virtual (mapped) vs direct ECAM config reads (boards/qemu-virt/ecam-bench.toml).
/// Restarts `cellctl restart rtos --wait` times in the manage bench boot.
const MANAGE_RESTARTS: u32 = 20;

/// Run-time management (boards/<board>/manage.toml): `cellctl restart
/// rtos` to the rtos cell's first console line, load throughput through
/// the staging window; on qemu-virt the trap floor (ecam-bench) with the
/// shim's exit counters and without, in this run.
fn manage_rows(board: &str, rows: &mut Vec<Row>) -> Result<()> {
    cmd::step(&format!("bench: run-time management (boards/{board}/manage.toml)"));
    let m = crate::manage::bench(board, MANAGE_RESTARTS)?;
    let (n, median, max) = m.restart;
    rows.push(Row {
        what: format!("cellctl restart rtos -> its first console line (TCG, n={n}): median (max)"),
        value: format!("{:.1}ms ({:.1})", median as f64 / 1e3, max as f64 / 1e3),
        target: "-".into(),
        ratio: None,
        limit: f64::INFINITY,
    });
    let (bytes, us) = m.load;
    rows.push(Row {
        what: format!(
            "cellctl load through the staging window ({} MiB, TCG, median of 5)",
            bytes >> 20
        ),
        value: format!(
            "{:.1} MiB/s",
            bytes as f64 / (1 << 20) as f64 / (us.max(1) as f64 / 1e6)
        ),
        target: "-".into(),
        ratio: None,
        limit: f64::INFINITY,
    });
    if board != "qemu-virt" {
        return Ok(());
    }
    cmd::step("bench: the trap floor with and without the shim's exit counters (ecam-bench, twice)");
    let with = crate::partition::bench_ecam_with(board, true)?;
    let without = crate::partition::bench_ecam_with(board, false)?;
    for (what, a, b) in [
        ("null hvc round trip", with.hvc, without.hvc),
        ("trapped read, no model", with.trap, without.trap),
    ] {
        let (a, b) = (with.ns(a), without.ns(b));
        rows.push(Row {
            what: format!(
                "{what}: with / without exit counters (TCG, n={}, best round)",
                with.reads
            ),
            value: format!("{a:.0}ns / {b:.0}ns"),
            target: "-".into(),
            ratio: Some(a / b.max(1.0)),
            limit: f64::INFINITY,
        });
    }
    Ok(())
}

fn ecam_row(board: &str, rows: &mut Vec<Row>) -> Result<()> {
    if board != "qemu-virt" {
        bail!("the ECAM bench runs on qemu-virt only (boards/qemu-virt/ecam-bench.toml)");
    }
    cmd::step("bench: ECAM config reads, virtual vs direct (boards/qemu-virt/ecam-bench.toml)");
    let r = crate::partition::bench_ecam(board)?;
    let ratio = r.mapped as f64 / r.direct.max(1) as f64;
    eprintln!(
        "    ECAM config read, virtual (mapped) vs direct: {ratio:.3} (target <= {ECAM_RATIO_TARGET:.1}): {:.0} ns vs {:.0} ns per read",
        r.ns(r.mapped),
        r.ns(r.direct)
    );
    eprintln!(
        "    for scale, what any trapped read would pay: svc round trip inside EL1 {:.0} ns, null hvc round trip {:.0} ns, trapped read with no device model {:.0} ns",
        r.ns(r.svc),
        r.ns(r.hvc),
        r.ns(r.trap)
    );
    let floor = [
        ("svc round trip within EL1", r.svc),
        ("null hvc (PSCI_VERSION) round trip", r.hvc),
        ("trapped read, no model (foreign GICR)", r.trap),
    ];
    for (what, ticks) in floor {
        rows.push(Row {
            what: format!("{what} (TCG, n={}, best round)", r.reads),
            value: format!("{:.0}ns", r.ns(ticks)),
            target: "-".into(),
            ratio: Some(ticks as f64 / r.direct.max(1) as f64),
            limit: f64::INFINITY,
        });
    }
    rows.push(Row {
        what: format!("ECAM config read, virtual vs direct (TCG, n={}, best round)", r.reads),
        value: format!("{:.0}ns / {:.0}ns", r.ns(r.mapped), r.ns(r.direct)),
        target: format!("<= {ECAM_RATIO_TARGET:.1}"),
        ratio: Some(ratio),
        limit: ECAM_RATIO_TARGET,
    });
    Ok(())
}

fn print(rows: &[Row]) {
    eprintln!("\n{:<62} {:>18} {:>10} {:>7}", "bench", "value", "target", "ratio");
    for r in rows {
        let ratio = r.ratio.map_or("-".into(), |x| format!("{x:.3}"));
        let mark = if r.ratio.is_some_and(|x| x > r.limit) {
            "  over target"
        } else {
            ""
        };
        eprintln!("{:<62} {:>18} {:>10} {:>7}{mark}", r.what, r.value, r.target, ratio);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Wall time and (when known) QEMU CPU time to the last marker, seconds.
fn boot_time(name: &str, qemu: std::process::Command, markers: &[&str]) -> Result<(f64, Option<f64>)> {
    let o = qemu_runner::run(qemu_runner::Case {
        name: name.into(),
        qemu,
        expect: markers.iter().map(|s| s.to_string()).collect(),
        fail_on: vec!["CELLBOOT: FAIL".into(), "Kernel panic".into()],
        timeout: Duration::from_secs(240),
    })?;
    if !o.passed {
        bail!("{name}: {}\n{}", o.detail, qemu_runner::tail(&o.log, 30));
    }
    Ok((o.elapsed.as_secs_f64(), o.cpu.map(|c| c.as_secs_f64())))
}

/// The FDT library's instruction-count benches (callgrind, vs libfdt C):
/// the cell fixup edit sequence — cellfdt as the host builds it and as the
/// loader builds it (its profile and cellfdt features), libfdt, memcpy and
/// the peer crates of fdt-peers in one table — and overlay apply.
fn fdt_bench() -> Result<()> {
    cmd::step("bench: building fdt-bench with the loader's profile and features, and fdt-peers");
    let mut c = cmd::cargo();
    c.args([
        "build",
        "--message-format=json-render-diagnostics",
        "-p",
        "fdt-conformance",
        "--bin",
        "fdt-bench",
    ]);
    c.args([
        "--profile",
        firmware::LOADER_PROFILE,
        "--features",
        firmware::LOADER_FEATURES,
    ]);
    let loader = firmware::executable(c, "fdt-bench")?;
    let mut c = cmd::cargo();
    c.args([
        "build",
        "--message-format=json-render-diagnostics",
        "--release",
        "-p",
        "fdt-peers",
    ]);
    let peers = firmware::executable(c, "fdt-peers")?;
    cmd::step("bench: cargo run --release -p fdt-conformance --bin fdt-bench");
    let mut c = cmd::cargo();
    c.args(["run", "--release", "-p", "fdt-conformance", "--bin", "fdt-bench"]);
    c.env("FDT_BENCH_LOADER_EXE", &loader)
        .env("FDT_BENCH_PEERS_EXE", &peers);
    cmd::run(&mut c)?;
    cmd::step("bench: cargo run --release -p fdt-conformance --bin overlay-bench");
    cmd::run(cmd::cargo().args(["run", "--release", "-p", "fdt-conformance", "--bin", "overlay-bench"]))?;
    Ok(())
}

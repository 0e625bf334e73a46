//! Boots the shim in QEMU virt (GICv3, 4 CPUs) with two cells running the
//! bare-metal test payload (tests-payload/) and checks the console:
//! hypercalls, vPCI ECAM, PSCI, containment of a hostile cell, power-off.
//! A second run feeds a corrupted system config and expects a clean refusal.
//!
//! Skipped (passes with a note) when qemu-system-aarch64 is not installed.
//! The image is assembled here the way `cargo xtask build` does it: shim
//! padded to `_end`, 4 KiB-aligned PayloadTable + payloads, header
//! `image_size` patched to the whole file.

use cellboot_abi::zerocopy::IntoBytes;
use cellboot_abi::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The shim has no FP/SIMD code (see xtask's firmware.rs); the payload,
/// which probes that guest q registers survive traps, needs them.
const SHIM_TARGET: &str = "aarch64-unknown-none-softfloat";
const PAYLOAD_TARGET: &str = "aarch64-unknown-none";

fn have_qemu() -> bool {
    Command::new("qemu-system-aarch64")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn build_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    base.join("shim-qemu-test")
}

/// Builds the shim and the payload for the bare-metal target; returns the
/// raw binaries.
fn build_bins() -> (Vec<u8>, Vec<u8>) {
    let dir = build_dir();
    // The shim as xtask builds it for release (the `shim` profile).
    for (target, profile, bin) in [
        (SHIM_TARGET, "shim", "hypervisor-shim"),
        (PAYLOAD_TARGET, "release", "shim-test-payload"),
    ] {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--profile",
                profile,
                "--target",
                target,
                "-p",
                "hypervisor-shim",
                "--bin",
                bin,
            ])
            .env("CARGO_TARGET_DIR", &dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo");
        assert!(status.success(), "cross build of {bin} for {target} failed");
    }
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    let sysroot = String::from_utf8(sysroot.stdout).unwrap();
    let objcopy = Path::new(sysroot.trim()).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-objcopy");
    let bin = |target: &str, profile: &str, name: &str| {
        let elf = dir.join(target).join(profile).join(name);
        let out = dir.join(format!("{name}.bin"));
        let st = Command::new(&objcopy)
            .args(["-O", "binary"])
            .arg(&elf)
            .arg(&out)
            .status()
            .expect("llvm-objcopy");
        assert!(st.success());
        std::fs::read(out).unwrap()
    };
    (
        bin(SHIM_TARGET, "shim", "hypervisor-shim"),
        bin(PAYLOAD_TARGET, "release", "shim-test-payload"),
    )
}

fn name<const N: usize>(s: &str) -> [u8; N] {
    let mut f = [0; N];
    assert!(set_str_field(&mut f, s));
    f
}

/// Two cells on QEMU virt: "linux" (CPUs 0-1, RAM 0x4800_0000) and
/// "attacker" (CPU 2, RAM 0x6100_0000 seen at IPA 0x4800_0000), one
/// ivshmem link between them.
fn config() -> SystemConfig {
    let mut c = SystemConfig::empty();
    let b = &mut c.board;
    b.name = name("qemu-virt");
    b.ram_base = 0x4000_0000;
    b.ram_size = 0x4000_0000;
    b.uart_base = 0x0900_0000;
    b.uart_size = 0x1000;
    b.gic_version = 3;
    b.num_irqs = 288;
    b.gicd_base = 0x0800_0000;
    b.gicd_size = 0x1_0000;
    b.gicr_base = 0x080a_0000;
    b.gicr_stride = 0x2_0000;
    b.cpu_start = cpu_start::PSCI_SMC;
    b.num_cpus = 4;
    b.mpidr[..4].copy_from_slice(&[0, 1, 2, 3]);
    c.hypervisor = MemRegion {
        phys: 0x4000_0000,
        virt: 0x4000_0000,
        size: 0x0800_0000,
        flags: 0,
    };
    let ram = mem::READ | mem::WRITE | mem::EXECUTE | mem::RAM;
    let shared = mem::READ | mem::WRITE | mem::SHARED;
    let cells = [
        ("linux", 0b011u64, 0x4800_0000u64, 0x0400_0000u64, 140u32),
        ("attacker", 0b100, 0x6100_0000, 0x0100_0000, 144),
    ];
    c.num_cells = cells.len() as u32;
    for (i, (n, cpus, phys, size, irq)) in cells.into_iter().enumerate() {
        let cell = &mut c.cells[i];
        cell.name = name(n);
        cell.cpu_mask = cpus;
        cell.mem[0] = MemRegion {
            phys,
            virt: 0x4800_0000,
            size,
            flags: ram,
        };
        cell.mem[1] = MemRegion {
            phys: 0x6000_0000,
            virt: 0x6000_0000,
            size: 0x10_0000,
            flags: shared,
        };
        cell.num_mem = 2;
        cell.comm_region_ipa = 0x7fff_0000;
        cell.loader_ipa = 0x4800_0000;
        cell.vpci = VpciConfig {
            ecam_base: 0x08e0_0000,
            ecam_size: 0x10_0000,
            mmio_base: 0x1000_0000,
            mmio_size: 0x1_0000,
            irq_base: irq,
            domain: 1,
        };
        cell.boot.kind = boot_kind::RAW;
        cell.boot.kernel = NO_PAYLOAD;
        cell.boot.initrd = NO_PAYLOAD;
    }
    c.cells[0].mem[2] = MemRegion {
        phys: 0x0900_0000,
        virt: 0x0900_0000,
        size: 0x1000,
        flags: mem::READ | mem::WRITE | mem::IO,
    };
    c.cells[0].num_mem = 3;
    c.cells[0].irqs[0] = IrqRange { first: 33, count: 1 };
    c.cells[0].num_irq_ranges = 1;
    c.num_links = 1;
    c.links[0] = IvshmemLink {
        shmem_phys: 0x6000_0000,
        state_size: 0x1000,
        rw_size: 0x1_0000,
        out_size: 0x1_0000,
        peers: [0, 1],
        device: 0,
        protocol: 0,
    };
    c.seal();
    c
}

/// shim | pad to 4 KiB past `_end` | PayloadTable | payloads (4 KiB aligned).
fn assemble(shim: &[u8], payloads: &[(u32, &str, &[u8])]) -> Vec<u8> {
    let image_size = u64::from_le_bytes(shim[0x10..0x18].try_into().unwrap());
    assert_eq!(&shim[0x38..0x3c], b"ARM\x64");
    let mut img = shim.to_vec();
    img.resize(image_size.next_multiple_of(PAYLOAD_ALIGN) as usize, 0);
    let table_at = img.len();
    let mut table = PayloadTable {
        magic: PAYLOAD_MAGIC,
        count: payloads.len() as u32,
        _pad: 0,
        entries: [PayloadEntry::default(); MAX_PAYLOADS],
    };
    let mut off = (std::mem::size_of::<PayloadTable>() as u64).next_multiple_of(PAYLOAD_ALIGN);
    let mut data = Vec::new();
    for (i, (kind, n, bytes)) in payloads.iter().enumerate() {
        table.entries[i] = PayloadEntry {
            kind: *kind,
            _pad: 0,
            offset: off,
            size: bytes.len() as u64,
            name: name(n),
        };
        data.resize(
            (off - (std::mem::size_of::<PayloadTable>() as u64).next_multiple_of(PAYLOAD_ALIGN)) as usize,
            0,
        );
        data.extend_from_slice(bytes);
        off = (off + bytes.len() as u64).next_multiple_of(PAYLOAD_ALIGN);
    }
    img.extend_from_slice(table.as_bytes());
    img.resize(
        table_at + (std::mem::size_of::<PayloadTable>()).next_multiple_of(PAYLOAD_ALIGN as usize),
        0,
    );
    img.extend_from_slice(&data);
    img.resize(img.len().next_multiple_of(PAYLOAD_ALIGN as usize), 0);
    let total = img.len() as u64;
    img[0x10..0x18].copy_from_slice(&total.to_le_bytes());
    img
}

/// Runs QEMU on `img` until it exits (PSCI SYSTEM_OFF) or 60 s pass.
fn run_qemu(img: &[u8], tag: &str) -> (bool, String) {
    let path = build_dir().join(format!("{tag}.img"));
    std::fs::write(&path, img).unwrap();
    let out = Command::new("timeout")
        .args([
            "60",
            "qemu-system-aarch64",
            "-M",
            "virt,virtualization=on,gic-version=3",
            "-cpu",
            "cortex-a72",
        ])
        .args([
            "-smp", "4", "-m", "1G", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel",
        ])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run qemu");
    let log = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    eprintln!("---- {tag} console ----\n{log}---- end ----");
    (out.status.success(), log)
}

fn expect(log: &str, what: &str) {
    assert!(log.contains(what), "console lacks {what:?}");
}

#[test]
fn two_cells_services_and_containment() {
    if !have_qemu() {
        eprintln!("qemu-system-aarch64 not installed: skipped");
        return;
    }
    let (shim, payload) = build_bins();
    let cfg = config();
    let img = assemble(
        &shim,
        &[
            (payload_kind::SYSCONFIG, "sysconfig", cfg.as_bytes()),
            (payload_kind::LOADER, "test-payload", &payload),
        ],
    );
    let (exited, log) = run_qemu(&img, "two-cells");
    assert!(exited, "QEMU did not power off (timeout)");
    for line in [
        "[shim] cellboot hypervisor-shim",
        "[linux] payload: hello from cell 0, comm region at 0x7fff0000 (signature ok: true)",
        "[attacker] payload: hello from cell 1",
        "[linux] payload: vpci 00:00.0 id 0x4106110a",
        "[linux] payload: vpci 00:05.0 id 0xffffffff",
        "[linux] payload: psci version 0x10000",
        "[linux] payload: ivshmem BAR0 id 0 max_peers 2",
        "[attacker] payload: rang the doorbell of peer 0 (ready flag seen: true)",
        "[linux] payload: ivshmem doorbell: SPI 140 pending",
        "[shim] cell linux: PSCI CPU_ON for CPU 2 (MPIDR 0x2), which it does not own: denied",
        "[linux] payload: cpu_on foreign cpu 2 -> -3",
        "[linux] payload: cpu_on own cpu 1 -> 0",
        "[linux] payload: secondary cpu up, x0=0x1234",
        "[linux] payload: secondary reported x0=0x1234, now off",
        "[shim] cell linux: unknown hypercall 0x999: E_NOSYS",
        "[linux] payload: unknown hypercall -> -38",
        "[linux] payload: cell_get_state -> 0",
        "[shim] cell linux: ACTLR_EL1 write 0x2: ignored",
        "[linux] payload: actlr_el1 after writing 0x2: 0x0",
        "[linux] payload: fp/simd registers kept across traps: true",
        "[attacker] payload: console write from a foreign IPA -> -22",
        "[attacker] payload: cpu_on foreign cpu 0 -> -3",
        "[shim] cell attacker: denied read 8 bytes at IPA 0x40200000",
        "[shim] cell linux: PSCI SYSTEM_OFF: cell shut down",
        "[shim] no cell is running any more: powering off",
    ] {
        expect(&log, line);
    }
    assert!(!log.contains("payload: BUG"), "a payload reported a bug");
}

#[test]
fn corrupt_config_is_refused() {
    if !have_qemu() {
        eprintln!("qemu-system-aarch64 not installed: skipped");
        return;
    }
    let (shim, payload) = build_bins();
    let mut cfg = config();
    cfg.cells[1].cpu_mask = 0b110; // CPU 1 owned twice
    cfg.seal();
    let mut bytes = cfg.as_bytes().to_vec();
    let img = assemble(
        &shim,
        &[
            (payload_kind::SYSCONFIG, "sysconfig", &bytes),
            (payload_kind::LOADER, "test-payload", &payload),
        ],
    );
    let (exited, log) = run_qemu(&img, "bad-config");
    assert!(exited, "QEMU did not power off (timeout)");
    expect(
        &log,
        "[shim] system config invalid: CPU 1 is owned by cells[0] and cells[1]",
    );
    expect(&log, "[shim] refusing to start: powering off");
    bytes[40] ^= 0xff; // checksum no longer matches
    let img = assemble(
        &shim,
        &[
            (payload_kind::SYSCONFIG, "sysconfig", &bytes),
            (payload_kind::LOADER, "test-payload", &payload),
        ],
    );
    let (exited, log) = run_qemu(&img, "bad-checksum");
    assert!(exited, "QEMU did not power off (timeout)");
    expect(&log, "[shim] system config invalid: checksum");
}

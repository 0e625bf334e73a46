//! Cross-builds the shim and the loader for aarch64-unknown-none and turns
//! their ELFs into raw binaries with the toolchain's llvm-objcopy.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub const TARGET: &str = "aarch64-unknown-none";
/// The shim's and the loader's target: no FP/SIMD registers in their code.
/// A shim trap then leaves the guest's q0-q31/FPSR/FPCR alone without
/// saving them (what Jailhouse gets from -mgeneral-regs-only); the loader
/// needs no FP access at EL1 and is 760 bytes smaller.
pub const FIRMWARE_TARGET: &str = "aarch64-unknown-none-softfloat";

pub struct Firmware {
    pub shim_elf: PathBuf,
    pub loader_elf: PathBuf,
}

/// What the shim is linked for on a board.
pub struct ShimLink {
    /// Link address: hypervisor region base + text_offset (0x20_0000).
    pub base: u64,
    pub early_uart: u64,
    /// Its driver (`cellboot_abi::uart_driver`).
    pub early_uart_driver: u32,
    /// Whether PSCI firmware powers the board off (board `cpu_start = "psci"`);
    /// a refused config has no `cpu_start` to tell the shim.
    pub psci_firmware: bool,
    /// The system grants run-time management: the shim gets its `mgmt`
    /// feature (docs/management.md).
    pub mgmt: bool,
}

impl ShimLink {
    /// Hands the link settings to the shim's build script.
    pub fn apply(&self, c: &mut std::process::Command) {
        c.env("SHIM_BASE", format!("{:#x}", self.base))
            .env("SHIM_EARLY_UART", format!("{:#x}", self.early_uart))
            .env("SHIM_EARLY_UART_DRIVER", self.early_uart_driver.to_string());
        c.env("SHIM_PSCI_FIRMWARE", if self.psci_firmware { "1" } else { "0" });
        let hardware = FOR_HARDWARE.load(std::sync::atomic::Ordering::Relaxed);
        c.env("SHIM_STAGE2_RAM", if hardware { "blocks" } else { "pages" });
    }
}

static FOR_HARDWARE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Later builds are for a real board (`xtask build --hardware`): the shim
/// maps cell RAM in 2 MiB stage-2 blocks where aligned. Every other build
/// runs in QEMU, whose TLB model wants 4 KiB pages (stage2.rs says why).
pub fn build_for_hardware() {
    FOR_HARDWARE.store(true, std::sync::atomic::Ordering::Relaxed);
}

static BOOT_TIMING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static DIRECT_IRQS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Later shim builds get (or lose) the `direct-irqs` feature: GICv3
/// interrupts straight to the cells, the path before list registers, for
/// `xtask bench --only irq`'s comparison.
pub fn set_direct_irqs(on: bool) {
    DIRECT_IRQS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Later builds get the `boot-timing` feature: shim and loader print counter
/// timestamps at each boot phase (`xtask bench --only boot --phases`).
pub fn enable_boot_timing() {
    BOOT_TIMING.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn build(release: bool, link: &ShimLink) -> Result<Firmware> {
    let timing = BOOT_TIMING.load(std::sync::atomic::Ordering::Relaxed);
    cmd::step(&format!(
        "building hypervisor-shim and loader for {FIRMWARE_TARGET} ({}, SHIM_BASE={:#x})",
        if release { "release" } else { "debug" },
        link.base
    ));
    let mut shim = cargo_build_for(FIRMWARE_TARGET);
    shim.args(["-p", "hypervisor-shim", "--bin", "hypervisor-shim"]);
    if release {
        shim.args(["--profile", SHIM_PROFILE]);
    }
    let direct = DIRECT_IRQS.load(std::sync::atomic::Ordering::Relaxed);
    let mut features = vec![SHIM_FEATURES];
    features.extend(timing.then_some("boot-timing"));
    features.extend(direct.then_some("direct-irqs"));
    features.extend(link.mgmt.then_some("mgmt"));
    shim.args(["--features", &features.join(",")]);
    link.apply(&mut shim);
    // The loader on its own: its release profile and code model (see the
    // root Cargo.toml) must not reach the shim's build.
    let mut loader = cargo_build_for(FIRMWARE_TARGET);
    let features = if timing {
        format!("{LOADER_FEATURES},boot-timing")
    } else {
        LOADER_FEATURES.to_string()
    };
    loader.args(["-p", "cellboot-loader", "--bin", "loader", "--features", &features]);
    // The loader, its BSS and stack span well under the tiny code model's
    // 1 MiB: every address is then one `adr`, not an `adrp` + `add` pair that
    // the linker can only relax to `nop` + `adr` (-912 bytes). Should the
    // loader ever outgrow it, the link fails (relocation out of range). Not
    // for the shim, whose image and tables reach past 1 MiB. The flag is part
    // of cargo's artifact hash: the shim's builds keep their own copies.
    // Cargo's encoded flags override RUSTFLAGS: the user's go in first.
    loader.env(
        "CARGO_ENCODED_RUSTFLAGS",
        loader_rustflags(std::env::var("RUSTFLAGS").ok().as_deref()),
    );
    if release {
        loader.args(["--profile", LOADER_PROFILE]);
    }
    Ok(Firmware {
        shim_elf: executable(shim, "hypervisor-shim")?,
        loader_elf: executable(loader, "loader")?,
    })
}

/// The shim's release profile (Cargo.toml): every crate at opt-level "z".
pub const SHIM_PROFILE: &str = "shim";

/// The shim's cellfdt build: the `size` feature too. The shim reads the
/// board DTB once at boot, where the faster walks save nothing that counts,
/// and the feature keeps 1,084 bytes out of its 64 KiB budget.
pub const SHIM_FEATURES: &str = "cellfdt/size";
/// The same with run-time management (systems that grant it; docs/management.md).
pub const SHIM_MGMT_FEATURES: &str = "cellfdt/size,mgmt";

/// The loader's release profile (Cargo.toml): every crate at opt-level "z".
pub const LOADER_PROFILE: &str = "loader";

/// The loader's cellfdt build: the `size` feature, the faster of the builds
/// that fit the loader's budget (docs/loader-size.md). The bench builds its
/// host copy of the fixup the same way.
pub const LOADER_FEATURES: &str = "cellfdt/size";

/// rustc flags of every loader build, debug and release (docs/loader-size.md).
pub const LOADER_RUSTFLAGS: &str = "-Ccode-model=tiny";

/// `CARGO_ENCODED_RUSTFLAGS` (0x1f-separated) for the loader: the caller's
/// RUSTFLAGS (whitespace-separated, as cargo reads them), then ours.
fn loader_rustflags(user: Option<&str>) -> String {
    user.unwrap_or("")
        .split_whitespace()
        .chain([LOADER_RUSTFLAGS])
        .collect::<Vec<_>>()
        .join("\x1f")
}

pub(crate) fn cargo_build() -> std::process::Command {
    cargo_build_for(TARGET)
}

fn cargo_build_for(target: &str) -> std::process::Command {
    let mut c = cmd::cargo();
    c.args(["build", "--target", target, "--message-format=json-render-diagnostics"]);
    c
}

/// Runs the `cargo build` in `c` and returns the path of the executable named `name`.
pub(crate) fn executable(mut c: std::process::Command, name: &str) -> Result<PathBuf> {
    c.stderr(std::process::Stdio::inherit());
    let line = cmd::describe(&c);
    eprintln!("    $ {line}");
    let out = c.output().with_context(|| format!("cannot start `{line}`"))?;
    if !out.status.success() {
        bail!("`{line}` failed: {}", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(
            |msg| match (msg["executable"].as_str(), msg["target"]["name"].as_str()) {
                (Some(exe), Some(n)) if n == name => Some(PathBuf::from(exe)),
                _ => None,
            },
        )
        .with_context(|| format!("cargo reported no {name} executable"))
}

pub fn objcopy() -> Result<PathBuf> {
    let sysroot = cmd::output(std::process::Command::new("rustc").args(["--print", "sysroot"]))?;
    let host = crate::toolchain::host_triple()?;
    let p = PathBuf::from(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/llvm-objcopy");
    if !p.exists() {
        bail!(
            "{} is missing: `rustup component add llvm-tools` (rust-toolchain.toml lists it)",
            p.display()
        );
    }
    Ok(p)
}

/// `llvm-objcopy -O binary elf out`, returning the bytes.
pub fn to_binary(elf: &Path, out: &Path) -> Result<Vec<u8>> {
    cmd::run(
        std::process::Command::new(objcopy()?)
            .args(["-O", "binary"])
            .arg(elf)
            .arg(out),
    )?;
    std::fs::read(out).with_context(|| format!("cannot read {}", out.display()))
}

/// `llvm-objcopy --strip-all`, returning the stripped ELF's size... and the
/// raw binary size, which is what the image carries.
pub fn stripped_binary_size(elf: &Path, scratch: &Path) -> Result<u64> {
    let stripped = scratch.with_extension("stripped");
    cmd::run(
        std::process::Command::new(objcopy()?)
            .arg("--strip-all")
            .arg(elf)
            .arg(&stripped),
    )?;
    Ok(to_binary(&stripped, scratch)?.len() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn loader_rustflags_keep_the_callers() {
        assert_eq!(super::loader_rustflags(None), "-Ccode-model=tiny");
        assert_eq!(
            super::loader_rustflags(Some(" -D  warnings ")),
            "-D\x1fwarnings\x1f-Ccode-model=tiny"
        );
    }
}

//! The static gates of `xtask test`: formatting, clippy on the host and on
//! both firmware targets as `firmware.rs` builds them, and the release size
//! budgets. Each failure says what to run to fix it.

use crate::{cmd, firmware};
use anyhow::{Result, bail};
use std::path::Path;

/// The shim's release budget: its bytes are the isolation boundary.
pub const SHIM_BUDGET: u64 = 64 * 1024;
/// The loader's release budget. It runs inside the cell it boots, so it is
/// outside the isolation boundary (docs/loader-size.md).
pub const LOADER_BUDGET: u64 = 48 * 1024;

/// `cargo fmt --check` over the workspace and the fuzz crate (its own workspace).
pub fn fmt() -> Result<()> {
    cmd::step("gate: cargo fmt --all --check (and fuzz/)");
    let fix =
        "formatting differs from rustfmt.toml: run `cargo fmt --all` and `cargo fmt --manifest-path fuzz/Cargo.toml`";
    check(cmd::cargo().args(["fmt", "--all", "--check"]), fix)?;
    check(
        cmd::cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]),
        fix,
    )
}

/// The clippy runs with warnings denied: the host workspace, then the
/// firmware crates for the targets, features and bins `cargo xtask` builds.
pub fn clippy_runs() -> Vec<Vec<&'static str>> {
    let fw = firmware::FIRMWARE_TARGET;
    vec![
        vec!["clippy", "--workspace", "--all-targets"],
        vec![
            "clippy",
            "--target",
            fw,
            "-p",
            "hypervisor-shim",
            "--bins",
            "--features",
            firmware::SHIM_FEATURES,
        ],
        vec![
            "clippy",
            "--target",
            fw,
            "-p",
            "hypervisor-shim",
            "--bins",
            "--features",
            firmware::SHIM_MGMT_FEATURES,
        ],
        vec![
            "clippy",
            "--target",
            fw,
            "-p",
            "cellboot-loader",
            "--bin",
            "loader",
            "--features",
            firmware::LOADER_FEATURES,
        ],
        vec![
            "clippy",
            "--target",
            firmware::TARGET,
            "-p",
            "cellboot-inmates",
            "--bins",
        ],
    ]
}

pub fn clippy() -> Result<()> {
    for args in clippy_runs() {
        let line = format!("cargo {} -- -D warnings", args.join(" "));
        cmd::step(&format!("gate: {line}"));
        check(
            cmd::cargo().args(&args).args(["--", "-D", "warnings"]),
            &format!("clippy found the problems above: fix them (`{line}` shows them again)"),
        )?;
    }
    Ok(())
}

/// Release binary sizes (text + rodata + data, what the image carries)
/// against their budgets: (name, bytes, budget) for each.
pub fn sizes(fw: &firmware::Firmware, scratch: &Path) -> Result<Vec<(&'static str, u64, u64)>> {
    std::fs::create_dir_all(scratch)?;
    let mut v = Vec::new();
    for (name, elf, budget) in [
        ("loader", &fw.loader_elf, LOADER_BUDGET),
        ("shim", &fw.shim_elf, SHIM_BUDGET),
    ] {
        let size = firmware::stripped_binary_size(elf, &scratch.join(format!("size-{name}.bin")))?;
        v.push((name, size, budget));
    }
    Ok(v)
}

/// Binaries whose budget the gate reports without failing. None: both
/// fit, and both budgets are enforced (README, "Size").
pub const REPORTED_ONLY: &[&str] = &[];

/// Fails when a release binary is over its budget.
pub fn size_budgets(fw: &firmware::Firmware, scratch: &Path) -> Result<()> {
    cmd::step("gate: release sizes within budget (shim <= 64 KiB, loader <= 48 KiB)");
    let sizes = sizes(fw, scratch)?;
    for (name, size, budget) in &sizes {
        let over = if size > budget { "  OVER BUDGET" } else { "" };
        let enforced = if REPORTED_ONLY.contains(name) {
            " (reported, not enforced)"
        } else {
            ""
        };
        eprintln!("    {name}: {size} bytes of {budget}{over}{enforced}");
    }
    over_budget(&sizes, REPORTED_ONLY)
}

fn over_budget(sizes: &[(&str, u64, u64)], reported_only: &[&str]) -> Result<()> {
    let over: Vec<String> = sizes
        .iter()
        .filter(|(name, size, budget)| size > budget && !reported_only.contains(name))
        .map(|(name, size, budget)| format!("{name} is {size} bytes, {} over its {budget}", size - budget))
        .collect();
    if !over.is_empty() {
        bail!(
            "release size over budget: {}; `cargo xtask bench --only size` prints the sizes, \
             `llvm-nm --size-sort -S` on the ELF under target/aarch64-unknown-none-softfloat/ the biggest items",
            over.join("; ")
        );
    }
    Ok(())
}

fn check(c: &mut std::process::Command, fix: &str) -> Result<()> {
    if let Err(e) = cmd::run(c) {
        bail!("{e:#}\n    to fix: {fix}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_budget_names_the_binary_and_the_excess() {
        assert!(over_budget(&[("loader", 49152, LOADER_BUDGET), ("shim", 1, SHIM_BUDGET)], &[]).is_ok());
        let e = over_budget(&[("loader", 100, LOADER_BUDGET), ("shim", 65537, SHIM_BUDGET)], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("shim is 65537 bytes, 1 over its 65536"), "{e}");
        assert!(!e.contains("loader"), "{e}");
        let e = over_budget(
            &[("loader", 49153, LOADER_BUDGET), ("shim", 65537, SHIM_BUDGET)],
            &["shim"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("loader is 49153 bytes, 1 over") && !e.contains("shim"),
            "{e}"
        );
        assert!(over_budget(&[("shim", 65537, SHIM_BUDGET)], &["shim"]).is_ok());
    }

    #[test]
    fn clippy_covers_host_and_both_firmware_targets() {
        let runs = clippy_runs();
        let has = |t: &str| runs.iter().any(|r| r.contains(&t));
        assert!(runs[0].contains(&"--workspace"));
        assert!(has(firmware::FIRMWARE_TARGET) && has(firmware::TARGET));
        for krate in ["hypervisor-shim", "cellboot-loader", "cellboot-inmates"] {
            assert!(has(krate), "{krate}");
        }
    }
}

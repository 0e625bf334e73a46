//! The pinned toolchain's targets and components, installed before anything
//! compiles firmware: rustup does not always add a `rust-toolchain.toml`'s
//! `targets`/`components` on first use (`RUSTUP_AUTO_INSTALL=0`, older
//! rustup, a toolchain installed by hand), and the firmware builds then fail
//! with "can't find crate for `core`".

use crate::{cmd, paths};
use anyhow::{Context, Result, bail};
use std::process::Command;

/// What `rust-toolchain.toml` pins.
#[derive(Debug, PartialEq, Eq)]
pub struct Pinned {
    pub channel: String,
    pub targets: Vec<String>,
    pub components: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    toolchain: Section,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    channel: String,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    profile: Option<String>,
}

pub fn parse(text: &str) -> Result<Pinned> {
    let f: File = toml::from_str(text).context("rust-toolchain.toml")?;
    let Section {
        channel,
        targets,
        components,
        ..
    } = f.toolchain;
    Ok(Pinned {
        channel,
        targets,
        components,
    })
}

fn pinned() -> Result<Pinned> {
    let path = paths::root().join("rust-toolchain.toml");
    parse(&std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?)
}

/// Names in `wanted` that `installed` (one `rustup ... list --installed` line
/// each) lacks. A component is listed with its host triple appended
/// (`llvm-tools-x86_64-unknown-linux-gnu`), a target or `rust-src` bare.
pub fn missing<'a>(wanted: &'a [String], installed: &str, host: &str) -> Vec<&'a str> {
    wanted
        .iter()
        .map(String::as_str)
        .filter(|w| {
            !installed
                .lines()
                .map(str::trim)
                .any(|l| l == *w || l == format!("{w}-{host}"))
        })
        .collect()
}

/// Installs what the pinned toolchain lacks, saying so in one line.
pub fn ensure() -> Result<()> {
    let p = pinned()?;
    if !cmd::have("rustup") {
        return check_without_rustup(&p);
    }
    let list =
        |what: &str| cmd::output(Command::new("rustup").args([what, "list", "--installed", "--toolchain", &p.channel]));
    let host = host_triple()?;
    let targets_have = list("target")?;
    let components_have = list("component")?;
    let targets = missing(&p.targets, &targets_have, &host);
    let components = missing(&p.components, &components_have, &host);
    if targets.is_empty() && components.is_empty() {
        return Ok(());
    }
    let mut what = Vec::new();
    if !targets.is_empty() {
        what.push(format!("targets {}", targets.join(", ")));
    }
    if !components.is_empty() {
        what.push(format!("components {}", components.join(", ")));
    }
    cmd::step(&format!(
        "toolchain {} (rust-toolchain.toml): installing {}",
        p.channel,
        what.join("; ")
    ));
    if !targets.is_empty() {
        cmd::run(
            Command::new("rustup")
                .args(["target", "add", "--toolchain", &p.channel])
                .args(&targets),
        )?;
    }
    if !components.is_empty() {
        cmd::run(
            Command::new("rustup")
                .args(["component", "add", "--toolchain", &p.channel])
                .args(&components),
        )?;
    }
    Ok(())
}

/// A toolchain not managed by rustup: its sysroot must already hold the targets.
fn check_without_rustup(p: &Pinned) -> Result<()> {
    let sysroot = cmd::output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let lib = std::path::Path::new(sysroot.trim()).join("lib/rustlib");
    let absent: Vec<&str> = p
        .targets
        .iter()
        .map(String::as_str)
        .filter(|t| !lib.join(t).is_dir())
        .collect();
    if !absent.is_empty() {
        bail!(
            "no rustup to install the firmware targets {} into {}: install rustup, or add them to this toolchain",
            absent.join(", "),
            lib.display()
        );
    }
    Ok(())
}

pub fn host_triple() -> Result<String> {
    cmd::output(Command::new("rustc").arg("-vV"))?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_file_parses() {
        let p = pinned().unwrap();
        assert!(p.targets.iter().any(|t| t == crate::firmware::FIRMWARE_TARGET));
        assert!(p.targets.iter().any(|t| t == crate::firmware::TARGET));
        assert!(
            p.components.iter().any(|c| c == "llvm-tools"),
            "objcopy comes from llvm-tools"
        );
    }

    #[test]
    fn missing_matches_bare_and_host_suffixed_names() {
        let want: Vec<String> = ["aarch64-unknown-none", "rust-src", "llvm-tools", "clippy"]
            .map(String::from)
            .to_vec();
        let host = "x86_64-unknown-linux-gnu";
        let have = "x86_64-unknown-linux-gnu\nrust-src\nllvm-tools-x86_64-unknown-linux-gnu\n";
        assert_eq!(missing(&want, have, host), ["aarch64-unknown-none", "clippy"]);
        assert!(missing(&want, "aarch64-unknown-none\nrust-src\nllvm-tools-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n", host).is_empty());
        // A prefix is not a match: the softfloat target does not stand for the plain one.
        let t: Vec<String> = vec!["aarch64-unknown-none".into()];
        assert_eq!(
            missing(&t, "aarch64-unknown-none-softfloat\n", host),
            ["aarch64-unknown-none"]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse("[toolchain]\nchannel = \"1.0\"\ntargetz = []\n").is_err());
        let p = parse("[toolchain]\nchannel = \"1.2.3\"\n").unwrap();
        assert_eq!(
            p,
            Pinned {
                channel: "1.2.3".into(),
                targets: vec![],
                components: vec![]
            }
        );
    }
}

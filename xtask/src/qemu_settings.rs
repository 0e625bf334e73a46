//! qemu/<board>.toml: the QEMU machine a board runs on, as data.

use crate::paths;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::process::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QemuSettings {
    pub machine: String,
    pub cpu: Option<String>,
    pub smp: Option<u32>,
    pub memory: String,
    pub exits_on_poweroff: bool,
    /// File name under build/fixtures for `-machine dumpdtb=` (boards whose DTB comes from QEMU).
    pub fixture_dtb: Option<String>,
    /// File name under build/fixtures passed as `-dtb` (boards QEMU builds no DTB for).
    pub boot_dtb: Option<String>,
    pub direct: Option<Direct>,
    /// More QEMU options for every run of the board.
    #[serde(default)]
    pub args: Vec<String>,
}

/// QEMU booting the kernel itself (no shim), sized like the Linux cell.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Direct {
    pub smp: u32,
    pub memory: String,
}

pub const QEMU: &str = "qemu-system-aarch64";

pub fn load(board: &str) -> Result<QemuSettings> {
    let path = paths::root().join("qemu").join(format!("{board}.toml"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", paths::show(&path)))?;
    toml::from_str(&text).with_context(|| paths::show(&path))
}

impl QemuSettings {
    /// `qemu-system-aarch64 -M .. -cpu .. -smp .. -m .. -nographic`.
    pub fn command(&self) -> Command {
        self.command_sized(self.smp, &self.memory)
    }

    pub fn command_sized(&self, smp: Option<u32>, memory: &str) -> Command {
        let mut c = Command::new(QEMU);
        c.args(["-M", &self.machine]);
        if let Some(cpu) = &self.cpu {
            c.args(["-cpu", cpu]);
        }
        if let Some(n) = smp {
            c.args(["-smp", &n.to_string()]);
        }
        c.args(["-m", memory, "-nographic", "-no-reboot"]);
        c.args(&self.args);
        c
    }

    /// [`Self::command`] plus `-dtb` when the board needs one; `dtb` overrides it.
    pub fn boot_command(&self, dtb: Option<&std::path::Path>) -> Command {
        let mut c = self.command();
        let fixture = self.boot_dtb.as_ref().map(|f| paths::fixtures().join(f));
        if let Some(d) = dtb.map(|d| d.to_path_buf()).or(fixture) {
            c.arg("-dtb").arg(d);
        }
        c
    }

    /// The DTB the board boots with: QEMU's dump or the board's file.
    pub fn board_dtb(&self) -> Option<std::path::PathBuf> {
        self.boot_dtb
            .as_ref()
            .or(self.fixture_dtb.as_ref())
            .map(|f| paths::fixtures().join(f))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_board_has_qemu_settings() {
        for e in std::fs::read_dir(crate::paths::root().join("boards")).unwrap() {
            let board = e.unwrap().file_name().into_string().unwrap();
            let s = super::load(&board).unwrap();
            assert!(!s.machine.is_empty(), "{board}");
        }
    }
}

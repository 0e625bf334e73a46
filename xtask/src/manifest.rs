//! `build/guest/manifest.json`: what the last `xtask fetch` resolved — each
//! Debian package's exact name, version and sha256, and the files taken
//! from it. Security updates replace the versioned kernel packages within
//! days, so nothing else names a version: tests, e2e cases and benches read
//! paths from here.

use crate::paths;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Debian's cloud kernel (QEMU virt).
    pub cloud: Entry,
    /// Debian's generic kernel (Raspberry Pi 4, ZCU102) and its Pi 4 and ZCU102 DTBs.
    pub generic: Entry,
    pub busybox: Entry,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The meta-package the name was resolved from, if any.
    pub meta: Option<String>,
    pub package: String,
    pub version: String,
    pub sha256: String,
    /// The .deb, relative to the repository root.
    pub deb: String,
    /// `uname -r` of a kernel package (its modules live under /lib/modules/<this>).
    pub kernel_release: Option<String>,
    /// Files taken from the package or made from them, by role, relative to
    /// the repository root (`vmlinuz`, `image`, `dtb`, `zcu102_dtb`, `busybox`).
    pub files: BTreeMap<String, String>,
}

impl Entry {
    /// The file with this role, as an absolute path.
    pub fn file(&self, role: &str) -> Result<PathBuf> {
        let rel = self.files.get(role).with_context(|| {
            format!(
                "{}: {} has no `{role}` file: run `cargo xtask fetch`",
                paths::show(&path()),
                self.package
            )
        })?;
        Ok(paths::root().join(rel))
    }

    pub fn deb_path(&self) -> PathBuf {
        paths::root().join(&self.deb)
    }
}

pub fn path() -> PathBuf {
    paths::guest().join("manifest.json")
}

pub fn load() -> Result<Manifest> {
    let p = path();
    let text = std::fs::read_to_string(&p)
        .with_context(|| format!("cannot read {}: run `cargo xtask fetch`", paths::show(&p)))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a fetch manifest: run `cargo xtask fetch`", paths::show(&p)))
}

/// The previous manifest, if there is a readable one.
pub fn previous() -> Option<Manifest> {
    load().ok()
}

pub fn to_json(m: &Manifest) -> Result<Vec<u8>> {
    let mut s = serde_json::to_string_pretty(m)?;
    s.push('\n');
    Ok(s.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_unknown_fields() {
        let e = Entry {
            meta: Some("meta".into()),
            package: "pkg".into(),
            version: "1:2-3".into(),
            sha256: "ab".into(),
            deb: "build/downloads/pkg.deb".into(),
            kernel_release: None,
            files: [("busybox".to_string(), "build/guest/bb/bin/busybox".to_string())].into(),
        };
        let m = Manifest {
            cloud: e.clone(),
            generic: e.clone(),
            busybox: e,
        };
        let json = String::from_utf8(to_json(&m).unwrap()).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        let bad = json.replacen("\"sha256\"", "\"sha\"", 1);
        assert!(serde_json::from_str::<Manifest>(&bad).is_err());
        assert!(
            m.busybox
                .file("busybox")
                .unwrap()
                .ends_with("build/guest/bb/bin/busybox")
        );
        assert!(m.busybox.file("image").is_err());
    }
}

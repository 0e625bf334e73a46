//! Finding the function in sysfs by vendor/device ID, as no driver binds it.

use crate::error::Error;
use cellboot_abi::mgmt;
use std::path::{Path, PathBuf};

/// The PCI device directory under `sys` (`/sys` on a live system) whose
/// `vendor` and `device` are the management function's.
pub fn find(sys: &Path) -> Result<PathBuf, Error> {
    let dir = sys.join("bus/pci/devices");
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        Error::Io(format!(
            "{}: {e}: no PCI bus (is this a cell with a vPCI host?)",
            dir.display()
        ))
    })?;
    let mut seen = Vec::new();
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let id = |f: &str| {
            std::fs::read_to_string(p.join(f))
                .ok()
                .and_then(|s| parse_hex(s.trim()))
        };
        let (Some(v), Some(d)) = (id("vendor"), id("device")) else {
            continue;
        };
        if v == u64::from(mgmt::VENDOR_ID) && d == u64::from(mgmt::DEVICE_ID) {
            return Ok(p);
        }
        seen.push(format!("{v:04x}:{d:04x}"));
    }
    Err(Error::Io(format!(
        "no management function ({:04x}:{:04x}) in {} (found: {}): this cell was granted no other cell (manage = [...] in its config)",
        mgmt::VENDOR_ID,
        mgmt::DEVICE_ID,
        dir.display(),
        if seen.is_empty() {
            "nothing".to_string()
        } else {
            seen.join(" ")
        }
    )))
}

/// BAR0's address and size from the device's `resource` file (first line:
/// start, end, flags in hex).
pub fn bar0(dev: &Path) -> Result<(u64, u64), Error> {
    let path = dev.join("resource");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or("");
    let mut f = line.split_whitespace().map(parse_hex);
    match (f.next().flatten(), f.next().flatten()) {
        (Some(start), Some(end)) if start != 0 && end > start => Ok((start, end - start + 1)),
        _ => Err(Error::Io(format!(
            "{}: BAR0 is not assigned ({line:?}): the kernel found no room in the vPCI MEM window",
            path.display()
        ))),
    }
}

pub fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok()
}

/// A number as the command line takes it: decimal, or hex with 0x (and `_`
/// separators, as the config files write addresses).
pub fn parse_number(s: &str) -> Option<u64> {
    let t: String = s.chars().filter(|&c| c != '_').collect();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(root: &Path, name: &str, vendor: &str, device: &str, resource: &str) {
        let d = root.join("bus/pci/devices").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("vendor"), format!("{vendor}\n")).unwrap();
        std::fs::write(d.join("device"), format!("{device}\n")).unwrap();
        std::fs::write(d.join("resource"), resource).unwrap();
    }

    #[test]
    fn finds_the_function_among_others() {
        let t = tempfile::tempdir().unwrap();
        device(t.path(), "0001:00:00.0", "0x110a", "0x4106", "");
        device(
            t.path(),
            "0001:00:1f.0",
            "0xce11",
            "0x0001",
            "0x0000000010001000 0x0000000010001fff 0x0000000000040200\n0x0 0x0 0x0\n",
        );
        let p = find(t.path()).unwrap();
        assert!(p.ends_with("0001:00:1f.0"));
        assert_eq!(bar0(&p), Ok((0x1000_1000, 0x1000)));
    }

    #[test]
    fn absent_function_and_unassigned_bar_are_explained() {
        let t = tempfile::tempdir().unwrap();
        device(t.path(), "0001:00:00.0", "0x110a", "0x4106", "0x0 0x0 0x0\n");
        let e = find(t.path()).unwrap_err().to_string();
        assert!(
            e.contains("ce11:0001") && e.contains("110a:4106") && e.contains("manage"),
            "{e}"
        );
        let p = t.path().join("bus/pci/devices/0001:00:00.0");
        assert!(bar0(&p).unwrap_err().to_string().contains("not assigned"));
        let e = find(&t.path().join("nothing")).unwrap_err().to_string();
        assert!(e.contains("no PCI bus"), "{e}");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x6120_0000"), Some(0x6120_0000));
        assert_eq!(parse_number("4096"), Some(4096));
        assert_eq!(parse_number("0xg"), None);
        assert_eq!(parse_number(""), None);
    }
}

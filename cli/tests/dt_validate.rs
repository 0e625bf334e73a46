//! The guest DTB's virtual PCI host node against the kernel's binding for
//! `pci-host-ecam-generic`, with dtschema's `dt-validate`.
//!
//! dtschema ships the core PCI schemas (`pci/pci-bus.yaml`,
//! `pci-host-bridge.yaml`, ...) but not the Linux tree's
//! `pci/host-generic-pci.yaml`; a copy (GPL-2.0-only OR BSD-2-Clause, from
//! torvalds/linux 0cfa80d3c398) is in `tests/bindings/` and passed with `-s`.
//! Only the PCI node's messages are looked at: the board DTBs draw others
//! (no schema for psci, virtio,mmio, ...) that are not ours.

mod common;

use cellfdt::{Fdt, FdtMut};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dt_validate(dtbs: &[&Path]) -> String {
    let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bindings");
    let args = |c: &mut Command| {
        c.arg("-m").arg("-s").arg(&schemas).args(dtbs);
    };
    let mut cmd = Command::new("dt-validate");
    args(&mut cmd);
    let out = match cmd.output() {
        Ok(o) => o,
        // pip may have put the script off PATH; the module is what counts.
        Err(_) => {
            let mut py = Command::new("python3");
            py.args([
                "-c",
                "import sys; from dtschema.dtb_validate import main; sys.argv[0] = 'dt-validate'; sys.exit(main())",
            ]);
            args(&mut py);
            py.output()
                .expect("dt-validate (dtschema) is not installed: run .ci/provision.sh")
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Traceback") && !text.contains("No module named"),
        "dt-validate failed:\n{text}"
    );
    text
}

/// dt-validate's messages about node `pci` in `dtb` (the `from schema` lines folded in).
fn pci_messages(output: &str, dtb: &Path, pci: &str) -> Vec<String> {
    let prefix = format!("{}: ", dtb.display());
    let mut out: Vec<String> = Vec::new();
    let mut ours = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix(&prefix) {
            ours = rest.starts_with(pci) || rest.starts_with(&format!("/{pci}"));
            if ours {
                out.push(rest.to_string());
            }
        } else if line.starts_with('\t') && ours {
            if let Some(last) = out.last_mut() {
                last.push_str(line);
            }
        } else {
            ours = false;
        }
    }
    out
}

/// `blob` with property `prop` of `/<pci>` deleted, written to `dir/<name>`.
fn without(blob: &[u8], pci: &str, prop: &str, dir: &Path, name: &str) -> PathBuf {
    let mut buf = vec![0u8; blob.len() + 4096];
    let mut f = FdtMut::open_into(blob, &mut buf).unwrap();
    let node = f.as_fdt().path_offset(&format!("/{pci}")).unwrap();
    f.delprop(node, prop).unwrap();
    f.pack().unwrap();
    let size = f.as_fdt().totalsize();
    let path = dir.join(name);
    std::fs::write(&path, &buf[..size]).unwrap();
    Fdt::new(&std::fs::read(&path).unwrap()).unwrap().check_full().unwrap();
    path
}

#[test]
fn vpci_node_passes_the_kernels_host_generic_pci_binding() {
    let tmp = tempfile::tempdir().unwrap();
    let boards = [("qemu-virt", "pci@8e00000"), ("rpi4b", "pci@ff900000")];
    let mut guests = Vec::new();
    for (board, pci) in boards {
        let (path, blob) = build_guest(board, tmp.path());
        guests.push((path, blob, pci));
    }
    // Control: a node without `ranges` must be caught by host-generic-pci.yaml,
    // or this test could not fail.
    let (_, virt_blob, virt_pci) = &guests[0];
    let control = without(virt_blob, virt_pci, "ranges", tmp.path(), "control-no-ranges.dtb");

    let mut all: Vec<&Path> = guests.iter().map(|(p, ..)| p.as_path()).collect();
    all.push(&control);
    let output = dt_validate(&all);

    let caught = pci_messages(&output, &control, virt_pci);
    assert!(
        caught
            .iter()
            .any(|m| m.contains("'ranges' is a required property") && m.contains("host-generic-pci.yaml")),
        "the binding was not applied to the node:\n{output}"
    );
    for (path, _, pci) in &guests {
        let said = pci_messages(&output, path, pci);
        eprintln!("dt-validate on {pci} of {}: {said:#?}", path.display());
        assert!(said.is_empty(), "{pci}: dt-validate says {said:#?}");
    }
}

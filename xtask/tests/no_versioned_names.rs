//! Nothing in the tree names a versioned upstream kernel file: Debian
//! replaces `linux-image-<abi>` packages with every security update, so a
//! test, script or doc that names one breaks on the next fresh machine.
//! Versions come from `build/guest/manifest.json` (`cargo xtask fetch`);
//! only the resolver's own fixtures may spell them.

use std::path::{Path, PathBuf};

/// Generated, downloaded or tooling directories, and the resolver's fixtures.
const SKIP: &[&str] = &[
    "target",
    "build",
    ".git",
    "fuzz/target",
    "fuzz/corpus",
    "fuzz/artifacts",
    "xtask/fixtures/resolver",
];

/// Prefixes that must never be followed by a digit.
fn needles() -> Vec<String> {
    ["vmlinuz", "linux-image", "linux-headers"]
        .iter()
        .map(|p| format!("{p}-"))
        .collect()
}

/// `(line number, line)` of each line naming a versioned file.
fn offending(text: &str) -> Vec<(usize, String)> {
    let needles = needles();
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            needles.iter().any(|n| {
                line.match_indices(n.as_str())
                    .any(|(i, _)| line[i + n.len()..].starts_with(|c: char| c.is_ascii_digit()))
            })
        })
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if SKIP.contains(&rel.as_str()) {
            continue;
        }
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk(root, &p, out);
        } else if ft.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn the_tree_names_no_versioned_kernel_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    walk(root, root, &mut files);
    assert!(
        files.len() > 100,
        "walked only {} files from {}",
        files.len(),
        root.display()
    );
    let mut found = Vec::new();
    for f in &files {
        // Binary files (DTB fixtures, images) are not text a person wrote.
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for (n, line) in offending(&text) {
            found.push(format!(
                "{}:{n}: {}",
                f.strip_prefix(root).unwrap().display(),
                line.trim()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "versioned upstream names (read them from build/guest/manifest.json):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_finds_what_it_must() {
    let bad = format!("read build/guest/cloud/boot/{}6.1.0-56-cloud-arm64\n", needles()[0]);
    assert_eq!(offending(&bad).len(), 1);
    assert_eq!(
        offending(&format!("x\n{}6.1.0-57-arm64_6.1.192-3_arm64.deb", needles()[1]))[0].0,
        2
    );
    assert!(
        offending(&format!("{}cloud-arm64 {}{{kver}}", needles()[1], needles()[0])).is_empty(),
        "meta names and templates are fine"
    );
}

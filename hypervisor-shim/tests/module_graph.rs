//! The shim's modules import each other without a cycle, so a reader can
//! follow them from the bottom layer up (docs/shim.md draws the graph).
//!
//! Each module is a file `src/<name>.rs` (`arch` also owns `src/arch/`);
//! module A depends on B when A's code (comments stripped) names
//! `crate::B` — in a path or in a `use crate::{.., B, ..}` group — or, for
//! B = console, uses its `info!`/`cell_info!`/`phase!` macros, for B = off,
//! its `fatal!`. The crate root (main.rs,
//! the entry points) is the top and is not a module here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// `line` without its `//` comment (a `//` inside a string literal stays).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '/' if !in_str && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first path segment of each item of a `{ .. }` group starting at `s`
/// (just after the `{`): `a, b::{c, d}, e as f` gives a, b, e.
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && depth == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                heads.push(ident_at(&s[i..]));
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The modules `code` names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let text: String = code.lines().map(|l| strip_comment(l).to_string() + "\n").collect();
    let mut refs = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = text[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            refs.extend(group_heads(group).into_iter().map(str::to_string));
        } else {
            refs.insert(ident_at(rest).to_string());
        }
    }
    if text.contains("info!(") || text.contains("phase!(") {
        refs.insert("console".to_string());
    }
    if text.contains("fatal!(") {
        refs.insert("off".to_string());
    }
    refs
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module graph of the shim's `src/`.
fn shim_graph(src: &Path) -> Graph {
    let mut code: BTreeMap<String, String> = BTreeMap::new();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.extension().is_some_and(|x| x == "rs") && name != "main" {
            let text = std::fs::read_to_string(&p).unwrap();
            code.entry(name).or_default().push_str(&text);
        }
    }
    // A directory module: its files belong to the module of that name.
    let mut files = Vec::new();
    rust_files(&src.join("arch"), &mut files);
    for f in files {
        code.entry("arch".into())
            .or_default()
            .push_str(&std::fs::read_to_string(f).unwrap());
    }
    let modules: BTreeSet<String> = code.keys().cloned().collect();
    code.iter()
        .map(|(m, text)| {
            let deps = crate_refs(text)
                .into_iter()
                .filter(|d| d != m && modules.contains(d))
                .collect();
            (m.clone(), deps)
        })
        .collect()
}

/// A cycle of `g` as the path of modules round it (first = last), if any.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(g: &Graph, m: &str, marks: &mut BTreeMap<String, Mark>, path: &mut Vec<String>) -> Option<Vec<String>> {
        marks.insert(m.to_string(), Mark::Open);
        path.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            match marks.get(d.as_str()).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let from = path.iter().position(|p| p == d).unwrap();
                    let mut cycle = path[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(g, d, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for m in g.keys() {
        if marks.get(m.as_str()).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(c) = visit(g, m, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// The shim's sources; `SHIM_SRC` points the check at another tree (e.g.
/// an older revision, to see the cycles it had).
fn src() -> std::path::PathBuf {
    match std::env::var_os("SHIM_SRC") {
        Some(s) => s.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

#[test]
fn the_shim_has_no_import_cycle() {
    let g = shim_graph(&src());
    assert!(g.len() > 20, "too few modules found: {:?}", g.keys());
    if let Some(c) = find_cycle(&g) {
        panic!("import cycle in the shim: {}", c.join(" -> "));
    }
}

#[test]
fn docs_name_every_shim_module() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/shim.md")).unwrap();
    let g = shim_graph(&src());
    let missing: Vec<_> = g.keys().filter(|m| !doc.contains(&format!("`{m}`"))).collect();
    assert!(missing.is_empty(), "docs/shim.md does not describe: {missing:?}");
}

#[test]
fn references_are_read_from_paths_groups_and_macros() {
    let code = r#"
        use crate::arch::{self, MAX_CPUS};
        use crate::{cell, gic::{self, Gic}, state as st};
        // crate::commented is no reference
        let s = "http://x"; crate::off::fatal(x);
        info!("hi");
    "#;
    let refs: Vec<_> = crate_refs(code).into_iter().collect();
    assert_eq!(refs, ["arch", "cell", "console", "gic", "off", "state"]);
    let refs: Vec<_> = crate_refs("cell_info!(n, \"x\"); fatal!(\"y\");").into_iter().collect();
    assert_eq!(refs, ["console", "off"]);
}

#[test]
fn a_cycle_is_found_and_shown() {
    let g: Graph = [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]
        .iter()
        .map(|(m, ds)| (m.to_string(), ds.iter().map(|d| d.to_string()).collect()))
        .collect();
    assert_eq!(find_cycle(&g).unwrap().join(" -> "), "a -> b -> c -> a");
    let dag: Graph = [("a", &["b", "c"][..]), ("b", &["c"]), ("c", &[])]
        .iter()
        .map(|(m, ds)| (m.to_string(), ds.iter().map(|d| d.to_string()).collect()))
        .collect();
    assert_eq!(find_cycle(&dag), None);
}

/// `cargo test -p hypervisor-shim --test module_graph -- --ignored --nocapture`
/// prints each module's imports (for docs/shim.md).
#[test]
#[ignore]
fn print_the_graph() {
    for (m, deps) in shim_graph(&src()) {
        println!("{m}: {}", deps.into_iter().collect::<Vec<_>>().join(", "));
    }
}

//! Structural diff of two device trees, read with cellfdt: nodes added and
//! removed, properties added, removed and changed, `status` flips.

use crate::prop_format::format_value;
use cellfdt::{Error, Fdt};
use std::collections::HashMap;

/// One node: full path and properties in blob order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub path: String,
    pub props: Vec<(String, Vec<u8>)>,
}

impl Node {
    fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// Every node of `fdt`, depth first (the blob's order).
pub fn flatten(fdt: &Fdt<'_>) -> Result<Vec<Node>, Error> {
    let mut nodes = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut node = 0usize;
    loop {
        let name = String::from_utf8_lossy(fdt.get_name_bytes(node)?).into_owned();
        stack.truncate(depth as usize);
        let path = match stack.last() {
            None => "/".to_string(),
            Some(parent) if parent == "/" => format!("/{name}"),
            Some(parent) => format!("{parent}/{name}"),
        };
        stack.push(path.clone());
        nodes.push(Node {
            path,
            props: props(fdt, node)?,
        });
        node = match fdt.next_node(Some(node), Some(&mut depth)) {
            Ok(n) if depth > 0 => n,
            Ok(_) | Err(Error::NotFound) => break,
            Err(e) => return Err(e),
        };
    }
    Ok(nodes)
}

fn props(fdt: &Fdt<'_>, node: usize) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    let mut p = match fdt.first_property(node) {
        Ok(p) => p,
        Err(Error::NotFound) => return Ok(out),
        Err(e) => return Err(e),
    };
    loop {
        let (name, value) = fdt.property_at_bytes(p)?;
        out.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        p = match fdt.next_property(p) {
            Ok(n) => n,
            Err(Error::NotFound) => return Ok(out),
            Err(e) => return Err(e),
        };
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A node only in the new tree, with its properties.
    NodeAdded {
        path: String,
        props: Vec<(String, Vec<u8>)>,
    },
    /// A node only in the old tree; `subnodes` removed with it are not listed.
    NodeRemoved {
        path: String,
        subnodes: usize,
    },
    PropAdded {
        path: String,
        name: String,
        value: Vec<u8>,
    },
    PropRemoved {
        path: String,
        name: String,
        value: Vec<u8>,
    },
    PropChanged {
        path: String,
        name: String,
        old: Vec<u8>,
        new: Vec<u8>,
    },
    /// `status` added, removed or changed (absent means "okay").
    StatusFlip {
        path: String,
        old: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::NodeAdded { path, .. }
            | Change::NodeRemoved { path, .. }
            | Change::PropAdded { path, .. }
            | Change::PropRemoved { path, .. }
            | Change::PropChanged { path, .. }
            | Change::StatusFlip { path, .. } => path,
        }
    }
}

/// Changes from `old` to `new`: old tree order first (removals and edits),
/// then the added nodes in new tree order.
pub fn diff(old: &[Node], new: &[Node]) -> Vec<Change> {
    let new_by_path: HashMap<&str, &Node> = new.iter().map(|n| (n.path.as_str(), n)).collect();
    let old_by_path: HashMap<&str, &Node> = old.iter().map(|n| (n.path.as_str(), n)).collect();
    let mut changes = Vec::new();
    let mut removed_root: Option<usize> = None; // index in `changes` of the enclosing removal
    for o in old {
        let Some(n) = new_by_path.get(o.path.as_str()) else {
            if let Some(Change::NodeRemoved { path, subnodes }) = removed_root.and_then(|i| changes.get_mut(i))
                && o.path.starts_with(&format!("{path}/"))
            {
                *subnodes += 1;
                continue;
            }
            removed_root = Some(changes.len());
            changes.push(Change::NodeRemoved {
                path: o.path.clone(),
                subnodes: 0,
            });
            continue;
        };
        let path = || o.path.clone();
        let (os, ns) = (o.prop("status"), n.prop("status"));
        if os != ns {
            changes.push(Change::StatusFlip {
                path: path(),
                old: os.map(<[u8]>::to_vec),
                new: ns.map(<[u8]>::to_vec),
            });
        }
        for (name, value) in o.props.iter().filter(|(k, _)| k != "status") {
            match n.prop(name) {
                None => changes.push(Change::PropRemoved {
                    path: path(),
                    name: name.clone(),
                    value: value.clone(),
                }),
                Some(v) if v != value.as_slice() => changes.push(Change::PropChanged {
                    path: path(),
                    name: name.clone(),
                    old: value.clone(),
                    new: v.to_vec(),
                }),
                Some(_) => {}
            }
        }
        for (name, value) in n.props.iter().filter(|(k, _)| k != "status" && o.prop(k).is_none()) {
            changes.push(Change::PropAdded {
                path: path(),
                name: name.clone(),
                value: value.clone(),
            });
        }
    }
    for n in new.iter().filter(|n| !old_by_path.contains_key(n.path.as_str())) {
        changes.push(Change::NodeAdded {
            path: n.path.clone(),
            props: n.props.clone(),
        });
    }
    changes
}

fn shown(name: &str, v: &[u8]) -> String {
    if v.is_empty() {
        name.to_string()
    } else {
        format!("{name} = {}", format_value(v))
    }
}

fn status(v: &Option<Vec<u8>>) -> String {
    match v {
        None => "(absent: okay)".into(),
        Some(v) => format_value(v),
    }
}

/// Text form: a `+`/`-`/`~` line per node, indented property lines under
/// it, and a summary line.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    let (mut added, mut removed, mut flips, mut props) = (0, 0, 0, [0usize; 3]);
    for c in changes {
        let header = |out: &mut String, current: &mut Option<&str>, mark: char, path: &str| {
            if *current != Some(path) {
                out.push_str(&format!("{mark} {path}\n"));
            }
        };
        match c {
            Change::NodeRemoved { path, subnodes } => {
                removed += 1 + subnodes;
                let extra = if *subnodes > 0 {
                    format!(" (and {subnodes} subnodes)")
                } else {
                    String::new()
                };
                out.push_str(&format!("- {path}{extra}\n"));
            }
            Change::NodeAdded { path, props } => {
                added += 1;
                out.push_str(&format!("+ {path}\n"));
                for (k, v) in props {
                    out.push_str(&format!("    {}\n", shown(k, v)));
                }
            }
            Change::StatusFlip { path, old, new } => {
                flips += 1;
                header(&mut out, &mut current, '~', path);
                out.push_str(&format!("    status: {} -> {}\n", status(old), status(new)));
            }
            Change::PropAdded { path, name, value } => {
                props[0] += 1;
                header(&mut out, &mut current, '~', path);
                out.push_str(&format!("    + {}\n", shown(name, value)));
            }
            Change::PropRemoved { path, name, value } => {
                props[1] += 1;
                header(&mut out, &mut current, '~', path);
                out.push_str(&format!("    - {}\n", shown(name, value)));
            }
            Change::PropChanged { path, name, old, new } => {
                props[2] += 1;
                header(&mut out, &mut current, '~', path);
                out.push_str(&format!(
                    "    ~ {name}: {} -> {}\n",
                    format_value(old),
                    format_value(new)
                ));
            }
        }
        current = Some(c.path());
    }
    out.push_str(&format!(
        "summary: {added} node(s) added, {removed} removed, {flips} status flip(s), \
         {} propert(ies) added, {} removed, {} changed\n",
        props[0], props[1], props[2]
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(path: &str, props: &[(&str, &[u8])]) -> Node {
        Node {
            path: path.into(),
            props: props.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect(),
        }
    }

    #[test]
    fn every_kind_of_change() {
        let old = vec![
            node("/", &[("model", b"x\0")]),
            node("/cpus", &[]),
            node("/cpus/cpu@2", &[]),
            node("/cpus/cpu@2/l2", &[]),
            node("/uart@1", &[("reg", &[0, 0, 0, 1]), ("clocks", &[0, 0, 0, 2])]),
            node("/gpio@2", &[("status", b"okay\0")]),
        ];
        let new = vec![
            node("/", &[("model", b"y\0")]),
            node("/cpus", &[]),
            node(
                "/uart@1",
                &[("reg", &[0, 0, 0, 1]), ("status", b"disabled\0"), ("new", b"")],
            ),
            node("/gpio@2", &[]),
            node("/pci@8", &[("compatible", b"pci-host-ecam-generic\0")]),
        ];
        let d = diff(&old, &new);
        assert_eq!(
            d,
            vec![
                Change::PropChanged {
                    path: "/".into(),
                    name: "model".into(),
                    old: b"x\0".to_vec(),
                    new: b"y\0".to_vec()
                },
                Change::NodeRemoved {
                    path: "/cpus/cpu@2".into(),
                    subnodes: 1
                },
                Change::StatusFlip {
                    path: "/uart@1".into(),
                    old: None,
                    new: Some(b"disabled\0".to_vec())
                },
                Change::PropRemoved {
                    path: "/uart@1".into(),
                    name: "clocks".into(),
                    value: vec![0, 0, 0, 2]
                },
                Change::PropAdded {
                    path: "/uart@1".into(),
                    name: "new".into(),
                    value: vec![]
                },
                Change::StatusFlip {
                    path: "/gpio@2".into(),
                    old: Some(b"okay\0".to_vec()),
                    new: None
                },
                Change::NodeAdded {
                    path: "/pci@8".into(),
                    props: vec![("compatible".into(), b"pci-host-ecam-generic\0".to_vec())]
                },
            ]
        );
        let text = render(&d);
        assert!(text.contains("- /cpus/cpu@2 (and 1 subnodes)\n"), "{text}");
        assert!(
            text.contains("~ /uart@1\n    status: (absent: okay) -> \"disabled\"\n    - clocks = <0x2>\n    + new\n"),
            "{text}"
        );
        assert!(
            text.contains("+ /pci@8\n    compatible = \"pci-host-ecam-generic\"\n"),
            "{text}"
        );
        assert!(
            text.contains("summary: 1 node(s) added, 2 removed, 2 status flip(s)"),
            "{text}"
        );
    }

    #[test]
    fn identical_trees_have_no_changes() {
        let blob = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../build/fixtures/bcm2711-rpi-4-b.dtb"
        ))
        .unwrap();
        let nodes = flatten(&Fdt::new(&blob).unwrap()).unwrap();
        assert!(nodes.len() > 100);
        assert_eq!(nodes[0].path, "/");
        assert!(
            nodes.iter().any(|n| n.path == "/soc/serial@7e201000"),
            "paths are full paths"
        );
        assert!(diff(&nodes, &nodes).is_empty());
    }
}

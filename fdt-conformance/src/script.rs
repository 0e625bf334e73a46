//! Edit scripts: symbolic ops (what the generators produce) and their
//! resolution against the current tree into concrete edits (what both
//! libraries are given).

use crate::libfdt_ro;

/// A node chosen among the nodes of the current tree, or a raw offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// The `i % n`-th node in depth-first order (root = 0).
    Existing(u16),
    /// A literal structure-block offset (mostly invalid: BADOFFSET etc.).
    Raw(u32),
}

/// A property name: one of the node's current properties, or a given name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropRef {
    /// The `i % n`-th property of the node (a fresh name when it has none).
    Existing(u16),
    Named(String),
}

/// A node name: fresh, or a copy of a sibling's name (→ EXISTS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeName {
    New(String),
    /// The name of the `i % n`-th child of the parent (or of the node itself).
    Sibling(u16),
}

/// One symbolic operation of an edit script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    SetProp(NodeRef, PropRef, Vec<u8>),
    AppendProp(NodeRef, PropRef, Vec<u8>),
    DelProp(NodeRef, PropRef),
    AddSubnode(NodeRef, NodeName),
    DelNode(NodeRef),
    SetName(NodeRef, NodeName),
    AddMemRsv(u64, u64),
    DelMemRsv(u8),
    /// `Some(v)`: that value; `None`: the current value with its bytes inverted
    /// (same length, so it succeeds when the property exists).
    SetPropInplace(NodeRef, PropRef, Option<Vec<u8>>),
    NopProperty(NodeRef, PropRef),
    NopNode(NodeRef),
    Pack,
    /// Open into a new buffer of `used + slack` bytes (`used` = header + blocks).
    OpenInto(u16),
    /// Open into a new buffer of `totalsize + delta` bytes.
    OpenIntoDelta(i32),
    OpenInPlace,
}

/// A concrete edit, as handed to both libraries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    SetProp { node: usize, name: String, val: Vec<u8> },
    AppendProp { node: usize, name: String, val: Vec<u8> },
    DelProp { node: usize, name: String },
    AddSubnode { parent: usize, name: String },
    DelNode { node: usize },
    SetName { node: usize, name: String },
    AddMemRsv { addr: u64, size: u64 },
    DelMemRsv { n: usize },
    SetPropInplace { node: usize, name: String, val: Vec<u8> },
    NopProperty { node: usize, name: String },
    NopNode { node: usize },
    Pack,
    OpenInto { size: usize },
    OpenInPlace,
}

/// Offsets of every node, depth first, per libfdt (empty if the walk fails).
pub fn node_offsets(blob: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut node, mut depth) = (None, 0);
    while let Ok((off, d)) = libfdt_ro::next_node(blob, node, depth) {
        if d < 0 {
            break;
        }
        out.push(off);
        (node, depth) = (Some(off), d);
    }
    out
}

fn prop_names(blob: &[u8], node: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = libfdt_ro::first_property(blob, node);
    while let Ok(po) = p {
        if let Ok((name, _)) = libfdt_ro::property_at(blob, po) {
            out.push(String::from_utf8_lossy(name).into_owned());
        }
        p = libfdt_ro::next_property(blob, po);
    }
    out
}

fn children(blob: &[u8], node: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut c = libfdt_ro::first_subnode(blob, node);
    while let Ok(o) = c {
        out.push(o);
        c = libfdt_ro::next_subnode(blob, o);
    }
    out
}

/// Header + mem-rsv + struct + strings: the bytes `fdt_pack` keeps.
pub fn used_size(blob: &[u8]) -> usize {
    use crate::libfdt::be32;
    let strings_end = be32(blob, 12) as usize + be32(blob, 32) as usize;
    let struct_end = be32(blob, 8) as usize + be32(blob, 36) as usize;
    strings_end.max(struct_end)
}

fn resolve_node(blob: &[u8], nodes: &[usize], r: &NodeRef) -> usize {
    match r {
        NodeRef::Existing(i) if !nodes.is_empty() => nodes[*i as usize % nodes.len()],
        NodeRef::Existing(_) => 0,
        NodeRef::Raw(o) => {
            let _ = blob;
            *o as usize
        }
    }
}

fn resolve_prop(blob: &[u8], node: usize, r: &PropRef) -> String {
    match r {
        PropRef::Named(s) => s.clone(),
        PropRef::Existing(i) => {
            let names = prop_names(blob, node);
            if names.is_empty() {
                "no-such-prop".to_string()
            } else {
                names[*i as usize % names.len()].clone()
            }
        }
    }
}

fn resolve_name(blob: &[u8], parent: usize, self_node: Option<usize>, r: &NodeName) -> String {
    match r {
        NodeName::New(s) => s.clone(),
        NodeName::Sibling(i) => {
            let kids = children(blob, parent);
            let pick = if kids.is_empty() {
                self_node
            } else {
                Some(kids[*i as usize % kids.len()])
            };
            pick.and_then(|o| libfdt_ro::get_name(blob, o).ok())
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_else(|| "dup".to_string())
        }
    }
}

/// Turn `op` into a concrete edit against the current `blob`.
pub fn resolve(blob: &[u8], op: &Op) -> Edit {
    let nodes = node_offsets(blob);
    let n = |r: &NodeRef| resolve_node(blob, &nodes, r);
    match op {
        Op::SetProp(r, p, v) => {
            let node = n(r);
            Edit::SetProp {
                node,
                name: resolve_prop(blob, node, p),
                val: v.clone(),
            }
        }
        Op::AppendProp(r, p, v) => {
            let node = n(r);
            Edit::AppendProp {
                node,
                name: resolve_prop(blob, node, p),
                val: v.clone(),
            }
        }
        Op::DelProp(r, p) => {
            let node = n(r);
            Edit::DelProp {
                node,
                name: resolve_prop(blob, node, p),
            }
        }
        Op::AddSubnode(r, name) => {
            let parent = n(r);
            Edit::AddSubnode {
                parent,
                name: resolve_name(blob, parent, None, name),
            }
        }
        Op::DelNode(r) => Edit::DelNode { node: n(r) },
        Op::SetName(r, name) => {
            let node = n(r);
            let parent = libfdt_ro::parent_offset(blob, node).unwrap_or(0);
            Edit::SetName {
                node,
                name: resolve_name(blob, parent, Some(node), name),
            }
        }
        Op::AddMemRsv(a, s) => Edit::AddMemRsv { addr: *a, size: *s },
        Op::DelMemRsv(i) => Edit::DelMemRsv { n: *i as usize },
        Op::SetPropInplace(r, p, v) => {
            let node = n(r);
            let name = resolve_prop(blob, node, p);
            let val = match v {
                Some(v) => v.clone(),
                None => libfdt_ro::getprop(blob, node, &name)
                    .map(|c| c.iter().map(|b| !b).collect())
                    .unwrap_or_default(),
            };
            Edit::SetPropInplace { node, name, val }
        }
        Op::NopProperty(r, p) => {
            let node = n(r);
            Edit::NopProperty {
                node,
                name: resolve_prop(blob, node, p),
            }
        }
        Op::NopNode(r) => Edit::NopNode { node: n(r) },
        Op::Pack => Edit::Pack,
        Op::OpenInto(slack) => Edit::OpenInto {
            size: used_size(blob) + *slack as usize,
        },
        Op::OpenIntoDelta(d) => {
            let size = (crate::libfdt::totalsize(blob) as i64 + *d as i64).clamp(0, 8 << 20) as usize;
            Edit::OpenInto { size }
        }
        Op::OpenInPlace => Edit::OpenInPlace,
    }
}

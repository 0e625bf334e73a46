//! The cell fixup (fdt-conformance's `cell_fixup`) written with the peer
//! Rust FDT editors, for `cargo xtask bench`'s table: fdt-edit (an arena
//! tree parsed from the DTB and encoded back) and dtoolkit (its `DeviceTree`
//! model; its in-place API cannot add a node, so the model it is).
//!
//! `fdt-peers <input> <fdt_edit|dtoolkit> <iters>`: the run callgrind counts
//! (inside `bench_<variant>`, as fdt-bench measures its own variants).
//! `fdt-peers --check <input>`: each peer's result holds exactly the nodes
//! and properties of libfdt's (the peers order new nodes differently, so
//! trees are compared as sets of (path, properties)).

use fdt_conformance::cell_fixup::{self, BOARDS, Board, Plan};
use fdt_conformance::{AlignedBuf, libfdt_ro};
use std::hint::black_box;

/// Full paths (unit addresses included) of the nodes the plan addresses by
/// short name: the peers look names up exactly, libfdt by prefix.
struct Paths {
    memory: String,
    chosen: String,
    delete: Vec<String>,
    disable: Vec<String>,
}

fn full(blob: &[u8], path: &str) -> String {
    let node = libfdt_ro::path_offset(blob, path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    libfdt_ro::get_path(blob, node, 4096).expect("get_path")
}

impl Paths {
    fn new(src: &[u8], plan: &Plan) -> Paths {
        Paths {
            memory: full(src, "/memory"),
            chosen: full(src, "/chosen"),
            delete: plan.delete.iter().map(|p| full(src, p)).collect(),
            disable: plan.disable.iter().map(|p| full(src, p)).collect(),
        }
    }
}

fn split(path: &str) -> (&str, &str) {
    let (parent, name) = path.rsplit_once('/').expect("absolute path");
    (if parent.is_empty() { "/" } else { parent }, name)
}

#[inline(never)]
fn bench_fdt_edit(src: &[u8], plan: &Plan, paths: &Paths) -> Vec<u8> {
    use fdt_edit::{Fdt, Node, Property};
    let mut f = Fdt::from_bytes(src).expect("fdt-edit parses");
    let root = f.root_id();
    let mut pci = Node::new("pci@8e00000");
    for (name, val) in &plan.pci_props {
        pci.set_property(Property::new(name, val.clone()));
    }
    f.add_node(root, pci);
    let set = |f: &mut Fdt, path: &str, name: &str, val: Vec<u8>| {
        let id = f.get_by_path_id(path).expect("node");
        f.node_mut(id).expect("node").set_property(Property::new(name, val));
    };
    set(&mut f, &paths.memory, "reg", plan.memory_reg.clone());
    set(&mut f, &paths.chosen, "bootargs", cstr(plan.bootargs));
    set(
        &mut f,
        &paths.chosen,
        "linux,initrd-start",
        plan.initrd.0.to_be_bytes().to_vec(),
    );
    set(
        &mut f,
        &paths.chosen,
        "linux,initrd-end",
        plan.initrd.1.to_be_bytes().to_vec(),
    );
    set(&mut f, &paths.chosen, "stdout-path", cstr(plan.stdout_path));
    for p in &paths.delete {
        f.remove_by_path(p).expect("node to delete");
    }
    for p in &paths.disable {
        set(&mut f, p, "status", cstr("disabled"));
    }
    f.encode().to_vec()
}

#[inline(never)]
fn bench_dtoolkit(src: &[u8], plan: &Plan, paths: &Paths) -> Vec<u8> {
    use dtoolkit::model::{DeviceTree, DeviceTreeNode, DeviceTreeProperty};
    let fdt = dtoolkit::fdt::Fdt::new(src).expect("dtoolkit parses");
    let mut t = DeviceTree::from_fdt(&fdt);
    let mut pci = DeviceTreeNode::new_unchecked("pci@8e00000");
    for (name, val) in &plan.pci_props {
        pci.add_property(DeviceTreeProperty::new_unchecked(*name, val.clone()));
    }
    t.root.add_child(pci);
    let set = |t: &mut DeviceTree, path: &str, name: &str, val: Vec<u8>| {
        t.find_node_mut(path)
            .expect("node")
            .add_property(DeviceTreeProperty::new_unchecked(name, val));
    };
    set(&mut t, &paths.memory, "reg", plan.memory_reg.clone());
    set(&mut t, &paths.chosen, "bootargs", cstr(plan.bootargs));
    set(
        &mut t,
        &paths.chosen,
        "linux,initrd-start",
        plan.initrd.0.to_be_bytes().to_vec(),
    );
    set(
        &mut t,
        &paths.chosen,
        "linux,initrd-end",
        plan.initrd.1.to_be_bytes().to_vec(),
    );
    set(&mut t, &paths.chosen, "stdout-path", cstr(plan.stdout_path));
    for p in &paths.delete {
        let (parent, name) = split(p);
        t.find_node_mut(parent)
            .expect("parent")
            .remove_child(name)
            .expect("node to delete");
    }
    for p in &paths.disable {
        set(&mut t, p, "status", cstr("disabled"));
    }
    t.to_dtb()
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

type Peer = fn(&[u8], &Plan, &Paths) -> Vec<u8>;
const PEERS: [(&str, Peer); 2] = [("fdt_edit", bench_fdt_edit), ("dtoolkit", bench_dtoolkit)];

/// A node's path and its (name, value) properties.
type NodeContents = (String, Vec<(String, Vec<u8>)>);

/// Every node's path with its properties, sorted: what a tree means.
fn contents(blob: &[u8]) -> Vec<NodeContents> {
    let f = cellfdt::Fdt::new(blob).expect("peer output is a valid DTB");
    let mut out = Vec::new();
    let mut node = None;
    let mut path = vec![0u8; 4096];
    while let Ok(n) = f.next_node(node, None) {
        node = Some(n);
        let p = f.get_path(n, &mut path).expect("path").to_string();
        let mut props: Vec<_> = f
            .properties(n)
            .map(|p| (p.name.to_string(), p.value.to_vec()))
            .collect();
        props.sort();
        out.push((p, props));
    }
    out.sort();
    out
}

fn board(name: &str) -> &'static Board {
    BOARDS
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("unknown input {name}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, input] if flag == "--check" => {
            let b = board(input);
            let src = (b.load)();
            let plan = Plan::new(&src, b.disable);
            let paths = Paths::new(&src, &plan);
            let mut buf = AlignedBuf::zeroed(plan.bufsize);
            let n = cell_fixup::with_libfdt(&src, &mut buf, &plan).expect("libfdt fixup");
            let want = contents(&buf[..n]);
            for (name, peer) in PEERS {
                let got = AlignedBuf::from_slice(&peer(&src, &plan, &paths));
                let got = contents(&got);
                if got != want {
                    let at = got
                        .iter()
                        .zip(&want)
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.len().min(want.len()));
                    eprintln!(
                        "{input}: {name}'s tree differs from libfdt's at node {at}: {:?} vs {:?}",
                        got.get(at).map(|x| &x.0),
                        want.get(at).map(|x| &x.0)
                    );
                    std::process::exit(1);
                }
            }
        }
        [input, variant, iters] => {
            let b = board(input);
            let src = (b.load)();
            let plan = Plan::new(&src, b.disable);
            let paths = Paths::new(&src, &plan);
            let peer = PEERS
                .iter()
                .find(|p| p.0 == variant)
                .unwrap_or_else(|| panic!("unknown peer {variant}"))
                .1;
            for _ in 0..iters.parse::<u32>().expect("iterations") {
                black_box(peer(black_box(&src), &plan, &paths));
            }
        }
        _ => {
            eprintln!("usage: fdt-peers --check <input> | fdt-peers <input> <fdt_edit|dtoolkit> <iters>");
            std::process::exit(2);
        }
    }
}

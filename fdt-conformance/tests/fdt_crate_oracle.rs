//! The `fdt` crate as a second read oracle, independent of libfdt: on the
//! board fixtures, the generated 1 MB tree, the cell fixup's results and
//! the read fuzz corpus, every node (in order), every property (name and
//! value) and every decoded `reg` entry cellfdt reads equals what `fdt`
//! reads.

use cellfdt::Fdt;
use fdt_conformance::AlignedBuf;
use fdt_conformance::cell_fixup::{BOARDS, Plan, with_cellfdt};
use std::path::PathBuf;

type Node = (String, Vec<(String, Vec<u8>)>, Option<Vec<(u64, u64)>>);

/// What cellfdt reads: (name, properties, reg) of every node, depth first.
fn cellfdt_view(blob: &[u8]) -> Option<Vec<Node>> {
    let f = Fdt::new(blob).ok()?;
    f.check_full().ok()?;
    let mut out = Vec::new();
    let mut node = None;
    while let Ok(n) = f.next_node(node, None) {
        node = Some(n);
        let name = f.get_name(n).ok()?;
        let name = if n == 0 { "/".to_string() } else { name.to_string() };
        let props = f
            .properties(n)
            .map(|p| (p.name.to_string(), p.value.to_vec()))
            .collect();
        // `fdt` decodes a root's reg with default cells; compare children.
        let reg = if n == 0 {
            None
        } else {
            f.reg(n).ok().map(|r| r.collect())
        };
        out.push((name, props, reg));
    }
    Some(out)
}

/// What `fdt` reads, in its own depth-first order.
fn fdt_view(blob: &[u8]) -> Option<Vec<Node>> {
    let f = fdt::Fdt::new(blob).ok()?;
    let mut out = Vec::new();
    for (i, n) in f.all_nodes().enumerate() {
        let props = n.properties().map(|p| (p.name.to_string(), p.value.to_vec())).collect();
        let reg = if i == 0 {
            None
        } else {
            n.reg().map(|r| {
                r.map(|m| (m.starting_address as u64, m.size.unwrap_or(0) as u64))
                    .collect()
            })
        };
        out.push((n.name.to_string(), props, reg));
    }
    Some(out)
}

/// Compares both views; returns how many nodes were compared.
fn compare(what: &str, blob: &[u8]) -> usize {
    let buf = AlignedBuf::from_slice(blob);
    let Some(ours) = cellfdt_view(&buf) else { return 0 };
    // `fdt` panics on some malformed input; only a blob cellfdt fully
    // accepts is compared, and `fdt` must read it too.
    let theirs = std::panic::catch_unwind(|| fdt_view(&buf)).ok().flatten();
    let theirs = theirs.unwrap_or_else(|| panic!("{what}: cellfdt reads it, the fdt crate does not"));
    assert_eq!(ours.len(), theirs.len(), "{what}: node count");
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.0, b.0, "{what}: node name");
        assert_eq!(a.1, b.1, "{what}: properties of {}", a.0);
        if a.2.is_some() && b.2.is_some() {
            assert_eq!(a.2, b.2, "{what}: reg of {}", a.0);
        }
    }
    ours.len()
}

#[test]
fn fdt_crate_reads_what_cellfdt_reads() {
    let mut nodes = 0;
    let mut regs = 0;
    for b in &BOARDS {
        let src = (b.load)();
        nodes += compare(b.name, &src);
        let plan = Plan::new(&src, b.disable);
        let mut buf = AlignedBuf::zeroed(plan.bufsize);
        let n = with_cellfdt(&src, &mut buf, &plan).expect("fixup");
        nodes += compare(&format!("{} after the fixup", b.name), &buf[..n]);
        regs += cellfdt_view(&src)
            .unwrap()
            .iter()
            .filter(|n| n.2.as_ref().is_some_and(|r| !r.is_empty()))
            .count();
    }
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join("read");
    for e in std::fs::read_dir(&corpus).expect("read corpus") {
        let p = e.expect("entry").path();
        nodes += compare(&p.display().to_string(), &std::fs::read(&p).expect("corpus file"));
    }
    println!("fdt crate oracle: {nodes} nodes compared, {regs} with reg on the inputs");
    assert!(
        nodes > 10_000 && regs > 100,
        "{nodes} nodes, {regs} regs: too little compared"
    );
}

//! Read-only conformance: cellfdt's `Fdt` view of a blob against libfdt's.

use crate::{libfdt, libfdt_ro};
use cellfdt::{Error, Fdt};

fn same<T: PartialEq + std::fmt::Debug>(what: &str, l: Result<T, Error>, c: Result<T, Error>) -> Result<(), String> {
    if l == c {
        Ok(())
    } else {
        Err(format!("{what}: libfdt {l:?} vs cellfdt {c:?}"))
    }
}

/// Like `same` for names: cellfdt's API hands out `&str`, so a name that is
/// not UTF-8 (libfdt does not care) is reported as BADVALUE by design.
fn same_name(what: &str, l: Result<&[u8], Error>, c: Result<&[u8], Error>) -> Result<(), String> {
    match (l, c) {
        (Ok(b), Err(Error::BadValue)) if std::str::from_utf8(b).is_err() => Ok(()),
        _ => same(what, l, c),
    }
}

fn same_prop(what: &str, l: Result<(&[u8], &[u8]), Error>, c: Result<(&[u8], &[u8]), Error>) -> Result<(), String> {
    match (l, c) {
        (Ok((n, _)), Err(Error::BadValue)) if std::str::from_utf8(n).is_err() => Ok(()),
        _ => same(what, l, c),
    }
}

/// Compare everything both libraries can say about `blob`; the first
/// disagreement is returned as text.
pub fn compare_views(blob: &[u8]) -> Result<(), String> {
    let cf = Fdt::new(blob).and_then(|f| f.check_full());
    match libfdt::check_full_or_skip(blob) {
        Some(lf) => same("check_full", lf, cf)?,
        // libfdt 1.6.1 would crash (see check_full_or_skip); any correct
        // check must reject the blob.
        None if cf.is_ok() => return Err("check_full: cellfdt accepted a pre-v16 root without a leaf name".into()),
        None => {}
    }
    let fdt = match (libfdt::check_header(blob), Fdt::new(blob)) {
        (Ok(()), Ok(f)) => f,
        (l, c) => return same("check_header", l, c.map(|_| ())),
    };
    same("num_mem_rsv", libfdt_ro::num_mem_rsv(blob), fdt.num_mem_rsv())?;
    for n in 0..=fdt.num_mem_rsv().unwrap_or(0).min(4096) {
        same(
            &format!("get_mem_rsv({n})"),
            libfdt_ro::get_mem_rsv(blob, n),
            fdt.get_mem_rsv(n),
        )?;
    }
    same(
        "find_max_phandle",
        libfdt_ro::find_max_phandle(blob),
        fdt.find_max_phandle(),
    )?;
    // Depth-first walk.
    let (mut lnode, mut ldepth, mut cnode, mut cdepth) = (None, 0i32, None, 0i32);
    // Lookups that walk the whole tree (path, phandle, compatible) run on
    // every node of small trees and on a spread sample of about 48 nodes of
    // big ones, keeping the whole comparison roughly linear.
    let total = crate::script::node_offsets(blob).len().max(1);
    let stride = total.div_ceil(48);
    for i in 0..100_000 {
        let l = libfdt_ro::next_node(blob, lnode, ldepth);
        let c = fdt.next_node(cnode, Some(&mut cdepth)).map(|o| (o, cdepth));
        same(&format!("next_node({lnode:?})"), l, c)?;
        let Ok((off, d)) = l else { break };
        if d < 0 {
            break;
        }
        (lnode, ldepth, cnode) = (Some(off), d, Some(off));
        compare_node(blob, &fdt, off, i % stride == 0)?;
    }
    Ok(())
}

fn compare_node(blob: &[u8], fdt: &Fdt<'_>, node: usize, deep: bool) -> Result<(), String> {
    let at = |w: &str| format!("{w}(node {node})");
    let name = libfdt_ro::get_name(blob, node);
    same_name(&at("get_name"), name, fdt.get_name(node).map(str::as_bytes))?;
    same(
        &at("get_phandle"),
        libfdt_ro::get_phandle(blob, node),
        Ok(fdt.get_phandle(node).unwrap_or(0)),
    )?;
    same(
        &at("address_cells"),
        libfdt_ro::address_cells(blob, node),
        fdt.address_cells(node),
    )?;
    same(
        &at("size_cells"),
        libfdt_ro::size_cells(blob, node),
        fdt.size_cells(node),
    )?;
    if !deep {
        return compare_props(blob, fdt, node);
    }
    let lpath = libfdt_ro::get_path(blob, node, 1024);
    let cpath = fdt.get_path(node, &mut [0u8; 1024]).map(str::to_string);
    if !(lpath.as_ref().is_ok_and(|p| p.contains('\u{fffd}')) && cpath == Err(Error::BadValue)) {
        same(&at("get_path"), lpath, cpath)?;
    }
    same(
        &at("parent_offset"),
        libfdt_ro::parent_offset(blob, node),
        fdt.parent_offset(node),
    )?;
    same(
        &at("node_depth"),
        libfdt_ro::node_depth(blob, node),
        fdt.node_depth(node),
    )?;
    if let Ok(path) = libfdt_ro::get_path(blob, node, 1024)
        .map_err(drop)
        .and_then(|p| if p.contains('\u{fffd}') { Err(()) } else { Ok(p) })
    {
        same(
            &format!("path_offset({path})"),
            libfdt_ro::path_offset(blob, &path),
            fdt.path_offset(&path),
        )?;
    }
    compare_props(blob, fdt, node)?;
    // Subnodes, and lookup by name.
    let (mut l, mut c) = (libfdt_ro::first_subnode(blob, node), fdt.first_subnode(node));
    loop {
        same(&at("subnode chain"), l, c)?;
        let Ok(s) = l else { break };
        if let Some(n) = libfdt_ro::get_name(blob, s)
            .ok()
            .and_then(|n| std::str::from_utf8(n).ok())
        {
            same(
                &format!("subnode_offset({node}, {n})"),
                libfdt_ro::subnode_offset(blob, node, n),
                fdt.subnode_offset(node, n),
            )?;
        }
        (l, c) = (libfdt_ro::next_subnode(blob, s), fdt.next_subnode(s));
    }
    if let Some(ph) = fdt.get_phandle(node) {
        same(
            &format!("node_offset_by_phandle({ph})"),
            libfdt_ro::node_offset_by_phandle(blob, ph),
            fdt.node_offset_by_phandle(ph),
        )?;
    }
    if let Ok(compat) = libfdt_ro::getprop(blob, node, "compatible")
        && let Some(first) = compat
            .split(|&b| b == 0)
            .next()
            .and_then(|s| std::str::from_utf8(s).ok())
        && !first.is_empty()
    {
        same(
            &format!("node_offset_by_compatible({first})"),
            libfdt_ro::node_offset_by_compatible(blob, None, first),
            fdt.node_offset_by_compatible(None, first),
        )?;
    }
    Ok(())
}

fn compare_props(blob: &[u8], fdt: &Fdt<'_>, node: usize) -> Result<(), String> {
    let at = |w: &str| format!("{w}(node {node})");
    let (mut l, mut c) = (libfdt_ro::first_property(blob, node), fdt.first_property(node));
    loop {
        same(&at("property chain"), l, c)?;
        let Ok(p) = l else { break };
        let lp = libfdt_ro::property_at(blob, p);
        let cp = fdt.property_at(p).map(|pr| (pr.name.as_bytes(), pr.value));
        same_prop(&format!("property_at({p})"), lp, cp)?;
        if let Some(n) = lp.ok().and_then(|(n, _)| std::str::from_utf8(n).ok()) {
            same(
                &format!("getprop({node}, {n:?})"),
                libfdt_ro::getprop(blob, node, n),
                fdt.getprop(node, n),
            )?;
        }
        (l, c) = (libfdt_ro::next_property(blob, p), fdt.next_property(p));
    }
    Ok(())
}

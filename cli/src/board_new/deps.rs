//! What the console UART needs to probe in a cell: the devices its `clocks`,
//! `resets`, `power-domains`, `mboxes` and `pinctrl-0` lead to (the Pi's
//! PL011: cprman and the GPIO pin controller). A provider without registers
//! of its own (a fixed clock, a firmware node) is passed through to its and
//! its ancestors' dependencies; one with registers ends the search.

use super::spis::node_spis;
use super::tree::{Dev, cells, enabled, opt_u32, path_of};
use cellfdt::{Error, Fdt};
use std::collections::{BTreeSet, VecDeque};

/// Phandle-list properties and the provider's argument-count property
/// (`None`: a plain list of phandles).
const DEP_PROPS: [(&str, Option<&str>); 5] = [
    ("clocks", Some("#clock-cells")),
    ("resets", Some("#reset-cells")),
    ("power-domains", Some("#power-domain-cells")),
    ("mboxes", Some("#mbox-cells")),
    ("pinctrl-0", None),
];

/// One device the console needs: its registers and SPIs, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    pub path: String,
    pub regs: Vec<(u64, u64)>,
    pub spis: Vec<u32>,
    pub via: String,
}

/// What the console's probe waits for in vain: each provider that is
/// disabled, or sits under a disabled node, in this DTB (QEMU disables the
/// ZynqMP's platform firmware, which serves the UART's clocks, power domain
/// and pins). Linux never binds such a console, so the cell needs the
/// provider replaced (an overlay); which clock rate or pin state is the
/// board's to say, so this is reported, not written.
pub fn disabled_providers(fdt: &Fdt<'_>, uart: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (prop, target) in refs(fdt, uart)? {
        let mut at = target;
        let off = loop {
            if !enabled(fdt, at) {
                break Some(at);
            }
            match fdt.parent_offset(at) {
                Ok(0) | Err(Error::NotFound) => break None,
                Ok(p) => at = p,
                Err(e) => return Err(format!("{}: parent: {e:?}", path_of(fdt, at))),
            }
        };
        if let Some(off) = off {
            let why = format!(
                "{prop} -> {}: {} is disabled in this DTB",
                path_of(fdt, target),
                path_of(fdt, off)
            );
            if !out.contains(&why) {
                out.push(why);
            }
        }
    }
    Ok(out)
}

pub fn console_deps(fdt: &Fdt<'_>, uart: usize, devices: &[Dev], gic: Option<usize>) -> Result<Vec<Dep>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::from([uart]);
    let mut queue = VecDeque::from([(uart, String::new())]);
    while let Some((node, via)) = queue.pop_front() {
        let dev = nearest_device(fdt, node, devices)?;
        if let Some(d) = dev
            && d.node != uart
            && Some(d.node) != gic
            && !out.iter().any(|o: &Dep| o.path == d.path)
        {
            out.push(Dep {
                path: d.path.clone(),
                regs: d.regs.clone(),
                spis: match gic {
                    Some(g) => node_spis(fdt, d.node, g)?,
                    None => Vec::new(),
                },
                via: via.clone(),
            });
        }
        // A provider that is a device is taken as it is: its own inputs
        // (cprman's DSI parent clocks) are not the console's business.
        if node != uart && dev.is_some() {
            continue;
        }
        // The node and its ancestors up to its device (or the root) carry
        // the dependencies.
        let mut at = node;
        loop {
            for (prop, target) in refs(fdt, at)? {
                if seen.insert(target) {
                    queue.push_back((target, format!("{} {prop}", path_of(fdt, at))));
                }
            }
            if dev.is_some_and(|d| d.node == at) {
                break;
            }
            match fdt.parent_offset(at) {
                Ok(0) | Err(Error::NotFound) => break,
                Ok(p) => at = p,
                Err(e) => return Err(format!("{}: parent: {e:?}", path_of(fdt, at))),
            }
        }
    }
    Ok(out)
}

/// The device (in the loader's sense) at or above `node`.
fn nearest_device<'d>(fdt: &Fdt<'_>, mut node: usize, devices: &'d [Dev]) -> Result<Option<&'d Dev>, String> {
    loop {
        if let Some(d) = devices.iter().find(|d| d.node == node) {
            return Ok(Some(d));
        }
        match fdt.parent_offset(node) {
            Ok(p) => node = p,
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(format!("{}: parent: {e:?}", path_of(fdt, node))),
        }
    }
}

/// (property, target node) of every phandle in the node's dependency properties.
fn refs(fdt: &Fdt<'_>, node: usize) -> Result<Vec<(&'static str, usize)>, String> {
    let mut out = Vec::new();
    for (prop, args) in DEP_PROPS {
        let Ok(raw) = fdt.getprop(node, prop) else {
            continue;
        };
        let list = cells(raw);
        let mut rest = &list[..];
        while let [ph, tail @ ..] = rest {
            let bad = |m: String| format!("{}: property {prop}: {m}", path_of(fdt, node));
            let target = fdt
                .node_offset_by_phandle(*ph)
                .map_err(|e| bad(format!("phandle {ph:#x}: {e:?}")))?;
            let n = match args {
                None => 0,
                Some(cells_prop) => opt_u32(fdt, target, cells_prop)?.unwrap_or(0) as usize,
            };
            if tail.len() < n {
                return Err(bad("ends in the middle of an entry".into()));
            }
            out.push((prop, target));
            rest = &tail[n..];
        }
    }
    Ok(out)
}

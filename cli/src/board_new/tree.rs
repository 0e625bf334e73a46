//! Small reads of the board DTB that `board new` needs: paths, cell-sized
//! properties, phandle lookups, and every device's CPU-physical registers
//! (the loader's own device walk, so "a device" means what the loader judges).

use cellboot_loader::devices::{DeviceWalk, GicMatch};
use cellfdt::{Error, Fdt};

/// A property or node the derivation could not read, named for the user.
pub fn err(path: &str, prop: &str, e: Error) -> String {
    if prop.is_empty() {
        format!("{path}: {e:?}")
    } else {
        format!("{path}: property {prop}: {e:?}")
    }
}

pub fn path_of(fdt: &Fdt<'_>, node: usize) -> String {
    let mut buf = [0u8; 512];
    fdt.get_path(node, &mut buf)
        .map_or_else(|e| format!("<node at offset {node}: {e:?}>"), str::to_string)
}

/// Big-endian u32 cells of a property.
pub fn cells(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `n` cells (at most 2) from the front of `c` as one number, and the rest.
pub fn take(c: &[u32], n: usize) -> Option<(u64, &[u32])> {
    if n > 2 || c.len() < n {
        return None;
    }
    let v = c[..n].iter().fold(0u64, |a, &x| (a << 32) | u64::from(x));
    Some((v, &c[n..]))
}

/// A u32 property, `None` when absent.
pub fn opt_u32(fdt: &Fdt<'_>, node: usize, prop: &str) -> Result<Option<u32>, String> {
    match fdt.getprop(node, prop) {
        Ok(&[a, b, c, d]) => Ok(Some(u32::from_be_bytes([a, b, c, d]))),
        Ok(v) => Err(format!(
            "{}: property {prop}: {} bytes, expected one 4-byte cell",
            path_of(fdt, node),
            v.len()
        )),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(err(&path_of(fdt, node), prop, e)),
    }
}

/// The first string of a string(-list) property.
pub fn first_str<'a>(fdt: &Fdt<'a>, node: usize, prop: &str) -> Option<&'a str> {
    let raw = fdt.getprop(node, prop).ok()?;
    let s = raw.split(|&b| b == 0).next()?;
    std::str::from_utf8(s).ok()
}

/// Every string of a string-list property (e.g. `compatible`).
pub fn strings<'a>(fdt: &Fdt<'a>, node: usize, prop: &str) -> Vec<&'a str> {
    fdt.getprop(node, prop)
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .filter_map(|s| std::str::from_utf8(s).ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn enabled(fdt: &Fdt<'_>, node: usize) -> bool {
    fdt.getprop(node, "status")
        .map_or(true, |s| s.starts_with(b"okay") || s.starts_with(b"ok\0"))
}

/// A device node and its `reg` entries as CPU physical (base, size); an entry
/// no bus `ranges` maps is left out.
#[derive(Clone, Debug)]
pub struct Dev {
    pub node: usize,
    pub path: String,
    pub regs: Vec<(u64, u64)>,
}

pub fn devices(fdt: &Fdt<'_>) -> Result<Vec<Dev>, String> {
    let mut out = Vec::new();
    let mut walk = DeviceWalk::new(GicMatch::Compatible);
    let werr = |e: cellboot_loader::devices::WalkError| err(&path_of(fdt, e.node), e.prop, e.error);
    while let Some(dev) = walk.next(fdt).map_err(werr)? {
        let mut regs = Vec::new();
        for r in dev.regs(fdt).map_err(werr)? {
            if let Some(r) = r.map_err(werr)? {
                regs.push(r);
            }
        }
        out.push(Dev {
            node: dev.node,
            path: path_of(fdt, dev.node),
            regs,
        });
    }
    Ok(out)
}

/// Every node offset in structure-block order (the root first).
pub fn all_nodes(fdt: &Fdt<'_>) -> Result<Vec<usize>, String> {
    let mut out = vec![0];
    let mut node = 0;
    loop {
        match fdt.next_node(Some(node), None) {
            Ok(n) => {
                out.push(n);
                node = n;
            }
            Err(Error::NotFound) => return Ok(out),
            Err(e) => return Err(err(&path_of(fdt, node), "", e)),
        }
    }
}

//! `check --dtb`: board.toml against what the board DTB says — RAM, UART,
//! GIC (version, every base and size), CPUs (count, MPIDRs) and how they
//! start (PSCI method or spin-table release words). Each mismatch is one
//! problem `board.toml: field = value: DTB says ...`.

use crate::dtb_devices::Device;
use crate::problem::{Problem, hex};
use cellboot_abi::{Board, cpu_start};
use cellfdt::{Error, Fdt};
use std::path::Path;

/// Compatibles that are a GICv2 (the rest of the loader's GIC list is v3).
const GICV2: [&str; 3] = ["arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic"];

pub fn check(fdt: &Fdt<'_>, b: &Board, list: &[Device], board_file: &Path, dtb: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut say = |field: &str, value: String, says: String| {
        out.push(Problem::new(
            board_file,
            field,
            value,
            format!("DTB says {says} ({})", dtb.display()),
        ));
    };
    ram(fdt, b, &mut say);
    uart(fdt, b, list, &mut say);
    gic(fdt, b, &mut say);
    cpus(fdt, b, &mut say);
    out
}

type Say<'s> = dyn FnMut(&str, String, String) + 's;

fn range(base: u64, size: u64) -> String {
    format!("{}+{}", hex(base), hex(size))
}

/// Board RAM must lie inside the DTB's memory (a size-0 `reg` is a
/// placeholder the boot firmware fills in: nothing to compare).
fn ram(fdt: &Fdt<'_>, b: &Board, say: &mut Say<'_>) {
    let mut banks = Vec::new();
    for node in fdt.subnodes(0) {
        let is_memory = fdt.getprop(node, "device_type").is_ok_and(|t| t == b"memory\0");
        if !is_memory {
            continue;
        }
        match fdt.reg(node) {
            Ok(regs) => banks.extend(regs),
            Err(e) => {
                let name = String::from_utf8_lossy(fdt.get_name_bytes(node).unwrap_or(b"?"));
                say(
                    "ram",
                    range(b.ram_base, b.ram_size),
                    format!("/{name} reg cannot be read: {}", e.describe()),
                );
                return;
            }
        }
    }
    banks.retain(|&(_, s)| s != 0);
    if banks.is_empty() {
        return;
    }
    let end = b.ram_base.checked_add(b.ram_size);
    let inside = banks.iter().any(|&(base, size)| {
        b.ram_base >= base && end.is_some_and(|e| base.checked_add(size).is_some_and(|be| e <= be))
    });
    if !inside {
        let shown: Vec<String> = banks.iter().map(|&(a, s)| range(a, s)).collect();
        say(
            "ram",
            range(b.ram_base, b.ram_size),
            format!("memory is {}", shown.join(", ")),
        );
    }
}

/// The UART's registers must be a device's first `reg` entry (at least as
/// large as the DTB's), and its `compatible` one the board's driver takes.
fn uart(fdt: &Fdt<'_>, b: &Board, list: &[Device], say: &mut Say<'_>) {
    let hit = list
        .iter()
        .find(|d| is_uart(d) && d.regs.first().is_some_and(|&(base, _)| base == b.uart_base));
    match hit {
        Some(d) => {
            let size = d.regs[0].1;
            if b.uart_size < size {
                say(
                    "uart.size",
                    hex(b.uart_size),
                    format!("{} has {} bytes of registers", d.path, hex(size)),
                );
            }
            uart_driver(fdt, b, d, say);
        }
        None => {
            let near: Vec<String> = list
                .iter()
                .filter(|d| is_uart(d))
                .filter_map(|d| d.regs.first().map(|&(a, _)| format!("{} at {}", d.path, hex(a))))
                .collect();
            let what = if near.is_empty() {
                "none".to_string()
            } else {
                near.join(", ")
            };
            say(
                "uart.base",
                hex(b.uart_base),
                format!("no device's registers start there (UARTs: {what})"),
            );
        }
    }
}

/// board.toml's `[uart] driver` must take one of the node's compatibles.
fn uart_driver(fdt: &Fdt<'_>, b: &Board, d: &Device, say: &mut Say<'_>) {
    let Ok(node) = fdt.path_offset(&d.path) else {
        return;
    };
    let compat: Vec<String> = fdt
        .getprop(node, "compatible")
        .map(|v| {
            v.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let table = cellboot_abi::uart_driver::COMPATIBLES;
    if table
        .iter()
        .any(|(c, drv, _)| *drv == b.uart_driver && compat.iter().any(|n| n == c))
    {
        return;
    }
    let name = table.iter().find(|t| t.1 == b.uart_driver).map_or("?", |t| t.2);
    let fits: Vec<&str> = table
        .iter()
        .filter(|(c, _, _)| compat.iter().any(|n| n == c))
        .map(|t| t.2)
        .collect();
    let hint = match fits.first() {
        Some(f) => format!("; driver = \"{f}\" takes it"),
        None => "; no driver of the shim takes it".into(),
    };
    say(
        "uart.driver",
        format!("\"{name}\""),
        format!("{} is compatible {compat:?}{hint}", d.path),
    );
}

/// A UART by its node name (`serial@`, `uart@`, `pl011@`: the generic
/// names the DT spec and QEMU use).
fn is_uart(d: &Device) -> bool {
    let leaf = d.path.rsplit('/').next().unwrap_or("");
    let name = leaf.split('@').next().unwrap_or("");
    ["serial", "uart", "pl011"].iter().any(|n| name.contains(n))
}

fn gic(fdt: &Fdt<'_>, b: &Board, say: &mut Say<'_>) {
    let compatible = |node, c| fdt.node_check_compatible(node, c).unwrap_or(false);
    let mut node = None;
    let mut cur = None;
    let mut depth = 0i32;
    while let Ok(n) = fdt.next_node(cur, Some(&mut depth)) {
        if depth < 0 {
            break;
        }
        cur = Some(n);
        if compatible(n, "arm,gic-v3") || GICV2.iter().any(|c| compatible(n, c)) {
            node = Some(n);
            break;
        }
    }
    let Some(node) = node else {
        say(
            "gic.version",
            b.gic_version.to_string(),
            "no GIC node (arm,gic-v3 or arm,gic-400 family)".into(),
        );
        return;
    };
    let version = if compatible(node, "arm,gic-v3") { 3 } else { 2 };
    let name = fdt.getprop_str(node, "compatible").unwrap_or("?");
    if version != b.gic_version {
        say(
            "gic.version",
            b.gic_version.to_string(),
            format!("the GIC is \"{name}\": GICv{version}"),
        );
        return;
    }
    let regs = match crate::dtb_devices::translated_regs(fdt, node) {
        Ok(r) => r,
        Err(e) => {
            say(
                "gic.gicd_base",
                hex(b.gicd_base),
                format!("the GIC's reg cannot be read: {}", e.describe()),
            );
            return;
        }
    };
    let entry = |i: usize| regs.get(i).copied();
    let mut compare = |field: &str, base: u64, size: Option<u64>, i: usize, what: &str| match entry(i) {
        Some((db, ds)) if db == base && size.is_none_or(|s| s == ds) => {}
        Some((db, ds)) => {
            let value = size.map_or(hex(base), |s| range(base, s));
            say(
                field,
                value,
                format!("the {what} (\"{name}\" reg[{i}]) is {}", range(db, ds)),
            );
        }
        None => say(field, hex(base), format!("the GIC's reg has no entry {i} ({what})")),
    };
    compare("gic.gicd_base", b.gicd_base, Some(b.gicd_size), 0, "distributor");
    if version == 3 {
        compare("gic.gicr_base", b.gicr_base, None, 1, "redistributor region");
        if let Some((_, ds)) = entry(1) {
            let need = u64::from(b.num_cpus).saturating_mul(b.gicr_stride);
            if need > ds {
                say(
                    "gic.gicr_stride",
                    hex(b.gicr_stride),
                    format!(
                        "the redistributor region holds {} bytes, {} CPUs need {}",
                        hex(ds),
                        b.num_cpus,
                        hex(need)
                    ),
                );
            }
        }
    } else {
        compare("gic.gicc_base", b.gicc_base, Some(b.gicc_size), 1, "CPU interface");
    }
}

/// Each `/cpus/cpu@*` as (MPIDR, enable-method, cpu-release-addr).
fn cpu_nodes(fdt: &Fdt<'_>) -> Result<Vec<(u64, String, Option<u64>)>, Error> {
    let cpus = fdt.path_offset("/cpus")?;
    let mut out = Vec::new();
    for node in fdt.subnodes(cpus) {
        if fdt.getprop(node, "device_type").ok() != Some(b"cpu\0") {
            continue;
        }
        let reg = fdt.getprop(node, "reg")?;
        let mpidr = reg.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte));
        let method = fdt.getprop_str(node, "enable-method").unwrap_or("").to_string();
        let release = fdt
            .getprop(node, "cpu-release-addr")
            .ok()
            .map(|v| v.iter().fold(0u64, |acc, &byte| acc << 8 | u64::from(byte)));
        out.push((mpidr, method, release));
    }
    Ok(out)
}

fn cpus(fdt: &Fdt<'_>, b: &Board, say: &mut Say<'_>) {
    let list = match cpu_nodes(fdt) {
        Ok(l) => l,
        Err(e) => {
            say(
                "cpus.mpidr",
                String::new(),
                format!("the /cpus node cannot be read: {}", e.describe()),
            );
            return;
        }
    };
    let mpidrs = &b.mpidr[..(b.num_cpus as usize).min(b.mpidr.len())];
    if mpidrs.len() > list.len() {
        say(
            "cpus.mpidr",
            format!("{} entries", mpidrs.len()),
            format!("the board has {} CPUs", list.len()),
        );
    }
    let psci_method = fdt
        .path_offset("/psci")
        .ok()
        .and_then(|p| fdt.getprop_str(p, "method").ok());
    for (i, &m) in mpidrs.iter().enumerate() {
        let Some((_, method, release)) = list.iter().find(|c| c.0 == m) else {
            let have: Vec<String> = list.iter().map(|c| hex(c.0)).collect();
            say(
                &format!("cpus.mpidr[{i}]"),
                hex(m),
                format!("no CPU has this MPIDR (CPUs: {})", have.join(", ")),
            );
            continue;
        };
        match b.cpu_start {
            cpu_start::SPIN_TABLE => {
                if method != "spin-table" {
                    say(
                        "cpus.start",
                        "\"spin-table\"".into(),
                        format!("CPU {} has enable-method \"{method}\"", hex(m)),
                    );
                } else if *release != Some(b.release_addr[i]) {
                    let r = release.map_or("none".to_string(), hex);
                    say(
                        &format!("cpus.release_addr[{i}]"),
                        hex(b.release_addr[i]),
                        format!("CPU {} has cpu-release-addr {r}", hex(m)),
                    );
                }
            }
            start => {
                let want = if start == cpu_start::PSCI_HVC { "hvc" } else { "smc" };
                let shown = format!("\"psci-{want}\"");
                if i > 0 && method != "psci" {
                    say(
                        "cpus.start",
                        shown,
                        format!("CPU {} has enable-method \"{method}\"", hex(m)),
                    );
                } else if i == 0 {
                    match psci_method {
                        Some(pm) if pm == want => {}
                        Some(pm) => say("cpus.start", shown, format!("/psci method is \"{pm}\"")),
                        None => say("cpus.start", shown, "there is no /psci node with a method".into()),
                    }
                }
            }
        }
    }
}

//! The board facts a DTB states: RAM and what is reserved in it, the console
//! UART, the GIC, the CPUs. Each value keeps the node/property it came from;
//! a fact the DTB does not give, or hardware the shim has no driver for,
//! becomes a [`Gap`] naming the field the user must fill in.

use super::spis::{Used, node_spis, used_spis};
use super::tree::{Dev, cells, enabled, first_str, opt_u32, path_of, strings, take};
use cellboot_abi::MAX_CPUS;
use cellfdt::{Error, Fdt};

/// A value and where it came from (node/property), for the emitted comment.
#[derive(Clone, Debug)]
pub struct Fact<T> {
    pub value: T,
    pub from: String,
}

pub fn fact<T>(value: T, from: impl Into<String>) -> Fact<T> {
    Fact {
        value,
        from: from.into(),
    }
}

/// A field the DTB does not determine: `field` is the TOML path in `file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub file: &'static str,
    pub field: &'static str,
    pub need: String,
}

pub const BOARD: &str = "board.toml";

fn gap(field: &'static str, need: impl Into<String>) -> Gap {
    Gap {
        file: BOARD,
        field,
        need: need.into(),
    }
}

/// The shim's console drivers (hypervisor-shim/src/console.rs, uart_cdns.rs).
const UART_DRIVERS: [(&str, u32, &str); 3] = cellboot_abi::uart_driver::COMPATIBLES;

/// Linux's console device for each of the shim's drivers (`console=`).
fn linux_tty(driver: u32) -> &'static str {
    if driver == cellboot_abi::uart_driver::CDNS {
        "ttyPS0"
    } else {
        "ttyAMA0"
    }
}

/// The shim's driver for a node, by its compatible list: (compatible,
/// board.toml name, Linux console).
fn uart_driver(fdt: &Fdt<'_>, n: usize) -> Option<(&'static str, &'static str, &'static str)> {
    let compat = strings(fdt, n, "compatible");
    UART_DRIVERS
        .into_iter()
        .find(|(c, _, _)| compat.contains(c))
        .map(|(c, d, name)| (c, name, linux_tty(d)))
}
/// Stage 2 and the EL2 map work in 4 KiB pages.
pub const PAGE: u64 = 0x1000;
/// GICv3 redistributor: RD_base + SGI_base frames of 64 KiB each, when the
/// node has no `redistributor-stride`.
const GICR_STRIDE_V3: u64 = 0x2_0000;
/// GICD_TYPER.ITLinesNumber counts interrupt lines in blocks of 32.
const GIC_LINE_BLOCK: u32 = 32;
/// The smallest GIC: 32 SPIs after the 32 SGIs/PPIs.
const GIC_MIN_LINES: u32 = 64;
/// INTIDs 1020..1023 are special; SPIs end at 1019.
const GIC_MAX_SPI: u32 = 1019;

#[derive(Clone, Debug)]
pub struct Uart {
    pub path: String,
    pub base: Fact<u64>,
    pub size: Fact<u64>,
    /// board.toml `[uart] driver`, with the compatible it came from.
    pub driver: Fact<&'static str>,
    /// Its Linux console (`console=`).
    pub tty: &'static str,
    /// INTIDs of its SPIs.
    pub spis: Vec<u32>,
    /// Devices it needs to probe (clocks, pins, ...).
    pub deps: Vec<super::deps::Dep>,
    /// Providers it names that this DTB disables (`deps::disabled_providers`).
    pub disabled: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Gic {
    pub node: usize,
    pub path: String,
    pub version: Fact<u32>,
    pub num_irqs: Fact<u32>,
    pub gicd: Fact<(u64, u64)>,
    pub gicc: Option<Fact<(u64, u64)>>,
    pub gicr: Option<Fact<(u64, u64)>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    PsciSmc,
    PsciHvc,
    SpinTable,
}

impl Start {
    pub fn name(self) -> &'static str {
        match self {
            Start::PsciSmc => "psci-smc",
            Start::PsciHvc => "psci-hvc",
            Start::SpinTable => "spin-table",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cpus {
    pub start: Fact<Start>,
    pub mpidr: Fact<Vec<u64>>,
    pub release_addr: Option<Fact<Vec<u64>>>,
}

#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub ram: Option<Fact<(u64, u64)>>,
    /// (base, size, where): memreserve entries and /reserved-memory children.
    pub reserved: Vec<(u64, u64, String)>,
    pub uart: Option<Uart>,
    pub gic: Option<Gic>,
    pub cpus: Option<Cpus>,
    pub devices: Vec<Dev>,
    /// CPU-physical windows of PCI hosts' `ranges` (their devices' BARs).
    pub pci_windows: Vec<(u64, u64, String)>,
    pub used_spis: Used,
    pub gaps: Vec<Gap>,
}

pub fn derive(fdt: &Fdt<'_>, ram_size: Option<u64>) -> Result<Facts, String> {
    let mut f = Facts {
        devices: super::tree::devices(fdt)?,
        ..Facts::default()
    };
    ram(fdt, ram_size, &mut f)?;
    reserved(fdt, &mut f)?;
    pci_windows(fdt, &mut f)?;
    gic(fdt, &mut f)?;
    if let Some(g) = &f.gic {
        f.used_spis = used_spis(fdt, g.node)?;
        let top = f.used_spis.keys().next_back().copied();
        let Some(n) = lines_for(&f.used_spis) else {
            let t = top.unwrap_or_default();
            return Err(format!(
                "{}: interrupt specifier names INTID {t}, beyond the GIC's last SPI ({GIC_MAX_SPI})",
                f.used_spis[&t]
            ));
        };
        let why = match top {
            Some(t) => format!(
                "{}: lower bound, the DTB does not state it: INTID {t} ({}) is used and GICD_TYPER counts lines in 32s",
                g.path, f.used_spis[&t]
            ),
            None => format!("{}: no SPI used, the smallest GIC", g.path),
        };
        f.gic.as_mut().expect("just matched").num_irqs = fact(n, why);
    }
    uart(fdt, &mut f)?;
    cpus(fdt, &mut f)?;
    Ok(f)
}

/// Lines a GIC must have for every used INTID: whole blocks of 32.
/// `None` when an INTID beyond the architecture's last SPI (1019) is used.
pub fn lines_for(used: &Used) -> Option<u32> {
    let top = used.keys().next_back().copied().unwrap_or(0);
    if top > GIC_MAX_SPI {
        return None;
    }
    Some(((top / GIC_LINE_BLOCK + 1) * GIC_LINE_BLOCK).clamp(GIC_MIN_LINES, GIC_MAX_SPI + 1))
}

fn is_memory(fdt: &Fdt<'_>, node: usize) -> bool {
    fdt.getprop(node, "device_type").is_ok_and(|v| v == b"memory\0")
}

fn ram(fdt: &Fdt<'_>, ram_size: Option<u64>, f: &mut Facts) -> Result<(), String> {
    let mut ranges = Vec::new();
    for node in fdt.subnodes(0) {
        if !is_memory(fdt, node) {
            continue;
        }
        let path = path_of(fdt, node);
        let reg = fdt.reg(node).map_err(|e| super::tree::err(&path, "reg", e))?;
        ranges.extend(reg.map(|(b, s)| (b, s, path.clone())));
    }
    ranges.sort_by_key(|r| r.0);
    let Some((base, size, path)) = ranges.first().cloned() else {
        f.gaps.push(gap(
            "ram",
            "no /memory node (device_type \"memory\"): fill in [ram] base and size",
        ));
        return Ok(());
    };
    let others: Vec<String> = ranges[1..]
        .iter()
        .map(|(b, s, _)| format!("{}+{}", super::emit::hex(*b), super::emit::hex(*s)))
        .collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; the lowest of its ranges (board.toml holds one; also {})",
            others.join(", ")
        )
    };
    match (size, ram_size) {
        (_, Some(s)) => f.ram = Some(fact((base, s), format!("{path} reg base{also}; size from --ram-size"))),
        (0, None) => f.gaps.push(gap(
            "ram.size",
            format!(
                "{path} reg has size 0 (the firmware fills it in at boot): write the board's RAM size, or run again with --ram-size"
            ),
        )),
        (s, None) => f.ram = Some(fact((base, s), format!("{path} reg{also}"))),
    }
    if f.ram.is_none() && size == 0 {
        // Keep the base for the layout; the gap above says what is missing.
        f.ram = Some(fact((base, 0), format!("{path} reg")));
    }
    Ok(())
}

fn reserved(fdt: &Fdt<'_>, f: &mut Facts) -> Result<(), String> {
    let n = fdt
        .num_mem_rsv()
        .map_err(|e| format!("memory reservation block: {e:?}"))?;
    for i in 0..n {
        let (b, s) = fdt
            .get_mem_rsv(i)
            .map_err(|e| format!("memory reservation block entry {i}: {e:?}"))?;
        f.reserved.push((b, s, format!("/memreserve/ {i}")));
    }
    let rm = match fdt.path_offset("/reserved-memory") {
        Ok(n) => n,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(format!("/reserved-memory: {e:?}")),
    };
    for child in fdt.subnodes(rm) {
        let path = path_of(fdt, child);
        match fdt.reg(child) {
            Ok(reg) => f.reserved.extend(reg.map(|(b, s)| (b, s, path.clone()))),
            // A pool with only `size` is placed by Linux inside its own RAM.
            Err(Error::NotFound) => {}
            Err(e) => return Err(super::tree::err(&path, "reg", e)),
        }
    }
    Ok(())
}

fn pci_windows(fdt: &Fdt<'_>, f: &mut Facts) -> Result<(), String> {
    for d in &f.devices {
        if fdt.getprop(d.node, "device_type") != Ok(b"pci\0") {
            continue;
        }
        let Ok(ranges) = fdt.ranges(d.node) else {
            continue;
        };
        for (_, parent, size) in ranges {
            f.pci_windows.push((parent, size, format!("{} ranges", d.path)));
        }
    }
    Ok(())
}

fn gic(fdt: &Fdt<'_>, f: &mut Facts) -> Result<(), String> {
    let (node, found) = match opt_u32(fdt, 0, "interrupt-parent")? {
        Some(ph) => (
            fdt.node_offset_by_phandle(ph)
                .map_err(|e| format!("/: property interrupt-parent: phandle {ph:#x}: {e:?}"))?,
            "the root interrupt-parent",
        ),
        // Some trees (ZynqMP) set interrupt-parent on the buses only: the GIC
        // is then the interrupt controller with an Arm GIC compatible.
        None => match super::tree::all_nodes(fdt)?.into_iter().find(|&n| {
            fdt.getprop(n, "interrupt-controller").is_ok()
                && strings(fdt, n, "compatible")
                    .iter()
                    .any(|c| c.starts_with("arm,") && c.contains("gic"))
        }) {
            Some(n) => (
                n,
                "the interrupt controller with an arm,*gic* compatible; / has no interrupt-parent",
            ),
            None => {
                f.gaps.push(gap(
                    "gic",
                    "/ has no interrupt-parent and no interrupt controller is an Arm GIC: fill in [gic]",
                ));
                return Ok(());
            }
        },
    };
    let path = path_of(fdt, node);
    let compat = strings(fdt, node, "compatible");
    let version = if compat.contains(&"arm,gic-v3") {
        3
    } else if compat.contains(&"arm,gic-400") || compat.contains(&"arm,cortex-a15-gic") {
        2
    } else {
        f.gaps.push(gap(
            "gic",
            format!(
                "{path} ({found}) is compatible {compat:?}: the shim drives a GICv2 with virtualization extensions (arm,gic-400, arm,cortex-a15-gic) or a GICv3 (arm,gic-v3), not this one"
            ),
        ));
        return Ok(());
    };
    let Some(regs) = f.devices.iter().find(|d| d.node == node).map(|d| d.regs.clone()) else {
        f.gaps
            .push(gap("gic", format!("{path}: reg does not translate to a CPU address")));
        return Ok(());
    };
    let from = |i: usize, what: &str| format!("{path} reg[{i}] ({what}), compatible \"{}\"", compat[0]);
    let need = if version == 3 { "GICD, GICR" } else { "GICD, GICC" };
    if regs.len() < 2 {
        f.gaps.push(gap(
            "gic",
            format!("{path}: reg has {} entries, expected {need}", regs.len()),
        ));
        return Ok(());
    }
    let mut g = Gic {
        node,
        path: path.clone(),
        version: fact(version, format!("{path} compatible \"{}\" ({found})", compat[0])),
        num_irqs: fact(0, String::new()),
        gicd: fact(regs[0], from(0, "distributor")),
        gicc: None,
        gicr: None,
    };
    if version == 2 {
        g.gicc = Some(fact(regs[1], from(1, "CPU interface")));
    } else {
        if let Some(n) = opt_u32(fdt, node, "#redistributor-regions")?
            && n > 1
        {
            f.gaps.push(gap(
                "gic.gicr_base",
                format!("{path}: #redistributor-regions = {n}; the shim handles one contiguous redistributor region"),
            ));
        }
        let stride = match fdt.getprop(node, "redistributor-stride") {
            Ok(v) => match take(&cells(v), cells(v).len()) {
                Some((s, _)) if s > 0 => fact(s, format!("{path} redistributor-stride")),
                _ => {
                    return Err(format!(
                        "{path}: property redistributor-stride: not a 1- or 2-cell size"
                    ));
                }
            },
            Err(_) => fact(
                GICR_STRIDE_V3,
                format!("{path}: no redistributor-stride, GICv3's RD_base + SGI_base frames (64 KiB each)"),
            ),
        };
        g.gicr = Some(fact(
            (regs[1].0, stride.value),
            format!("{} reg[1]; stride: {}", path, stride.from),
        ));
    }
    f.gic = Some(g);
    Ok(())
}

/// `stdout-path` without its `:options`, resolved through /aliases.
fn stdout_node(fdt: &Fdt<'_>) -> Option<(usize, String)> {
    let chosen = fdt.path_offset("/chosen").ok()?;
    let raw = first_str(fdt, chosen, "stdout-path").or_else(|| first_str(fdt, chosen, "linux,stdout-path"))?;
    let name = raw.split(':').next()?;
    let path = if name.starts_with('/') {
        name.to_string()
    } else {
        fdt.get_alias(name).ok()?.to_string()
    };
    let node = fdt.path_offset(&path).ok()?;
    Some((node, format!("/chosen stdout-path \"{raw}\"")))
}

fn uart(fdt: &Fdt<'_>, f: &mut Facts) -> Result<(), String> {
    let drivable = |n: usize| uart_driver(fdt, n).is_some() && enabled(fdt, n);
    let mut tried = Vec::new();
    let mut pick = None;
    if let Some((n, from)) = stdout_node(fdt) {
        if drivable(n) {
            pick = Some((n, from));
        } else {
            tried.push(format!(
                "{from} names {} (compatible {:?}{})",
                path_of(fdt, n),
                strings(fdt, n, "compatible"),
                if enabled(fdt, n) { "" } else { ", disabled" }
            ));
        }
    }
    if pick.is_none()
        && let Ok(aliases) = fdt.path_offset("/aliases")
    {
        let mut serials: Vec<(u32, String)> = fdt
            .properties(aliases)
            .filter_map(|p| {
                let idx = p.name.strip_prefix("serial")?.parse().ok()?;
                let v = p.value.split(|&b| b == 0).next()?;
                Some((idx, std::str::from_utf8(v).ok()?.to_string()))
            })
            .collect();
        serials.sort();
        for (idx, path) in serials {
            match fdt.path_offset(&path) {
                Ok(n) if drivable(n) => {
                    let why = if tried.is_empty() {
                        String::new()
                    } else {
                        format!(" ({}; no shim driver)", tried.join("; "))
                    };
                    pick = Some((n, format!("/aliases serial{idx}{why}")));
                    break;
                }
                Ok(n) => tried.push(format!(
                    "serial{idx} {path} (compatible {:?})",
                    strings(fdt, n, "compatible")
                )),
                Err(_) => tried.push(format!("serial{idx} {path} (no such node)")),
            }
        }
    }
    let Some((node, from)) = pick else {
        let seen = if tried.is_empty() {
            "no /chosen stdout-path and no serial alias".to_string()
        } else {
            tried.join("; ")
        };
        f.gaps.push(gap(
            "uart",
            format!(
                "no console UART the shim drives ({seen}); the shim's console drivers take {:?}: unsupported, write [uart] by hand only for one of them",
                UART_DRIVERS.map(|d| d.0)
            ),
        ));
        return Ok(());
    };
    let path = path_of(fdt, node);
    let Some(&(base, size)) = f.devices.iter().find(|d| d.node == node).and_then(|d| d.regs.first()) else {
        f.gaps.push(gap(
            "uart",
            format!("{path} ({from}): reg does not translate to a CPU address"),
        ));
        return Ok(());
    };
    let page = size
        .div_ceil(PAGE)
        .checked_mul(PAGE)
        .ok_or_else(|| format!("{path}: reg size {size:#x} too large"))?;
    let spis = match &f.gic {
        Some(g) => node_spis(fdt, node, g.node)?,
        None => Vec::new(),
    };
    let deps = super::deps::console_deps(fdt, node, &f.devices, f.gic.as_ref().map(|g| g.node))?;
    let (compatible, driver, tty) = uart_driver(fdt, node).ok_or_else(|| format!("{path}: no driver"))?;
    f.uart = Some(Uart {
        path: path.clone(),
        base: fact(base, format!("{path} reg[0], compatible \"{compatible}\", from {from}")),
        driver: fact(driver, format!("{path} compatible \"{compatible}\"")),
        tty,
        size: fact(
            page,
            format!("{path} reg[0] size {size:#x}, whole 4 KiB pages (stage 2 maps pages)"),
        ),
        spis,
        deps,
        disabled: super::deps::disabled_providers(fdt, node)?,
    });
    Ok(())
}

fn cpus(fdt: &Fdt<'_>, f: &mut Facts) -> Result<(), String> {
    let Ok(cpus) = fdt.path_offset("/cpus") else {
        f.gaps.push(gap("cpus", "no /cpus node: fill in [cpus]"));
        return Ok(());
    };
    let ac = opt_u32(fdt, cpus, "#address-cells")?.unwrap_or(1) as usize;
    let parent_method = first_str(fdt, cpus, "enable-method");
    let mut mpidr = Vec::new();
    let mut release = Vec::new();
    let mut method: Option<(String, String)> = None;
    for node in fdt.subnodes(cpus) {
        if fdt.getprop(node, "device_type") != Ok(b"cpu\0") || !enabled(fdt, node) {
            continue;
        }
        let path = path_of(fdt, node);
        let reg = fdt
            .getprop(node, "reg")
            .map_err(|e| super::tree::err(&path, "reg", e))?;
        let (id, _) = take(&cells(reg), ac).ok_or_else(|| format!("{path}: reg is not {ac} cells"))?;
        mpidr.push(id);
        let m = first_str(fdt, node, "enable-method").map(|m| (m.to_string(), format!("{path} enable-method")));
        let m = m.or_else(|| parent_method.map(|p| (p.to_string(), "/cpus enable-method".to_string())));
        let Some((m, at)) = m else {
            f.gaps.push(gap("cpus.start", format!("{path} has no enable-method")));
            return Ok(());
        };
        if m == "spin-table" {
            let raw = fdt
                .getprop(node, "cpu-release-addr")
                .map_err(|e| super::tree::err(&path, "cpu-release-addr", e))?;
            let c = cells(raw);
            let (a, _) = take(&c, c.len()).ok_or_else(|| format!("{path}: cpu-release-addr is not 1 or 2 cells"))?;
            release.push(a);
        }
        match &method {
            Some((prev, _)) if *prev != m => {
                f.gaps.push(gap(
                    "cpus.start",
                    format!("{at} is \"{m}\", another CPU's is \"{prev}\": one method for all CPUs"),
                ));
                return Ok(());
            }
            Some(_) => {}
            None => method = Some((m, at)),
        }
    }
    let Some((m, at)) = method else {
        f.gaps.push(gap("cpus", "/cpus has no enabled cpu node"));
        return Ok(());
    };
    if mpidr.len() > MAX_CPUS {
        f.gaps.push(gap(
            "cpus.mpidr",
            format!(
                "{} CPUs in /cpus; the shim handles {MAX_CPUS}: list the ones it should own",
                mpidr.len()
            ),
        ));
        return Ok(());
    }
    let start = match m.as_str() {
        "spin-table" => fact(Start::SpinTable, format!("{at} = \"spin-table\"")),
        "psci" => {
            let node =
                (fdt.subnodes(0)).find(|&n| strings(fdt, n, "compatible").iter().any(|c| c.starts_with("arm,psci")));
            let Some(p) = node else {
                f.gaps.push(gap(
                    "cpus.start",
                    format!("{at} = \"psci\" but no node is compatible arm,psci*"),
                ));
                return Ok(());
            };
            let pp = path_of(fdt, p);
            match first_str(fdt, p, "method") {
                Some("smc") => fact(Start::PsciSmc, format!("{at} = \"psci\", {pp} method = \"smc\"")),
                Some("hvc") => fact(Start::PsciHvc, format!("{at} = \"psci\", {pp} method = \"hvc\"")),
                other => {
                    f.gaps.push(gap(
                        "cpus.start",
                        format!("{pp} method = {other:?}, expected \"smc\" or \"hvc\""),
                    ));
                    return Ok(());
                }
            }
        }
        other => {
            f.gaps.push(gap(
                "cpus.start",
                format!("{at} = \"{other}\": the shim starts CPUs by PSCI (smc/hvc) or spin-table only"),
            ));
            return Ok(());
        }
    };
    let from = format!(
        "/cpus/cpu@* reg ({ac} cell{}), in DTB order",
        if ac == 1 { "" } else { "s" }
    );
    f.cpus = Some(Cpus {
        release_addr: (start.value == Start::SpinTable).then(|| fact(release, "/cpus/cpu@* cpu-release-addr")),
        start,
        mpidr: fact(mpidr, from),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gic_lines_cover_the_highest_used_spi_in_blocks_of_32() {
        let used = |ids: &[u32]| ids.iter().map(|&i| (i, "/n".to_string())).collect::<Used>();
        assert_eq!(lines_for(&used(&[])), Some(64));
        assert_eq!(lines_for(&used(&[33, 79])), Some(96));
        assert_eq!(lines_for(&used(&[95])), Some(96));
        assert_eq!(lines_for(&used(&[96])), Some(128));
        assert_eq!(lines_for(&used(&[1019])), Some(1020));
        assert_eq!(lines_for(&used(&[1020])), None);
        assert_eq!(lines_for(&used(&[u32::MAX])), None);
    }
}

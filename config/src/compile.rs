//! Parsed board + system files to a sealed `SystemConfig` and its payload list.
//! Reports what the binary format cannot hold (counts, string lengths, names)
//! and what `validate` cannot see (flag sets, CPU start methods, peer names).

use crate::Source;
use crate::board_file::{BoardFile, CpuStart, UartDriver};
use crate::error::{ConfigError, hex};
use crate::system::{Payload, PayloadSource, System};
use crate::system_file::{BootKind, Cell, SystemFile};
use cellboot_abi::staging;
use cellboot_abi::*;

/// The board's vPCI template overlay, beside `board.toml`.
pub const VPCI_TEMPLATE_FILE: &str = "vpci-template.dts";

/// `cells[i].overlays`: one OVERLAY payload each (consecutive), named
/// `<stem>.dtbo`; `vpci_template = false` sets `boot_flags::DIRECT_VPCI`.
fn overlays(
    c: &Cell,
    at: &str,
    base: &std::path::Path,
    out: &mut CellConfig,
    payloads: &mut Vec<Payload>,
    err: &mut dyn FnMut(String, String, String),
) {
    if !c.vpci_template {
        out.boot.flags |= boot_flags::DIRECT_VPCI;
    }
    if c.overlays.len() > staging::MAX_OVERLAYS {
        err(
            format!("{at}.overlays"),
            format!("{} files", c.overlays.len()),
            format!("at most {} overlays per cell", staging::MAX_OVERLAYS),
        );
        return;
    }
    if c.overlays.is_empty() {
        return;
    }
    out.boot.overlay_first = payloads.len() as u32;
    out.boot.overlay_count = c.overlays.len() as u32;
    for (k, f) in c.overlays.iter().enumerate() {
        let field = format!("{at}.overlays[{k}]");
        let path = base.join(f);
        let p = std::path::Path::new(f);
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let ext = p.extension().and_then(|s| s.to_str()).unwrap_or("");
        if ext != "dts" && ext != "dtbo" {
            err(
                field.clone(),
                format!("{f:?}"),
                "an overlay is a .dts source (compiled with dtc -@) or a compiled .dtbo".into(),
            );
        }
        let name = format!("{stem}.dtbo");
        if name.len() >= 24 {
            err(
                field.clone(),
                format!("{f:?}"),
                format!("payload name {name:?} is longer than 23 bytes: use a file stem of at most 18 bytes"),
            );
        }
        // Existence is the packer's concern (like kernels): `cellboot check`
        // validates a system file copied anywhere.
        payloads.push(Payload {
            kind: payload_kind::OVERLAY,
            name,
            source: PayloadSource::File(path),
        });
    }
}

pub fn compile(b: &BoardFile, bsrc: &Source, s: &SystemFile, ssrc: &Source) -> Result<System, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut cfg = SystemConfig::empty();
    board(b, &bsrc.path, &mut cfg, &mut errors);
    cfg.hypervisor = MemRegion {
        phys: b.hypervisor.phys,
        virt: b.hypervisor.phys,
        size: b.hypervisor.size,
        flags: 0,
    };

    let spath = &ssrc.path;
    let mut err = |field: String, value: String, msg: String| errors.push(ConfigError::new(spath, field, value, msg));
    let mut payloads = vec![
        Payload {
            kind: payload_kind::SYSCONFIG,
            name: "sysconfig".into(),
            source: PayloadSource::SystemConfig,
        },
        Payload {
            kind: payload_kind::LOADER,
            name: "loader".into(),
            source: PayloadSource::Loader,
        },
    ];
    if s.cells.is_empty() {
        err("cells".into(), "[]".into(), "a system needs at least one cell".into());
    }
    if s.cells.len() > MAX_CELLS {
        err(
            "cells".into(),
            s.cells.len().to_string(),
            format!("at most {MAX_CELLS} cells"),
        );
    }
    let base = ssrc.path.parent().unwrap_or(std::path::Path::new("."));
    for (ci, c) in s.cells.iter().enumerate().take(MAX_CELLS) {
        let at = format!("cells[{ci}]");
        let out = &mut cfg.cells[ci];
        cell(c, &at, b, out, &mut err);
        let mut add = |kind, what: &str, file: &str, err: &mut dyn FnMut(String, String, String)| -> u32 {
            let name = format!("{}.{what}", c.name);
            if name.len() >= 24 {
                err(
                    format!("{at}.name"),
                    format!("{:?}", c.name),
                    format!("payload name {name:?} is longer than 23 bytes: use a shorter cell name"),
                );
            }
            payloads.push(Payload {
                kind,
                name,
                source: PayloadSource::File(base.join(file)),
            });
            payloads.len().saturating_sub(1) as u32
        };
        if c.boot.kind == BootKind::Jailhouse {
            crate::jailhouse_kind::images(
                c,
                &at,
                out,
                &mut |k, file, err| add(payload_kind::INMATE, &format!("image{k}"), file, err),
                &mut err,
            );
            continue;
        }
        let kernel_kind = if c.boot.kind == BootKind::Linux {
            payload_kind::KERNEL
        } else {
            payload_kind::INMATE
        };
        let kernel = match &c.boot.kernel {
            Some(k) => k.as_str(),
            None => {
                err(
                    format!("{at}.boot.kernel"),
                    String::new(),
                    "missing: a linux or raw cell boots a kernel file".into(),
                );
                ""
            }
        };
        out.boot.kernel = add(kernel_kind, "kernel", kernel, &mut err);
        out.boot.initrd = match &c.boot.initrd {
            Some(f) => add(payload_kind::INITRD, "initrd", f, &mut err),
            None => NO_PAYLOAD,
        };
        overlays(c, &at, base, out, &mut payloads, &mut err);
    }
    cfg.num_cells = s.cells.len().min(MAX_CELLS) as u32;
    // The board's vPCI template, once, when a cell builds its vPCI node from it.
    let template = bsrc
        .path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(VPCI_TEMPLATE_FILE);
    if cfg.cells[..cfg.num_cells as usize]
        .iter()
        .any(staging::wants_vpci_template)
        && template.is_file()
    {
        payloads.push(Payload {
            kind: payload_kind::VPCI_TEMPLATE,
            name: "vpci-template".into(),
            source: PayloadSource::File(template),
        });
    }
    if payloads.len() > MAX_PAYLOADS {
        err(
            "cells".into(),
            String::new(),
            format!("{} payloads, the payload table holds {MAX_PAYLOADS}", payloads.len()),
        );
    }

    if s.links.len() > MAX_LINKS {
        err(
            "links".into(),
            s.links.len().to_string(),
            format!("at most {MAX_LINKS} links"),
        );
    }
    for (li, l) in s.links.iter().enumerate().take(MAX_LINKS) {
        let at = format!("links[{li}]");
        let out = &mut cfg.links[li];
        *out = IvshmemLink {
            shmem_phys: l.shmem,
            state_size: l.state_size,
            rw_size: l.rw_size,
            out_size: l.out_size,
            peers: [NO_PEER; 2],
            device: l.device,
            protocol: l.protocol,
        };
        if l.peers.is_empty() || l.peers.len() > 2 {
            err(
                format!("{at}.peers"),
                format!("{:?}", l.peers),
                "a link has one or two peers (cell names)".into(),
            );
        }
        for (pi, name) in l.peers.iter().enumerate().take(2) {
            match s.cells.iter().position(|c| &c.name == name) {
                Some(i) => out.peers[pi] = i as u32,
                None => err(
                    format!("{at}.peers[{pi}]"),
                    format!("{name:?}"),
                    "no cell has this name".into(),
                ),
            }
        }
    }
    cfg.num_links = s.links.len().min(MAX_LINKS) as u32;
    grants(s, &mut cfg, &mut err);

    if !errors.is_empty() {
        return Err(errors);
    }
    cfg.seal();
    Ok(System {
        config: cfg,
        board_name: b.name.clone(),
        cell_names: s.cells.iter().map(|c| c.name.clone()).collect(),
        payloads,
    })
}

fn board(b: &BoardFile, path: &std::path::Path, cfg: &mut SystemConfig, errors: &mut Vec<ConfigError>) {
    let mut err = |field: &str, value: String, msg: &str| errors.push(ConfigError::new(path, field, value, msg));
    let o = &mut cfg.board;
    if !set_str_field(&mut o.name, &b.name) {
        err("name", format!("{:?}", b.name), "longer than 31 bytes");
    }
    o.ram_base = b.ram.base;
    o.ram_size = b.ram.size;
    o.uart_base = b.uart.base;
    o.uart_size = b.uart.size;
    o.uart_driver = match b.uart.driver {
        UartDriver::Pl011 => uart_driver::PL011,
        UartDriver::Cdns => uart_driver::CDNS,
    };
    o.gic_version = b.gic.version;
    o.num_irqs = b.gic.num_irqs;
    o.gicd_base = b.gic.gicd_base;
    o.gicd_size = b.gic.gicd_size;
    let need = |v: Option<u64>, field: &str, err: &mut dyn FnMut(&str, String, &str)| {
        v.unwrap_or_else(|| {
            err(
                &format!("gic.{field}"),
                String::new(),
                &format!("missing: GICv{} needs it", b.gic.version),
            );
            0
        })
    };
    let unwanted = |v: Option<u64>, field: &str, err: &mut dyn FnMut(&str, String, &str)| {
        if let Some(v) = v {
            err(
                &format!("gic.{field}"),
                hex(v),
                &format!("GICv{} has no such block", b.gic.version),
            );
        }
    };
    match b.gic.version {
        3 => {
            o.gicr_base = need(b.gic.gicr_base, "gicr_base", &mut err);
            o.gicr_stride = need(b.gic.gicr_stride, "gicr_stride", &mut err);
            unwanted(b.gic.gicc_base, "gicc_base", &mut err);
            unwanted(b.gic.gicc_size, "gicc_size", &mut err);
        }
        2 => {
            o.gicc_base = need(b.gic.gicc_base, "gicc_base", &mut err);
            o.gicc_size = need(b.gic.gicc_size, "gicc_size", &mut err);
            unwanted(b.gic.gicr_base, "gicr_base", &mut err);
            unwanted(b.gic.gicr_stride, "gicr_stride", &mut err);
        }
        _ => {} // validate reports the version
    }
    o.cpu_start = match b.cpus.start {
        CpuStart::PsciSmc => cpu_start::PSCI_SMC,
        CpuStart::PsciHvc => cpu_start::PSCI_HVC,
        CpuStart::SpinTable => cpu_start::SPIN_TABLE,
    };
    let n = b.cpus.mpidr.len();
    if n > MAX_CPUS {
        err(
            "cpus.mpidr",
            format!("{n} entries"),
            &format!("at most {MAX_CPUS} CPUs"),
        );
    }
    o.num_cpus = n.min(MAX_CPUS) as u32;
    for (i, &m) in b.cpus.mpidr.iter().enumerate().take(MAX_CPUS) {
        o.mpidr[i] = m;
    }
    match b.cpus.start {
        CpuStart::SpinTable if b.cpus.release_addr.len() != n => err(
            "cpus.release_addr",
            format!("{} entries", b.cpus.release_addr.len()),
            &format!("spin-table needs one release address per CPU ({n})"),
        ),
        CpuStart::PsciSmc | CpuStart::PsciHvc if !b.cpus.release_addr.is_empty() => err(
            "cpus.release_addr",
            format!("{:?}", b.cpus.release_addr),
            "only spin-table boards have release addresses",
        ),
        _ => {}
    }
    for (i, &a) in b.cpus.release_addr.iter().enumerate().take(MAX_CPUS) {
        o.release_addr[i] = a;
    }
}

fn cell(c: &Cell, at: &str, b: &BoardFile, out: &mut CellConfig, err: &mut dyn FnMut(String, String, String)) {
    if !set_str_field(&mut out.name, &c.name) {
        err(
            format!("{at}.name"),
            format!("{:?}", c.name),
            "longer than 31 bytes".into(),
        );
    }
    if c.name.is_empty() {
        err(format!("{at}.name"), "\"\"".into(), "a cell needs a name".into());
    }
    for (i, &cpu) in c.cpus.iter().enumerate() {
        if cpu >= 64 {
            err(
                format!("{at}.cpus[{i}]"),
                cpu.to_string(),
                "CPU numbers are below 64".into(),
            );
        } else if out.cpu_mask & (1 << cpu) != 0 {
            err(format!("{at}.cpus[{i}]"), cpu.to_string(), "listed twice".into());
        } else {
            out.cpu_mask |= 1 << cpu;
        }
    }
    if c.memory.len() > MAX_MEM_REGIONS {
        err(
            format!("{at}.memory"),
            format!("{} regions", c.memory.len()),
            format!("at most {MAX_MEM_REGIONS}"),
        );
    }
    for (ri, r) in c.memory.iter().enumerate().take(MAX_MEM_REGIONS) {
        let flags = r.flags.iter().fold(0, |acc, f| acc | f.bits());
        let rat = format!("{at}.memory[{ri}].flags");
        let shown = format!("{:?}", r.flags.iter().map(|f| f.name()).collect::<Vec<_>>());
        if flags & (mem::IO | mem::RAM) == mem::IO | mem::RAM {
            err(
                rat.clone(),
                shown.clone(),
                "a region is either \"io\" or \"ram\"".into(),
            );
        }
        if flags & mem::SHARED != 0 && flags & mem::RAM != 0 {
            err(
                rat.clone(),
                shown.clone(),
                "\"shared\" memory is never listed as the cell's \"ram\"".into(),
            );
        }
        if flags & (mem::READ | mem::WRITE | mem::EXECUTE) == 0 {
            err(rat, shown, "no access: add \"read\", \"write\" or \"execute\"".into());
        }
        out.mem[ri] = MemRegion {
            phys: r.phys,
            virt: r.virt.unwrap_or(r.phys),
            size: r.size,
            flags,
        };
    }
    out.num_mem = c.memory.len().min(MAX_MEM_REGIONS) as u32;
    if c.irqs.len() > MAX_IRQ_RANGES {
        err(
            format!("{at}.irqs"),
            format!("{} ranges", c.irqs.len()),
            format!("at most {MAX_IRQ_RANGES}"),
        );
    }
    for (i, r) in c.irqs.iter().enumerate().take(MAX_IRQ_RANGES) {
        out.irqs[i] = IrqRange {
            first: r.first,
            count: r.count,
        };
    }
    out.num_irq_ranges = c.irqs.len().min(MAX_IRQ_RANGES) as u32;
    if c.boot.kind == BootKind::Jailhouse {
        crate::jailhouse_kind::cell(c, at, out, err);
    } else {
        for (key, v) in [("comm_region_ipa", c.comm_region_ipa), ("loader_ipa", c.loader_ipa)] {
            if v.is_none() {
                err(
                    format!("{at}.{key}"),
                    String::new(),
                    "missing: a linux or raw cell needs it".into(),
                );
            }
        }
        out.comm_region_ipa = c.comm_region_ipa.unwrap_or(0);
        out.loader_ipa = c.loader_ipa.unwrap_or(0);
    }
    let d = b.vpci;
    let v = c.vpci.as_ref();
    out.vpci = VpciConfig {
        ecam_base: v.and_then(|v| v.ecam_base).unwrap_or(d.ecam_base),
        ecam_size: v.and_then(|v| v.ecam_size).unwrap_or(d.ecam_size),
        mmio_base: v.and_then(|v| v.mmio_base).unwrap_or(d.mmio_base),
        mmio_size: v.and_then(|v| v.mmio_size).unwrap_or(d.mmio_size),
        irq_base: v.and_then(|v| v.irq_base).unwrap_or(d.irq_base),
        domain: v.and_then(|v| v.domain).unwrap_or(d.domain),
    };
    let boot = &mut out.boot;
    boot.kind = match c.boot.kind {
        BootKind::Linux => boot_kind::LINUX,
        BootKind::Raw => boot_kind::RAW,
        BootKind::Jailhouse => boot_kind::JAILHOUSE,
    };
    boot.overlay_first = NO_PAYLOAD;
    boot.overlay_count = 0;
    // A jailhouse cell's string is its `cmdline` (jailhouse_kind::cell).
    if c.boot.kind != BootKind::Jailhouse && !set_str_field(&mut boot.bootargs, &c.boot.bootargs) {
        err(
            format!("{at}.boot.bootargs"),
            format!("{} bytes", c.boot.bootargs.len()),
            format!("longer than {} bytes", BOOTARGS_LEN - 1),
        );
    }
    if !set_str_field(&mut boot.stdout_path, &c.boot.stdout_path) {
        err(
            format!("{at}.boot.stdout_path"),
            format!("{:?}", c.boot.stdout_path),
            format!("longer than {} bytes", PATH_LEN - 1),
        );
    }
    if c.disable.len() > MAX_DISABLE {
        err(
            format!("{at}.disable"),
            format!("{} paths", c.disable.len()),
            format!("at most {MAX_DISABLE}"),
        );
    }
    for (i, p) in c.disable.iter().enumerate().take(MAX_DISABLE) {
        if !p.starts_with('/') {
            err(
                format!("{at}.disable[{i}]"),
                format!("{p:?}"),
                "not an absolute device-tree path".into(),
            );
        }
        if !set_str_field(&mut out.disable[i], p) {
            err(
                format!("{at}.disable[{i}]"),
                format!("{p:?}"),
                format!("longer than {} bytes", PATH_LEN - 1),
            );
        }
    }
    out.num_disable = c.disable.len().min(MAX_DISABLE) as u32;
}

/// `cells[i].manage`: cell names to `CellConfig::manage` bits. Unknown
/// names are reported here; a grant to itself by `validate` (the shim
/// checks the bits of any binary too).
fn grants(s: &SystemFile, cfg: &mut SystemConfig, err: &mut dyn FnMut(String, String, String)) {
    for (ci, c) in s.cells.iter().enumerate().take(MAX_CELLS) {
        for (k, name) in c.manage.iter().enumerate() {
            match s.cells.iter().position(|o| &o.name == name) {
                Some(i) if i < MAX_CELLS => cfg.cells[ci].manage |= 1 << i,
                _ => err(
                    format!("cells[{ci}].manage[{k}]"),
                    format!("{name:?}"),
                    "no cell has this name".into(),
                ),
            }
        }
    }
}

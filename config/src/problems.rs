//! `cellboot_abi::validate` problems mapped back to file + TOML field + value.

use crate::error::{ConfigError, hex};
use crate::system::System;
use crate::system_file::SystemFile;
use cellboot_abi::{Problem, SystemConfig, validate};
use std::path::Path;

/// Runs the shim's own validation on the compiled config; one error per problem.
pub fn check(sys: &System, board: &Path, system: &Path, file: &SystemFile) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    validate(&sys.config, &mut |p| {
        errors.push(map(p, &sys.config, board, system, file))
    });
    errors
}

fn map(p: Problem, cfg: &SystemConfig, board: &Path, system: &Path, file: &SystemFile) -> ConfigError {
    use Problem::*;
    let msg = p.to_string();
    let b = |field: &str, value: String| ConfigError::new(board, field, value, msg.clone());
    let s = |field: String, value: String| ConfigError::new(system, field, value, msg.clone());
    let at = |c: u32, r: u32| format!("cells[{c}].memory[{r}]");
    // A vPCI field the cell did not write came from the board file.
    let vpci_field = |c: u32, field: &str| {
        let written = file
            .cells
            .get(c as usize)
            .and_then(|c| c.vpci.as_ref())
            .is_some_and(|v| match field {
                "ecam_base" => v.ecam_base.is_some(),
                "mmio_base" => v.mmio_base.is_some(),
                "ecam_size" => v.ecam_size.is_some(),
                "mmio_size" => v.mmio_size.is_some(),
                _ => v.irq_base.is_some(),
            });
        if written {
            (system, format!("cells[{c}].vpci.{field}"))
        } else {
            (board, format!("vpci.{field}"))
        }
    };
    match p {
        BadMagic | BadRevision { .. } | BadLength { .. } | BadChecksum { .. } => {
            ConfigError::new(system, "", "", format!("binary header: {msg}"))
        }
        TooMany { what, count, .. } => s(what.replace(' ', "_"), count.to_string()),
        BadGicVersion { found } => b("gic.version", found.to_string()),
        BoardField { field, value } => {
            let (toml_field, shown) = match field {
                "num_cpus" => ("cpus.mpidr", format!("{value} entries")),
                "num_irqs" => ("gic.num_irqs", value.to_string()),
                "ram_size" => ("ram.size", hex(value)),
                "uart_base" => ("uart.base", hex(value)),
                "gicd_base" => ("gic.gicd_base", hex(value)),
                other => (other, hex(value)),
            };
            b(toml_field, shown)
        }
        HypervisorOutsideRam { base, size } => b("hypervisor", format!("{}+{}", hex(base), hex(size))),
        NoCpus { cell } => s(format!("cells[{cell}].cpus"), "[]".into()),
        CpuOutOfRange { cell, cpu } => s(format!("cells[{cell}].cpus"), cpu.to_string()),
        CpuOwnedTwice { cpu, second, .. } => s(format!("cells[{second}].cpus"), cpu.to_string()),
        RegionEmpty { cell, region } => s(format!("{}.size", at(cell, region)), "0x0".into()),
        RegionUnaligned { cell, region, value } => {
            let r = region_of(cfg, cell, region);
            let field = if value == r.phys {
                "phys"
            } else if value == r.virt {
                "virt"
            } else {
                "size"
            };
            s(format!("{}.{field}", at(cell, region)), hex(value))
        }
        RegionOutsideRam { cell, region, phys, .. } | RegionOverlapsHypervisor { cell, region, phys } => {
            s(format!("{}.phys", at(cell, region)), hex(phys))
        }
        RegionOverlapsCell { cell, region, .. } => s(
            format!("{}.phys", at(cell, region)),
            hex(region_of(cfg, cell, region).phys),
        ),
        IpaOverlap { cell, region, .. } | IpaOverlapsWindow { cell, region, .. } => {
            let r = region_of(cfg, cell, region);
            let field = if r.virt == r.phys { "phys" } else { "virt" };
            s(
                format!("{}.{field}", at(cell, region)),
                format!("{}+{}", hex(r.virt), hex(r.size)),
            )
        }
        IrqOutOfRange {
            cell,
            range,
            first,
            count,
        } => s(
            format!("cells[{cell}].irqs[{range}]"),
            format!("{{ first = {first}, count = {count} }}"),
        ),
        IrqOwnedTwice { irq, second, .. } => s(format!("cells[{second}].irqs"), irq.to_string()),
        VpciWindow { cell, field, value } => {
            if field == "comm_region" {
                return s(format!("cells[{cell}].comm_region_ipa"), hex(value));
            }
            let key = match field {
                "ecam" => "ecam_base",
                "mmio" => "mmio_base",
                other => other,
            };
            let (path, f) = vpci_field(cell, key);
            let shown = if key == "irq_base" {
                value.to_string()
            } else {
                hex(value)
            };
            ConfigError::new(path, f, shown, msg.clone())
        }
        LoaderOutsideRam { cell, ipa } => s(format!("cells[{cell}].loader_ipa"), hex(ipa)),
        LinkPeer { link, peer } => s(format!("links[{link}].peers"), peer.to_string()),
        LinkShmemNotMapped { link, .. } | LinkShmemOutsideRam { link } => {
            let l = cfg.links[link as usize];
            s(
                format!("links[{link}].shmem"),
                format!("{}+{}", hex(l.shmem_phys), hex(l.shmem_size())),
            )
        }
        BadBootKind { cell, kind } => s(format!("cells[{cell}].boot.kind"), kind.to_string()),
        VpciIrqOwnedTwice { irq, second, .. } => {
            let (path, f) = vpci_field(second, "irq_base");
            ConfigError::new(path, f, irq.to_string(), msg.clone())
        }
        JailhouseBoot { cell, field, value } => {
            let shown = if field == "images" {
                value.to_string()
            } else {
                hex(value)
            };
            s(format!("cells[{cell}].boot.{field}"), shown)
        }
        ReleaseAddr { cpu, addr, .. } => b(&format!("cpus.release_addr[{cpu}]"), hex(addr)),
        BoardRule { field, value, rule } => {
            let toml_field = match field {
                "ram_size" => "ram.size",
                "uart_base" => "uart.base",
                "uart_size" => "uart.size",
                "uart_driver" => "uart.driver",
                "mpidr" => "cpus.mpidr",
                f => return ConfigError::new(board, format!("gic.{f}"), hex(value), rule),
            };
            ConfigError::new(board, toml_field, hex(value), rule)
        }
        MpidrTwice { cpu, mpidr, .. } => b(&format!("cpus.mpidr[{cpu}]"), hex(mpidr)),
        CellField {
            cell,
            field,
            index,
            value,
            rule,
        } => {
            let c = file.cells.get(cell as usize);
            let (path, f, shown) = match field {
                "memory.phys" | "memory.virt" => {
                    let r = region_of(cfg, cell, index);
                    let key = if field == "memory.phys" || r.virt == r.phys {
                        "phys"
                    } else {
                        "virt"
                    };
                    let v = if key == "phys" { r.phys } else { r.virt };
                    (system, format!("cells[{cell}].memory[{index}].{key}"), hex(v))
                }
                "disable" => {
                    let p = c
                        .and_then(|c| c.disable.get(index as usize))
                        .cloned()
                        .unwrap_or_default();
                    (system, format!("cells[{cell}].disable[{index}]"), format!("{p:?}"))
                }
                "name" => {
                    let n = c.map(|c| c.name.clone()).unwrap_or_default();
                    (system, format!("cells[{cell}].name"), format!("{n:?}"))
                }
                "overlays" => (system, format!("cells[{cell}].overlays"), value.to_string()),
                "manage" => {
                    let (f, shown) = manage_field(file, cell, index, value);
                    (system, f, shown)
                }
                "memory.flags" => {
                    let flags = c
                        .and_then(|c| c.memory.get(index as usize))
                        .map(|r| format!("{:?}", r.flags.iter().map(|f| f.name()).collect::<Vec<_>>()))
                        .unwrap_or_else(|| hex(value));
                    (system, format!("cells[{cell}].memory[{index}].flags"), flags)
                }
                f => match f.strip_prefix("vpci.") {
                    Some(key) => {
                        let (path, f) = vpci_field(cell, key);
                        let shown = if key == "irq_base" {
                            value.to_string()
                        } else {
                            hex(value)
                        };
                        (path, f, shown)
                    }
                    None => (system, format!("cells[{cell}].{f}"), hex(value)),
                },
            };
            ConfigError::new(path, f, shown, rule)
        }
        LinkRule {
            link,
            field,
            value,
            rule,
        } => {
            let shown = if matches!(field, "device" | "peers") {
                value.to_string()
            } else {
                hex(value)
            };
            ConfigError::new(system, format!("links[{link}].{field}"), shown, rule)
        }
        LinkDeviceTwice { link, device, .. } => s(format!("links[{link}].device"), device.to_string()),
        #[allow(unreachable_patterns)] // problems added to the ABI later still get reported
        _ => ConfigError::new(system, "", "", msg.clone()),
    }
}

/// `cells[c].manage[k]` naming cell `index` (a grant bit), or the whole
/// list (`index` is `NO_INDEX`: the problem is the cell's grants as such).
fn manage_field(file: &SystemFile, cell: u32, index: u32, value: u64) -> (String, String) {
    let Some(c) = file.cells.get(cell as usize) else {
        return (format!("cells[{cell}].manage"), hex(value));
    };
    let target = file.cells.get(index as usize).map(|t| t.name.as_str());
    match c.manage.iter().position(|n| Some(n.as_str()) == target) {
        Some(k) if index != cellboot_abi::NO_INDEX => {
            (format!("cells[{cell}].manage[{k}]"), format!("{:?}", c.manage[k]))
        }
        _ => (format!("cells[{cell}].manage"), format!("{:?}", c.manage)),
    }
}

fn region_of(cfg: &SystemConfig, cell: u32, region: u32) -> cellboot_abi::MemRegion {
    cfg.cells
        .get(cell as usize)
        .and_then(|c| c.mem.get(region as usize))
        .copied()
        .unwrap_or_default()
}

//! Jailhouse binary cell configs (`.cell`, `include/jailhouse/cell-config.h`,
//! revision 14) read into what a cellboot system file needs, and that
//! system file written as TOML (`cellboot import-jailhouse`). Every error
//! names the config file and the field.

use std::fmt::Write as _;

const SIGNATURE: &[u8; 5] = b"JHCLL";
const SYSTEM_SIGNATURE: &[u8; 5] = b"JHSYS";
const REVISION: u16 = 14;
const ARCH_ARM64: u8 = 2;
/// `struct jailhouse_cell_desc` (packed).
const DESC_SIZE: usize = 132;
const MEMORY_SIZE: usize = 32;
const CACHE_SIZE: usize = 12;
const IRQCHIP_SIZE: usize = 32;
const PIO_SIZE: usize = 4;
const PCI_DEVICE_SIZE: usize = 56;

/// `JAILHOUSE_MEM_*`.
mod jh_mem {
    pub const READ: u64 = 0x1;
    pub const WRITE: u64 = 0x2;
    pub const EXECUTE: u64 = 0x4;
    pub const DMA: u64 = 0x8;
    pub const IO: u64 = 0x10;
    pub const COMM_REGION: u64 = 0x20;
}
const PCI_TYPE_IVSHMEM: u8 = 3;
/// Peers of a cellboot link (`IvshmemLink::peers`).
const LINK_PEERS: u8 = 2;
const CON_TYPE_PL011: u16 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub phys: u64,
    pub virt: u64,
    pub size: u64,
    pub flags: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ivshmem {
    pub device: u8,
    /// Index of its first region (state table); R/W, then one output
    /// section per peer follow.
    pub regions_start: u32,
    pub peers: u8,
    pub dev_id: u8,
    pub protocol: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JhCell {
    pub name: String,
    pub cpus: Vec<u32>,
    pub regions: Vec<Region>,
    /// SPI INTIDs the cell's irqchips give it.
    pub irqs: Vec<u32>,
    pub ivshmem: Vec<Ivshmem>,
    /// An SPI number, as Jailhouse stores it.
    pub vpci_irq_base: u32,
    pub reset_address: u64,
    pub console_pl011: Option<u64>,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

/// Parses one `.cell` file; `file` names it in errors.
pub fn parse(file: &str, b: &[u8]) -> Result<JhCell, String> {
    let err = |field: &str, value: String, msg: &str| format!("{file}: {field} = {value}: {msg}");
    if b.len() < DESC_SIZE {
        return Err(err(
            "size",
            format!("{} bytes", b.len()),
            &format!("shorter than a cell descriptor ({DESC_SIZE} bytes)"),
        ));
    }
    if &b[..5] == SYSTEM_SIGNATURE {
        return Err(err(
            "signature",
            "\"JHSYS\"".into(),
            "a root-cell (system) config: cellboot has no root cell, import the non-root cells' configs",
        ));
    }
    if &b[..5] != SIGNATURE {
        return Err(err(
            "signature",
            format!("{:?}", String::from_utf8_lossy(&b[..5])),
            "not a Jailhouse cell config (\"JHCLL\")",
        ));
    }
    if b[5] != ARCH_ARM64 {
        return Err(err("architecture", b[5].to_string(), "not arm64 (2)"));
    }
    let rev = u16_at(b, 6);
    if rev != REVISION {
        return Err(err(
            "revision",
            rev.to_string(),
            &format!("this tool reads revision {REVISION} (include/jailhouse/cell-config.h)"),
        ));
    }
    let name_raw = &b[8..40];
    let name = String::from_utf8_lossy(&name_raw[..name_raw.iter().position(|&c| c == 0).unwrap_or(32)]).into_owned();
    let count = |o: usize| u32_at(b, o) as usize;
    let (cpu_set_size, n_mem, n_cache, n_irqchip, n_pio, n_pci, n_caps, n_sid) = (
        count(48),
        count(52),
        count(56),
        count(60),
        count(64),
        count(68),
        count(72),
        count(76),
    );
    let vpci_irq_base = u32_at(b, 80);
    let reset_address = u64_at(b, 84);
    let (con_addr, con_type) = (u64_at(b, 100), u16_at(b, 100 + 12));

    // Section offsets, checked against the file length.
    let mut off = DESC_SIZE;
    let mut section = |field: &str, n: usize, each: usize| -> Result<usize, String> {
        let len = n
            .checked_mul(each)
            .ok_or_else(|| err(field, n.to_string(), "too large"))?;
        let start = off;
        off = off.checked_add(len).filter(|&e| e <= b.len()).ok_or_else(|| {
            err(
                field,
                n.to_string(),
                &format!(
                    "the file ({} bytes) ends before these {len} bytes at offset {start}",
                    b.len()
                ),
            )
        })?;
        Ok(start)
    };
    let cpu_at = section("cpu_set_size", cpu_set_size, 1)?;
    let mem_at = section("num_memory_regions", n_mem, MEMORY_SIZE)?;
    section("num_cache_regions", n_cache, CACHE_SIZE)?;
    let irq_at = section("num_irqchips", n_irqchip, IRQCHIP_SIZE)?;
    section("num_pio_regions", n_pio, PIO_SIZE)?;
    let pci_at = section("num_pci_devices", n_pci, PCI_DEVICE_SIZE)?;
    section("num_pci_caps", n_caps, 8)?;
    section("num_stream_ids", n_sid, 4)?;

    let cpus: Vec<u32> = (0..cpu_set_size * 8)
        .filter(|&i| b[cpu_at + i / 8] & (1 << (i % 8)) != 0)
        .map(|i| i as u32)
        .collect();
    if cpus.is_empty() {
        return Err(err("cpu_set", "{}".into(), "the cell has no CPU"));
    }
    let regions: Vec<Region> = (0..n_mem)
        .map(|i| {
            let o = mem_at + i * MEMORY_SIZE;
            Region {
                phys: u64_at(b, o),
                virt: u64_at(b, o + 8),
                size: u64_at(b, o + 16),
                flags: u64_at(b, o + 24),
            }
        })
        .collect();
    let mut irqs = Vec::new();
    for i in 0..n_irqchip {
        let o = irq_at + i * IRQCHIP_SIZE;
        let pin_base = u32_at(b, o + 12);
        for w in 0..4u32 {
            let bits = u32_at(b, o + 16 + 4 * w as usize);
            for bit in (0..32).filter(|bit| bits & (1 << bit) != 0) {
                let intid = pin_base
                    .checked_add(32 * w + bit)
                    .ok_or_else(|| err(&format!("irqchips[{i}].pin_base"), pin_base.to_string(), "too large"))?;
                irqs.push(intid);
            }
        }
    }
    irqs.sort_unstable();
    irqs.dedup();
    let mut ivshmem = Vec::new();
    for i in 0..n_pci {
        let o = pci_at + i * PCI_DEVICE_SIZE;
        if b[o] != PCI_TYPE_IVSHMEM {
            return Err(err(
                &format!("pci_devices[{i}].type"),
                b[o].to_string(),
                "only ivshmem devices (3) have a cellboot counterpart",
            ));
        }
        let bdf = u16_at(b, o + 4);
        let d = Ivshmem {
            device: (bdf >> 3 & 0x1f) as u8,
            regions_start: u32_at(b, o + 48),
            dev_id: b[o + 52],
            peers: b[o + 53],
            protocol: u16_at(b, o + 54),
        };
        let end = d.regions_start as usize + 2 + usize::from(d.peers);
        if d.peers < 1 || end > regions.len() {
            return Err(err(
                &format!("pci_devices[{i}].shmem_peers"),
                d.peers.to_string(),
                "the memory regions do not hold a state table, R/W and one output region per peer from shmem_regions_start",
            ));
        }
        if d.dev_id >= LINK_PEERS {
            return Err(err(
                &format!("pci_devices[{i}].shmem_dev_id"),
                d.dev_id.to_string(),
                "cellboot links have two peers (IDs 0 and 1): this cell's end has no counterpart",
            ));
        }
        ivshmem.push(d);
    }
    let console_pl011 = (con_type == CON_TYPE_PL011 && con_addr != 0).then_some(con_addr);
    Ok(JhCell {
        name,
        cpus,
        regions,
        irqs,
        ivshmem,
        vpci_irq_base,
        reset_address,
        console_pl011,
    })
}

/// One cellboot link: shared memory at `shmem` with these section sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    shmem: u64,
    state: u64,
    rw: u64,
    out: u64,
    device: u8,
    protocol: u16,
    peers: Vec<String>,
}

/// The system file for `cells` (already parsed from `files`).
pub fn to_toml(files: &[String], cells: &[JhCell]) -> Result<String, String> {
    let mut links: Vec<Link> = Vec::new();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Imported by `cellboot import-jailhouse` from {}.",
        files.join(", ")
    );
    let _ = writeln!(
        t,
        "# Check it with `cellboot check <this file> --dtb <board DTB>`; set each cell's `images`."
    );
    for (file, c) in files.iter().zip(cells) {
        let err = |field: &str, value: String, msg: &str| format!("{file}: {field} = {value}: {msg}");
        // Regions of ivshmem devices become one shared region per link.
        let mut in_link = vec![false; c.regions.len()];
        let mut shared = Vec::new();
        let mut dropped = Vec::new();
        for (di, d) in c.ivshmem.iter().enumerate() {
            let rs = d.regions_start as usize;
            let all = 2 + usize::from(d.peers);
            // Peers 0 and 1 keep their sections where Jailhouse put them;
            // the output sections of further peers are left out.
            let r = &c.regions[rs..rs + all.min(2 + usize::from(LINK_PEERS))];
            let outs = &r[2..];
            for w in r.windows(2) {
                if w[0].phys + w[0].size != w[1].phys || w[0].virt + w[0].size != w[1].virt {
                    return Err(err(
                        &format!("pci_devices[{di}] memory regions"),
                        format!("{:#x}", w[1].phys),
                        "not contiguous after the previous section: cellboot's link is one block",
                    ));
                }
            }
            if outs.iter().any(|o| o.size != outs[0].size) {
                return Err(err(
                    &format!("pci_devices[{di}] output sections"),
                    format!("{:#x}", outs[0].size),
                    "output sections of different sizes",
                ));
            }
            let size: u64 = r.iter().map(|x| x.size).sum();
            in_link[rs..rs + all].iter_mut().for_each(|x| *x = true);
            if d.peers > LINK_PEERS {
                dropped.push((di, d.peers));
            }
            shared.push((r[0].phys, r[0].virt, size));
            let (state, rw, out) = (r[0].size, r[1].size, outs[0].size);
            match links.iter_mut().find(|l| l.shmem == r[0].phys) {
                Some(l) if l.peers.len() < 2 && (l.state, l.rw, l.out, l.device) == (state, rw, out, d.device) => {
                    l.peers.push(c.name.clone())
                }
                Some(_) => {
                    return Err(err(
                        &format!("pci_devices[{di}]"),
                        format!("{:#x}", r[0].phys),
                        "another imported cell's ivshmem device uses this memory differently",
                    ));
                }
                None => links.push(Link {
                    shmem: r[0].phys,
                    state,
                    rw,
                    out,
                    device: d.device,
                    protocol: d.protocol,
                    peers: vec![c.name.clone()],
                }),
            }
        }
        let _ = writeln!(t, "\n[[cells]]\nname = {:?}\ncpus = {:?}", c.name, c.cpus);
        for (di, peers) in dropped {
            let _ = writeln!(
                t,
                "# pci_devices[{di}]: {peers} ivshmem peers in Jailhouse; a cellboot link has 2, peers 0 and 1 are kept"
            );
        }
        let mut comm = None;
        let spis: Vec<u32> = c
            .irqs
            .iter()
            .copied()
            .filter(|&i| i >= 32 && !(c.vpci_irq_base + 32..c.vpci_irq_base + 36).contains(&i))
            .collect();
        if !spis.is_empty() {
            let _ = writeln!(t, "irqs = [");
            let mut i = 0;
            while i < spis.len() {
                let mut n = 1;
                while i + n < spis.len() && spis[i + n] == spis[i] + n as u32 {
                    n += 1;
                }
                let _ = writeln!(t, "    {{ first = {}, count = {n} }},", spis[i]);
                i += n;
            }
            let _ = writeln!(t, "]");
        }
        for (ri, r) in c.regions.iter().enumerate() {
            if r.flags & jh_mem::COMM_REGION != 0 {
                comm = Some(r.virt);
                continue;
            }
            if in_link[ri] || r.size == 0 {
                continue;
            }
            let mut flags = Vec::new();
            for (bit, name) in [
                (jh_mem::READ, "read"),
                (jh_mem::WRITE, "write"),
                (jh_mem::EXECUTE, "execute"),
                (jh_mem::DMA, "dma"),
                (jh_mem::IO, "io"),
            ] {
                if r.flags & bit != 0 {
                    flags.push(name);
                }
            }
            if r.flags & jh_mem::IO == 0 {
                flags.push("ram");
            }
            if r.phys & 0xfff != 0 || r.size & 0xfff != 0 {
                return Err(err(
                    &format!("memory_regions[{ri}]"),
                    format!("{:#x}+{:#x}", r.phys, r.size),
                    "not 4 KiB aligned (sub-page regions have no cellboot counterpart)",
                ));
            }
            let _ = writeln!(
                t,
                "\n[[cells.memory]]                 # memory_regions[{ri}]\nphys = {:#x}",
                r.phys
            );
            if r.virt != r.phys {
                let _ = writeln!(t, "virt = {:#x}", r.virt);
            }
            let _ = writeln!(t, "size = {:#x}\nflags = {:?}", r.size, flags);
        }
        for (phys, virt, size) in shared {
            let _ = writeln!(
                t,
                "\n[[cells.memory]]                 # ivshmem: state table | R/W | output sections\nphys = {phys:#x}"
            );
            if virt != phys {
                let _ = writeln!(t, "virt = {virt:#x}");
            }
            let _ = writeln!(t, "size = {size:#x}\nflags = [\"read\", \"write\", \"shared\"]");
        }
        if let Some(uart) = c.console_pl011 {
            let mapped = c
                .regions
                .iter()
                .any(|r| r.flags & jh_mem::IO != 0 && uart >= r.phys && uart - r.phys < r.size);
            if !mapped {
                let _ = writeln!(
                    t,
                    "# console: PL011 at {uart:#x}, not mapped: the cell prints through the debug-console hypercall"
                );
            }
        }
        if !c.ivshmem.is_empty() {
            let _ = writeln!(
                t,
                "\n[cells.vpci]\nirq_base = {}                   # INTID of vpci_irq_base = {} (an SPI number)",
                c.vpci_irq_base + 32,
                c.vpci_irq_base
            );
        }
        let _ = writeln!(
            t,
            "\n[cells.boot]\nkind = \"jailhouse\"\nimages = [{{ file = \"{}.bin\" }}]   # your inmate, loaded at IPA 0",
            c.name
        );
        if c.reset_address != 0 {
            let _ = writeln!(t, "reset_address = {:#x}", c.reset_address);
        }
        if let Some(comm) = comm.filter(|&a| a != 0x8000_0000) {
            let _ = writeln!(t, "comm_region_ipa = {comm:#x}");
        }
    }
    for l in &links {
        let _ = writeln!(
            t,
            "\n[[links]]\nshmem = {:#x}\nstate_size = {:#x}\nrw_size = {:#x}\nout_size = {:#x}\npeers = {:?}\ndevice = {}\nprotocol = {:#x}",
            l.shmem, l.state, l.rw, l.out, l.peers, l.device, l.protocol
        );
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A revision-14 arm64 `.cell` as Jailhouse's config build writes it.
    pub fn cell(name: &str, cpu: u8, ram_phys: u64, dev_id: u8, vpci: u32) -> Vec<u8> {
        let mut b = vec![0u8; DESC_SIZE];
        b[..5].copy_from_slice(SIGNATURE);
        b[5] = ARCH_ARM64;
        b[6..8].copy_from_slice(&REVISION.to_le_bytes());
        b[8..8 + name.len()].copy_from_slice(name.as_bytes());
        let put32 = |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
        put32(&mut b, 48, 8); // cpu_set_size
        put32(&mut b, 52, 7); // memory regions
        put32(&mut b, 60, 1); // irqchips
        put32(&mut b, 68, 1); // pci devices
        put32(&mut b, 80, vpci);
        b[112..114].copy_from_slice(&CON_TYPE_PL011.to_le_bytes());
        b[100..108].copy_from_slice(&0x0900_0000u64.to_le_bytes());
        let mut cpus = [0u8; 8];
        cpus[0] = 1 << cpu;
        b.extend(cpus);
        let mem = |phys: u64, virt: u64, size: u64, flags: u64| {
            [phys, virt, size, flags]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
        };
        b.extend(mem(0x6000_0000, 0x6000_0000, 0x1000, jh_mem::READ));
        b.extend(mem(0x6000_1000, 0x6000_1000, 0x9000, jh_mem::READ | jh_mem::WRITE));
        b.extend(mem(
            0x6000_a000,
            0x6000_a000,
            0x2000,
            jh_mem::READ | if dev_id == 0 { jh_mem::WRITE } else { 0 },
        ));
        b.extend(mem(
            0x6000_c000,
            0x6000_c000,
            0x2000,
            jh_mem::READ | if dev_id == 1 { jh_mem::WRITE } else { 0 },
        ));
        b.extend(mem(
            0x0900_0000,
            0x0900_0000,
            0x1000,
            jh_mem::READ | jh_mem::WRITE | jh_mem::IO,
        ));
        b.extend(mem(
            ram_phys,
            0,
            0x10000,
            jh_mem::READ | jh_mem::WRITE | jh_mem::EXECUTE,
        ));
        b.extend(mem(
            0,
            0x8000_0000,
            0x1000,
            jh_mem::READ | jh_mem::WRITE | jh_mem::COMM_REGION,
        ));
        let mut chip = vec![0u8; IRQCHIP_SIZE];
        chip[..8].copy_from_slice(&0x0800_0000u64.to_le_bytes());
        chip[12..16].copy_from_slice(&32u32.to_le_bytes());
        chip[16 + 12..16 + 16].copy_from_slice(&(0xfu32 << (vpci - 96)).to_le_bytes()); // the vPCI SPIs
        if dev_id == 0 {
            chip[16..20].copy_from_slice(&(1u32 << 1).to_le_bytes()); // INTID 33, the UART's
        }
        b.extend(chip);
        let mut pci = vec![0u8; PCI_DEVICE_SIZE];
        pci[0] = PCI_TYPE_IVSHMEM;
        pci[4..6].copy_from_slice(&(1u16 << 3).to_le_bytes()); // 00:01.0
        pci[48..52].copy_from_slice(&0u32.to_le_bytes());
        pci[52] = dev_id;
        pci[53] = 2;
        b.extend(pci);
        b
    }

    #[test]
    fn two_cells_become_a_system_with_one_link() {
        let a = parse("a.cell", &cell("inmate-a", 2, 0x6100_0000, 0, 108)).unwrap();
        assert_eq!(a.cpus, vec![2]);
        assert_eq!(a.irqs, vec![33, 140, 141, 142, 143]);
        assert_eq!(a.ivshmem[0].device, 1);
        let b = parse("b.cell", &cell("inmate-b", 3, 0x6200_0000, 1, 112)).unwrap();
        let toml_text = to_toml(&["a.cell".into(), "b.cell".into()], &[a, b]).unwrap();
        let v: toml::Value = toml::from_str(&toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        let cells = v["cells"].as_array().unwrap();
        assert_eq!(cells[0]["boot"]["kind"].as_str(), Some("jailhouse"));
        assert_eq!(cells[0]["vpci"]["irq_base"].as_integer(), Some(140));
        assert_eq!(
            cells[0]["irqs"][0]["first"].as_integer(),
            Some(33),
            "the vPCI SPIs are the vpci block's"
        );
        assert_eq!(cells[0]["irqs"].as_array().unwrap().len(), 1);
        let mem = cells[0]["memory"].as_array().unwrap();
        assert!(
            mem.iter().any(|m| m.get("virt").and_then(|v| v.as_integer()) == Some(0)
                && m["phys"].as_integer() == Some(0x6100_0000))
        );
        assert!(mem.iter().any(|m| {
            m["size"].as_integer() == Some(0xe000)
                && m["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f.as_str() == Some("shared"))
        }));
        let link = &v["links"][0];
        assert_eq!(link["peers"].as_array().unwrap().len(), 2);
        assert_eq!(
            (
                link["state_size"].as_integer(),
                link["rw_size"].as_integer(),
                link["out_size"].as_integer()
            ),
            (Some(0x1000), Some(0x9000), Some(0x2000))
        );
        assert_eq!(link["device"].as_integer(), Some(1));
        // What it wrote is a valid system on QEMU virt.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../boards/qemu-virt");
        let board = cellboot_config::Source {
            path: dir.join("board.toml"),
            text: std::fs::read_to_string(dir.join("board.toml")).unwrap(),
        };
        let system = cellboot_config::Source {
            path: dir.join("imported.toml"),
            text: toml_text.clone(),
        };
        let sys = cellboot_config::compile_sources(&board, &system).unwrap_or_else(|e| panic!("{e:?}\n{toml_text}"));
        assert_eq!(sys.config.cells[1].vpci.irq_base, 144);
        assert_eq!(sys.config.links[0].peers, [0, 1]);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let good = cell("x", 1, 0x6100_0000, 0, 108);
        let mut bad = good.clone();
        bad[6] = 13;
        assert_eq!(
            parse("x.cell", &bad).unwrap_err(),
            "x.cell: revision = 13: this tool reads revision 14 (include/jailhouse/cell-config.h)"
        );
        let mut bad = good.clone();
        bad[..5].copy_from_slice(b"JHSYS");
        assert!(
            parse("root.cell", &bad)
                .unwrap_err()
                .starts_with("root.cell: signature = \"JHSYS\": a root-cell")
        );
        let mut bad = good.clone();
        bad[5] = 1;
        assert!(
            parse("x.cell", &bad)
                .unwrap_err()
                .starts_with("x.cell: architecture = 1")
        );
        let short = &good[..good.len() - 10];
        assert!(
            parse("x.cell", short)
                .unwrap_err()
                .starts_with("x.cell: num_pci_devices = 1: the file"),
            "{}",
            parse("x.cell", short).unwrap_err()
        );
        let mut bad = good.clone();
        bad[52..56].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            parse("x.cell", &bad)
                .unwrap_err()
                .starts_with("x.cell: num_memory_regions = 4294967295")
        );
        assert!(
            parse("x.cell", &good[..20])
                .unwrap_err()
                .starts_with("x.cell: size = 20 bytes")
        );
    }
}

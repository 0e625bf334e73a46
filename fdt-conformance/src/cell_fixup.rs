//! The loader's "cell fixup" edit sequence, written once against libfdt and
//! once against cellfdt, for the benchmark (and checked to give equal bytes).

use crate::{libfdt, libfdt_ro};
use cellfdt::FdtMut;

/// A bench input: a DTB and three device paths of it the fixup disables.
pub struct Board {
    pub name: &'static str,
    pub load: fn() -> Vec<u8>,
    pub disable: [&'static str; 3],
}

/// The bench inputs: the two real board DTBs and a generated ~1 MB tree.
pub const BOARDS: [Board; 3] = [
    Board {
        name: "qemu-virt",
        load: || crate::fixtures::load(crate::fixtures::QEMU_VIRT),
        disable: ["/pl061@9030000", "/pl031@9010000", "/fw-cfg@9020000"],
    },
    Board {
        name: "rpi4",
        load: || crate::fixtures::load(crate::fixtures::RPI4),
        disable: ["/soc/hdmi@7ef00700", "/soc/i2c@7ef04500", "/soc/avs-monitor@7d5d2000"],
    },
    Board {
        name: "gen-1m",
        load: generated_1m,
        disable: GEN_DISABLE,
    },
];

/// Devices under /soc of the generated tree (about 100 bytes of structure
/// block each: 1 MB in all).
const GEN_DEVICES: u32 = 9000;
/// The generated tree's disabled nodes: spread over its /soc.
const GEN_DISABLE: [&str; 3] = ["/soc/dev@10000", "/soc/dev@11a4000", "/soc/dev@2337000"];

/// A board-like tree of about 1 MB: GIC (phandle 1), memory, chosen, four
/// CPUs and `GEN_DEVICES` devices, written with cellfdt's `Writer`.
pub fn generated_1m() -> Vec<u8> {
    let mut buf = vec![0u8; 2 << 20];
    let mut w = cellfdt::Writer::create(&mut buf).expect("2 MiB buffer");
    let built = (|| -> cellfdt::Result<usize> {
        w.finish_reservemap()?;
        w.begin_node("")?;
        w.property_str("compatible", "cellboot,generated")?;
        w.property_u32("#address-cells", 2)?;
        w.property_u32("#size-cells", 2)?;
        w.property_u32("interrupt-parent", 1)?;
        w.begin_node("intc@8000000")?;
        w.property_str("compatible", "arm,gic-v3")?;
        w.property_u32("#interrupt-cells", 3)?;
        w.property("interrupt-controller", &[])?;
        w.property_u32("phandle", 1)?;
        w.end_node()?;
        w.begin_node("memory@40000000")?;
        w.property_str("device_type", "memory")?;
        w.property_cells("reg", &[0, 0x4000_0000, 0, 0x4000_0000])?;
        w.end_node()?;
        w.begin_node("chosen")?;
        w.end_node()?;
        w.begin_node("cpus")?;
        w.property_u32("#address-cells", 1)?;
        w.property_u32("#size-cells", 0)?;
        for c in 0..4u32 {
            w.begin_node(&format!("cpu@{c}"))?;
            w.property_str("device_type", "cpu")?;
            w.property_str("compatible", "arm,cortex-a72")?;
            w.property_u32("reg", c)?;
            w.end_node()?;
        }
        w.end_node()?;
        w.begin_node("soc")?;
        w.property_u32("#address-cells", 1)?;
        w.property_u32("#size-cells", 1)?;
        for d in 0..GEN_DEVICES {
            let base = 0x1_0000 + d * 0x1000;
            w.begin_node(&format!("dev@{base:x}"))?;
            w.property_str("compatible", "cellboot,generated-device")?;
            w.property_cells("reg", &[base, 0x1000])?;
            w.property_cells("interrupts", &[0, d % 988, 4])?;
            w.property_str("status", "okay")?;
            w.end_node()?;
        }
        w.end_node()?;
        w.end_node()?;
        w.finish()
    })();
    let n = built.expect("generated tree fits 2 MiB");
    buf.truncate(n);
    buf
}

/// Everything the fixup writes, precomputed from the board DTB.
pub struct Plan {
    pub bufsize: usize,
    pub pci_props: Vec<(&'static str, Vec<u8>)>,
    pub memory_reg: Vec<u8>,
    pub bootargs: &'static str,
    pub initrd: (u64, u64),
    pub stdout_path: &'static str,
    pub delete: [&'static str; 2],
    pub disable: [&'static str; 3],
}

fn cells(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|c| c.to_be_bytes()).collect()
}

impl Plan {
    /// The plan for `blob`; `disable` are three device paths of that board.
    pub fn new(blob: &[u8], disable: [&'static str; 3]) -> Plan {
        let root_ip = libfdt_ro::getprop(blob, 0, "interrupt-parent").expect("root interrupt-parent");
        let gic_ph = u32::from_be_bytes(root_ip.try_into().expect("4-byte phandle"));
        let gic = libfdt_ro::node_offset_by_phandle(blob, gic_ph).expect("GIC node");
        let gic_ac =
            libfdt_ro::getprop(blob, gic, "#address-cells").map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()));
        let mut imap = Vec::new();
        for pin in 1..=4u32 {
            imap.extend_from_slice(&[0, 0, 0, pin, gic_ph]);
            imap.extend(std::iter::repeat_n(0, gic_ac as usize));
            imap.extend_from_slice(&[0, 108 + pin - 1, 1]);
        }
        let pci_props = vec![
            ("compatible", b"pci-host-ecam-generic\0".to_vec()),
            ("device_type", b"pci\0".to_vec()),
            ("#address-cells", cells(&[3])),
            ("#size-cells", cells(&[2])),
            ("#interrupt-cells", cells(&[1])),
            ("bus-range", cells(&[0, 0])),
            ("reg", cells(&[0, 0x08e0_0000, 0, 0x0010_0000])),
            (
                "ranges",
                cells(&[0x0200_0000, 0, 0x1000_0000, 0, 0x1000_0000, 0, 0x0001_0000]),
            ),
            ("interrupt-map-mask", cells(&[0, 0, 0, 7])),
            ("interrupt-map", cells(&imap)),
            ("linux,pci-domain", cells(&[1])),
        ];
        Plan {
            bufsize: libfdt::totalsize(blob).max(crate::script::used_size(blob)) + (64 << 10),
            pci_props,
            memory_reg: cells(&[0, 0x4000_0000, 0, 0x2000_0000]),
            bootargs: "console=ttyAMA0 earlycon clk_ignore_unused root=/dev/ram0 rdinit=/init",
            initrd: (0x4800_0000, 0x4880_0000),
            stdout_path: "serial0:115200n8",
            delete: ["/cpus/cpu@3", "/cpus/cpu@2"],
            disable,
        }
    }
}

/// The fixup with libfdt; `buf.len() == plan.bufsize`. Returns totalsize.
pub fn with_libfdt(src: &[u8], buf: &mut [u8], plan: &Plan) -> libfdt::Result<usize> {
    libfdt::open_into(src, buf)?;
    let pci = libfdt::add_subnode(buf, 0, "pci@8e00000")?;
    for (name, val) in &plan.pci_props {
        libfdt::setprop(buf, pci, name, val)?;
    }
    let mem = libfdt_ro::path_offset(buf, "/memory")?;
    libfdt::setprop(buf, mem, "reg", &plan.memory_reg)?;
    let chosen = libfdt_ro::path_offset(buf, "/chosen")?;
    libfdt::setprop_str(buf, chosen, "bootargs", plan.bootargs)?;
    libfdt::setprop_u64(buf, chosen, "linux,initrd-start", plan.initrd.0)?;
    libfdt::setprop_u64(buf, chosen, "linux,initrd-end", plan.initrd.1)?;
    let chosen = libfdt_ro::path_offset(buf, "/chosen")?;
    libfdt::setprop_str(buf, chosen, "stdout-path", plan.stdout_path)?;
    for p in plan.delete {
        let n = libfdt_ro::path_offset(buf, p)?;
        libfdt::del_node(buf, n)?;
    }
    for p in plan.disable {
        let n = libfdt_ro::path_offset(buf, p)?;
        libfdt::setprop_str(buf, n, "status", "disabled")?;
    }
    libfdt::pack(buf)?;
    Ok(libfdt::totalsize(buf))
}

/// The same fixup with cellfdt. Returns totalsize.
pub fn with_cellfdt(src: &[u8], buf: &mut [u8], plan: &Plan) -> cellfdt::Result<usize> {
    let mut f = FdtMut::open_into(src, buf)?;
    let pci = f.add_subnode(0, "pci@8e00000")?;
    for (name, val) in &plan.pci_props {
        f.setprop(pci, name, val)?;
    }
    let mem = f.as_fdt().path_offset("/memory")?;
    f.setprop(mem, "reg", &plan.memory_reg)?;
    let chosen = f.as_fdt().path_offset("/chosen")?;
    f.setprop_str(chosen, "bootargs", plan.bootargs)?;
    f.setprop_u64(chosen, "linux,initrd-start", plan.initrd.0)?;
    f.setprop_u64(chosen, "linux,initrd-end", plan.initrd.1)?;
    let chosen = f.as_fdt().path_offset("/chosen")?;
    f.setprop_str(chosen, "stdout-path", plan.stdout_path)?;
    for p in plan.delete {
        let n = f.as_fdt().path_offset(p)?;
        f.del_node(n)?;
    }
    for p in plan.disable {
        let n = f.as_fdt().path_offset(p)?;
        f.setprop_str(n, "status", "disabled")?;
    }
    f.pack()?;
    Ok(f.as_fdt().totalsize())
}

//! The shipped qemu-virt linux-demo system compiles to what docs/boot-flow.md says.

mod common;
use cellboot_abi::{NO_PEER, SystemConfig, mem, payload_kind, validate_header};
use cellboot_config::{PayloadSource, load_system};

#[test]
fn linux_demo_compiles_to_the_documented_layout() {
    let sys = load_system(&common::board_dir().join("linux-demo.toml"))
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")));
    let c = &sys.config;
    assert_eq!(sys.board_name, "qemu-virt");
    assert_eq!(
        (c.board.gic_version, c.board.num_cpus, c.board.gicr_stride),
        (3, 4, 0x2_0000)
    );
    assert_eq!((c.hypervisor.phys, c.hypervisor.size), (0x4000_0000, 0x800_0000));
    assert_eq!(c.num_cells, 1);
    let cell = &c.cells[0];
    assert_eq!(cell.cpu_mask, 0b11);
    assert_eq!(cell.loader_ipa, 0x4800_0000);
    assert_eq!(cell.comm_region_ipa, 0x7fff_0000);
    let ram = cell.mem_regions()[0];
    assert_eq!((ram.phys, ram.virt, ram.size), (0x4800_0000, 0x4800_0000, 384 << 20));
    assert_ne!(ram.flags & mem::RAM, 0);
    assert_eq!(cell.mem_regions()[1].flags, mem::READ | mem::WRITE | mem::IO);
    assert_eq!(cell.mem_regions()[2].flags, mem::READ | mem::WRITE | mem::SHARED);
    assert_eq!(
        (cell.vpci.ecam_base, cell.vpci.irq_base, cell.vpci.domain),
        (0x08e0_0000, 140, 1)
    );
    assert!(cell.owns_irq(33) && cell.owns_irq(143) && !cell.owns_irq(144));
    assert_eq!(c.num_links, 1);
    assert_eq!(c.links[0].peers, [0, NO_PEER]);
    assert_eq!(c.links[0].shmem_size(), 0x1000 + 3 * 0x1_0000);
    assert!(cellboot_abi::str_field(&cell.boot.bootargs).contains("cellboot.expect_cpus=2"));

    let kinds: Vec<u32> = sys.payloads.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds[..4],
        [
            payload_kind::SYSCONFIG,
            payload_kind::LOADER,
            payload_kind::KERNEL,
            payload_kind::INITRD
        ]
    );
    // the board's vPCI template (the cell has a vPCI window), last
    assert_eq!(*kinds.last().unwrap(), payload_kind::VPCI_TEMPLATE);
    let t = sys.payloads.last().unwrap();
    assert_eq!(t.name, "vpci-template");
    assert!(matches!(&t.source, PayloadSource::File(p) if p.ends_with("boards/qemu-virt/vpci-template.dts")));
    assert_eq!(sys.payloads[cell.boot.kernel as usize].name, "linux.kernel");
    assert_eq!(sys.payloads[cell.boot.initrd as usize].name, "linux.initrd");
    let PayloadSource::File(k) = &sys.payloads[2].source else {
        panic!("kernel is not a file")
    };
    assert!(k.ends_with("build/guest/cloud/Image"), "{}", k.display());
}

#[test]
fn bytes_are_sealed_and_pass_the_header_check() {
    let sys = load_system(&common::board_dir().join("linux-demo.toml")).unwrap();
    let bytes = sys.to_bytes();
    assert_eq!(bytes.len(), size_of::<SystemConfig>());
    let mut problems = Vec::new();
    assert_eq!(validate_header(&bytes, &mut |p| problems.push(p)), 0, "{problems:?}");
    let mut corrupted = bytes.clone();
    corrupted[size_of::<SystemConfig>() - 8] ^= 1;
    assert_eq!(validate_header(&corrupted, &mut |_| {}), 1);
}

#[test]
fn rpi4b_board_file_parses_with_a_minimal_system() {
    let dir = common::board_dir().join("../rpi4b");
    let text = std::fs::read_to_string(dir.join("board.toml")).unwrap();
    let system = r#"
[[cells]]
name = "linux"
cpus = [0, 1, 2, 3]
loader_ipa = 0x1000_0000
comm_region_ipa = 0x7fff_0000
memory = [{ phys = 0x1000_0000, size = 0x1000_0000, flags = ["read", "write", "execute", "ram"] }]
boot = { kind = "linux", kernel = "Image" }
"#;
    let sys = cellboot_config::compile_sources(
        &cellboot_config::Source {
            path: dir.join("board.toml"),
            text,
        },
        &cellboot_config::Source {
            path: dir.join("t.toml"),
            text: system.into(),
        },
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(sys.config.board.release_addr[..4], [0xd8, 0xe0, 0xe8, 0xf0]);
    assert_eq!(sys.config.board.gicc_base, 0xff84_2000);
}

#[test]
fn rpi4b_linux_demo_compiles() {
    let sys = load_system(&common::board_dir().join("../rpi4b/linux-demo.toml"))
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")));
    assert_eq!(sys.config.board.cpu_start, cellboot_abi::cpu_start::SPIN_TABLE);
    assert_eq!(sys.config.cells[0].num_disable, 11); // QEMU-unmodelled devices, uart0's Bluetooth child, firmware GPIO
    assert_eq!(sys.config.cells[0].vpci.irq_base, 185);
}

#[test]
fn overlays_become_consecutive_payloads_named_by_stem() {
    let sys = common::load_edited(
        |_| {},
        |s| {
            common::set(
                s,
                "cells.0.overlays",
                toml::Value::Array(vec!["overlays/demo-device.dts".into(), "vpci-template.dts".into()]),
            );
        },
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let b = &sys.config.cells[0].boot;
    assert_eq!(b.overlay_count, 2);
    let first = b.overlay_first as usize;
    let ovl = &sys.payloads[first..first + 2];
    assert!(ovl.iter().all(|p| p.kind == payload_kind::OVERLAY));
    assert_eq!(
        [ovl[0].name.as_str(), ovl[1].name.as_str()],
        ["demo-device.dtbo", "vpci-template.dtbo"]
    );
    assert!(matches!(&ovl[0].source, PayloadSource::File(p) if p.ends_with("qemu-virt/overlays/demo-device.dts")));
    assert_eq!(b.flags, 0);
    // the shipped linux-demo: one overlay, cellboot-demo.dtbo
    let sys = common::load_edited(|_| {}, |_| {}).unwrap();
    let b = &sys.config.cells[0].boot;
    assert_eq!(b.overlay_count, 1);
    assert_eq!(sys.payloads[b.overlay_first as usize].name, "cellboot-demo.dtbo");
    // no overlays: no index
    let sys = common::load_edited(
        |_| {},
        |s| common::set(s, "cells.0.overlays", toml::Value::Array(vec![])),
    )
    .unwrap();
    assert_eq!(
        (
            sys.config.cells[0].boot.overlay_first,
            sys.config.cells[0].boot.overlay_count
        ),
        (cellboot_abi::NO_PAYLOAD, 0)
    );
}

#[test]
fn vpci_template_false_selects_the_direct_writer_and_drops_the_payload() {
    let sys = common::load_edited(|_| {}, |s| common::set(s, "cells.0.vpci_template", false.into())).unwrap();
    assert_eq!(sys.config.cells[0].boot.flags, cellboot_abi::boot_flags::DIRECT_VPCI);
    assert!(sys.payloads.iter().all(|p| p.kind != payload_kind::VPCI_TEMPLATE));
    // no vPCI window: no template either
    let sys = common::load_edited(|_| {}, |s| common::set(s, "cells.0.vpci.ecam_size", common::int(0))).unwrap();
    assert!(sys.payloads.iter().all(|p| p.kind != payload_kind::VPCI_TEMPLATE));
}

//! The `jailhouse` boot kind: boards/*/jailhouse-demo.toml compile to what
//! `jailhouse cell load` + `cell start` mean, defaults included, and the
//! fields only a loader-booted cell has are refused by name.

mod common;
use cellboot_abi::{NO_PAYLOAD, boot_kind, payload_kind, str_field, validate};
use cellboot_config::{ConfigError, Source, System, compile_sources};
use common::{board_dir, expect};

const S: &str = "jailhouse-demo.toml";

fn load(edit: impl FnOnce(String) -> String) -> Result<System, Vec<ConfigError>> {
    let text = std::fs::read_to_string(board_dir().join(S)).unwrap();
    compile_sources(
        &Source {
            path: board_dir().join("board.toml"),
            text: std::fs::read_to_string(board_dir().join("board.toml")).unwrap(),
        },
        &Source {
            path: board_dir().join(S),
            text: edit(text),
        },
    )
}

#[test]
fn demo_compiles_with_jailhouse_defaults() {
    let sys = load(|t| t).expect("jailhouse-demo compiles");
    let mut problems = Vec::new();
    assert_eq!(validate(&sys.config, &mut |p| problems.push(p)), 0, "{problems:?}");
    for (ci, cmdline) in [(0, "peer=a"), (1, "peer=b reset-once")] {
        let c = &sys.config.cells[ci];
        assert_eq!(c.boot.kind, boot_kind::JAILHOUSE);
        assert_eq!(
            c.comm_region_ipa, 0x8000_0000,
            "Jailhouse's COMM_REGION_BASE by default"
        );
        assert_eq!((c.boot.kernel, c.boot.initrd), (NO_PAYLOAD, NO_PAYLOAD));
        let j = &c.boot.jailhouse;
        assert_eq!(
            (j.reset_address, j.cmdline_ipa, j.image_count, j.image_ipa[0]),
            (0, 0x1000, 1, 0)
        );
        assert_eq!(str_field(&c.boot.bootargs), cmdline);
        let p = &sys.payloads[j.image_first as usize];
        assert_eq!(p.kind, payload_kind::INMATE);
        assert!(p.name.ends_with(".image0"), "{}", p.name);
    }
    assert!(
        !sys.payloads.iter().any(|p| p.kind == payload_kind::VPCI_TEMPLATE),
        "no DTB, no vPCI template"
    );
}

#[test]
fn second_image_needs_an_ipa_and_lands_there() {
    let errs = load(|t| {
        t.replacen(
            "images = [{ file = \"../../build/inmates/jh-conform.bin\" }]",
            "images = [{ file = \"a.bin\" }, { file = \"b.bin\" }]",
            1,
        )
    })
    .expect_err("second image without ipa");
    expect(&errs, S, "cells[0].boot.images[1].ipa", "");
    let sys = load(|t| {
        t.replacen(
            "images = [{ file = \"../../build/inmates/jh-conform.bin\" }]",
            "images = [{ file = \"a.bin\" }, { file = \"b.bin\", ipa = 0x8000 }]",
            1,
        )
    })
    .expect("two images");
    let j = &sys.config.cells[0].boot.jailhouse;
    assert_eq!((j.image_count, j.image_ipa[1]), (2, 0x8000));
}

#[test]
fn loader_fields_are_refused_by_name() {
    let errs = load(|t| {
        t.replacen(
            "kind = \"jailhouse\"",
            "kind = \"jailhouse\"\nbootargs = \"console=ttyAMA0\"\nkernel = \"x\"",
            1,
        )
    })
    .unwrap_err();
    expect(&errs, S, "cells[0].boot.bootargs", "set");
    expect(&errs, S, "cells[0].boot.kernel", "set");
    let errs = load(|t| t.replacen("cpus = [2]", "cpus = [2]\nloader_ipa = 0x0", 1)).unwrap_err();
    expect(&errs, S, "cells[0].loader_ipa", "0x0");
}

#[test]
fn placements_outside_the_cell_are_refused_by_name() {
    let errs = load(|t| t.replacen("reset_address = 0", "reset_address = 0x20_0000", 1)).unwrap_err();
    expect(&errs, S, "cells[1].boot.reset_address", "0x20_0000");
    let errs = load(|t| t.replacen("cmdline_ipa = 0x1000", "cmdline_ipa = 0xfffff", 1)).unwrap_err();
    expect(&errs, S, "cells[1].boot.cmdline_ipa", "0xf_ffff");
    let errs = load(|t| t.replacen("ipa = 0 }]", "ipa = 0x4000_0000 }]", 1)).unwrap_err();
    expect(&errs, S, "cells[1].boot.images.ipa", "0x4000_0000");
}

#[test]
fn shared_vpci_intx_lines_are_refused() {
    // jh-b given jh-a's vPCI SPIs: either cell could route and enable the other's.
    let errs = load(|t| t.replacen("irq_base = 144", "irq_base = 142", 1)).unwrap_err();
    expect(&errs, S, "cells[1].vpci.irq_base", "142");
    assert!(errs[0].message.contains("also owned by cells[0]"), "{}", errs[0]);
}

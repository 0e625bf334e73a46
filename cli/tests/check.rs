//! `cellboot check` on good and deliberately broken configs, and `build`.

mod common;

use common::*;
use serde_json::Value;

fn virt_text() -> String {
    read(&repo_file(VIRT_SYSTEM))
}

/// An extra memory region for the linux cell, inserted before its `[cells.vpci]`.
fn with_region(text: &str, phys: &str, size: &str) -> String {
    replace_once(
        text,
        "[cells.vpci]",
        &format!(
            "[[cells.memory]]\nphys = {phys}\nsize = {size}\nflags = [\"read\", \"write\", \"ram\"]\n\n[cells.vpci]"
        ),
    )
}

/// A second cell owning `cpus`, inserted before `[[links]]`.
fn with_cell(text: &str, cpus: &str) -> String {
    replace_once(
        text,
        "[[links]]",
        &format!(
            "[[cells]]\nname = \"inmate\"\ncpus = {cpus}\nloader_ipa = 0x6100_0000\ncomm_region_ipa = 0x7fff_0000\nvpci = {{ irq_base = 144 }}\n\
             [[cells.memory]]\nphys = 0x6100_0000\nsize = 0x100_0000\nflags = [\"read\", \"write\", \"execute\", \"ram\"]\n\
             [cells.boot]\nkind = \"raw\"\nkernel = \"inmate.bin\"\n\n[[links]]"
        ),
    )
}

/// The PL011 mapped into the middle of the cell's RAM (guest-physical).
fn overlapping_regions(t: &str) -> String {
    replace_once(
        t,
        "phys = 0x0900_0000\nsize = 0x1000",
        "phys = 0x0900_0000\nvirt = 0x5000_0000\nsize = 0x1000",
    )
}
fn cpu_owned_twice(t: &str) -> String {
    with_cell(t, "[1, 2]")
}
fn irq_out_of_range(t: &str) -> String {
    replace_once(t, "{ first = 33, count = 1 },", "{ first = 300, count = 1 },")
}
fn window_outside_ram(t: &str) -> String {
    with_region(t, "0x9000_0000", "0x10_0000")
}

/// (break, field, value, words of the message) for each broken config.
type Case = (fn(&str) -> String, &'static str, &'static str, &'static str);
const CASES: [Case; 4] = [
    (
        overlapping_regions,
        "cells[0].memory[1].virt",
        "0x5000_0000+0x1000",
        "memory[1] and memory[0] overlap",
    ),
    (
        cpu_owned_twice,
        "cells[1].cpus",
        "1",
        "CPU 1 is owned by cells[0] and cells[1]",
    ),
    (
        irq_out_of_range,
        "cells[0].irqs[0]",
        "{ first = 300, count = 1 }",
        "not a valid SPI range",
    ),
    (
        window_outside_ram,
        "cells[0].memory[3].phys",
        "0x9000_0000",
        "outside board RAM",
    ),
];

#[test]
fn good_configs_pass() {
    let o = cellboot(["check", VIRT_SYSTEM, "--dtb", VIRT_DTB]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).starts_with("ok: boards/qemu-virt/linux-demo.toml qemu-virt (1 cells)"),
        "{}",
        stdout(&o)
    );
    assert_exit(&cellboot(["check", PI_SYSTEM, "--board", PI_BOARD, "--dtb", PI_DTB]), 0);
    let o = cellboot(["check", VIRT_SYSTEM, "--json"]);
    assert_exit(&o, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&o)).unwrap(),
        Value::Array(vec![])
    );
}

#[test]
fn each_broken_config_names_file_field_and_value() {
    for (brk, field, value, words) in CASES {
        let cfg = ConfigCopy::new("qemu-virt", &brk(&virt_text()));
        let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
        assert_exit(&o, 1);
        let want = format!("error: {}: {field} = {value}: ", cfg.system().display());
        let err = stderr(&o);
        let line = err
            .lines()
            .find(|l| l.starts_with(&want))
            .unwrap_or_else(|| panic!("no {want:?} in\n{err}"));
        assert!(line.contains(words), "{line}");
        assert!(err.ends_with(" problem\n") || err.ends_with(" problems\n"), "{err}");
        assert!(stdout(&o).is_empty(), "problems go to stderr");
    }
}

#[test]
fn all_problems_are_reported_at_once_and_as_json() {
    let text = CASES.iter().fold(virt_text(), |t, (brk, ..)| brk(&t));
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
    assert_exit(&o, 1);
    assert!(stderr(&o).ends_with("4 problems\n"), "{}", stderr(&o));

    let o = cellboot(["check".as_ref(), cfg.system().as_os_str(), "--json".as_ref()]);
    assert_exit(&o, 1);
    let problems: Vec<Value> = serde_json::from_str(&stdout(&o)).expect("--json prints a JSON array");
    assert_eq!(problems.len(), CASES.len(), "{problems:#?}");
    for (_, field, value, words) in CASES {
        let p = problems
            .iter()
            .find(|p| p["field"] == field)
            .unwrap_or_else(|| panic!("no {field} in {problems:#?}"));
        assert_eq!(p["file"], cfg.system().display().to_string());
        assert_eq!(p["value"], value);
        assert!(p["message"].as_str().unwrap().contains(words), "{p}");
    }
}

#[test]
fn toml_and_board_errors_name_their_file() {
    let cfg = ConfigCopy::new(
        "qemu-virt",
        &replace_once(&virt_text(), "loader_ipa = 0x4800_0000", "loader_ipa = \"x\""),
    );
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str(), "--json".as_ref()]);
    assert_exit(&o, 1);
    let problems: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(problems[0]["file"], cfg.system().display().to_string());
    assert_eq!(problems[0]["field"], "cells[0].loader_ipa", "{problems:#?}");
    assert!(
        problems[0]["message"].as_str().unwrap().starts_with("line 7"),
        "{problems:#?}"
    );

    let board = replace_once(&read(&cfg.path("board.toml")), "num_irqs = 288", "num_irqs = 9999");
    std::fs::write(cfg.path("board.toml"), board).unwrap();
    std::fs::write(cfg.system(), virt_text()).unwrap();
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
    assert_exit(&o, 1);
    let want = format!("{}: gic.num_irqs = 9999", cfg.path("board.toml").display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn dtb_cross_check_finds_a_window_over_a_device() {
    // vPCI MMIO over QEMU's virtio-mmio transports: fine for the config alone.
    let text = replace_once(&virt_text(), "mmio_base = 0x1000_0000", "mmio_base = 0x0a00_0000");
    let cfg = ConfigCopy::new("qemu-virt", &text);
    assert_exit(&cellboot(["check".as_ref(), cfg.system().as_os_str()]), 0);
    let o = cellboot([
        "check".as_ref(),
        cfg.system().as_os_str(),
        "--dtb".as_ref(),
        VIRT_DTB.as_ref(),
        "--json".as_ref(),
    ]);
    assert_exit(&o, 1);
    let problems: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(!problems.is_empty());
    for p in &problems {
        assert_eq!(p["file"], cfg.system().display().to_string());
        assert_eq!(p["field"], "cells[0].vpci.mmio_base");
        assert_eq!(p["value"], "0xa00_0000+0x1_0000");
        assert!(
            p["message"]
                .as_str()
                .unwrap()
                .contains("overlaps device /virtio_mmio@a00"),
            "{p}"
        );
    }
    // 64 KiB over 512-byte transports: 32 of them (QEMU virt has 32).
    assert_eq!(problems.len(), 32);

    // The same window from the board's defaults is blamed on the board file.
    let text = replace_once(&virt_text(), "mmio_base = 0x1000_0000\n", "");
    let cfg = ConfigCopy::new("qemu-virt", &text);
    let board = replace_once(
        &read(&cfg.path("board.toml")),
        "mmio_base = 0x1000_0000",
        "mmio_base = 0x0a00_0000",
    );
    std::fs::write(cfg.path("board.toml"), board).unwrap();
    let o = cellboot([
        "check".as_ref(),
        cfg.system().as_os_str(),
        "--dtb".as_ref(),
        VIRT_DTB.as_ref(),
    ]);
    assert_exit(&o, 1);
    let want = format!(
        "error: {}: vpci.mmio_base = 0xa00_0000+0x1_0000: vPCI MMIO window overlaps device",
        cfg.path("board.toml").display()
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn unreadable_files_are_io_errors() {
    let o = cellboot(["check", "boards/qemu-virt/nope.toml"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("boards/qemu-virt/nope.toml: cannot read"),
        "{}",
        stderr(&o)
    );
    let o = cellboot(["check", VIRT_SYSTEM, "--dtb", "nope.dtb"]);
    assert_exit(&o, 2);
}

#[test]
fn build_writes_the_configs_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    for (system, board) in [(VIRT_SYSTEM, None), (PI_SYSTEM, Some(PI_BOARD))] {
        let out = tmp.path().join("system.bin");
        let mut args = vec![
            "build".to_string(),
            system.into(),
            "-o".into(),
            out.display().to_string(),
        ];
        if let Some(b) = board {
            args.extend(["--board".into(), b.into()]);
        }
        assert_exit(&cellboot(&args), 0);
        let sys = match board {
            None => cellboot_config::load_system(&repo_file(system)).unwrap(),
            Some(b) => {
                let src = |p: &str| cellboot_config::Source {
                    path: repo_file(p),
                    text: read(&repo_file(p)),
                };
                cellboot_config::compile_sources(&src(b), &src(system)).unwrap()
            }
        };
        assert_eq!(std::fs::read(&out).unwrap(), sys.to_bytes(), "{system}");
        let mut n = 0;
        cellboot_abi::validate_header(&sys.to_bytes(), &mut |_| n += 1);
        assert_eq!(n, 0);
    }
    // A broken config writes nothing.
    let cfg = ConfigCopy::new("qemu-virt", &irq_out_of_range(&virt_text()));
    let out = cfg.path("system.bin");
    let o = cellboot([
        "build".as_ref(),
        cfg.system().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_exit(&o, 1);
    assert!(!out.exists());
}

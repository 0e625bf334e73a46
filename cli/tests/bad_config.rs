//! Configs the shim, the loader or the stage 2 could not honour are refused
//! by `check` (and so by `dtb`/`build`), each naming file, field and value:
//! values that overflowed (the shim's release build wrapped them), and the
//! range, alignment, uniqueness and size rules.

mod common;

use common::*;

fn virt_text() -> String {
    read(&repo_file(VIRT_SYSTEM))
}

fn virt_board() -> String {
    read(&repo_file("boards/qemu-virt/board.toml"))
}

/// A second cell (CPU 2, its own RAM) named `name`, before `[[links]]`.
fn second_cell(name: &str) -> String {
    format!(
        "[[cells]]\nname = \"{name}\"\ncpus = [2]\nloader_ipa = 0x6100_0000\ncomm_region_ipa = 0x7fff_0000\n\
         [[cells.memory]]\nphys = 0x6100_0000\nsize = 0x100_0000\nflags = [\"read\", \"write\", \"execute\", \"ram\"]\n\
         [cells.boot]\nkind = \"raw\"\nkernel = \"inmate.bin\"\n\n[[links]]"
    )
}

/// (which file: "system"/"board", from, to, field, value, words of the message).
type Case = (
    &'static str,
    &'static str,
    String,
    &'static str,
    &'static str,
    &'static str,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "system",
            "irq_base = 140",
            "irq_base = 0xffff_ffff".into(),
            "cells[0].vpci.irq_base",
            "4294967295",
            "SPIs",
        ),
        (
            "system",
            "irq_base = 140",
            "irq_base = 0xffff_fffd".into(),
            "cells[0].vpci.irq_base",
            "4294967293",
            "SPIs",
        ),
        (
            "system",
            "out_size = 0x1_0000",
            "out_size = 0x7fff_ffff_ffff_f000".into(),
            "links[0].out_size",
            "0x7fff_ffff_ffff_f000",
            "overflows",
        ),
        (
            "system",
            "comm_region_ipa = 0x7fff_0000",
            "comm_region_ipa = 0x80_0000_0000".into(),
            "cells[0].comm_region_ipa",
            "0x80_0000_0000",
            "39-bit",
        ),
        (
            "system",
            "shmem = 0x6000_0000",
            "shmem = 0x6000_0800".into(),
            "links[0].shmem",
            "0x6000_0800",
            "4 KiB aligned",
        ),
        (
            "system",
            "disable = [\"/pcie@10000000\"]",
            "disable = [\"/\"]".into(),
            "cells[0].disable[0]",
            "\"/\"",
            "not \"/\"",
        ),
        (
            "system",
            "[[links]]",
            second_cell("linux"),
            "cells[1].name",
            "\"linux\"",
            "has this name",
        ),
        (
            "system",
            "state_size = 0x1000",
            "state_size = 0x0".into(),
            "links[0].state_size",
            "0x0",
            "state table",
        ),
        (
            "system",
            "ecam_size = 0x10_0000",
            "ecam_size = 0x1_0000_0000".into(),
            "cells[0].vpci.ecam_size",
            "0x1_0000_0000",
            "256 buses",
        ),
        (
            "board",
            "gicr_stride = 0x2_0000",
            "gicr_stride = 0".into(),
            "gic.gicr_stride",
            "0x0",
            "redistributor stride",
        ),
        (
            "board",
            "gicr_stride = 0x2_0000",
            "gicr_stride = 1".into(),
            "gic.gicr_stride",
            "0x1",
            "redistributor stride",
        ),
        (
            "board",
            "gicr_stride = 0x2_0000",
            "gicr_stride = 4096".into(),
            "gic.gicr_stride",
            "0x1000",
            "redistributor stride",
        ),
        (
            "board",
            "gicr_stride = 0x2_0000",
            "gicr_stride = 0x4000_0000_0000_0000".into(),
            "gic.gicr_stride",
            "0x4000_0000_0000_0000",
            "redistributor stride",
        ),
        (
            "board",
            "mpidr = [0x0, 0x1, 0x2, 0x3]",
            "mpidr = [0x0, 0x1, 0x1, 0x3]".into(),
            "cpus.mpidr[2]",
            "0x1",
            "same MPIDR",
        ),
        (
            "board",
            "size = 0x1000",
            "size = 0".into(),
            "uart.size",
            "0x0",
            "non-zero",
        ),
        (
            "board",
            "gicd_size = 0x1_0000",
            "gicd_size = 0".into(),
            "gic.gicd_size",
            "0x0",
            "non-zero",
        ),
    ]
}

#[test]
fn each_case_is_refused_naming_file_field_and_value() {
    for (which, from, to, field, value, words) in cases() {
        let (mut system, mut board) = (virt_text(), virt_board());
        match which {
            "system" => system = replace_once(&system, from, &to),
            _ => board = replace_once(&board, from, &to),
        }
        let cfg = ConfigCopy::new("qemu-virt", &system);
        std::fs::write(cfg.path("board.toml"), &board).unwrap();
        let file = if which == "system" {
            cfg.system()
        } else {
            cfg.path("board.toml")
        };
        let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
        assert_exit(&o, 1);
        let want = format!("error: {}: {field} = {value}: ", file.display());
        let err = stderr(&o);
        let line = err
            .lines()
            .find(|l| l.starts_with(&want))
            .unwrap_or_else(|| panic!("{to}: no {want:?} in\n{err}"));
        assert!(line.contains(words), "{to}: {line}");
        // dtb and build refuse it too (and nothing panics on the way).
        let o = cellboot([
            "dtb".as_ref(),
            "--system".as_ref(),
            cfg.system().as_os_str(),
            "--dtb".as_ref(),
            repo_file(VIRT_DTB).as_os_str(),
            "--initrd-size".as_ref(),
            "0x1000".as_ref(),
            "--cell".as_ref(),
            "linux".as_ref(),
            "-o".as_ref(),
            cfg.path("guest.dtb").as_os_str(),
        ]);
        assert_exit(&o, 1);
        assert!(!cfg.path("guest.dtb").exists(), "{to}");
        let o = cellboot([
            "build".as_ref(),
            cfg.system().as_os_str(),
            "-o".as_ref(),
            cfg.path("system.bin").as_os_str(),
        ]);
        assert_exit(&o, 1);
    }
}

#[test]
fn two_links_of_one_cell_on_one_device_are_refused() {
    let second = "\n[[links]]\nshmem = 0x6008_0000\nstate_size = 0x1000\nrw_size = 0x1000\nout_size = 0x1000\npeers = [\"linux\"]\ndevice = 0\n";
    let cfg = ConfigCopy::new("qemu-virt", &format!("{}{second}", virt_text()));
    let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
    assert_exit(&o, 1);
    let want = format!("error: {}: links[1].device = 0: ", cfg.system().display());
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
}

#[test]
fn check_with_the_dtb_refuses_what_dtb_refuses() {
    // Fine for the config alone; the loader cannot disable a node the
    // board DTB does not have.
    let text = replace_once(
        &virt_text(),
        "disable = [\"/pcie@10000000\"]",
        "disable = [\"/no-such-node\"]",
    );
    let cfg = ConfigCopy::new("qemu-virt", &text);
    assert_exit(&cellboot(["check".as_ref(), cfg.system().as_os_str()]), 0);
    let dtb = repo_file(VIRT_DTB);
    let o = check_with_dtb(&cfg.system(), &dtb);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("/no-such-node"), "{}", stderr(&o));
}

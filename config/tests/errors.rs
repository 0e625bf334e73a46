//! Every kind of config error names its file, TOML field and value.

mod common;
use common::{errors_of, expect, int, load_edited, load_text, set};
use toml::Value;

const B: &str = "board.toml";
const S: &str = "linux-demo.toml";

fn sys_edit(f: impl FnOnce(&mut toml::Table)) -> Vec<cellboot_config::ConfigError> {
    errors_of(load_edited(|_| {}, f))
}
fn board_edit(f: impl FnOnce(&mut toml::Table)) -> Vec<cellboot_config::ConfigError> {
    errors_of(load_edited(f, |_| {}))
}
fn strs(v: &[&str]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.to_string())).collect())
}

// --- parse errors ---------------------------------------------------------

#[test]
fn unknown_field_is_rejected_with_its_line() {
    let board = std::fs::read_to_string(common::board_dir().join(B)).unwrap();
    let system = std::fs::read_to_string(common::board_dir().join(S))
        .unwrap()
        .replace("cpus = [0, 1]", "cpus = [0, 1]\ncpu_count = 2");
    let errs = errors_of(load_text(board, system));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].file.ends_with(S) && errs[0].message.contains("cpu_count"),
        "{}",
        errs[0]
    );
    assert!(errs[0].message.starts_with("line "), "{}", errs[0]);
    assert_eq!(errs[0].field, "cells[0].cpu_count", "{}", errs[0]);
}

#[test]
fn unknown_flag_is_rejected() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.0.flags", strs(&["read", "cached"])));
    assert!(errs[0].message.contains("cached"), "{}", errs[0]);
}

#[test]
fn unknown_cpu_start_method_is_rejected() {
    let errs = board_edit(|b| set(b, "cpus.start", Value::String("psci".into())));
    assert!(
        errs[0].file.ends_with(B) && errs[0].message.contains("psci"),
        "{}",
        errs[0]
    );
}

#[test]
fn board_and_system_parse_errors_are_both_reported() {
    let errs = errors_of(load_text("name = 1".into(), "cells = 2".into()));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].file.ends_with(B) && errs[1].file.ends_with(S));
}

// --- compile errors (what the binary cannot hold) ---------------------------

#[test]
fn unknown_link_peer() {
    let errs = sys_edit(|s| set(s, "links.0.peers", strs(&["linux", "inmate"])));
    expect(&errs, S, "links[0].peers[1]", "\"inmate\"");
}

#[test]
fn bootargs_too_long() {
    let errs = sys_edit(|s| set(s, "cells.0.boot.bootargs", Value::String("x".repeat(600))));
    expect(&errs, S, "cells[0].boot.bootargs", "600 bytes");
}

#[test]
fn spin_table_without_release_addresses() {
    let errs = board_edit(|b| set(b, "cpus.start", Value::String("spin-table".into())));
    expect(&errs, B, "cpus.release_addr", "0 entries");
}

/// qemu-virt turned into a spin-table board; its hypervisor region starts at
/// 0x4000_0000 and the shim image at 0x4020_0000.
fn spin_table_board(addrs: [u64; 4]) -> Result<cellboot_config::System, Vec<cellboot_config::ConfigError>> {
    load_edited(
        |b| {
            set(b, "cpus.start", Value::String("spin-table".into()));
            set(
                b,
                "cpus.release_addr",
                Value::Array(addrs.iter().map(|&a| int(a)).collect()),
            );
        },
        |_| {},
    )
}

#[test]
fn spin_table_release_words_in_the_hypervisor_region_are_accepted() {
    let r = spin_table_board([0x4000_00d8, 0x4000_00e0, 0x4000_00e8, 0x401f_fff8]);
    assert!(r.is_ok(), "{:?}", r.err());
}

#[test]
fn spin_table_release_word_outside_the_hypervisor_region() {
    // In cell RAM: the cell could send CPU 2 anywhere at EL2.
    let errs = errors_of(spin_table_board([0x4000_00d8, 0x4000_00e0, 0x4800_0000, 0x4000_00f0]));
    expect(&errs, B, "cpus.release_addr[2]", "0x4800_0000");
    assert!(
        errs[0]
            .message
            .contains("hypervisor region below the shim image (0x40000000..0x40200000)"),
        "{}",
        errs[0]
    );
}

#[test]
fn spin_table_release_word_unaligned_or_in_the_shim_image() {
    let errs = errors_of(spin_table_board([0x4000_00dc, 0x4000_00e0, 0x4000_00e8, 0x4020_0000]));
    assert_eq!(errs.len(), 2, "{errs:?}");
    expect(&errs[..1], B, "cpus.release_addr[0]", "0x4000_00dc");
    expect(&errs[1..], B, "cpus.release_addr[3]", "0x4020_0000");
}

#[test]
fn gicv3_without_redistributors() {
    let errs = board_edit(|b| {
        b["gic"].as_table_mut().unwrap().remove("gicr_base");
    });
    expect(&errs, B, "gic.gicr_base", "");
}

#[test]
fn io_and_ram_together() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.1.flags", strs(&["read", "io", "ram"])));
    expect(&errs, S, "cells[0].memory[1].flags", "\"io\"");
}

#[test]
fn cpu_listed_twice() {
    let errs = sys_edit(|s| set(s, "cells.0.cpus", Value::Array(vec![int(1), int(1)])));
    expect(&errs, S, "cells[0].cpus[1]", "1");
}

// --- validate problems, mapped back to fields --------------------------------

#[test]
fn bad_gic_version() {
    expect(&board_edit(|b| set(b, "gic.version", int(4))), B, "gic.version", "4");
}

#[test]
fn board_num_irqs_out_of_range() {
    expect(
        &board_edit(|b| set(b, "gic.num_irqs", int(32))),
        B,
        "gic.num_irqs",
        "32",
    );
}

#[test]
fn board_ram_size_zero() {
    let errs = board_edit(|b| set(b, "ram.size", int(0)));
    expect(&errs, B, "ram.size", "0x0");
}

#[test]
fn board_uart_base_zero() {
    expect(&board_edit(|b| set(b, "uart.base", int(0))), B, "uart.base", "0x0");
}

#[test]
fn board_uart_driver_unknown() {
    let errs = board_edit(|b| set(b, "uart.driver", Value::String("ns16550".into())));
    let all = format!("{errs:?}");
    assert!(
        all.contains("ns16550") && all.contains("pl011") && all.contains("cdns"),
        "{all}"
    );
}

#[test]
fn board_without_cpus() {
    expect(
        &board_edit(|b| set(b, "cpus.mpidr", Value::Array(vec![]))),
        B,
        "cpus.mpidr",
        "0 entries",
    );
}

#[test]
fn hypervisor_outside_ram() {
    expect(
        &board_edit(|b| set(b, "hypervisor.phys", int(0x3000_0000))),
        B,
        "hypervisor",
        "0x3000_0000+0x800_0000",
    );
}

#[test]
fn cell_without_cpus() {
    expect(
        &sys_edit(|s| set(s, "cells.0.cpus", Value::Array(vec![]))),
        S,
        "cells[0].cpus",
        "[]",
    );
}

#[test]
fn cpu_beyond_the_board() {
    expect(
        &sys_edit(|s| set(s, "cells.0.cpus", Value::Array(vec![int(0), int(5)]))),
        S,
        "cells[0].cpus",
        "5",
    );
}

fn second_cell(s: &mut toml::Table, cpus: Vec<Value>, phys: u64, irq: u64) {
    let text = format!(
        r#"name = "inmate"
cpus = []
loader_ipa = {phys}
comm_region_ipa = 0x7fff_0000
irqs = [{{ first = {irq}, count = 1 }}]
memory = [{{ phys = {phys}, size = 0x100_0000, flags = ["read", "write", "execute", "ram"] }}]
boot = {{ kind = "raw", kernel = "inmate.bin" }}
vpci = {{ ecam_size = 0 }}
"#
    );
    let mut cell: toml::Table = text.parse().unwrap();
    cell.insert("cpus".into(), Value::Array(cpus));
    s["cells"].as_array_mut().unwrap().push(Value::Table(cell));
}

#[test]
fn cpu_owned_by_two_cells() {
    let errs = sys_edit(|s| second_cell(s, vec![int(1)], 0x6100_0000, 40));
    expect(&errs, S, "cells[1].cpus", "1");
    assert_eq!(errs.len(), 1, "{errs:?}");
}

#[test]
fn ram_of_two_cells_overlaps() {
    let errs = sys_edit(|s| second_cell(s, vec![int(2)], 0x5000_0000, 40));
    expect(&errs, S, "cells[1].memory[0].phys", "0x5000_0000");
}

#[test]
fn irq_owned_by_two_cells() {
    let errs = sys_edit(|s| second_cell(s, vec![int(2)], 0x6100_0000, 33));
    expect(&errs, S, "cells[1].irqs", "33");
}

#[test]
fn empty_region() {
    expect(
        &sys_edit(|s| set(s, "cells.0.memory.1.size", int(0))),
        S,
        "cells[0].memory[1].size",
        "0x0",
    );
}

#[test]
fn unaligned_region() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.2.virt", int(0x6000_0800)));
    expect(&errs, S, "cells[0].memory[2].virt", "0x6000_0800");
}

#[test]
fn ram_region_outside_board_ram() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.0.phys", int(0x7000_0000)));
    expect(&errs, S, "cells[0].memory[0].phys", "0x7000_0000");
}

#[test]
fn region_overlaps_the_hypervisor() {
    let errs = sys_edit(|s| {
        set(s, "cells.0.memory.0.phys", int(0x4400_0000));
        set(s, "cells.0.memory.0.virt", int(0x4800_0000));
    });
    expect(&errs, S, "cells[0].memory[0].phys", "0x4400_0000");
}

#[test]
fn regions_of_one_cell_overlap_in_ipa_space() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.2.virt", int(0x5000_0000)));
    expect(&errs, S, "cells[0].memory[2].virt", "0x5000_0000+0x10_0000");
}

#[test]
fn comm_region_overlaps_a_mapped_region() {
    let errs = sys_edit(|s| set(s, "cells.0.comm_region_ipa", int(0x6000_0000)));
    expect(&errs, S, "cells[0].memory[2].phys", "0x6000_0000");
    assert!(errs.iter().any(|e| e.message.contains("comm region")), "{errs:?}");
}

#[test]
fn irq_range_outside_spis() {
    let errs = sys_edit(|s| set(s, "cells.0.irqs.0.first", int(27)));
    expect(&errs, S, "cells[0].irqs[0]", "first = 27");
}

#[test]
fn misaligned_ecam_named_in_the_system_file() {
    let errs = sys_edit(|s| set(s, "cells.0.vpci.ecam_base", int(0x08e0_1000)));
    expect(&errs, S, "cells[0].vpci.ecam_base", "0x8e0_1000");
}

#[test]
fn misaligned_ecam_default_named_in_the_board_file() {
    let errs = errors_of(load_edited(
        |b| set(b, "vpci.ecam_base", int(0x08e0_1000)),
        |s| {
            s["cells"][0].as_table_mut().unwrap().remove("vpci");
        },
    ));
    expect(&errs, B, "vpci.ecam_base", "0x8e0_1000");
}

#[test]
fn vpci_irq_base_beyond_the_gic() {
    expect(
        &sys_edit(|s| set(s, "cells.0.vpci.irq_base", int(286))),
        S,
        "cells[0].vpci.irq_base",
        "286",
    );
}

#[test]
fn unaligned_comm_region() {
    let errs = sys_edit(|s| set(s, "cells.0.comm_region_ipa", int(0x7fff_0010)));
    expect(&errs, S, "cells[0].comm_region_ipa", "0x7fff_0010");
}

#[test]
fn loader_outside_ram() {
    expect(
        &sys_edit(|s| set(s, "cells.0.loader_ipa", int(0x0900_0000))),
        S,
        "cells[0].loader_ipa",
        "0x900_0000",
    );
}

#[test]
fn link_memory_not_mapped_shared() {
    let errs = sys_edit(|s| set(s, "cells.0.memory.2.flags", strs(&["read", "write"])));
    expect(&errs, S, "links[0].shmem", "0x6000_0000+0x3_1000");
}

#[test]
fn link_memory_outside_ram() {
    let errs = sys_edit(|s| set(s, "links.0.shmem", int(0x9000_0000)));
    expect(&errs, S, "links[0].shmem", "0x9000_0000");
}

#[test]
fn all_problems_are_reported_not_the_first() {
    let errs = sys_edit(|s| {
        set(s, "cells.0.loader_ipa", int(0x0900_0000));
        set(s, "cells.0.irqs.0.first", int(27));
        set(s, "cells.0.memory.1.size", int(0));
    });
    assert_eq!(errs.len(), 3, "{errs:?}");
}

#[test]
fn display_names_file_field_and_value() {
    let errs = sys_edit(|s| set(s, "cells.0.loader_ipa", int(0x0900_0000)));
    let text = errs[0].to_string();
    assert!(
        text.contains("linux-demo.toml: cells[0].loader_ipa = 0x900_0000: "),
        "{text}"
    );
}

#[test]
fn link_section_size_not_page_multiple() {
    expect(
        &sys_edit(|s| set(s, "links.0.rw_size", int(0x1_0800))),
        S,
        "links[0].rw_size",
        "0x1_0800",
    );
}

// --- overlays ---------------------------------------------------------------

#[test]
fn more_than_four_overlays() {
    let five = strs(&["overlays/demo-device.dts"; 5]);
    let e = sys_edit(|s| set(s, "cells.0.overlays", five));
    expect(&e, S, "cells[0].overlays", "5 files");
}

#[test]
fn overlay_name_longer_than_the_payload_name_field() {
    let e = sys_edit(|s| set(s, "cells.0.overlays", strs(&["overlays/a-very-long-overlay-name.dts"])));
    expect(&e, S, "cells[0].overlays[0]", "a-very-long-overlay-name.dts");
    assert!(e.iter().any(|e| e.message.contains("23 bytes")), "{e:?}");
}

#[test]
fn overlay_with_the_wrong_extension() {
    let e = sys_edit(|s| set(s, "cells.0.overlays", strs(&["overlays/nope.dts", "linux-demo.toml"])));
    assert!(!e.iter().any(|e| e.field == "cells[0].overlays[0]"), "{e:?}");
    expect(&e, S, "cells[0].overlays[1]", "linux-demo.toml");
}

//! The shim's own validation (`cellboot_abi::validate`, which it runs on the
//! binary config before anything else) on binary configs edited past what
//! TOML can write: sums that used to overflow (and wrap in the firmware's
//! release build) are refused, not wrapped and not panicked on.

mod common;

use cellboot_abi::{Problem, SystemConfig, validate};
use common::*;

fn good() -> SystemConfig {
    load_edited(|_| {}, |_| {}).expect("the demo config is valid").config
}

fn problems(cfg: &SystemConfig) -> Vec<String> {
    let mut out = Vec::new();
    let n = validate(cfg, &mut |p: Problem| out.push(p.to_string()));
    assert_eq!(n, out.len());
    out
}

fn refused(edit: impl FnOnce(&mut SystemConfig), words: &str) {
    let mut cfg = good();
    edit(&mut cfg);
    let p = problems(&cfg);
    assert!(p.iter().any(|m| m.contains(words)), "no {words:?} in {p:#?}");
}

#[test]
fn the_demo_passes() {
    assert_eq!(problems(&good()), Vec::<String>::new());
}

#[test]
fn overflowing_sums_are_refused() {
    for irq_base in [0xffff_ffff, 0xffff_fffd, 0xffff_fffc] {
        refused(|c| c.cells[0].vpci.irq_base = irq_base, "cells[0].vpci.irq_base");
    }
    refused(|c| c.links[0].out_size = 1 << 63, "links[0].out_size");
    refused(|c| c.links[0].out_size = !0xfff, "links[0].out_size");
    refused(|c| c.links[0].state_size = !0xfff, "links[0].out_size");
    for stride in [u64::MAX, 1 << 62, 0, 1, 0x1000, 0x3_0000] {
        refused(|c| c.board.gicr_stride = stride, "board.gicr_stride");
    }
    refused(
        |c| {
            c.cells[0].irqs[0] = cellboot_abi::IrqRange {
                first: 0xffff_fff0,
                count: 0x20,
            }
        },
        "not a valid SPI range",
    );
    refused(|c| c.cells[0].mem[0].size = !0xfff, "cells[0].memory");
    refused(|c| c.hypervisor.size = !0xfff, "hypervisor region");
}

#[test]
fn shmem_size_saturates_instead_of_wrapping() {
    let mut l = good().links[0];
    l.out_size = 1 << 63;
    assert_eq!(l.checked_shmem_size(), None);
    assert_eq!(l.shmem_size(), u64::MAX);
}

#[test]
fn stage2_range_and_uniqueness_rules() {
    refused(|c| c.cells[0].comm_region_ipa = 0x80_0000_0000, "39-bit");
    refused(|c| c.cells[0].vpci.ecam_base = 0x7f_fff0_0000 + 0x10_0000, "39-bit");
    refused(|c| c.board.mpidr[3] = c.board.mpidr[0], "same MPIDR");
    refused(|c| c.board.mpidr[1] = 1 << 63, "affinity");
    refused(|c| c.links[0].shmem_phys += 0x800, "4 KiB aligned");
    refused(|c| c.board.uart_size = 0, "board.uart_size");
    refused(|c| c.board.uart_driver = 2, "board.uart_driver");
}

#[test]
fn disabled_paths_are_printable_ascii_node_paths() {
    let set = |c: &mut SystemConfig, path: &[u8]| {
        c.cells[0].disable[0] = [0; cellboot_abi::PATH_LEN];
        c.cells[0].disable[0][..path.len()].copy_from_slice(path);
        c.cells[0].num_disable = 1;
    };
    // Not printable ASCII (here not UTF-8 either): the loader could not use it.
    refused(|c| set(c, b"/pcie@\xff"), "cells[0].disable[0]");
    refused(|c| set(c, b"/a b"), "cells[0].disable[0]");
    refused(|c| set(c, b"relative"), "cells[0].disable[0]");
    let mut cfg = good();
    set(&mut cfg, b"/pcie@10000000");
    assert_eq!(problems(&cfg), Vec::<String>::new());
}

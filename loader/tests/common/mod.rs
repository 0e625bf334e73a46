//! Boards and cells shared by the loader's integration tests: the real board
//! DTBs and the cells of boards/* as `CellConfig`s.
#![allow(dead_code)] // each test binary uses its own subset

use cellboot_abi::zerocopy::FromZeros;
pub use cellboot_abi::{Board, CellConfig, MemRegion, cpu_start, mem, set_str_field};
use std::path::PathBuf;

pub fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../build/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (run the provisioning script)", p.display()))
}

pub fn region(virt: u64, size: u64, flags: u64) -> MemRegion {
    MemRegion {
        phys: virt,
        virt,
        size,
        flags,
    }
}

pub const RAM: u64 = mem::READ | mem::WRITE | mem::EXECUTE | mem::DMA | mem::RAM;
pub const IO: u64 = mem::READ | mem::WRITE | mem::IO;

pub fn cell_with(mems: &[MemRegion], cpus: u64, disable: &[&str]) -> CellConfig {
    let mut c = CellConfig::new_zeroed();
    set_str_field(&mut c.name, "linux");
    c.cpu_mask = cpus;
    c.num_mem = mems.len() as u32;
    c.mem[..mems.len()].copy_from_slice(mems);
    c.num_disable = disable.len() as u32;
    for (slot, p) in c.disable.iter_mut().zip(disable) {
        assert!(set_str_field(slot, p));
    }
    c
}

/// boards/qemu-virt + linux-demo: CPUs 0-1 of 4, 384 MiB RAM at 0x4800_0000,
/// PL011, ivshmem shared memory, vPCI at Jailhouse's QEMU values.
pub fn qemu() -> (Board, CellConfig) {
    let mut b = Board::new_zeroed();
    b.num_cpus = 4;
    b.mpidr[..4].copy_from_slice(&[0, 1, 2, 3]);
    b.cpu_start = cpu_start::PSCI_SMC;
    b.gic_version = 3;
    b.gicr_stride = 0x2_0000;
    let mut c = cell_with(
        &[
            region(0x4800_0000, 0x1800_0000, RAM),
            region(0x0900_0000, 0x1000, IO),
            region(0x6000_0000, 0x10_0000, mem::READ | mem::WRITE | mem::SHARED),
        ],
        0b11,
        &["/pcie@10000000"],
    );
    c.vpci.ecam_base = 0x08e0_0000;
    c.vpci.ecam_size = 0x10_0000;
    c.vpci.mmio_base = 0x1000_0000;
    c.vpci.mmio_size = 0x1_0000;
    c.vpci.irq_base = 140;
    c.vpci.domain = 1;
    set_str_field(&mut c.boot.bootargs, "console=ttyAMA0 earlycon rdinit=/init");
    set_str_field(&mut c.boot.stdout_path, "/pl011@9000000");
    (b, c)
}

/// The devices QEMU raspi4b does not model (DESIGN.md) that the Pi cell's
/// regions still cover; the ones at 0xfef0_0000 fall outside them.
pub const PI_DISABLE: [&str; 9] = [
    "/soc/hvs@7e400000",
    "/soc/pixelvalve@7e206000",
    "/soc/pixelvalve@7e207000",
    "/soc/pixelvalve@7e20a000",
    "/soc/pixelvalve@7e216000",
    "/soc/pixelvalve@7ec12000",
    "/soc/vec@7ec13000",
    "/soc/txp@7e004000",
    "/soc/avs-monitor@7d5d2000",
];

/// A Pi cell: CPUs 0-1, 128 MiB RAM from 0, the peripherals below
/// 0xfef0_0000 (PL011 included), vPCI at Jailhouse's Pi values.
pub fn pi() -> (Board, CellConfig) {
    let mut b = Board::new_zeroed();
    b.num_cpus = 4;
    b.mpidr[..4].copy_from_slice(&[0, 1, 2, 3]);
    b.release_addr[..4].copy_from_slice(&[0xd8, 0xe0, 0xe8, 0xf0]);
    b.cpu_start = cpu_start::SPIN_TABLE;
    b.gic_version = 2;
    let mut c = cell_with(
        &[
            region(0, 0x0800_0000, RAM),
            region(0xfe00_0000, 0xf0_0000, IO),
            region(0xfe20_1000, 0x1000, IO),
        ],
        0b11,
        &PI_DISABLE,
    );
    c.vpci.ecam_base = 0xff90_0000;
    c.vpci.ecam_size = 0x10_0000;
    c.vpci.mmio_base = 0x2000_0000;
    c.vpci.mmio_size = 0x1_0000;
    c.vpci.irq_base = 185;
    c.vpci.domain = 1;
    set_str_field(&mut c.boot.bootargs, "console=ttyAMA0 clk_ignore_unused");
    set_str_field(&mut c.boot.stdout_path, "serial0:115200n8");
    (b, c)
}

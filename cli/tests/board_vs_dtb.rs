//! `check --dtb` compares board.toml with the board DTB: each mismatch is
//! `board.toml: field = value: DTB says ...`.

mod common;

use common::*;

/// (board, from, to, field, value, words of what the DTB says).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const CASES: [Case; 10] = [
    (
        "qemu-virt",
        "base = 0x0900_0000",
        "base = 0x0901_0000",
        "uart.base",
        "0x901_0000",
        "/pl011@9000000 at 0x900_0000",
    ),
    (
        "qemu-virt",
        "driver = \"pl011\"",
        "driver = \"cdns\"",
        "uart.driver",
        "\"cdns\"",
        "compatible [\"arm,pl011\", \"arm,primecell\"]; driver = \"pl011\" takes it",
    ),
    (
        "qemu-virt",
        "gicd_base = 0x0800_0000",
        "gicd_base = 0x0801_0000",
        "gic.gicd_base",
        "0x801_0000+0x1_0000",
        "distributor",
    ),
    (
        "qemu-virt",
        "mpidr = [0x0, 0x1, 0x2, 0x3]",
        "mpidr = [0, 1, 2, 3, 4, 5, 6, 7]",
        "cpus.mpidr",
        "8 entries",
        "4 CPUs",
    ),
    (
        "qemu-virt",
        "start = \"psci-smc\"",
        "start = \"psci-hvc\"",
        "cpus.start",
        "\"psci-hvc\"",
        "method is \"smc\"",
    ),
    (
        "qemu-virt",
        "size = 0x4000_0000\n",
        "size = 0x8000_0000\n",
        "ram",
        "0x4000_0000+0x8000_0000",
        "memory is 0x4000_0000+0x4000_0000",
    ),
    (
        "qemu-virt",
        "gicr_base = 0x080a_0000",
        "gicr_base = 0x080b_0000",
        "gic.gicr_base",
        "0x80b_0000",
        "redistributor region",
    ),
    (
        "rpi4b",
        "gicc_base = 0xff84_2000\ngicc_size = 0x2000",
        "gicr_base = 0xff85_0000\ngicr_stride = 0x2_0000",
        "gic.version",
        "3",
        "GICv2",
    ),
    (
        "rpi4b",
        "release_addr = [0xd8, 0xe0, 0xe8, 0xf0]",
        "release_addr = [0xd0, 0xe0, 0xe8, 0xf0]",
        "cpus.release_addr[0]",
        "0xd0",
        "cpu-release-addr 0xd8",
    ),
    (
        "rpi4b",
        "gicc_size = 0x2000",
        "gicc_size = 0x3000",
        "gic.gicc_base",
        "0xff84_2000+0x3000",
        "CPU interface",
    ),
];

#[test]
fn each_mismatch_is_named() {
    for (board, from, to, field, value, words) in CASES {
        let (system, dtb) = match board {
            "qemu-virt" => (VIRT_SYSTEM, VIRT_DTB),
            _ => (PI_SYSTEM, PI_DTB),
        };
        let cfg = ConfigCopy::new(board, &read(&repo_file(system)));
        let mut text = replace_once(&read(&cfg.path("board.toml")), from, to);
        if field == "gic.version" {
            text = replace_once(&text, "version = 2", "version = 3");
        }
        std::fs::write(cfg.path("board.toml"), text).unwrap();
        let dtb = repo_file(dtb);
        let o = check_with_dtb(&cfg.system(), &dtb);
        assert_exit(&o, 1);
        let want = format!(
            "error: {}: {field} = {value}: DTB says ",
            cfg.path("board.toml").display()
        );
        let err = stderr(&o);
        let line = err
            .lines()
            .find(|l| l.starts_with(&want))
            .unwrap_or_else(|| panic!("{to}: no {want:?} in\n{err}"));
        assert!(line.contains(words), "{line}");
        // Without the DTB the config alone is fine: the DTB is the evidence.
        let o = cellboot(["check".as_ref(), cfg.system().as_os_str()]);
        assert_exit(&o, 0);
    }
}

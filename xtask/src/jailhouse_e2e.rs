//! The `jailhouse-demo` case (boards/<board>/jailhouse-demo.toml): two
//! cells of the `jailhouse` boot kind run the jh-conform inmate, which uses
//! the comm region, command line, GIC and ivshmem only as Jailhouse's
//! inmate library does. Each prints one summary line when its timer has
//! ticked 20 times and 5 doorbells went each way; jh-b reports first and
//! then tells jh-a through its ivshmem state, so the order is fixed. jh-a
//! owns the PL011 (its line has no shim prefix: it drives the UART itself);
//! jh-b prints through the debug-console hypercall.

/// (GIC version, vpci_irq_base of jh-a and jh-b as SPI numbers) per board.
fn facts(board: &str) -> (u32, u32, u32) {
    if board == "rpi4b" { (2, 153, 157) } else { (3, 108, 112) }
}

pub fn expect(board: &str) -> Vec<String> {
    let (gic, spi_a, spi_b) = facts(board);
    vec![
        "[shim] cell jh-a: image 0x0+".into(),
        "[shim] cell jh-b: image 0x0+".into(),
        format!("[jh-b] jh-conform: done: console hypercall, cmdline \"peer=b on {board}\", GICv{gic}, timer ok: 20 ticks at 10 Hz in "),
        format!(" ms, ivshmem ID 1 SPI {spi_b}, 5 doorbells each way"),
        format!("jh-conform: done: console PL011, cmdline \"peer=a on {board}\", GICv{gic}, timer ok: 20 ticks at 10 Hz in "),
        format!(" ms, ivshmem ID 0 SPI {spi_a}, 5 doorbells each way"),
    ]
}

pub fn fail_on() -> Vec<String> {
    [
        "timer FAIL",
        "jh-conform: FAIL",
        "cell jh-a: denied",
        "cell jh-b: denied",
        "BAR0 refused",
        "internal error",
        "PANIC",
        crate::e2e::SYSCONFIG_INVALID,
        crate::e2e::BOARD_DTB_INVALID,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

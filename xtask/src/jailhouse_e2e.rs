//! The `jailhouse-demo` case (boards/<board>/jailhouse-demo.toml): two
//! cells of the `jailhouse` boot kind run the jh-conform inmate, which uses
//! the comm region, command line, GIC and ivshmem only as Jailhouse's
//! inmate library does. Each prints one summary line when its timer has
//! ticked 20 times and 5 doorbells went each way; jh-b reports first and
//! then tells jh-a through its ivshmem state, so the order is fixed. jh-a
//! owns the PL011 (its line has no shim prefix: it drives the UART itself);
//! jh-b prints through the debug-console hypercall. Then jh-b resets its
//! own cell (`reset-once`): the shim loads its image at 0 again and enters
//! it at its reset address; the second start finds its token in shared
//! memory and reports its command line and timer again.

/// (GIC version, vpci_irq_base of jh-a and jh-b as SPI numbers) per board.
fn facts(board: &str) -> (u32, u32, u32) {
    if board == "rpi4b" { (2, 153, 157) } else { (3, 108, 112) }
}

pub fn expect(board: &str) -> Vec<String> {
    let (gic, spi_a, spi_b) = facts(board);
    vec![
        "[shim] cell jh-a: image 0x0+".into(),
        "[shim] cell jh-b: image 0x0+".into(),
        format!(
            "[jh-b] jh-conform: done: console hypercall, cmdline \"peer=b reset-once\", GICv{gic}, timer ok: 20 ticks at 10 Hz in "
        ),
        format!(" ms, ivshmem ID 1 SPI {spi_b}, 5 doorbells each way"),
        format!("jh-conform: done: console PL011, cmdline \"peer=a\", GICv{gic}, timer ok: 20 ticks at 10 Hz in "),
        format!(" ms, ivshmem ID 0 SPI {spi_a}, 5 doorbells each way"),
        // jh-b's `reset-once`: the shim reloads its image at 0 and enters it again.
        "[jh-b] jh-conform: PSCI SYSTEM_RESET of its own cell".into(),
        format!("[shim] cell jh-b: {}", crate::e2e::restarting(3)),
        "[shim] cell jh-b: image 0x0+".into(),
        "[jh-b] jh-conform: started again after SYSTEM_RESET".into(),
        format!("[jh-b] jh-conform: after SYSTEM_RESET: cmdline \"peer=b reset-once\", timer ok: 20 ticks in "),
    ]
}

pub fn fail_on() -> Vec<String> {
    [
        "timer FAIL",
        "jh-conform: FAIL",
        "restart failed",
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

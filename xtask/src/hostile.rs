//! The hostile-guest suite's expectations (`xtask test --case hostile`,
//! boards/qemu-virt/hostile.toml): the attacker cell (inmates/src/bin/
//! attacker.rs) prints one table row per attempt while Linux and rtos-demo
//! run; every row must say "contained", the shim must have logged the
//! attempts, the attacker's last, fatal attempt must stop only the attacker,
//! and the other cells must carry on to their own markers afterwards.

/// Any of these fails the hostile case at once (besides the common ones).
pub const FAIL_ON: &[&str] = &["attacker: BREACH", "attacker: BUG", "| BREACH |"];

/// Ordered console markers of the hostile case.
pub fn expect() -> Vec<String> {
    let mut v: Vec<&str> = vec!["[attacker] attacker: up"];
    v.extend(SHIM_LOGS_BEFORE_TABLE_END);
    v.extend([
        "[attacker] attacker: | # | attempt",
        "[attacker] attacker: all attempts contained",
        "[attacker] attacker: last attempt (fatal): jump into the Linux cell's RAM",
        "[shim] cell attacker: denied instruction fetch at IPA 0x48000000",
        "CELLBOOT: ivshmem round trip ok",
        "CELLBOOT: rtt n=",
        "[rtos] rtos-demo: served ",
        "CELLBOOT: shmem canary intact",
        "CELLBOOT: done",
    ]);
    v.into_iter().map(String::from).collect()
}

/// Shim log lines the attempts must produce, in the attacker's order.
const SHIM_LOGS_BEFORE_TABLE_END: &[&str] = &[
    "[shim] cell attacker: denied read 8 bytes at IPA 0x48000000",
    "[shim] cell attacker: denied write 8 bytes at IPA 0x48100000",
    "[shim] cell attacker: denied read 8 bytes at IPA 0x61000000",
    "[shim] cell attacker: denied write 8 bytes at IPA 0x40200000",
    "[shim] cell attacker: denied read of unknown size at IPA 0x40200000",
    "[shim] cell attacker: denied write 4 bytes at IPA 0x60001000",
    "[shim] cell attacker: GICD write at +0x104 (IRQ 33)",
    "[shim] cell attacker: GICD write at +0x190 (IRQ 144)",
    "[shim] cell attacker: GICD write at +0x64a0 (IRQ 148)",
    "[shim] cell attacker: GICD write 0x0 at +0x0: gicd: CTLR may only enable",
    "[shim] cell attacker: write to another CPU's redistributor at IPA 0x80b0180 ignored",
    "[shim] cell attacker: PSCI CPU_ON for CPU 0 (MPIDR 0x0), which it does not own: denied",
    "[shim] cell attacker: PSCI CPU_ON for CPU 2 (MPIDR 0x2), which it does not own: denied",
    "[shim] cell attacker: PSCI AFFINITY_INFO for CPU 0, which it does not own: denied",
    "[shim] cell attacker: unknown hypercall 0x999: E_NOSYS",
    "[shim] cell attacker: DEBUG_CONSOLE_WRITE from IPA 0x40200000+0x10, not the cell's RAM: E_INVAL",
    "[shim] cell attacker: DEBUG_CONSOLE_WRITE of 1073741824 bytes (max 4096): E_INVAL",
    "[shim] cell attacker: DEBUG_CONSOLE_WRITE from IPA 0xfffffffffffffff8+0x10, not the cell's RAM: E_INVAL",
    "[shim] cell attacker: CELL_GET_STATE of cell 0x0, not itself: E_PERM",
    "[shim] cell attacker: HVC #0x1 is not a service: NOT_SUPPORTED",
    "[shim] cell attacker: SMCCC/PSCI function 0xc2000000 not supported",
    "[shim] cell attacker: denied read 4 bytes at IPA 0x48000000",
    "[shim] cell attacker: ECAM write 0x10000000 at +0x28010 ignored: vpci: config write to an absent device",
    "[shim] cell attacker: ECAM read of 8 bytes at +0x0 is no config cycle: all-ones",
    "[shim] cell attacker: ECAM write 0xffffffffffffffff at +0x10 ignored: vpci: config write not within one dword",
    "[shim] cell attacker: denied read of unknown size at IPA 0x8e00000",
    "[shim] cell attacker: ivshmem doorbell to peer 1 of device 0: no such other peer, ignored",
    "[shim] cell attacker: ivshmem write ignored: ivshmem: doorbell to a peer that does not exist",
];

#[cfg(test)]
mod tests {
    #[test]
    fn markers_are_distinct_enough_to_be_ordered() {
        let v = super::expect();
        assert!(v.len() > 30);
        assert!(v.iter().all(|m| !m.is_empty()));
    }
}

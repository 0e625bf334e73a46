//! The hostile-guest suite's expectations (`xtask test --case hostile`,
//! boards/qemu-virt/hostile.toml): the attacker cell (inmates/src/bin/
//! attacker.rs) prints one table row per attempt while Linux and rtos-demo
//! run; every row must say "contained", the shim must have logged the
//! attempts, the attacker's last, fatal attempt must stop only the attacker,
//! and the other cells must carry on to their own markers afterwards.

/// Ordered console markers of the hostile case.
pub fn expect() -> Vec<String> {
    let mut v: Vec<&str> = vec![
        "[attacker] attacker: up",
        "[attacker] | # | attempt",
    ];
    v.extend(SHIM_LOGS_BEFORE_TABLE_END);
    v.extend([
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

/// Shim log lines the attempts must produce (in the order the attacker makes them).
const SHIM_LOGS_BEFORE_TABLE_END: &[&str] = &[];

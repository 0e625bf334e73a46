//! PSCI 1.0 as the shim speaks it, both ways: the function IDs and result
//! codes (`cellboot_abi::psci`), and the answers that depend on nothing but
//! the call (FEATURES, MIGRATE_INFO_TYPE). Pure logic: host tests check the
//! answers.

// On the host only the tests use it: the rest is the firmware service's.
#![cfg_attr(not(target_os = "none"), allow(dead_code, unused_imports))]

pub use cellboot_abi::psci::{
    ALREADY_ON, DENIED, INVALID_PARAMETERS, NOT_SUPPORTED, ON_PENDING, SUCCESS, VERSION_1_0, fid,
};

/// MIGRATE_INFO_TYPE's answer: no trusted OS to migrate.
pub const NO_TRUSTED_OS: i64 = 2;

/// PSCI_FEATURES for function `f`: which calls the shim's service offers.
pub fn features(f: u32) -> i64 {
    match f & !fid::SMC64 {
        fid::VERSION | fid::CPU_OFF | fid::MIGRATE_INFO_TYPE | fid::SYSTEM_OFF | fid::SYSTEM_RESET | fid::FEATURES
            if f & fid::SMC64 == 0 =>
        {
            SUCCESS
        }
        fid::CPU_ON | fid::AFFINITY_INFO => SUCCESS,
        fid::CPU_SUSPEND => 0, // original power_state format, no OS-initiated mode
        _ => NOT_SUPPORTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smc32_only_calls_have_no_smc64_variant() {
        for f in [
            fid::VERSION,
            fid::CPU_OFF,
            fid::MIGRATE_INFO_TYPE,
            fid::SYSTEM_OFF,
            fid::SYSTEM_RESET,
            fid::FEATURES,
        ] {
            assert_eq!(features(f), SUCCESS, "{f:#x}");
            assert_eq!(features(f | fid::SMC64), NOT_SUPPORTED, "{f:#x} SMC64");
        }
    }

    #[test]
    fn calls_with_addresses_come_in_both_widths() {
        for f in [fid::CPU_ON, fid::AFFINITY_INFO, fid::CPU_SUSPEND] {
            assert_eq!(features(f), SUCCESS, "{f:#x}");
            assert_eq!(features(f | fid::SMC64), SUCCESS, "{f:#x} SMC64");
        }
    }

    #[test]
    fn unknown_functions_are_not_supported() {
        // MIGRATE (5), SYSTEM_SUSPEND (0xe), a non-PSCI SMCCC call.
        for f in [0x8400_0005, 0xc400_000e, 0x8000_0000, 0] {
            assert_eq!(features(f), NOT_SUPPORTED, "{f:#x}");
        }
    }
}

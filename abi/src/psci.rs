//! PSCI 1.0 as the shim serves it to cells and calls it in firmware (Arm DEN
//! 0022): the function IDs, the SMC64 bit and the return codes. Cells call
//! through `smc #0` (trapped, HCR_EL2.TSC) or `hvc #`[`HVC_IMM`].

/// The `hvc` immediate of PSCI / SMCCC calls; cellboot's own hypercalls use
/// [`crate::hypercall::HVC_IMM`].
pub const HVC_IMM: u16 = 0;

/// Function IDs, SMC32 form; the SMC64 form of those that take addresses or
/// MPIDRs is `id | SMC64`.
pub mod fid {
    pub const VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND: u32 = 0x8400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON: u32 = 0x8400_0003;
    pub const AFFINITY_INFO: u32 = 0x8400_0004;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const FEATURES: u32 = 0x8400_000a;
    /// SMC64 variants differ by bit 30.
    pub const SMC64: u32 = 0x4000_0000;
    pub const CPU_ON_64: u32 = CPU_ON | SMC64;
    pub const AFFINITY_INFO_64: u32 = AFFINITY_INFO | SMC64;
}

/// PSCI_VERSION's answer: major 1, minor 0.
pub const VERSION_1_0: i64 = 0x0001_0000;

pub const SUCCESS: i64 = 0;
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;
pub const DENIED: i64 = -3;
pub const ALREADY_ON: i64 = -4;
pub const ON_PENDING: i64 = -5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smc64_ids_are_the_ones_linux_calls() {
        // Linux's include/uapi/linux/psci.h spells these out.
        assert_eq!(fid::CPU_ON_64, 0xc400_0003);
        assert_eq!(fid::AFFINITY_INFO_64, 0xc400_0004);
        assert_eq!(fid::SYSTEM_RESET & fid::SMC64, 0);
    }
}

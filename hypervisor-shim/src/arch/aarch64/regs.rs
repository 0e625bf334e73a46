//! Register fields aarch64-cpu 10 does not name, defined once with
//! tock-registers and written with `.set(value)` on the crate's register.

use tock_registers::register_bitfields;

register_bitfields! {u64,
    /// CPTR_EL2 with HCR_EL2.E2H = 0 (the crate names TAM only).
    pub CPTR_EL2 [
        RES1_LOW OFFSET(0) NUMBITS(8) [],
        /// Trap SVE.
        TZ OFFSET(8) NUMBITS(1) [],
        RES1_9 OFFSET(9) NUMBITS(1) [],
        /// Trap FP/SIMD.
        TFP OFFSET(10) NUMBITS(1) [],
        RES1_HIGH OFFSET(12) NUMBITS(2) [],
    ],
    /// SCTLR_EL1 bits that are RES1 in Armv8.0 and, where a later extension
    /// made them controls, keep the Armv8.0 behaviour at 1: what the
    /// register holds out of reset on the boards' cores (the crate names
    /// none of them).
    pub SCTLR_EL1_RES1 [
        /// Exception exit is context synchronizing.
        EOS OFFSET(11) NUMBITS(1) [],
        /// No EL0 access to SCXTNUM_EL0.
        TSCXT OFFSET(20) NUMBITS(1) [],
        /// Exception entry is context synchronizing.
        EIS OFFSET(22) NUMBITS(1) [],
        /// PSTATE.PAN left unchanged on exception entry.
        SPAN OFFSET(23) NUMBITS(1) [],
        /// No LD/ST-multiple trap to EL1 on Device memory.
        NTLSMD OFFSET(28) NUMBITS(1) [],
        /// LD/ST multiple ordering as Armv8.0.
        LSMAOE OFFSET(29) NUMBITS(1) [],
    ],
    /// The mode field of an SPSR with M[4] (AArch32), which the crate's
    /// SPSR_EL2.M leaves out: a value outside the enum is no AArch64
    /// EL0/EL1 context.
    pub SPSR_MODE [
        M OFFSET(0) NUMBITS(5) [
            EL0t = 0b00000,
            EL1t = 0b00100,
            EL1h = 0b00101,
        ],
    ]
}

/// CPTR_EL2 with its RES1 bits only: no FP/SIMD (TFP) or SVE (TZ) traps.
pub const CPTR_EL2_NO_TRAPS: u64 = CPTR_EL2::RES1_LOW.val(0xff).value
    | CPTR_EL2::RES1_9::SET.value
    | CPTR_EL2::RES1_HIGH.val(0b11).value
    | CPTR_EL2::TZ::CLEAR.value
    | CPTR_EL2::TFP::CLEAR.value;

/// SCTLR_EL1 as after reset: MMU, caches and alignment checks off, the
/// RES1 bits set.
pub const SCTLR_EL1_RESET: u64 = SCTLR_EL1_RES1::EOS::SET.value
    | SCTLR_EL1_RES1::TSCXT::SET.value
    | SCTLR_EL1_RES1::EIS::SET.value
    | SCTLR_EL1_RES1::SPAN::SET.value
    | SCTLR_EL1_RES1::NTLSMD::SET.value
    | SCTLR_EL1_RES1::LSMAOE::SET.value;

const _: () = assert!(CPTR_EL2_NO_TRAPS == 0x32ff && SCTLR_EL1_RESET == 0x30d0_0800);

register_bitfields! {u64,
    /// TCR_EL2 bits that are RES1 with HCR_EL2.E2H = 0 (the crate names none).
    pub TCR_EL2_RES1 [
        RES1_23 OFFSET(23) NUMBITS(1) [],
        RES1_31 OFFSET(31) NUMBITS(1) [],
    ],
    /// SCTLR_EL2 bits that are RES1 with HCR_EL2.E2H = 0 in Armv8.0, and
    /// EIS/EOS (exception entry and exit context synchronizing) which later
    /// made controls of two of them; the crate names EIS and EOS only.
    pub SCTLR_EL2_RES1 [
        RES1_4_5 OFFSET(4) NUMBITS(2) [],
        EOS OFFSET(11) NUMBITS(1) [],
        RES1_16 OFFSET(16) NUMBITS(1) [],
        RES1_18 OFFSET(18) NUMBITS(1) [],
        EIS OFFSET(22) NUMBITS(1) [],
        RES1_23 OFFSET(23) NUMBITS(1) [],
        RES1_28_29 OFFSET(28) NUMBITS(2) [],
    ],
    /// ID_AA64PFR0_EL1.GIC (the crate names AMU and SVE only).
    pub ID_AA64PFR0 [
        /// Non-zero: the GICv3 system-register CPU interface is implemented.
        GIC OFFSET(24) NUMBITS(4) [],
    ]
}

pub const TCR_EL2_RES1_BITS: u64 = TCR_EL2_RES1::RES1_23::SET.value | TCR_EL2_RES1::RES1_31::SET.value;

pub const SCTLR_EL2_RES1_BITS: u64 = SCTLR_EL2_RES1::RES1_4_5.val(0b11).value
    | SCTLR_EL2_RES1::EOS::SET.value
    | SCTLR_EL2_RES1::RES1_16::SET.value
    | SCTLR_EL2_RES1::RES1_18::SET.value
    | SCTLR_EL2_RES1::EIS::SET.value
    | SCTLR_EL2_RES1::RES1_23::SET.value
    | SCTLR_EL2_RES1::RES1_28_29.val(0b11).value;

const _: () = assert!(TCR_EL2_RES1_BITS == 0x8080_0000 && SCTLR_EL2_RES1_BITS == 0x30c5_0830);

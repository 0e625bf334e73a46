//! What a trap to EL2 says about itself: the exception class and the HVC
//! immediate in ESR_EL2, and for an abort from EL1 the decoded [`DataAbort`]
//! (ESR_EL2's ISS with the faulting IPA from HPFAR_EL2 and FAR_EL2). Plain
//! data, so host tests cover the decode; `arch` reads the registers and
//! `trap` / `mmio` act on the result.

use tock_registers::LocalRegisterCopy;
use tock_registers::register_bitfields;

register_bitfields! {u64,
    /// ESR_EL2 with the ISS fields the shim reads: data aborts (EC 0x24),
    /// HVC (EC 0x16), and of a trapped system instruction (EC 0x18) Rt and
    /// the direction (`sysreg` compares the encoding fields as one word).
    pub ESR [
        EC OFFSET(26) NUMBITS(6) [
            Hvc64 = 0x16,
            Smc64 = 0x17,
            SysReg = 0x18,
            InstrAbortLower = 0x20,
            DataAbortLower = 0x24,
            DataAbortSame = 0x25,
        ],
        IL OFFSET(25) NUMBITS(1) [],
        /// Instruction syndrome valid: SAS, SSE, SRT and SF hold.
        ISV OFFSET(24) NUMBITS(1) [],
        /// Access size, log2 bytes.
        SAS OFFSET(22) NUMBITS(2) [],
        /// The load sign-extends.
        SSE OFFSET(21) NUMBITS(1) [],
        /// The transfer register Rt.
        SRT OFFSET(16) NUMBITS(5) [],
        /// Rt is 64 bits wide (else 32).
        SF OFFSET(15) NUMBITS(1) [],
        /// The fault happened on the guest's stage-1 table walk.
        S1PTW OFFSET(7) NUMBITS(1) [],
        /// Write, not read.
        WNR OFFSET(6) NUMBITS(1) [],
        /// Fault status: type [5:2] and level [1:0].
        DFSC OFFSET(0) NUMBITS(6) [
            /// Synchronous external abort, what the shim reflects to EL1.
            ExternalAbort = 0x10,
        ],
        /// Fault type, DFSC[5:2].
        FAULT_TYPE OFFSET(2) NUMBITS(4) [
            Translation = 0b0001,
            AccessFlag = 0b0010,
            Permission = 0b0011,
        ],
        /// The immediate of a trapped HVC.
        IMM16 OFFSET(0) NUMBITS(16) [],
        /// EC 0x18: the transfer register Rt.
        SYS_RT OFFSET(5) NUMBITS(5) [],
        /// EC 0x18: a read (MRS), not a write.
        SYS_READ OFFSET(0) NUMBITS(1) [],
    ],
    /// HPFAR_EL2: the faulting IPA's page number (bits [51:12] of the IPA).
    pub HPFAR [
        FIPA OFFSET(4) NUMBITS(40) [],
    ]
}

pub type Esr = LocalRegisterCopy<u64, ESR::Register>;

/// The exception class of a syndrome (ESR_EL2.EC) as a number, for reports.
pub fn ec_bits(esr: u64) -> u64 {
    Esr::new(esr).read(ESR::EC)
}

/// The exception classes the shim serves, as [`ec_bits`] gives them.
pub mod ec {
    use super::ESR::EC::Value;
    pub const HVC64: u64 = Value::Hvc64 as u64;
    pub const SMC64: u64 = Value::Smc64 as u64;
    pub const SYSREG: u64 = Value::SysReg as u64;
    pub const IABT_LOWER: u64 = Value::InstrAbortLower as u64;
    pub const DABT_LOWER: u64 = Value::DataAbortLower as u64;
}

/// The immediate of a trapped HVC (EC 0x16).
pub fn hvc_imm(esr: u64) -> u64 {
    Esr::new(esr).read(ESR::IMM16)
}

/// The faulting IPA from HPFAR_EL2 (page) and FAR_EL2 (offset in the page).
/// Valid for stage-2 translation and access-flag faults and for faults on a
/// stage-1 walk; UNKNOWN for other stage-2 permission faults.
pub fn hpfar_ipa(far: u64, hpfar: u64) -> u64 {
    hpfar_page(hpfar) | (far & 0xfff)
}

fn hpfar_page(hpfar: u64) -> u64 {
    LocalRegisterCopy::<u64, HPFAR::Register>::new(hpfar).read(HPFAR::FIPA) << 12
}

/// A decoded stage-2 data abort from EL1 (EC 0x24).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataAbort {
    pub ipa: u64,
    /// Bytes: 1, 2, 4 or 8 (0 when the syndrome does not say).
    pub size: u8,
    pub write: bool,
    pub reg: usize,
    pub sign_extend: bool,
    pub sixty_four: bool,
    /// ESR.ISV: without it size and register are unknown (e.g. load/store pair).
    pub valid: bool,
}

/// Whether a data abort happened on the guest's own stage-1 table walk.
pub fn on_stage1_walk(esr: u64) -> bool {
    Esr::new(esr).is_set(ESR::S1PTW)
}

impl DataAbort {
    /// Decodes ESR_EL2, FAR_EL2 and HPFAR_EL2. For a stage-2 permission
    /// fault outside a stage-1 walk (a write to the read-only ECAM image
    /// pages) HPFAR is UNKNOWN: `stage1` translates the guest's VA (FAR) to
    /// the IPA of its page instead, and HPFAR is the fallback when that
    /// fails (the guest changed its tables since).
    pub fn decode(esr: u64, far: u64, hpfar: u64, stage1: impl FnOnce(u64) -> Option<u64>) -> DataAbort {
        let e = Esr::new(esr);
        let valid = e.is_set(ESR::ISV);
        let s1ptw = on_stage1_walk(esr);
        let permission = e.matches_all(ESR::FAULT_TYPE::Permission);
        let from_hpfar = hpfar_page(hpfar);
        let page = if permission && !s1ptw {
            stage1(far).unwrap_or(from_hpfar)
        } else {
            from_hpfar
        };
        DataAbort {
            ipa: page | (far & 0xfff),
            size: if valid { 1 << e.read(ESR::SAS) } else { 0 },
            write: e.is_set(ESR::WNR),
            reg: e.read(ESR::SRT) as usize,
            sign_extend: e.is_set(ESR::SSE),
            sixty_four: e.is_set(ESR::SF),
            valid,
        }
    }

    /// The value a load puts in its register: `v` cut to the access size,
    /// sign-extended to 64 or 32 bits when the instruction asks.
    pub fn load_value(&self, v: u64) -> u64 {
        let bits = u32::from(self.size) * 8;
        let mut v = if bits < 64 { v & ((1u64 << bits) - 1) } else { v };
        if self.sign_extend && bits < 64 {
            let shift = 64 - bits;
            v = (((v << shift) as i64) >> shift) as u64;
            if !self.sixty_four {
                v &= 0xffff_ffff;
            }
        }
        v
    }
}

/// ESR_EL1 of a synchronous external abort on a data access, as the shim
/// reflects a denied access into the guest: `same_el` when the guest ran at
/// EL1 (EC 0x25), else from EL0 (EC 0x24).
pub fn external_abort_esr(same_el: bool, write: bool) -> u64 {
    let ec = if same_el {
        ESR::EC::DataAbortSame
    } else {
        ESR::EC::DataAbortLower
    };
    let mut e = Esr::new(0);
    e.write(ec + ESR::IL::SET + ESR::WNR.val(u64::from(write)) + ESR::DFSC::ExternalAbort);
    e.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data-abort syndrome assembled field by field (Arm ARM, ISS encoding
    /// for an exception from a Data Abort).
    #[allow(clippy::too_many_arguments)]
    fn dabt(isv: bool, sas: u64, sse: bool, srt: u64, sf: bool, s1ptw: bool, wnr: bool, dfsc: u64) -> u64 {
        0x24 << 26
            | 1 << 25
            | u64::from(isv) << 24
            | sas << 22
            | u64::from(sse) << 21
            | srt << 16
            | u64::from(sf) << 15
            | u64::from(s1ptw) << 7
            | u64::from(wnr) << 6
            | dfsc
    }

    fn no_walk(_: u64) -> Option<u64> {
        panic!("a translation fault needs no stage-1 walk")
    }

    #[test]
    fn a_32_bit_store_to_a_hole_decodes() {
        // str w3, [x1] at IPA 0x8010_0abc: translation fault, level 3.
        let a = DataAbort::decode(
            dabt(true, 2, false, 3, false, false, true, 0x07),
            0xffff_0000_0123_4abc,
            0x80_1000 << 4 | 0xf,
            no_walk,
        );
        assert_eq!(
            a,
            DataAbort {
                ipa: 0x8_0100_0abc,
                size: 4,
                write: true,
                reg: 3,
                sign_extend: false,
                sixty_four: false,
                valid: true,
            }
        );
        assert_eq!(
            ec_bits(dabt(true, 2, false, 3, false, false, true, 0x07)),
            ec::DABT_LOWER
        );
    }

    #[test]
    fn hpfar_bits_outside_fipa_are_ignored() {
        // HPFAR_EL2 [3:0] are RES0 and [63] is NS on some cores: neither
        // reaches the IPA, whose low 12 bits come from FAR.
        assert_eq!(hpfar_ipa(0x1234_5fff, 1 << 63 | 0x9000 << 4 | 0xf), 0x0900_0fff);
        assert_eq!(hpfar_ipa(0, ((1 << 40) - 1) << 4), ((1 << 40) - 1) << 12);
    }

    #[test]
    fn loads_sign_extend_as_the_syndrome_says() {
        // ldrsb x5 (SF) and ldrsh w6 of 0x80 / 0x8000.
        let b = DataAbort::decode(dabt(true, 0, true, 5, true, false, false, 0x06), 0, 0, no_walk);
        assert_eq!((b.size, b.reg, b.write), (1, 5, false));
        assert_eq!(b.load_value(0x1280), 0xffff_ffff_ffff_ff80);
        let h = DataAbort::decode(dabt(true, 1, true, 6, false, false, false, 0x06), 0, 0, no_walk);
        assert_eq!(h.load_value(0x8000), 0xffff_8000);
        let d = DataAbort::decode(dabt(true, 3, false, 7, true, false, false, 0x06), 0, 0, no_walk);
        assert_eq!((d.size, d.load_value(u64::MAX)), (8, u64::MAX));
        let w = DataAbort::decode(dabt(true, 2, false, 7, true, false, false, 0x06), 0, 0, no_walk);
        assert_eq!(w.load_value(0xdead_beef_8000_0001), 0x8000_0001);
    }

    #[test]
    fn no_syndrome_means_no_size() {
        let a = DataAbort::decode(
            dabt(false, 3, false, 9, true, false, false, 0x07),
            0x10,
            0x100 << 4,
            no_walk,
        );
        assert_eq!((a.valid, a.size, a.ipa), (false, 0, 0x10_0010));
    }

    #[test]
    fn a_permission_fault_takes_the_ipa_from_the_guests_stage_1() {
        let esr = dabt(true, 2, false, 1, false, false, true, 0x0f);
        let via_at = DataAbort::decode(esr, 0xffff_8000_0000_0010, 0x1234 << 4, |va| {
            assert_eq!(va, 0xffff_8000_0000_0010);
            Some(0x4010_0000)
        });
        assert_eq!(via_at.ipa, 0x4010_0010);
        // The walk failed: HPFAR it is.
        assert_eq!(DataAbort::decode(esr, 0x10, 0x1234 << 4, |_| None).ipa, 0x123_4010);
        // On the stage-1 walk HPFAR is valid and no walk is redone.
        let esr = dabt(false, 0, false, 0, false, true, false, 0x0f);
        let walk = DataAbort::decode(esr, 0x10, 0x1234 << 4, no_walk);
        assert_eq!((on_stage1_walk(esr), walk.ipa), (true, 0x123_4010));
    }

    #[test]
    fn hvc_immediate_and_class() {
        // hvc #0x4a48 as the CPU reports it.
        let esr = 0x5a00_4a48;
        assert_eq!((ec_bits(esr), ec::HVC64), (0x16, 0x16));
        assert_eq!(
            (ec::SMC64, ec::SYSREG, ec::IABT_LOWER, ec::DABT_LOWER),
            (0x17, 0x18, 0x20, 0x24)
        );
        assert_eq!(hvc_imm(esr), u64::from(cellboot_abi::hypercall::HVC_IMM));
    }

    #[test]
    fn reflected_abort_syndromes() {
        // Linux's ESR decoding: EC 0x25 DABT (current EL), IL, WnR, DFSC 0x10.
        assert_eq!(external_abort_esr(true, true), 0x9600_0050);
        assert_eq!(external_abort_esr(false, false), 0x9200_0010);
    }
}

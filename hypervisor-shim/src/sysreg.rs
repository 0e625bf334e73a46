//! Trapped system-register accesses and system instructions (ESR_EL2 EC
//! 0x18): the decode and the checks, plain data so host tests cover them.
//! What traps: GICv3 SGI generation (HCR_EL2.IMO/FMO), data-cache
//! maintenance by set/way (HCR_EL2.TSW) and ACTLR_EL1 (HCR_EL2.TAC);
//! `trap` acts on the verdict.

use crate::syndrome::{ESR, Esr};
use cellboot_vdev::gicd::AFF_MASK;

/// ICC_SGI1R_EL1.IRM: "every PE except the sender", no target list.
pub const SGI_IRM: u64 = 1 << 40;

/// What a trapped instruction was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A write to an SGI generation register, with the value and Rt.
    Sgi { reg: SgiReg, value_reg: usize },
    /// DC ISW / CSW / CISW (operand: set, way and cache level in Rt).
    DcSetWay { name: &'static str, value_reg: usize },
    /// ACTLR_EL1 (HCR_EL2.TAC): reads get the CPU's value, writes are
    /// ignored, so a cell cannot change IMPLEMENTATION DEFINED behaviour of a
    /// core others share caches with (Jailhouse does the same).
    Actlr { rt: usize, read: bool },
    /// Anything else (a read of a write-only SGI register included).
    Other { rt: usize, read: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgiReg {
    /// Group 1 SGIs for the current security state (what Linux uses).
    Sgi1r,
    /// Group 1 SGIs for the other security state.
    Asgi1r,
    /// Group 0 SGIs.
    Sgi0r,
}

impl SgiReg {
    pub fn name(self) -> &'static str {
        match self {
            SgiReg::Sgi1r => "ICC_SGI1R_EL1 write",
            SgiReg::Asgi1r => "ICC_ASGI1R_EL1 write",
            SgiReg::Sgi0r => "ICC_SGI0R_EL1 write",
        }
    }
}

/// Decodes the ISS of an EC 0x18 syndrome: Op0 [21:20], Op2 [19:17],
/// Op1 [16:14], CRn [13:10], Rt [9:5], CRm [4:1], direction [0] (1 = read).
/// Compared as one masked word (every field but Rt): the shim's 64 KiB.
pub fn decode(esr: u64) -> Op {
    let e = Esr::new(esr);
    let rt = e.read(ESR::SYS_RT) as usize;
    let read = e.is_set(ESR::SYS_READ);
    let sgi = |reg| Op::Sgi { reg, value_reg: rt };
    let dc = |name| Op::DcSetWay { name, value_reg: rt };
    match esr & ISS_BUT_RT {
        // S3_0_C12_C11_{5,6,7} writes: ICC_SGI1R_EL1, ICC_ASGI1R_EL1, ICC_SGI0R_EL1.
        0x3a_3016 => sgi(SgiReg::Sgi1r),
        0x3c_3016 => sgi(SgiReg::Asgi1r),
        0x3e_3016 => sgi(SgiReg::Sgi0r),
        // SYS #0, C7, C{6,10,14}, #2: DC ISW, DC CSW, DC CISW.
        0x14_1c0c => dc("DC ISW"),
        0x14_1c14 => dc("DC CSW"),
        0x14_1c1c => dc("DC CISW"),
        // S3_0_C1_C0_1: ACTLR_EL1, write and read.
        0x32_0400 | 0x32_0401 => Op::Actlr { rt, read },
        _ => Op::Other { rt, read },
    }
}

/// ISS bits [21:10] and [4:0].
const ISS_BUT_RT: u64 = 0x3f_fc1f;

/// Why an SGI write is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SgiRefusal {
    /// IRM = 1: every other CPU, whichever cell it runs.
    Broadcast,
    /// A target CPU (board index) the cell does not own.
    Foreign(usize),
}

/// Checks an ICC_SGI1R_EL1-format value against the sender's cell: the
/// target list (Aff3.Aff2.Aff1, RS * 16 + bit n for Aff0) may name only
/// CPUs `owns` accepts; `mpidrs[i]` is board CPU i's affinity. A target no
/// CPU of the board has is dropped by the GIC too, so it is no refusal.
pub fn check_sgi_targets(value: u64, mpidrs: &[u64], owns: impl Fn(usize) -> bool) -> Result<(), SgiRefusal> {
    if value & SGI_IRM != 0 {
        return Err(SgiRefusal::Broadcast);
    }
    let upper = ((value >> 48) & 0xff) << 32 | ((value >> 32) & 0xff) << 16 | ((value >> 16) & 0xff) << 8;
    let rs = (value >> 44) & 0xf;
    for bit in (0..16u64).filter(|b| value & (1 << b) != 0) {
        let aff = upper | (rs * 16 + bit);
        if let Some(cpu) = mpidrs.iter().position(|&m| m & AFF_MASK == aff)
            && !owns(cpu)
        {
            return Err(SgiRefusal::Foreign(cpu));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ESR_EL2 for an MSR (write) / SYS with the given encoding and Rt.
    fn esr(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64, rt: u64, read: bool) -> u64 {
        ESR::EC::SysReg.value
            | 1 << 25
            | op0 << 20
            | op2 << 17
            | op1 << 14
            | crn << 10
            | rt << 5
            | crm << 1
            | read as u64
    }

    #[test]
    fn actlr_el1_decodes_both_ways_and_its_neighbours_do_not() {
        assert_eq!(decode(esr(3, 0, 1, 0, 1, 4, false)), Op::Actlr { rt: 4, read: false });
        assert_eq!(decode(esr(3, 0, 1, 0, 1, 7, true)), Op::Actlr { rt: 7, read: true });
        // SCTLR_EL1 (op2 0), CPACR_EL1 (op2 2), ACTLR_EL2 (op1 4): not ACTLR_EL1.
        for (op1, op2) in [(0, 0), (0, 2), (4, 1)] {
            assert_eq!(
                decode(esr(3, op1, 1, 0, op2, 4, false)),
                Op::Other { rt: 4, read: false }
            );
        }
    }

    #[test]
    fn sgi_registers_and_set_way_ops_decode() {
        assert_eq!(SgiReg::Asgi1r.name(), "ICC_ASGI1R_EL1 write");
        assert_eq!(
            decode(esr(3, 0, 12, 11, 5, 3, false)),
            Op::Sgi {
                reg: SgiReg::Sgi1r,
                value_reg: 3
            }
        );
        assert_eq!(
            decode(esr(3, 0, 12, 11, 6, 30, false)),
            Op::Sgi {
                reg: SgiReg::Asgi1r,
                value_reg: 30
            }
        );
        assert_eq!(
            decode(esr(3, 0, 12, 11, 7, 31, false)),
            Op::Sgi {
                reg: SgiReg::Sgi0r,
                value_reg: 31
            }
        );
        assert_eq!(
            decode(esr(1, 0, 7, 6, 2, 1, false)),
            Op::DcSetWay {
                name: "DC ISW",
                value_reg: 1
            }
        );
        assert_eq!(
            decode(esr(1, 0, 7, 10, 2, 2, false)),
            Op::DcSetWay {
                name: "DC CSW",
                value_reg: 2
            }
        );
        assert_eq!(
            decode(esr(1, 0, 7, 14, 2, 9, false)),
            Op::DcSetWay {
                name: "DC CISW",
                value_reg: 9
            }
        );
        // A read of ICC_SGI1R_EL1 (write-only), DC CIVAC (op1 3), ICC_PMR_EL1.
        assert_eq!(decode(esr(3, 0, 12, 11, 5, 4, true)), Op::Other { rt: 4, read: true });
        assert_eq!(decode(esr(1, 3, 7, 14, 1, 0, false)), Op::Other { rt: 0, read: false });
        assert_eq!(decode(esr(3, 0, 4, 6, 0, 7, false)), Op::Other { rt: 7, read: false });
        // `msr icc_sgi1r_el1, x1`, the syndrome assembled by hand from the
        // Arm ARM's field layout (not through `esr`).
        assert_eq!(
            decode(0x623a_3036),
            Op::Sgi {
                reg: SgiReg::Sgi1r,
                value_reg: 1
            }
        );
    }

    const QEMU_VIRT: [u64; 4] = [0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003];

    #[test]
    fn sgi_targets_must_be_the_cells_own() {
        let attacker = |cpu| cpu == 3;
        let linux = |cpu| cpu < 2;
        // Linux's IPI to CPU 1 and the flood, SGI 2 to CPUs 0-1.
        assert_eq!(check_sgi_targets(1 << 24 | 0b10, &QEMU_VIRT, linux), Ok(()));
        assert_eq!(
            check_sgi_targets(2 << 24 | 0b11, &QEMU_VIRT, attacker),
            Err(SgiRefusal::Foreign(0))
        );
        assert_eq!(check_sgi_targets(2 << 24 | 0b1000, &QEMU_VIRT, attacker), Ok(()));
        assert_eq!(
            check_sgi_targets(0b1100, &QEMU_VIRT, attacker),
            Err(SgiRefusal::Foreign(2))
        );
        assert_eq!(
            check_sgi_targets(SGI_IRM | 2 << 24, &QEMU_VIRT, attacker),
            Err(SgiRefusal::Broadcast)
        );
        // Targets no CPU has (another Aff1, RS 1) reach nobody.
        assert_eq!(check_sgi_targets(1 << 16 | 0xffff, &QEMU_VIRT, attacker), Ok(()));
        assert_eq!(check_sgi_targets(1 << 44 | 0b1, &QEMU_VIRT, attacker), Ok(()));
        // Aff2-Aff3 and RS select the CPU.
        let big = [0x1_0002_0300, 0x1_0002_0311];
        assert_eq!(
            check_sgi_targets(1 << 48 | 2 << 32 | 3 << 16 | 1 << 44 | 0b10, &big, |c| c == 0),
            Err(SgiRefusal::Foreign(1))
        );
        assert_eq!(
            check_sgi_targets(1 << 48 | 2 << 32 | 3 << 16 | 0b1, &big, |c| c == 0),
            Ok(())
        );
    }
}

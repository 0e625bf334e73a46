//! Distributor register map (offsets from GICD base) and how each register
//! is classified for mediation. GICv2 per the GIC-400 / GICv2 architecture
//! spec; GICv3 per the GICv3 architecture spec, assuming affinity routing
//! (ARE) is on, as Linux requires.

pub const CTLR: u64 = 0x000;
pub const TYPER: u64 = 0x004;
pub const IIDR: u64 = 0x008;
pub const TYPER2: u64 = 0x00c;
pub const IGROUPR: u64 = 0x080;
pub const ISENABLER: u64 = 0x100;
pub const ICENABLER: u64 = 0x180;
pub const ISPENDR: u64 = 0x200;
pub const ICPENDR: u64 = 0x280;
pub const ISACTIVER: u64 = 0x300;
pub const ICACTIVER: u64 = 0x380;
pub const IPRIORITYR: u64 = 0x400;
pub const ITARGETSR: u64 = 0x800;
pub const ICFGR: u64 = 0xc00;
pub const IGRPMODR: u64 = 0xd00;
pub const SGIR: u64 = 0xf00;
pub const CPENDSGIR: u64 = 0xf10;
pub const SPENDSGIR: u64 = 0xf20;
/// IROUTER<n> is at 0x6000 + 8n; n = 32..=1019 (SPIs only).
pub const IROUTER: u64 = 0x6000;
pub const IROUTER_FIRST: u64 = IROUTER + 8 * 32;
pub const IROUTER_END: u64 = IROUTER + 8 * 1020;
/// Peripheral/component ID registers: GICv2 keeps them at the end of its
/// 4 KiB frame, GICv3 at the end of its 64 KiB frame.
pub const V2_ID_REGS: core::ops::Range<u64> = 0xfd0..0x1000;
pub const V3_ID_REGS: core::ops::Range<u64> = 0xffd0..0x1_0000;

/// What a register holds, which decides the mediation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Ctlr,
    /// TYPER, IIDR, TYPER2, ID registers: read-only pass-through.
    ReadOnly,
    /// One bit per INTID, written with read-modify-write (IGROUPR, IGRPMODR).
    BitsRmw {
        base: u64,
    },
    /// One bit per INTID, write-1-to-set or write-1-to-clear.
    BitsSetClear {
        base: u64,
    },
    /// Two bits per INTID (ICFGR), read-modify-write.
    Cfg,
    /// One byte per INTID: IPRIORITYR.
    Priority,
    /// One byte per INTID: ITARGETSR (GICv2).
    Targets,
    /// 64 bits per SPI (GICv3).
    Router,
    /// Software-generated interrupt register (GICv2, write-only).
    Sgir,
    /// CPENDSGIR / SPENDSGIR (GICv2; banked per CPU).
    SgiPending,
}

/// Classifies `off` for GIC `version`; `None` = not mediated (RAZ/WI).
pub fn classify(version: u32, off: u64) -> Option<Reg> {
    let in_range = |base: u64, len: u64| (base..base + len).contains(&off);
    let v2 = version == 2;
    let v3 = version == 3;
    if !(v2 || v3) {
        return None;
    }
    Some(match off {
        CTLR => Reg::Ctlr,
        TYPER | IIDR => Reg::ReadOnly,
        TYPER2 if v3 => Reg::ReadOnly,
        _ if in_range(IGROUPR, 0x80) => Reg::BitsRmw { base: IGROUPR },
        _ if in_range(IGRPMODR, 0x80) && v3 => Reg::BitsRmw { base: IGRPMODR },
        _ if in_range(ISENABLER, 0x300) => {
            // ISENABLER..ICACTIVER: six 0x80-byte banks of set/clear bits.
            Reg::BitsSetClear { base: off & !0x7f }
        }
        _ if in_range(IPRIORITYR, 0x400) => Reg::Priority,
        _ if in_range(ITARGETSR, 0x400) && v2 => Reg::Targets,
        _ if in_range(ICFGR, 0x100) => Reg::Cfg,
        SGIR if v2 => Reg::Sgir,
        _ if in_range(CPENDSGIR, 0x20) && v2 => Reg::SgiPending,
        _ if (IROUTER_FIRST..IROUTER_END).contains(&off) && v3 => Reg::Router,
        _ if V2_ID_REGS.contains(&off) && v2 => Reg::ReadOnly,
        _ if V3_ID_REGS.contains(&off) && v3 => Reg::ReadOnly,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(2, 0x104), Some(Reg::BitsSetClear { base: ISENABLER }));
        assert_eq!(classify(3, 0x3fc), Some(Reg::BitsSetClear { base: ICACTIVER }));
        assert_eq!(classify(2, 0x800), Some(Reg::Targets));
        assert_eq!(classify(3, 0x800), None, "ITARGETSR is RES0 with ARE");
        assert_eq!(classify(2, 0xd00), None, "GIC-400 PPI/SPI status is not mediated");
        assert_eq!(classify(3, 0xd04), Some(Reg::BitsRmw { base: IGRPMODR }));
        assert_eq!(classify(3, 0x6000), None, "IROUTER0..31 do not exist");
        assert_eq!(classify(3, 0x6100), Some(Reg::Router));
        assert_eq!(classify(3, 0x7fd8), Some(Reg::Router));
        assert_eq!(classify(3, 0x7fe0), None);
        assert_eq!(classify(2, 0xffc), Some(Reg::ReadOnly));
        assert_eq!(classify(3, 0xffe8), Some(Reg::ReadOnly));
        assert_eq!(classify(2, 0xffe8), None);
        assert_eq!(classify(2, TYPER2), None);
        assert_eq!(classify(4, CTLR), None);
    }
}

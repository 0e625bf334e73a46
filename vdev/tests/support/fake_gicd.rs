//! A distributor model with real GIC register semantics (set/clear banks
//! share one state, byte-per-INTID registers, IROUTER halves), backed by
//! plain arrays. It panics on accesses the mediator must never issue to
//! hardware (writes to read-only/unknown registers, byte or 64-bit
//! accesses where the GIC does not allow them), so tests catch those too.
#![allow(dead_code)]

use cellboot_vdev::gicd::GicdHw;

pub const NUM_IRQS: usize = 1024;
const WORDS: usize = NUM_IRQS / 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeGicd {
    pub version: u32,
    pub ctlr: u32,
    pub typer: u32,
    pub group: [u32; WORDS],
    pub grpmod: [u32; WORDS],
    pub enable: [u32; WORDS],
    pub pend: [u32; WORDS],
    pub active: [u32; WORDS],
    pub cfg: [u32; 2 * WORDS],
    pub prio: [u8; NUM_IRQS],
    pub targets: [u8; NUM_IRQS],
    pub router: [u64; NUM_IRQS],
    /// SGI pending bytes (per source CPU), shared by CPENDSGIR/SPENDSGIR.
    pub sgi_pend: [u8; 16],
    /// Every value written to GICv2 SGIR.
    pub sgir_log: Vec<u32>,
    /// What the banked ITARGETSR0..7 read as: the trapping CPU's interface.
    pub self_if: u8,
}

impl FakeGicd {
    pub fn new(version: u32) -> Self {
        Self {
            version,
            ctlr: 0,
            typer: 0x1f,
            group: [0; WORDS],
            grpmod: [0; WORDS],
            enable: [0; WORDS],
            pend: [0; WORDS],
            active: [0; WORDS],
            cfg: [0; 2 * WORDS],
            prio: [0; NUM_IRQS],
            targets: [0; NUM_IRQS],
            router: [0; NUM_IRQS],
            sgi_pend: [0; 16],
            sgir_log: Vec::new(),
            self_if: 1,
        }
    }

    /// Fills all per-IRQ state with pseudo-random values from `seed`.
    pub fn scramble(&mut self, seed: u64) {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for a in [
            &mut self.group,
            &mut self.grpmod,
            &mut self.enable,
            &mut self.pend,
            &mut self.active,
        ] {
            a.iter_mut().for_each(|w| *w = next() as u32);
        }
        self.cfg.iter_mut().for_each(|w| *w = next() as u32);
        self.prio.iter_mut().for_each(|b| *b = next() as u8);
        self.targets.iter_mut().for_each(|b| *b = next() as u8);
        self.router.iter_mut().for_each(|r| *r = next() & 0xff_8000_ffff);
        self.ctlr = next() as u32 & 0x37;
    }

    pub fn bit(arr: &[u32], intid: usize) -> bool {
        arr[intid / 32] >> (intid % 32) & 1 != 0
    }

    pub fn cfg_of(&self, intid: usize) -> u32 {
        self.cfg[intid / 16] >> (2 * (intid % 16)) & 3
    }

    fn word_bank(&mut self, off: u64) -> Option<(&mut [u32; WORDS], usize)> {
        let i = ((off & 0x7f) / 4) as usize;
        Some(match off {
            0x080..0x100 => (&mut self.group, i),
            0x100..0x200 => (&mut self.enable, i),
            0x200..0x300 => (&mut self.pend, i),
            0x300..0x400 => (&mut self.active, i),
            0xd00..0xd80 if self.version == 3 => (&mut self.grpmod, i),
            _ => return None,
        })
    }

    fn byte_reg(&mut self, off: u64) -> Option<&mut u8> {
        let v2 = self.version == 2;
        match off {
            0x400..0x800 => Some(&mut self.prio[(off - 0x400) as usize]),
            0x800..0xc00 if v2 => Some(&mut self.targets[(off - 0x800) as usize]),
            0xf10..0xf30 if v2 => Some(&mut self.sgi_pend[((off - 0xf10) % 16) as usize]),
            _ => None,
        }
    }

    fn is_id_reg(&self, off: u64) -> bool {
        match self.version {
            2 => (0xfd0..0x1000).contains(&off),
            _ => (0xffd0..0x10000).contains(&off),
        }
    }
}

impl GicdHw for FakeGicd {
    fn read32(&mut self, off: u64) -> u32 {
        assert!(off.is_multiple_of(4), "unaligned read32 {off:#x}");
        if self.version == 2 && (0x800..0x820).contains(&off) {
            return u32::from_le_bytes([self.self_if; 4]);
        }
        if (0x400..0xc00).contains(&off) || (0xf10..0xf30).contains(&off) {
            return u32::from_le_bytes([0, 1, 2, 3].map(|i| self.byte_reg(off + i).map_or(0, |b| *b)));
        }
        if let Some((bank, i)) = self.word_bank(off) {
            return bank[i];
        }
        match off {
            0x000 => self.ctlr,
            0x004 => self.typer,
            0x008 => 0x0200_143b,
            0x00c if self.version == 3 => 0,
            0xc00..0xd00 => self.cfg[((off - 0xc00) / 4) as usize],
            0x6000..0x8000 if self.version == 3 => {
                let r = self.router[((off - 0x6000) / 8) as usize];
                if off & 4 == 0 { r as u32 } else { (r >> 32) as u32 }
            }
            _ if self.is_id_reg(off) => 0x44,
            _ => 0,
        }
    }

    fn write32(&mut self, off: u64, v: u32) {
        assert!(off.is_multiple_of(4), "unaligned write32 {off:#x}");
        if self.version == 2 && off == 0xf00 {
            self.sgir_log.push(v);
            return;
        }
        if (0x400..0xc00).contains(&off) || (0xf10..0xf30).contains(&off) {
            for (i, b) in v.to_le_bytes().into_iter().enumerate() {
                self.write8(off + i as u64, b);
            }
            return;
        }
        let set = matches!(off, 0x100..0x180 | 0x200..0x280 | 0x300..0x380);
        let clear = matches!(off, 0x180..0x200 | 0x280..0x300 | 0x380..0x400);
        if let Some((bank, i)) = self.word_bank(off) {
            match (set, clear) {
                (true, _) => bank[i] |= v,
                (_, true) => bank[i] &= !v,
                _ => bank[i] = v,
            }
            return;
        }
        match off {
            0x000 => self.ctlr = v,
            0xc00..0xd00 => self.cfg[((off - 0xc00) / 4) as usize] = v,
            0x6000..0x8000 if self.version == 3 => {
                let r = &mut self.router[((off - 0x6000) / 8) as usize];
                *r = if off & 4 == 0 {
                    (*r & !0xffff_ffff) | u64::from(v)
                } else {
                    (*r & 0xffff_ffff) | u64::from(v) << 32
                };
            }
            _ => panic!("mediator wrote read-only/unknown GICD register {off:#x} = {v:#x}"),
        }
    }

    fn read64(&mut self, off: u64) -> u64 {
        assert!(
            self.version == 3 && (0x6000..0x8000).contains(&off) && off.is_multiple_of(8),
            "bad read64 {off:#x}"
        );
        self.router[((off - 0x6000) / 8) as usize]
    }

    fn write64(&mut self, off: u64, v: u64) {
        assert!(
            self.version == 3 && (0x6000..0x8000).contains(&off) && off.is_multiple_of(8),
            "bad write64 {off:#x}"
        );
        self.router[((off - 0x6000) / 8) as usize] = v;
    }

    fn read8(&mut self, off: u64) -> u8 {
        if self.version == 2 && (0x800..0x820).contains(&off) {
            return self.self_if;
        }
        *self
            .byte_reg(off)
            .unwrap_or_else(|| panic!("byte read of word-only register {off:#x}"))
    }

    fn write8(&mut self, off: u64, v: u8) {
        if self.version == 2 && (0x800..0x820).contains(&off) {
            return; // ITARGETSR0..7 are read-only
        }
        let (set, clear) = ((0xf20..0xf30).contains(&off), (0xf10..0xf20).contains(&off));
        let b = self
            .byte_reg(off)
            .unwrap_or_else(|| panic!("byte write of word-only register {off:#x}"));
        match (set, clear) {
            (true, _) => *b |= v,
            (_, true) => *b &= !v,
            _ => *b = v,
        }
    }
}

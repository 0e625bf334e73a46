//! The register frame an exception vector saves: x0..x30, ELR, SPSR, one
//! pad word (16-byte stack alignment). The shim's EL2 vectors and the
//! inmates' EL1 vectors store it with the same layout; their assembly takes
//! the size as [`TrapFrame::SIZE`] and the offsets below are pinned by tests.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct TrapFrame {
    pub x: [u64; 31],
    pub elr: u64,
    pub spsr: u64,
    pub pad: u64,
}

impl TrapFrame {
    /// Bytes on the stack.
    pub const SIZE: usize = core::mem::size_of::<TrapFrame>();

    /// A frame that enters `elr` with `spsr` and x0 = `x0`, every other register 0.
    pub const fn entry(elr: u64, spsr: u64, x0: u64) -> TrapFrame {
        let mut x = [0; 31];
        x[0] = x0;
        TrapFrame { x, elr, spsr, pad: 0 }
    }

    /// Register `n` as an instruction operand: 31 is XZR.
    pub fn reg(&self, n: usize) -> u64 {
        self.x.get(n).copied().unwrap_or(0)
    }

    /// Writes register `n`; 31 (XZR) discards the value.
    pub fn set_reg(&mut self, n: usize, v: u64) {
        if let Some(r) = self.x.get_mut(n) {
            *r = v;
        }
    }
}

const _: () = assert!(TrapFrame::SIZE == 272 && TrapFrame::SIZE.is_multiple_of(16));

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_matches_the_vectors_stores() {
        // `stp x30, elr` at 240 and `str spsr` at 256 in both vector files.
        assert_eq!(offset_of!(TrapFrame, elr), 248);
        assert_eq!(offset_of!(TrapFrame, spsr), 256);
        let mut f = TrapFrame::entry(0x4000_0000, 0x3c5, 7);
        assert_eq!((f.reg(0), f.reg(1), f.reg(31)), (7, 0, 0));
        f.set_reg(31, 9);
        f.set_reg(30, 5);
        assert_eq!((f.reg(30), f.reg(31)), (5, 0));
    }
}

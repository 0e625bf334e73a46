//! The list-register bookkeeping of `vgic`: which register an interrupt
//! goes into, the pending set when none is free, the release of what a CPU
//! still holds. Over a trait, so host tests run it against fake registers.

use core::sync::atomic::{AtomicU64, Ordering};

/// A CPU's list registers (ICH_LR<n>_EL2).
pub trait ListRegs {
    fn len(&self) -> usize;
    fn get(&self, n: usize) -> u64;
    fn set(&mut self, n: usize, v: u64);
}

/// List register fields.
pub mod lr {
    pub const STATE_SHIFT: u32 = 62;
    pub const PENDING: u64 = 1 << 62;
    pub const HW: u64 = 1 << 61;
    pub const GROUP1: u64 = 1 << 60;
    /// The priority every virtual interrupt gets: Linux's default
    /// (GICD_INT_DEF_PRI), under any priority mask a guest uses to let
    /// interrupts in.
    pub const PRIORITY: u64 = 0xa0 << 48;
    pub const PINTID_SHIFT: u32 = 32;
    pub const VINTID: u64 = 0xffff_ffff;
}

/// Interrupts waiting for a list register: one bit per INTID < 1024.
pub type PendingSet = [AtomicU64; 16];

/// One list register for `intid`: an SGI already listed gets its pending
/// state back (merged, as on hardware), else the first empty register
/// takes it (HW = 1 with pINTID = INTID for PPIs and SPIs: the guest's EOI
/// deactivates the physical interrupt). False: all are in use.
pub fn place(lrs: &mut impl ListRegs, intid: u32) -> bool {
    let sgi = intid < 16;
    let mut free = None;
    for n in 0..lrs.len() {
        let v = lrs.get(n);
        if v >> lr::STATE_SHIFT == 0 {
            free = free.or(Some(n));
        } else if sgi && v & lr::VINTID == u64::from(intid) && v & lr::HW == 0 {
            lrs.set(n, v | lr::PENDING);
            return true;
        }
    }
    let Some(n) = free else { return false };
    let hw_bits = if sgi {
        0
    } else {
        lr::HW | u64::from(intid) << lr::PINTID_SHIFT
    };
    lrs.set(n, lr::PENDING | lr::GROUP1 | lr::PRIORITY | hw_bits | u64::from(intid));
    true
}

/// Adds `intid` (< 1024) to the pending set.
pub fn queue(pending: &PendingSet, intid: u32) {
    pending[(intid / 64 % 16) as usize].fetch_or(1 << (intid % 64), Ordering::Relaxed);
}

/// Moves what waits in `pending` into free list registers, lowest INTID
/// first; true when some is still waiting.
pub fn refill(lrs: &mut impl ListRegs, pending: &PendingSet) -> bool {
    let mut left = false;
    for (w, word) in pending.iter().enumerate() {
        let mut bits = word.load(Ordering::Relaxed);
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            if place(lrs, (w * 64) as u32 + bit) {
                word.fetch_and(!(1 << bit), Ordering::Relaxed);
            } else {
                left = true;
            }
        }
    }
    left
}

/// Empties the list registers and the pending set, calling `deactivate`
/// for each physical interrupt they still held (SGIs were deactivated when
/// taken).
pub fn release(lrs: &mut impl ListRegs, pending: &PendingSet, mut deactivate: impl FnMut(u32)) {
    for n in 0..lrs.len() {
        let v = lrs.get(n);
        if v >> lr::STATE_SHIFT != 0 && v & lr::HW != 0 {
            deactivate(((v >> lr::PINTID_SHIFT) & 0x3ff) as u32);
        }
        lrs.set(n, 0);
    }
    for (w, word) in pending.iter().enumerate() {
        let mut bits = word.swap(0, Ordering::Relaxed);
        while bits != 0 {
            let intid = (w * 64) as u32 + bits.trailing_zeros();
            bits &= bits - 1;
            if intid >= 16 {
                deactivate(intid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake([u64; 4]);
    impl ListRegs for Fake {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn get(&self, n: usize) -> u64 {
            self.0[n]
        }
        fn set(&mut self, n: usize, v: u64) {
            self.0[n] = v;
        }
    }

    const ACTIVE: u64 = 2 << lr::STATE_SHIFT;
    fn set() -> PendingSet {
        [const { AtomicU64::new(0) }; 16]
    }

    #[test]
    fn hardware_interrupts_are_linked_to_their_physical_intid() {
        let mut l = Fake([0; 4]);
        assert!(place(&mut l, 27));
        assert_eq!(
            l.0[0], 0x70a0_001b_0000_001b,
            "pending, HW, group 1, prio 0xa0, pINTID 27, vINTID 27"
        );
        assert!(place(&mut l, 144) && place(&mut l, 33) && place(&mut l, 30));
        assert!(!place(&mut l, 145), "four registers, four interrupts");
        assert_eq!(l.0[3] & lr::VINTID, 30);
    }

    #[test]
    fn an_sgi_merges_into_its_own_register() {
        let mut l = Fake([0; 4]);
        assert!(place(&mut l, 2) && place(&mut l, 2));
        assert_eq!(l.0, [0x50a0_0000_0000_0002, 0, 0, 0], "once, HW = 0");
        l.0[0] = l.0[0] & !(3 << lr::STATE_SHIFT) | ACTIVE; // the guest took it
        assert!(place(&mut l, 2));
        assert_eq!(l.0[0] >> lr::STATE_SHIFT, 3, "active and pending again");
        // A listed PPI with the same number is no SGI: no merge.
        let mut l = Fake([lr::PENDING | lr::HW | 2, 0, 0, 0]);
        assert!(place(&mut l, 2));
        assert_eq!(l.0[1] & lr::VINTID, 2);
    }

    #[test]
    fn what_does_not_fit_waits_and_comes_in_order() {
        let mut l = Fake([ACTIVE | 1, ACTIVE | 3, ACTIVE | 5, 0]);
        let p = set();
        for i in [200, 40, 7] {
            queue(&p, i);
        }
        assert!(refill(&mut l, &p), "one free register, three waiting");
        assert_eq!(l.0[3] & lr::VINTID, 7, "lowest INTID first");
        assert_eq!(p[0].load(Ordering::Relaxed), 1 << 40);
        assert_eq!(p[3].load(Ordering::Relaxed), 1 << (200 - 192));
        l.0[0] = 0;
        l.0[1] = 0;
        assert!(!refill(&mut l, &p), "the rest fits now");
        assert_eq!([l.0[0], l.0[1]].map(|v| v & lr::VINTID), [40, 200]);
        assert!(p.iter().all(|w| w.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn release_deactivates_every_physical_interrupt_held() {
        let mut l = Fake([0; 4]);
        assert!(place(&mut l, 27) && place(&mut l, 3) && place(&mut l, 144));
        l.0[2] = l.0[2] & !(3 << lr::STATE_SHIFT) | ACTIVE;
        l.0[3] = lr::HW | 99 << lr::PINTID_SHIFT | 99; // invalid: already deactivated
        let p = set();
        queue(&p, 5);
        queue(&p, 300);
        let mut done = Vec::new();
        release(&mut l, &p, |i| done.push(i));
        assert_eq!(done, [27, 144, 300], "not SGIs, not invalid registers");
        assert_eq!(l.0, [0; 4]);
        assert!(p.iter().all(|w| w.load(Ordering::Relaxed) == 0));
    }
}

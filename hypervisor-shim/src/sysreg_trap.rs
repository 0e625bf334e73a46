//! Trapped EL1 system-register accesses (ESR_EL2.EC 0x18) the shim answers:
//! ACTLR_EL1, trapped by HCR_EL2.TAC (`arch::setup_el2_for_cell`). Reads see
//! the CPU's value; writes are ignored, so a cell cannot change the
//! IMPLEMENTATION DEFINED behaviour of a core it shares a cache with (what
//! Jailhouse does for ACTLR). Anything else is left to the caller.

use crate::arch::{self, GuestFrame};
use crate::cell;

/// The ISS fields of an MSR/MRS trap: (op0, op1, CRn, CRm, op2) of ACTLR_EL1.
const ACTLR_EL1: (u64, u64, u64, u64, u64) = (3, 0, 1, 0, 1);

/// Handles the trap if it is one of ours (true: `frame` resumes past it).
pub fn handle(frame: &mut GuestFrame, ci: usize, esr: u64) -> bool {
    // ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5],
    // CRm [4:1], Direction [0] (1 = read).
    let f = |shift: u64, bits: u64| (esr >> shift) & ((1 << bits) - 1);
    let reg = (f(20, 2), f(14, 3), f(10, 4), f(1, 4), f(17, 3));
    if reg != ACTLR_EL1 {
        return false;
    }
    let rt = f(5, 5) as usize;
    if f(0, 1) == 1 {
        frame.set_reg(rt, arch::actlr_el1());
    } else {
        info!("cell {}: ACTLR_EL1 write ignored", cell::name(ci));
    }
    frame.elr += 4;
    true
}

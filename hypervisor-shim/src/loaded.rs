//! Images a manager loaded into a stopped cell (`mgmt`), at its next
//! start: where the kernel runs, read from its head, and the move there
//! when the staging plan puts it elsewhere.

use crate::guest_mem::GuestRange;
use crate::payload::SetupError;
use cellboot_abi::CellConfig;
use cellboot_abi::staging::KernelRun;

/// Where a loaded kernel of `c` at `ipa` runs, read from its head.
pub fn kernel_run(c: &CellConfig, ipa: u64, size: u64) -> Option<KernelRun> {
    let mut head = [0u8; 64];
    let r = GuestRange::of_cell(c, ipa, size.min(head.len() as u64))?;
    let n = (size as usize).min(head.len());
    for (k, b) in head[..n].iter_mut().enumerate() {
        *b = r.byte(k as u64);
    }
    KernelRun::of(c.boot.kind, &head[..n], size)
}

/// Moves a loaded kernel from `from` to `to` (the staging plan's place)
/// in cell `c`'s RAM, overlapping or not.
pub fn move_kernel(c: &CellConfig, from: u64, to: u64, size: u64) -> Result<(), SetupError> {
    if from == to {
        return Ok(());
    }
    let (Some(src), Some(dst)) = (GuestRange::of_cell(c, from, size), GuestRange::of_cell(c, to, size)) else {
        return Err(SetupError("the loaded kernel does not fit where it runs", to));
    };
    dst.copy_from(&src);
    Ok(())
}

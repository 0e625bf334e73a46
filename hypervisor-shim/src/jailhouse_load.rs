//! The `jailhouse` boot kind (`cellboot_abi::jailhouse`): what `jailhouse
//! cell load` and `cell start` do for an arm64 inmate. No loader runs in
//! such a cell: the shim copies each image to its IPA and the command-line
//! string to its IPA, fills the comm region, and the cell's boot CPU starts
//! at the reset address (x0 = 0, as Jailhouse resets a CPU) — so IPA 0 and
//! everything above it belong to the inmate as it was linked.

use crate::guest_mem::copy_in;
use crate::payload::{Payloads, SetupError};
use crate::state::name;
use cellboot_abi::{CellConfig, bytes_field};

/// Copies cell `c`'s images and command line into its memory; the images
/// are left out when a manager loaded others (`in_place`).
pub fn load(ci: usize, c: &CellConfig, pl: &Payloads, in_place: bool) -> Result<(), SetupError> {
    let j = &c.boot.jailhouse;
    for (idx, ipa) in j.images().filter(|_| !in_place) {
        let (_, data) = pl.get(idx).ok_or(SetupError(
            "jailhouse image index is not in the payload table",
            idx.into(),
        ))?;
        copy_in(c, ipa, data)
            .map_err(|_| SetupError("a jailhouse image does not fit in the cell's memory at its IPA", ipa))?;
        cell_info!(name(ci), "image {:#x}+{:#x}", ipa, data.len());
    }
    let cmdline = bytes_field(&c.boot.bootargs);
    if !cmdline.is_empty() {
        // With its NUL: the inmate's buffer may hold a longer default.
        let n = cmdline.len();
        let mut buf = [0u8; cellboot_abi::BOOTARGS_LEN];
        buf[..n].copy_from_slice(cmdline);
        copy_in(c, j.cmdline_ipa, &buf[..=n])
            .map_err(|_| SetupError("the command line does not fit at cmdline_ipa", j.cmdline_ipa))?;
    }
    Ok(())
}

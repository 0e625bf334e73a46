//! Where `cellctl load` puts an image when no `--ipa` is given: where the
//! cell's boot runs its kernel, so the shim's next start finds it in place
//! (the rule `cellboot_abi::staging` shares with the shim and the loader).
//! A Jailhouse-kind cell's first image goes to 0, as `jailhouse cell load`.

use cellboot_abi::boot_kind;
use cellboot_abi::mgmt::CellInfo;
use cellboot_abi::staging::{KernelRun, run_ipa};

/// The default load IPA of `image` for `cell`, or why there is none.
pub fn default_ipa(cell: &CellInfo, image: &[u8]) -> Result<u64, String> {
    if cell.boot_kind == boot_kind::JAILHOUSE {
        return Ok(0);
    }
    let run = KernelRun::of(cell.boot_kind, image, image.len() as u64).ok_or_else(|| {
        if cell.boot_kind == boot_kind::LINUX {
            "not an arm64 Linux Image (no \"ARM\\x64\" header, or a big-endian one): give --ipa".to_string()
        } else {
            format!("boot kind {} has no default load address: give --ipa", cell.boot_kind)
        }
    })?;
    run_ipa(cell.ram_ipa, run).ok_or_else(|| "the run address overflows: give --ipa".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::zerocopy::FromZeros;

    fn cell(kind: u32, ram_ipa: u64) -> CellInfo {
        let mut c = CellInfo::new_zeroed();
        c.boot_kind = kind;
        c.ram_ipa = ram_ipa;
        c
    }

    #[test]
    fn raw_images_run_2_mib_above_the_ram_base() {
        assert_eq!(
            default_ipa(&cell(boot_kind::RAW, 0x6100_0000), &[0; 64]),
            Ok(0x6120_0000)
        );
        // An unaligned RAM base: the next 2 MiB boundary past base + 2 MiB.
        assert_eq!(
            default_ipa(&cell(boot_kind::RAW, 0x6110_0000), &[0; 64]),
            Ok(0x6140_0000)
        );
    }

    #[test]
    fn linux_images_add_their_text_offset() {
        let mut img = vec![0u8; 64];
        img[8..16].copy_from_slice(&0x8_0000u64.to_le_bytes());
        img[16..24].copy_from_slice(&0x100_0000u64.to_le_bytes());
        img[0x38..0x3c].copy_from_slice(b"ARM\x64");
        assert_eq!(default_ipa(&cell(boot_kind::LINUX, 0x4800_0000), &img), Ok(0x4828_0000));
        img[0x38] = b'X';
        assert!(
            default_ipa(&cell(boot_kind::LINUX, 0x4800_0000), &img)
                .unwrap_err()
                .contains("--ipa")
        );
    }

    #[test]
    fn jailhouse_images_go_to_0_and_overflow_is_caught() {
        assert_eq!(default_ipa(&cell(boot_kind::JAILHOUSE, 0x1000_0000), &[]), Ok(0));
        assert!(default_ipa(&cell(boot_kind::RAW, u64::MAX - 0x1000), &[0; 8]).is_err());
    }
}

//! `[cells.boot] kind = "jailhouse"`: `jailhouse cell load` semantics
//! (`cellboot_abi::jailhouse`). Images at IPAs, an optional command-line
//! string, a reset address, the comm region at Jailhouse's 0x8000_0000
//! unless set; no loader, no device tree, so the DTB-only fields are refused.

use crate::error::hex;
use crate::system_file::Cell;
use cellboot_abi::jailhouse::{DEFAULT_CMDLINE_IPA, DEFAULT_COMM_REGION_IPA, DEFAULT_IMAGE_IPA, DEFAULT_RESET_ADDRESS};
use cellboot_abi::{BOOTARGS_LEN, CellConfig, MAX_IMAGES, NO_PAYLOAD, set_str_field};

type Err<'a> = &'a mut dyn FnMut(String, String, String);

/// The cell-level fields: comm region, reset address, command line, and
/// the refusal of what only a loader-booted cell has.
pub fn cell(c: &Cell, at: &str, out: &mut CellConfig, err: Err) {
    out.comm_region_ipa = c.comm_region_ipa.unwrap_or(DEFAULT_COMM_REGION_IPA);
    if let Some(v) = c.loader_ipa {
        err(
            format!("{at}.loader_ipa"),
            hex(v),
            "a jailhouse cell has no loader: the shim places the images and enters the inmate".into(),
        );
    }
    let b = &c.boot;
    let dtb_only = [
        ("boot.kernel", b.kernel.is_some(), "a jailhouse cell loads `images`"),
        (
            "boot.initrd",
            b.initrd.is_some(),
            "a jailhouse cell has no initrd: add it to `images`",
        ),
        (
            "boot.bootargs",
            !b.bootargs.is_empty(),
            "a jailhouse cell's string is `cmdline`",
        ),
        (
            "boot.stdout_path",
            !b.stdout_path.is_empty(),
            "a jailhouse cell gets no device tree",
        ),
        ("disable", !c.disable.is_empty(), "a jailhouse cell gets no device tree"),
        (
            "overlays",
            !c.overlays.is_empty(),
            "a jailhouse cell gets no device tree",
        ),
    ];
    for (field, set, why) in dtb_only {
        if set {
            err(format!("{at}.{field}"), "set".into(), why.into());
        }
    }
    out.boot.kernel = NO_PAYLOAD;
    out.boot.initrd = NO_PAYLOAD;
    let j = &mut out.boot.jailhouse;
    j.reset_address = b.reset_address.unwrap_or(DEFAULT_RESET_ADDRESS);
    j.cmdline_ipa = b.cmdline_ipa.unwrap_or(DEFAULT_CMDLINE_IPA);
    let cmdline = b.cmdline.as_deref().unwrap_or("");
    if !set_str_field(&mut out.boot.bootargs, cmdline) {
        err(
            format!("{at}.boot.cmdline"),
            format!("{} bytes", cmdline.len()),
            format!("longer than {} bytes", BOOTARGS_LEN - 1),
        );
    }
}

/// One INMATE payload per image, consecutive; `add(k, file, err)` appends
/// payload k and returns its index.
pub fn images(c: &Cell, at: &str, out: &mut CellConfig, add: &mut dyn FnMut(usize, &str, Err) -> u32, err: Err) {
    let imgs = &c.boot.images;
    if imgs.is_empty() || imgs.len() > MAX_IMAGES {
        err(
            format!("{at}.boot.images"),
            format!("{} images", imgs.len()),
            format!("a jailhouse cell loads 1 to {MAX_IMAGES} images"),
        );
        return;
    }
    let j = &mut out.boot.jailhouse;
    j.image_count = imgs.len() as u32;
    for (k, img) in imgs.iter().enumerate() {
        let ipa = match (k, img.ipa) {
            (_, Some(ipa)) => ipa,
            (0, None) => DEFAULT_IMAGE_IPA,
            (_, None) => {
                err(
                    format!("{at}.boot.images[{k}].ipa"),
                    String::new(),
                    "missing: only the first image defaults to IPA 0".into(),
                );
                0
            }
        };
        j.image_ipa[k] = ipa;
        let idx = add(k, &img.file, err);
        if k == 0 {
            j.image_first = idx;
        }
    }
}

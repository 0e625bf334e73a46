//! Packs `cellboot.img`: the shim binary padded to its `image_size` and 4 KiB,
//! then a `PayloadTable` and the payloads it lists, each 4 KiB aligned; the
//! header's `image_size` is patched to the whole file (docs/boot-flow.md).

use anyhow::{Context, Result, bail};
use cellboot_abi::zerocopy::{FromZeros, IntoBytes};
use cellboot_abi::{MAX_PAYLOADS, PAYLOAD_ALIGN, PAYLOAD_MAGIC, PayloadEntry, PayloadTable, payload_kind};

/// Offset of the magic "ARM\x64" in the arm64 Image header.
pub const IMAGE_MAGIC_OFFSET: usize = 0x38;
pub const IMAGE_MAGIC: &[u8; 4] = b"ARM\x64";
/// Offset of the u64 `image_size` in the arm64 Image header.
pub const IMAGE_SIZE_OFFSET: usize = 16;

pub struct Part {
    pub kind: u32,
    pub name: String,
    pub data: Vec<u8>,
}

/// Where one piece landed in the file.
pub struct Placed {
    pub what: String,
    pub file_offset: u64,
    pub size: u64,
}

pub struct Packed {
    pub bytes: Vec<u8>,
    pub layout: Vec<Placed>,
    /// False for a shim binary without an arm64 Image header (the skeleton).
    pub shim_has_header: bool,
}

fn align(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

pub fn has_image_header(bin: &[u8]) -> bool {
    bin.len() >= 64 && &bin[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4] == IMAGE_MAGIC
}

pub fn pack(shim: &[u8], parts: &[Part]) -> Result<Packed> {
    if parts.len() > MAX_PAYLOADS {
        bail!("{} payloads, the payload table holds {MAX_PAYLOADS}", parts.len());
    }
    let shim_has_header = has_image_header(shim);
    let shim_end = if shim_has_header {
        let image_size = u64::from_le_bytes(shim[IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8].try_into().unwrap());
        if image_size < shim.len() as u64 {
            bail!(
                "shim header image_size {image_size:#x} is smaller than its binary ({:#x} bytes): check _end in linker/shim.ld",
                shim.len()
            );
        }
        image_size
    } else {
        shim.len() as u64
    };
    let table_off = align(shim_end.max(1), PAYLOAD_ALIGN);
    let mut table = PayloadTable::new_zeroed();
    table.magic = PAYLOAD_MAGIC;
    table.count = parts.len() as u32;
    let mut layout = vec![
        Placed {
            what: "shim (binary + bss/stacks/tables up to _end)".into(),
            file_offset: 0,
            size: shim_end,
        },
        Placed {
            what: "payload table".into(),
            file_offset: table_off,
            size: size_of::<PayloadTable>() as u64,
        },
    ];
    let mut rel = align(size_of::<PayloadTable>() as u64, PAYLOAD_ALIGN);
    for (i, p) in parts.iter().enumerate() {
        let mut name = [0u8; 24];
        if !cellboot_abi::set_str_field(&mut name, &p.name) {
            bail!("payload name {:?} is longer than 23 bytes", p.name);
        }
        table.entries[i] = PayloadEntry {
            kind: p.kind,
            _pad: 0,
            offset: rel,
            size: p.data.len() as u64,
            name,
        };
        layout.push(Placed {
            what: format!("payload {i}: {} ({})", p.name, kind_name(p.kind)),
            file_offset: table_off + rel,
            size: p.data.len() as u64,
        });
        rel = align(rel + p.data.len() as u64, PAYLOAD_ALIGN);
    }
    let total = table_off + rel;
    let mut bytes = vec![0u8; total as usize];
    bytes[..shim.len()].copy_from_slice(shim);
    bytes[table_off as usize..][..size_of::<PayloadTable>()].copy_from_slice(table.as_bytes());
    for (p, e) in parts.iter().zip(table.entries()) {
        bytes[(table_off + e.offset) as usize..][..p.data.len()].copy_from_slice(&p.data);
    }
    if shim_has_header {
        bytes[IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8].copy_from_slice(&total.to_le_bytes());
    }
    Ok(Packed {
        bytes,
        layout,
        shim_has_header,
    })
}

pub fn kind_name(kind: u32) -> &'static str {
    match kind {
        payload_kind::SYSCONFIG => "system config",
        payload_kind::LOADER => "loader",
        payload_kind::KERNEL => "kernel Image",
        payload_kind::INITRD => "initramfs",
        payload_kind::OVERLAY => "DT overlay",
        payload_kind::INMATE => "inmate binary",
        payload_kind::VPCI_TEMPLATE => "vPCI template",
        _ => "unknown kind",
    }
}

pub fn print_layout(p: &Packed) {
    for l in &p.layout {
        eprintln!("    {:#010x} {:>10} bytes  {}", l.file_offset, l.size, l.what);
    }
    eprintln!(
        "    {:#010x}            end (header image_size = {:#x})",
        p.bytes.len(),
        p.bytes.len()
    );
}

/// Reads the table back from a packed image (used by tests and `describe`).
pub fn read_table(img: &[u8]) -> Result<(usize, PayloadTable)> {
    use cellboot_abi::zerocopy::FromBytes;
    let mut off = 0;
    while off + size_of::<PayloadTable>() <= img.len() {
        if img[off..off + 8] == PAYLOAD_MAGIC {
            let (t, _) = PayloadTable::read_from_prefix(&img[off..])
                .ok()
                .context("short table")?;
            return Ok((off, t));
        }
        off += PAYLOAD_ALIGN as usize;
    }
    bail!("no payload table in the image")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shim_with_header(len: usize, image_size: u64) -> Vec<u8> {
        let mut s = vec![0xaa; len];
        s[IMAGE_MAGIC_OFFSET..IMAGE_MAGIC_OFFSET + 4].copy_from_slice(IMAGE_MAGIC);
        s[IMAGE_SIZE_OFFSET..IMAGE_SIZE_OFFSET + 8].copy_from_slice(&image_size.to_le_bytes());
        s
    }

    #[test]
    fn table_follows_image_size_and_payloads_are_aligned() {
        let shim = shim_with_header(5000, 0x2_3456);
        let parts = [
            Part {
                kind: payload_kind::SYSCONFIG,
                name: "sysconfig".into(),
                data: vec![1; 100],
            },
            Part {
                kind: payload_kind::KERNEL,
                name: "linux.kernel".into(),
                data: vec![2; 9000],
            },
        ];
        let p = pack(&shim, &parts).unwrap();
        let (off, t) = read_table(&p.bytes).unwrap();
        assert_eq!(off, 0x2_4000);
        assert_eq!(t.count, 2);
        for (e, part) in t.entries().iter().zip(&parts) {
            assert_eq!(e.offset % PAYLOAD_ALIGN, 0);
            assert_eq!(&p.bytes[off + e.offset as usize..][..e.size as usize], &part.data[..]);
        }
        assert!(t.entries()[1].offset >= t.entries()[0].offset + 100);
        let patched = u64::from_le_bytes(p.bytes[16..24].try_into().unwrap());
        assert_eq!(patched, p.bytes.len() as u64);
        assert_eq!(p.bytes.len() as u64 % PAYLOAD_ALIGN, 0);
        assert!(
            p.bytes[5000..0x2_4000].iter().all(|&b| b == 0),
            "padding must be zero (BSS)"
        );
    }

    #[test]
    fn image_size_smaller_than_binary_is_an_error() {
        assert!(pack(&shim_with_header(0x3000, 0x1000), &[]).is_err());
    }

    #[test]
    fn headerless_skeleton_is_packed_unpatched() {
        let p = pack(
            &[],
            &[Part {
                kind: 2,
                name: "loader".into(),
                data: vec![7; 3],
            }],
        )
        .unwrap();
        assert!(!p.shim_has_header);
        assert_eq!(read_table(&p.bytes).unwrap().0, 0x1000);
    }
}

//! Where the shim stages a cell's inputs in the cell's RAM, and how it trims
//! the board DTB: pure functions, so the shim (which does it) and the host
//! CLI (`cellboot dtb`, which previews it) share one implementation.
//!
//! Staging goes downwards from the top of the cell's first RAM region
//! (docs/boot-flow.md): board DTB (4 KiB aligned), initrd (4 KiB), kernel
//! (2 MiB), user overlays in order (8 bytes), vPCI template (8 bytes). The
//! overlays and the template therefore sit next to each other (the loader
//! checks their hull against its DTB and scratch placements). Everything
//! stays above the loader image at `loader_ipa`.

use crate::comm::Staged;
use crate::config::{mem, CellConfig};

/// Largest board DTB (used part) the shim keeps.
pub const BOARD_DTB_MAX: usize = 128 * 1024;
/// `CellbootInfo::overlays` slots.
pub const MAX_OVERLAYS: usize = 4;
const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_HEADER_LEN: usize = 40;
const PAGE: u64 = 4096;
const KERNEL_ALIGN: u64 = 2 << 20;
const BLOB_ALIGN: u64 = 8;

/// Sizes of what the shim stages for one cell.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageSizes {
    /// The loader binary at `loader_ipa` (0: unknown, staging only stays
    /// above `loader_ipa`).
    pub loader: u64,
    /// The trimmed board DTB ([`trim_board_dtb`]).
    pub board_dtb: u64,
    /// `None`: the cell boots without an initrd.
    pub initrd: Option<u64>,
    /// `None`: not staged (the host preview when the kernel file is absent).
    pub kernel: Option<u64>,
    /// Sizes of the cell's overlays `boot.overlay_first..+overlay_count`.
    pub overlays: [u64; MAX_OVERLAYS],
    /// `Some`: the image carries a `VPCI_TEMPLATE` payload of this size. It
    /// is staged only for a cell that [`wants_vpci_template`].
    pub vpci_template: Option<u64>,
}

/// Where each input lands (IPAs); absent ones are `Staged::default()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StagePlan {
    pub board_dtb: Staged,
    pub initrd: Staged,
    pub kernel: Staged,
    pub overlays: [Staged; MAX_OVERLAYS],
    pub num_overlays: u32,
    pub vpci_template: Staged,
}

/// One staged input, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    BoardDtb,
    Initrd,
    Kernel,
    /// Index among the cell's overlays.
    Overlay(u8),
    VpciTemplate,
}

impl Item {
    pub fn name(self) -> &'static str {
        match self {
            Item::BoardDtb => "board DTB",
            Item::Initrd => "initrd",
            Item::Kernel => "kernel",
            Item::Overlay(_) => "overlay",
            Item::VpciTemplate => "vPCI template",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StagingError {
    /// The cell has no memory region flagged RAM.
    NoRam,
    /// `boot.overlay_count` is above [`MAX_OVERLAYS`].
    TooManyOverlays(u32),
    /// `what` (`size` bytes) would land below `floor` (the loader's end or
    /// the RAM region's base).
    DoesNotFit { what: Item, size: u64, floor: u64 },
}

impl StagingError {
    /// A fixed message (the shim prints it with [`StagingError::value`]).
    pub fn message(&self) -> &'static str {
        match self {
            StagingError::NoRam => "the cell has no RAM region",
            StagingError::TooManyOverlays(_) => {
                "boot.overlay_count is above 4 (CellbootInfo.overlays has 4 slots)"
            }
            StagingError::DoesNotFit { what, .. } => match what {
                Item::BoardDtb => "the board DTB does not fit above the loader in the first RAM region",
                Item::Initrd => "the initrd does not fit above the loader in the first RAM region",
                Item::Kernel => "the kernel does not fit above the loader in the first RAM region",
                Item::Overlay(_) => "an overlay does not fit above the loader in the first RAM region",
                Item::VpciTemplate => {
                    "the vPCI template does not fit above the loader in the first RAM region"
                }
            },
        }
    }
    /// The number the message is about: the count, or the size that does not fit.
    pub fn value(&self) -> u64 {
        match *self {
            StagingError::NoRam => 0,
            StagingError::TooManyOverlays(n) => n.into(),
            StagingError::DoesNotFit { size, .. } => size,
        }
    }
}

impl core::fmt::Display for StagingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            StagingError::NoRam => f.write_str(self.message()),
            StagingError::TooManyOverlays(n) => write!(f, "boot.overlay_count = {n}: at most {MAX_OVERLAYS} overlays per cell (CellbootInfo.overlays has {MAX_OVERLAYS} slots)"),
            StagingError::DoesNotFit { what, size, floor } => {
                write!(f, "{}", what.name())?;
                if let Item::Overlay(k) = what {
                    write!(f, " {k}")?;
                }
                write!(f, " ({size:#x} bytes) does not fit above {floor:#x} (loader end / RAM base) in the first RAM region")
            }
        }
    }
}

/// Number of user overlays the cell stages (`boot.overlay_count`, checked).
pub fn overlay_count(cell: &CellConfig) -> Result<usize, StagingError> {
    let n = cell.boot.overlay_count;
    if n as usize > MAX_OVERLAYS {
        return Err(StagingError::TooManyOverlays(n));
    }
    Ok(n as usize)
}

/// Whether the cell gets the board's vPCI template (when the image has
/// one): it has a vPCI window and did not opt out (`boot_flags::DIRECT_VPCI`).
pub fn wants_vpci_template(cell: &CellConfig) -> bool {
    cell.vpci.ecam_size != 0 && cell.boot.flags & crate::config::boot_flags::DIRECT_VPCI == 0
}

/// The staging plan for `cell`: what the shim copies where.
pub fn plan(cell: &CellConfig, sizes: &StageSizes) -> Result<StagePlan, StagingError> {
    let num_overlays = overlay_count(cell)?;
    let ram = cell
        .mem_regions()
        .iter()
        .find(|r| r.flags & mem::RAM != 0)
        .ok_or(StagingError::NoRam)?;
    let floor = ram.virt.max(cell.loader_ipa.saturating_add(sizes.loader));
    let mut top = ram.virt_end();
    let mut place = |what: Item, size: u64, align: u64| -> Result<Staged, StagingError> {
        match top.checked_sub(size).map(|a| a & !(align - 1)) {
            Some(ipa) if ipa >= floor => {
                top = ipa;
                Ok(Staged { ipa, size })
            }
            _ => Err(StagingError::DoesNotFit { what, size, floor }),
        }
    };
    let mut p = StagePlan {
        board_dtb: place(Item::BoardDtb, sizes.board_dtb, PAGE)?,
        ..StagePlan::default()
    };
    if let Some(n) = sizes.initrd {
        p.initrd = place(Item::Initrd, n, PAGE)?;
    }
    if let Some(n) = sizes.kernel {
        p.kernel = place(Item::Kernel, n, KERNEL_ALIGN)?;
    }
    for k in 0..num_overlays {
        p.overlays[k] = place(Item::Overlay(k as u8), sizes.overlays[k], BLOB_ALIGN)?;
    }
    p.num_overlays = num_overlays as u32;
    if let Some(n) = sizes.vpci_template.filter(|_| wants_vpci_template(cell)) {
        p.vpci_template = place(Item::VpciTemplate, n, BLOB_ALIGN)?;
    }
    Ok(p)
}

/// Why a board DTB cannot be trimmed (the shim refuses to boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtbTrimError {
    /// Fewer bytes than a header, or than the header's `totalsize`.
    Short { len: usize, need: usize },
    BadMagic(u32),
    BadVersion(u32),
    BadLayout(&'static str),
    /// The used part is larger than the output buffer.
    TooLarge { used: usize, max: usize },
}

impl core::fmt::Display for DtbTrimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            DtbTrimError::Short { len, need } => write!(f, "{len} bytes, the DTB header needs {need}"),
            DtbTrimError::BadMagic(m) => write!(f, "magic {m:#010x}, expected 0xd00dfeed"),
            DtbTrimError::BadVersion(v) => write!(f, "DTB version {v} is not supported (need 16 or 17)"),
            DtbTrimError::BadLayout(what) => write!(f, "DTB header is inconsistent: {what}"),
            DtbTrimError::TooLarge { used, max } => write!(f, "DTB uses {used} bytes, the shim keeps at most {max}"),
        }
    }
}

fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Copies the used part of the DTB in `blob` (which holds at least its
/// `totalsize` bytes) into `out`, with `totalsize` patched to that part
/// (QEMU's header claims 1 MiB and uses ~8 KiB; `open_into` needs room for
/// the whole `totalsize`). Returns the new `totalsize` (a multiple of 8).
/// Only the header and the reservation map are checked here.
pub fn trim_board_dtb(blob: &[u8], out: &mut [u8]) -> Result<usize, DtbTrimError> {
    if blob.len() < FDT_HEADER_LEN {
        return Err(DtbTrimError::Short { len: blob.len(), need: FDT_HEADER_LEN });
    }
    let magic = be32(blob, 0);
    if magic != FDT_MAGIC {
        return Err(DtbTrimError::BadMagic(magic));
    }
    let h = |i: usize| be32(blob, i * 4) as usize;
    let (total, off_struct, off_strings, off_rsv) = (h(1), h(2), h(3), h(4));
    let (version, last_comp, size_strings, size_struct) = (be32(blob, 20), be32(blob, 24), h(8), h(9));
    if version < 16 || last_comp > 17 {
        return Err(DtbTrimError::BadVersion(version));
    }
    if total > blob.len() {
        return Err(DtbTrimError::Short { len: blob.len(), need: total });
    }
    if off_rsv < FDT_HEADER_LEN || off_struct < FDT_HEADER_LEN || off_strings < FDT_HEADER_LEN {
        return Err(DtbTrimError::BadLayout("a block starts inside the header"));
    }
    let struct_end = off_struct.checked_add(size_struct);
    let strings_end = off_strings.checked_add(size_strings);
    let (Some(struct_end), Some(strings_end)) = (struct_end, strings_end) else {
        return Err(DtbTrimError::BadLayout("a block ends beyond totalsize"));
    };
    if struct_end > total || strings_end > total || off_rsv > total {
        return Err(DtbTrimError::BadLayout("a block ends beyond totalsize"));
    }
    if off_struct % 4 != 0 || off_rsv % 8 != 0 {
        return Err(DtbTrimError::BadLayout("misaligned block"));
    }
    // The memory reservation map ends with a (0, 0) entry.
    let mut rsv_end = off_rsv;
    loop {
        if rsv_end + 16 > total {
            return Err(DtbTrimError::BadLayout("memory reservation map not terminated"));
        }
        let zero = blob[rsv_end..rsv_end + 16].iter().all(|&b| b == 0);
        rsv_end += 16;
        if zero {
            break;
        }
    }
    let used = struct_end.max(strings_end).max(rsv_end).next_multiple_of(8);
    if used > out.len() {
        return Err(DtbTrimError::TooLarge { used, max: out.len() });
    }
    let n = used.min(total);
    out[..n].copy_from_slice(&blob[..n]);
    out[n..used].fill(0);
    out[4..8].copy_from_slice(&(used as u32).to_be_bytes());
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{boot_flags, MemRegion, SystemConfig, NO_PAYLOAD};

    const MIB: u64 = 1 << 20;

    fn cell() -> CellConfig {
        let mut c = SystemConfig::empty().cells[0];
        c.num_mem = 2;
        c.mem[0] = MemRegion { phys: 0x900_0000, virt: 0x900_0000, size: 0x1000, flags: mem::IO };
        c.mem[1] = MemRegion { phys: 0x4800_0000, virt: 0x4800_0000, size: 0x1800_0000, flags: mem::RAM };
        c.loader_ipa = 0x4800_0000;
        c.vpci.ecam_size = MIB;
        c.boot.overlay_first = NO_PAYLOAD;
        c
    }

    fn pair(s: Staged) -> (u64, u64) {
        (s.ipa, s.size)
    }

    #[test]
    fn goes_down_from_the_top_of_the_first_ram_region() {
        let mut c = cell();
        c.boot.overlay_first = 4;
        c.boot.overlay_count = 2;
        let s = StageSizes {
            loader: 0x1_2000,
            board_dtb: 0x2008,
            initrd: Some(0x12_3456),
            kernel: Some(0x150_0000),
            overlays: [0x301, 0x80, 0, 0],
            vpci_template: Some(0x400),
        };
        let p = plan(&c, &s).unwrap();
        assert_eq!(pair(p.board_dtb), (0x5fff_d000, 0x2008));
        assert_eq!(pair(p.initrd), (0x5fff_d000 - 0x12_4000, 0x12_3456));
        assert_eq!(pair(p.kernel), (0x5e80_0000, 0x150_0000)); // 0x5fed_9000 - size, 2 MiB down
        assert_eq!(pair(p.overlays[0]), (0x5e80_0000 - 0x308, 0x301));
        assert_eq!(pair(p.overlays[1]), (0x5e80_0000 - 0x308 - 0x80, 0x80));
        assert_eq!(p.num_overlays, 2);
        assert_eq!(pair(p.vpci_template), (p.overlays[1].ipa - 0x400, 0x400));
        for s in [p.overlays[0], p.overlays[1], p.vpci_template] {
            assert_eq!(s.ipa % 8, 0);
        }
        // overlays and template are adjacent (one hull for the loader)
        assert!(p.vpci_template.ipa + 0x400 == p.overlays[1].ipa);
    }

    #[test]
    fn absent_inputs_take_no_room() {
        let mut c = cell();
        let s = StageSizes { board_dtb: 0x2008, vpci_template: Some(0x400), ..Default::default() };
        let p = plan(&c, &s).unwrap();
        assert_eq!((pair(p.initrd), pair(p.kernel), p.num_overlays), ((0, 0), (0, 0), 0));
        assert_eq!(pair(p.vpci_template), (0x5fff_d000 - 0x400, 0x400));
        // no vPCI window, or the direct writer asked for: no template staged
        c.vpci.ecam_size = 0;
        assert_eq!(plan(&c, &s).unwrap().vpci_template, Staged::default());
        c.vpci.ecam_size = MIB;
        c.boot.flags = boot_flags::DIRECT_VPCI;
        assert_eq!(plan(&c, &s).unwrap().vpci_template, Staged::default());
    }

    #[test]
    fn refusals_name_what_does_not_fit() {
        let mut c = cell();
        let s = StageSizes { loader: 0x1000, board_dtb: 0x2008, initrd: Some(0x1800_0000), ..Default::default() };
        let e = plan(&c, &s).unwrap_err();
        assert_eq!(e, StagingError::DoesNotFit { what: Item::Initrd, size: 0x1800_0000, floor: 0x4800_1000 });
        assert!(e.message().contains("initrd"));
        c.boot.overlay_count = 5;
        let e = plan(&c, &StageSizes::default()).unwrap_err();
        assert_eq!(e, StagingError::TooManyOverlays(5));
        assert!(e.message().contains("overlay_count"));
        c.boot.overlay_count = 0;
        c.mem[1].flags = mem::READ;
        assert_eq!(plan(&c, &StageSizes::default()).unwrap_err(), StagingError::NoRam);
        // the size wrapping below zero is a refusal, not an overflow
        let mut c = cell();
        c.mem[1].virt = 0;
        c.loader_ipa = 0;
        let s = StageSizes { board_dtb: u64::MAX, ..Default::default() };
        assert!(matches!(plan(&c, &s), Err(StagingError::DoesNotFit { what: Item::BoardDtb, .. })));
    }

    fn tiny_dtb(total: u32) -> [u8; 128] {
        let mut d = [0u8; 128];
        let mut w = |o: usize, v: u32| d[o..o + 4].copy_from_slice(&v.to_be_bytes());
        w(0, FDT_MAGIC);
        w(4, total);
        w(8, 0x38); // struct
        w(12, 0x48); // strings
        w(16, 0x28); // rsv map (one zero entry: 0x28..0x38)
        w(20, 17);
        w(24, 16);
        w(32, 3); // strings size
        w(36, 0x10); // struct size
        d
    }

    #[test]
    fn dtb_is_trimmed_to_its_used_part() {
        let blob = tiny_dtb(128);
        let mut out = [0xffu8; 256];
        let n = trim_board_dtb(&blob, &mut out).unwrap();
        assert_eq!(n, 0x50); // strings end 0x4b, rounded to 8
        assert_eq!(be32(&out, 4), 0x50);
        assert_eq!(out[8..0x4b], blob[8..0x4b]);
        assert!(out[0x4b..0x50].iter().all(|&b| b == 0));
        let mut small = [0u8; 0x40];
        assert_eq!(trim_board_dtb(&blob, &mut small), Err(DtbTrimError::TooLarge { used: 0x50, max: 0x40 }));
    }

    #[test]
    fn bad_dtbs_are_refused_not_panicked_on() {
        let blob = tiny_dtb(128);
        let mut out = [0u8; 256];
        for cut in [0, 10, 39, 40, 100] {
            assert!(trim_board_dtb(&blob[..cut], &mut out).is_err(), "cut at {cut}");
        }
        let mut bad = blob;
        bad[0] = 0;
        assert!(matches!(trim_board_dtb(&bad, &mut out), Err(DtbTrimError::BadMagic(_))));
        let mut bad = blob;
        bad[8..12].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(matches!(trim_board_dtb(&bad, &mut out), Err(DtbTrimError::BadLayout(_))));
        let mut bad = blob;
        bad[0x28..].fill(1); // reservation map never terminated
        assert!(matches!(trim_board_dtb(&bad, &mut out), Err(DtbTrimError::BadLayout(_))));
    }
}

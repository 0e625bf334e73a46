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
//!
//! The kernel goes straight to where it will run when the caller knows that
//! place ([`KernelRun`]) and it fits with the loader's DTB and scratch room
//! above it: the loader then finds it in place and skips the copy (a 30 MiB
//! memmove is ~0.3 s under TCG). Otherwise it is staged top-down as above
//! and the loader moves it.

use crate::comm::Staged;
use crate::config::{CellConfig, mem};
use crate::text;

/// Largest board DTB (used part) the shim keeps.
pub const BOARD_DTB_MAX: usize = 128 * 1024;
/// `CellbootInfo::overlays` slots.
pub const MAX_OVERLAYS: usize = 4;
/// The FDT header's `magic`.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Bytes in an FDT header (version 17).
pub const FDT_HEADER_LEN: usize = 40;
const PAGE: u64 = 4096;
const KERNEL_ALIGN: u64 = 2 << 20;
const BLOB_ALIGN: u64 = 8;
/// The loader's guest DTB room (2 MiB) plus its overlay scratch (a copy of
/// the largest overlay or template plus another DTB's room), which it puts
/// right above the kernel's footprint; the largest blob is added on top.
const LOADER_WORK: u64 = 4 << 20;
const LOADER_WORK_SLACK: u64 = 64 << 10;

/// Where the loader will run the kernel (its placement rule, duplicated
/// here so the shim can stage in place; the loader re-derives it and copies
/// when the two ever disagree).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelRun {
    /// From the 2 MiB boundary at or above RAM base + 2 MiB: Linux's
    /// `text_offset`, 0 for raw inmates.
    pub offset: u64,
    /// Bytes the kernel uses from there, BSS included (Linux `image_size`).
    pub footprint: u64,
}

impl KernelRun {
    /// The run placement of a kernel of boot kind `kind` whose file starts
    /// with `head` (arm64 Image header for LINUX); `None` when it cannot be
    /// told (the loader will refuse it or decide itself).
    pub fn of(kind: u32, head: &[u8], file_size: u64) -> Option<KernelRun> {
        use crate::config::boot_kind;
        match kind {
            boot_kind::RAW => Some(KernelRun {
                offset: 0,
                footprint: file_size,
            }),
            boot_kind::LINUX => {
                let le64 = |o: usize| -> Option<u64> { Some(u64::from_le_bytes(*head.get(o..)?.first_chunk::<8>()?)) };
                let magic = head.get(0x38..0x3c)?;
                if magic != b"ARM\x64" || le64(24)? & 1 != 0 {
                    return None;
                }
                // Before Linux 3.17 image_size was 0 and text_offset meant 0x80000.
                Some(match le64(16)? {
                    0 => KernelRun {
                        offset: 0x80000,
                        footprint: file_size,
                    },
                    n => KernelRun {
                        offset: le64(8)?,
                        footprint: n.max(file_size),
                    },
                })
            }
            _ => None,
        }
    }
}

/// Where a kernel placed by `run` runs in a cell whose first RAM region
/// starts at `ram_ipa`: the loader's rule (loader/src/image.rs,
/// plan_linux / plan_raw), the 2 MiB boundary at or above RAM base + 2 MiB
/// plus the offset. `cellctl load` takes it as its default IPA.
pub fn run_ipa(ram_ipa: u64, run: KernelRun) -> Option<u64> {
    ram_ipa
        .checked_add(KERNEL_ALIGN)
        .map(|b| b.next_multiple_of(KERNEL_ALIGN))
        .and_then(|b| b.checked_add(run.offset))
}

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
    /// `Some`: stage the kernel where it runs if it fits ([`KernelRun::of`]).
    pub kernel_run: Option<KernelRun>,
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
            StagingError::TooManyOverlays(_) => "boot.overlay_count is above 4 (CellbootInfo.overlays has 4 slots)",
            StagingError::DoesNotFit { what, .. } => match what {
                Item::BoardDtb => "the board DTB does not fit above the loader in the first RAM region",
                Item::Initrd => "the initrd does not fit above the loader in the first RAM region",
                Item::Kernel => "the kernel does not fit above the loader in the first RAM region",
                Item::Overlay(_) => "an overlay does not fit above the loader in the first RAM region",
                Item::VpciTemplate => "the vPCI template does not fit above the loader in the first RAM region",
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

impl text::Render for StagingError {
    fn render(&self, s: &mut dyn text::Sink) {
        match *self {
            StagingError::NoRam => s.put(self.message().as_bytes()),
            StagingError::TooManyOverlays(n) => text::write(
                s,
                "boot.overlay_count = {}: at most {} overlays per cell (CellbootInfo.overlays has {} slots)",
                &crate::args!(n, MAX_OVERLAYS, MAX_OVERLAYS),
            ),
            StagingError::DoesNotFit { what, size, floor } => {
                text::write(s, "{}", &crate::args!(what.name()));
                if let Item::Overlay(k) = what {
                    text::write(s, " {}", &crate::args!(k));
                }
                text::write(
                    s,
                    " ({:#x} bytes) does not fit above {:#x} (loader end / RAM base) in the first RAM region",
                    &crate::args!(size, floor),
                )
            }
        }
    }
}

crate::display_via_render!(StagingError);

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
    // A jailhouse cell has no loader and no device tree.
    !crate::is_jailhouse(cell)
        && cell.vpci.ecam_size != 0
        && cell.boot.flags & crate::config::boot_flags::DIRECT_VPCI == 0
}

/// The staging plan for `cell`: what the shim copies where.
pub fn plan(cell: &CellConfig, sizes: &StageSizes) -> Result<StagePlan, StagingError> {
    if sizes.kernel.is_some()
        && sizes.kernel_run.is_some()
        && let Ok(p) = plan_with(cell, sizes, true)
    {
        return Ok(p);
    }
    plan_with(cell, sizes, false)
}

fn plan_with(cell: &CellConfig, sizes: &StageSizes, in_place: bool) -> Result<StagePlan, StagingError> {
    let num_overlays = overlay_count(cell)?;
    let ram = cell
        .mem_regions()
        .iter()
        .find(|r| r.flags & mem::RAM != 0)
        .ok_or(StagingError::NoRam)?;
    let mut floor = ram.virt.max(cell.loader_ipa.saturating_add(sizes.loader));
    let mut top = ram.virt_end();
    let place = |what: Item, size: u64, align: u64, top: &mut u64, floor: u64| -> Result<Staged, StagingError> {
        // align is one of the non-zero constants above.
        match top.checked_sub(size).map(|a| a & !align.wrapping_sub(1)) {
            Some(ipa) if ipa >= floor => {
                *top = ipa;
                Ok(Staged { ipa, size })
            }
            _ => Err(StagingError::DoesNotFit { what, size, floor }),
        }
    };
    let mut p = StagePlan {
        board_dtb: place(Item::BoardDtb, sizes.board_dtb, PAGE, &mut top, floor)?,
        ..StagePlan::default()
    };
    if let Some(n) = sizes.initrd {
        p.initrd = place(Item::Initrd, n, PAGE, &mut top, floor)?;
    }
    if let (Some(n), Some(run), true) = (sizes.kernel, sizes.kernel_run, in_place) {
        let at = run_ipa(ram.virt, run);
        let blob = sizes
            .overlays
            .iter()
            .chain(&sizes.vpci_template)
            .copied()
            .max()
            .unwrap_or(0);
        // What the loader needs above the kernel (DTB, scratch) and keeps
        // off the loader's own 2 MiB: nothing staged may go there.
        let work_end = at
            .and_then(|a| a.checked_add(run.footprint.max(n)))
            .map(|e| e.next_multiple_of(KERNEL_ALIGN))
            .and_then(|e| e.checked_add(LOADER_WORK.checked_add(LOADER_WORK_SLACK)?.checked_add(blob)?));
        let loader_end = cell.loader_ipa.saturating_add(KERNEL_ALIGN);
        match (at, work_end) {
            (Some(at), Some(end)) if at >= floor && at >= loader_end && end <= top => {
                p.kernel = Staged { ipa: at, size: n };
                floor = end;
            }
            _ => {
                return Err(StagingError::DoesNotFit {
                    what: Item::Kernel,
                    size: n,
                    floor,
                });
            }
        }
    } else if let Some(n) = sizes.kernel {
        p.kernel = place(Item::Kernel, n, KERNEL_ALIGN, &mut top, floor)?;
    }
    for k in 0..num_overlays {
        p.overlays[k] = place(Item::Overlay(k as u8), sizes.overlays[k], BLOB_ALIGN, &mut top, floor)?;
    }
    p.num_overlays = num_overlays as u32;
    if let Some(n) = sizes.vpci_template.filter(|_| wants_vpci_template(cell)) {
        p.vpci_template = place(Item::VpciTemplate, n, BLOB_ALIGN, &mut top, floor)?;
    }
    Ok(p)
}

/// Why a board DTB cannot be trimmed (the shim refuses to boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtbTrimError {
    /// Fewer bytes than a header, or than the header's `totalsize`.
    Short {
        len: usize,
        need: usize,
    },
    BadMagic(u32),
    BadVersion(u32),
    BadLayout(&'static str),
    /// The used part is larger than the output buffer.
    TooLarge {
        used: usize,
        max: usize,
    },
}

impl text::Render for DtbTrimError {
    fn render(&self, s: &mut dyn text::Sink) {
        match *self {
            DtbTrimError::Short { len, need } => {
                text::write(s, "{} bytes, the DTB header needs {}", &crate::args!(len, need))
            }
            DtbTrimError::BadMagic(m) => text::write(s, "magic {:#010x}, expected 0xd00dfeed", &crate::args!(m)),
            DtbTrimError::BadVersion(v) => {
                text::write(s, "DTB version {} is not supported (need 16 or 17)", &crate::args!(v))
            }
            DtbTrimError::BadLayout(what) => text::write(s, "DTB header is inconsistent: {}", &crate::args!(what)),
            DtbTrimError::TooLarge { used, max } => text::write(
                s,
                "DTB uses {} bytes, the shim keeps at most {}",
                &crate::args!(used, max),
            ),
        }
    }
}

crate::display_via_render!(DtbTrimError);

/// The big-endian word at byte `o` of `b`, 0 past its end (callers read
/// header words below [`FDT_HEADER_LEN`], checked first).
pub fn be32(b: &[u8], o: usize) -> u32 {
    b.get(o..)
        .and_then(|t| t.first_chunk::<4>())
        .map_or(0, |w| u32::from_be_bytes(*w))
}

/// Copies the used part of the DTB in `blob` (which holds at least its
/// `totalsize` bytes) into `out`, with `totalsize` patched to that part
/// (QEMU's header claims 1 MiB and uses ~8 KiB; `open_into` needs room for
/// the whole `totalsize`). Returns the new `totalsize` (a multiple of 8).
/// Only the header and the reservation map are checked here.
pub fn trim_board_dtb(blob: &[u8], out: &mut [u8]) -> Result<usize, DtbTrimError> {
    if blob.len() < FDT_HEADER_LEN {
        return Err(DtbTrimError::Short {
            len: blob.len(),
            need: FDT_HEADER_LEN,
        });
    }
    let magic = be32(blob, 0);
    if magic != FDT_MAGIC {
        return Err(DtbTrimError::BadMagic(magic));
    }
    let h = |i: usize| be32(blob, i.saturating_mul(4)) as usize;
    let (total, off_struct, off_strings, off_rsv) = (h(1), h(2), h(3), h(4));
    let (version, last_comp, size_strings, size_struct) = (be32(blob, 20), be32(blob, 24), h(8), h(9));
    if version < 16 || last_comp > 17 {
        return Err(DtbTrimError::BadVersion(version));
    }
    if total > blob.len() {
        return Err(DtbTrimError::Short {
            len: blob.len(),
            need: total,
        });
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
        let entry_end = match rsv_end.checked_add(16) {
            Some(e) if e <= total => e,
            _ => return Err(DtbTrimError::BadLayout("memory reservation map not terminated")),
        };
        let zero = blob[rsv_end..entry_end].iter().all(|&b| b == 0);
        rsv_end = entry_end;
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
    use crate::config::{MemRegion, NO_PAYLOAD, SystemConfig, boot_flags};

    const MIB: u64 = 1 << 20;

    fn cell() -> CellConfig {
        let mut c = SystemConfig::empty().cells[0];
        c.num_mem = 2;
        c.mem[0] = MemRegion {
            phys: 0x900_0000,
            virt: 0x900_0000,
            size: 0x1000,
            flags: mem::IO,
        };
        c.mem[1] = MemRegion {
            phys: 0x4800_0000,
            virt: 0x4800_0000,
            size: 0x1800_0000,
            flags: mem::RAM,
        };
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
            kernel_run: None,
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
        let s = StageSizes {
            board_dtb: 0x2008,
            vpci_template: Some(0x400),
            ..Default::default()
        };
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
        let s = StageSizes {
            loader: 0x1000,
            board_dtb: 0x2008,
            initrd: Some(0x1800_0000),
            ..Default::default()
        };
        let e = plan(&c, &s).unwrap_err();
        assert_eq!(
            e,
            StagingError::DoesNotFit {
                what: Item::Initrd,
                size: 0x1800_0000,
                floor: 0x4800_1000
            }
        );
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
        let s = StageSizes {
            board_dtb: u64::MAX,
            ..Default::default()
        };
        assert!(matches!(
            plan(&c, &s),
            Err(StagingError::DoesNotFit {
                what: Item::BoardDtb,
                ..
            })
        ));
    }

    fn linux_head(text_offset: u64, image_size: u64, flags: u64) -> [u8; 64] {
        let mut h = [0u8; 64];
        h[8..16].copy_from_slice(&text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[24..32].copy_from_slice(&flags.to_le_bytes());
        h[0x38..0x3c].copy_from_slice(b"ARM\x64");
        h
    }

    #[test]
    fn kernel_run_follows_the_image_header() {
        use crate::config::boot_kind::{LINUX, RAW};
        let run = |h: &[u8], n| KernelRun::of(LINUX, h, n);
        assert_eq!(
            run(&linux_head(0, 0x200_0000, 0xa), 0x1a0_0000),
            Some(KernelRun {
                offset: 0,
                footprint: 0x200_0000
            })
        );
        // pre-3.17: image_size 0 means text_offset 0x80000
        assert_eq!(
            run(&linux_head(0, 0, 0), 0x50_0000),
            Some(KernelRun {
                offset: 0x80000,
                footprint: 0x50_0000
            })
        );
        assert_eq!(run(&linux_head(0, 0x200_0000, 1), 0x1a0_0000), None, "big-endian");
        let mut bad = linux_head(0, 0x200_0000, 0);
        bad[0x38] = b'B';
        assert_eq!(run(&bad, 0x1a0_0000), None, "bad magic");
        assert_eq!(run(&bad[..40], 0x1a0_0000), None, "short header");
        assert_eq!(
            KernelRun::of(RAW, &[], 0x1234),
            Some(KernelRun {
                offset: 0,
                footprint: 0x1234
            })
        );
        assert_eq!(KernelRun::of(77, &linux_head(0, 1, 0), 1), None);
    }

    #[test]
    fn kernel_is_staged_where_it_runs_when_it_fits() {
        let mut c = cell();
        c.boot.overlay_first = 4;
        c.boot.overlay_count = 1;
        let s = StageSizes {
            loader: 0x1_2000,
            board_dtb: 0x2008,
            initrd: Some(0x12_3456),
            kernel: Some(0x1a0_9fc0),
            kernel_run: Some(KernelRun {
                offset: 0,
                footprint: 0x1f9_0000,
            }),
            overlays: [0x301, 0, 0, 0],
            vpci_template: Some(0x400),
        };
        let p = plan(&c, &s).unwrap();
        // RAM base + 2 MiB, as the loader places it: nothing to copy
        assert_eq!(pair(p.kernel), (0x4820_0000, 0x1a0_9fc0));
        // the rest goes down from the top as before, the kernel out of the chain
        assert_eq!(pair(p.board_dtb), (0x5fff_d000, 0x2008));
        assert_eq!(pair(p.initrd), (0x5fff_d000 - 0x12_4000, 0x12_3456));
        assert_eq!(pair(p.overlays[0]), (p.initrd.ipa - 0x308, 0x301));
        assert_eq!(pair(p.vpci_template), (p.overlays[0].ipa - 0x400, 0x400));
        // text_offset is honoured
        let s2 = StageSizes {
            kernel_run: Some(KernelRun {
                offset: 0x80000,
                footprint: 0x1f9_0000,
            }),
            ..s
        };
        assert_eq!(plan(&c, &s2).unwrap().kernel.ipa, 0x4828_0000);
        // no room for the loader's DTB and scratch above the footprint:
        // staged top-down as without a run placement (the loader copies)
        let s3 = StageSizes {
            kernel_run: Some(KernelRun {
                offset: 0,
                footprint: 0x1790_0000,
            }),
            ..s
        };
        let top_down = plan(&c, &StageSizes { kernel_run: None, ..s }).unwrap();
        assert_eq!(plan(&c, &s3).unwrap(), top_down);
        assert_eq!(top_down.kernel.ipa % (2 << 20), 0);
        assert!(top_down.kernel.ipa > 0x5000_0000);
        // a loader elsewhere in RAM, where the kernel would run: top-down too
        c.loader_ipa = 0x4830_0000;
        assert_eq!(
            plan(&c, &s).unwrap().kernel,
            plan(&c, &StageSizes { kernel_run: None, ..s }).unwrap().kernel
        );
    }

    fn tiny_dtb(total: u32) -> [u8; 128] {
        let mut d = [0u8; 128];
        let mut w = |o: usize, v: u32| d[o..][..4].copy_from_slice(&v.to_be_bytes());
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
        assert_eq!(
            trim_board_dtb(&blob, &mut small),
            Err(DtbTrimError::TooLarge { used: 0x50, max: 0x40 })
        );
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
        assert!(matches!(
            trim_board_dtb(&bad, &mut out),
            Err(DtbTrimError::BadLayout(_))
        ));
        let mut bad = blob;
        bad[0x28..].fill(1); // reservation map never terminated
        assert!(matches!(
            trim_board_dtb(&bad, &mut out),
            Err(DtbTrimError::BadLayout(_))
        ));
    }
}

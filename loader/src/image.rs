//! Where the payload and the guest DTB go in the cell's RAM (arm64 boot
//! protocol, Documentation/arch/arm64/booting.rst), as pure arithmetic so the
//! host can test it on a real Image.

/// arm64 Image header fields the loader needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    pub text_offset: u64,
    /// Bytes from the load address the kernel uses, BSS included.
    pub image_size: u64,
    pub flags: u64,
}

pub const IMAGE_MAGIC: u32 = 0x644d_5241; // "ARM\x64"
pub const IMAGE_HEADER_LEN: usize = 64;
pub const SZ_2M: u64 = 2 << 20;
/// The boot protocol's limit on the DTB size, and the room the loader gives it.
pub const DTB_MAX: u64 = SZ_2M;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Not an arm64 Image (magic at 0x38 missing or payload shorter than the header).
    BadMagic,
    /// Image flags bit 0: big-endian kernel.
    BigEndian,
    /// Payload does not fit in the RAM region.
    PayloadDoesNotFit,
    /// The overlay scratch does not fit in the RAM region after the DTB.
    ScratchDoesNotFit,
    /// The DTB's 2 MiB does not fit in the RAM region after the payload.
    DtbDoesNotFit,
    /// Payload or DTB destination overlaps the loader, initrd or staged inputs.
    Overlap(&'static str),
}

impl LayoutError {
    pub const fn name(self) -> &'static str {
        match self {
            LayoutError::BadMagic => "kernel is not an arm64 Image (bad magic)",
            LayoutError::BigEndian => "kernel is big-endian",
            LayoutError::PayloadDoesNotFit => "payload does not fit in RAM",
            LayoutError::DtbDoesNotFit => "DTB does not fit in RAM after the payload",
            LayoutError::ScratchDoesNotFit => "overlay scratch does not fit in RAM after the DTB",
            LayoutError::Overlap(what) => what,
        }
    }
}

fn le64(b: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(w)
}

pub fn parse_image_header(image: &[u8]) -> Result<ImageHeader, LayoutError> {
    if image.len() < IMAGE_HEADER_LEN {
        return Err(LayoutError::BadMagic);
    }
    if u32::from_le_bytes([image[0x38], image[0x39], image[0x3a], image[0x3b]]) != IMAGE_MAGIC {
        return Err(LayoutError::BadMagic);
    }
    let (mut text_offset, mut image_size) = (le64(image, 8), le64(image, 16));
    let flags = le64(image, 24);
    if flags & 1 != 0 {
        return Err(LayoutError::BigEndian);
    }
    // Before Linux 3.17 image_size was 0 and text_offset meant 0x80000.
    if image_size == 0 {
        text_offset = 0x80000;
        image_size = image.len() as u64;
    }
    Ok(ImageHeader {
        text_offset,
        image_size,
        flags,
    })
}

/// A guest-physical range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Range {
    pub base: u64,
    pub size: u64,
}

impl Range {
    pub const fn new(base: u64, size: u64) -> Self {
        Self { base, size }
    }
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
    pub fn overlaps(&self, o: &Range) -> bool {
        self.size != 0 && o.size != 0 && self.base < o.end() && o.base < self.end()
    }
    pub fn inside(&self, o: &Range) -> bool {
        self.base >= o.base && self.end() <= o.end()
    }
}

/// What the loader has: the RAM region it runs in and where things sit.
#[derive(Clone, Copy, Debug)]
pub struct Inputs {
    pub ram: Range,
    /// The loader's image, BSS and stack.
    pub loader: Range,
    pub staged_payload: Range,
    pub staged_dtb: Range,
    /// Zero size when there is none.
    pub initrd: Range,
    /// Smallest range holding every staged overlay and the vPCI template
    /// (the shim stages them next to each other); zero size when none. Read
    /// while the DTB is built, like the staged board DTB.
    pub staged_overlays: Range,
    /// Scratch bytes the DTB build needs for overlays (`scratch_len`); 0: none.
    pub scratch_len: u64,
}

/// Where to copy the payload, enter it and build the DTB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Copy destination of the payload (memmove: may overlap its staging).
    pub load: u64,
    /// Bytes to copy; 0 when the shim staged the payload at `load` already.
    pub copy_len: u64,
    pub entry: u64,
    /// DTB destination, 2 MiB aligned; `dtb_room` bytes available.
    pub dtb: u64,
    pub dtb_room: u64,
    /// Overlay scratch (`Inputs::scratch_len` bytes), right after the DTB's
    /// room; free RAM again once the DTB is built. 0 when none is needed.
    pub scratch: u64,
}

const fn align_up(v: u64, a: u64) -> u64 {
    (v + a - 1) & !(a - 1)
}

/// Linux: Image at the first 2 MiB boundary at or above RAM base + 2 MiB,
/// plus `text_offset`; DTB at the next 2 MiB boundary after `image_size`.
pub fn plan_linux(i: &Inputs, hdr: &ImageHeader) -> Result<Plan, LayoutError> {
    let base = align_up(i.ram.base.saturating_add(SZ_2M), SZ_2M);
    let load = base.saturating_add(hdr.text_offset);
    let copy_len = i.staged_payload.size;
    finish(i, load, copy_len, hdr.image_size.max(copy_len), load)
}

/// Raw inmate: copied to the start of the second 2 MiB of RAM and entered there.
pub fn plan_raw(i: &Inputs) -> Result<Plan, LayoutError> {
    let load = align_up(i.ram.base, SZ_2M).saturating_add(SZ_2M);
    finish(i, load, i.staged_payload.size, i.staged_payload.size, load)
}

fn finish(i: &Inputs, load: u64, copy_len: u64, footprint: u64, entry: u64) -> Result<Plan, LayoutError> {
    // Staged in place (cellboot_abi::staging::KernelRun): nothing to move.
    let copy_len = if i.staged_payload.base == load { 0 } else { copy_len };
    let payload = Range::new(load, footprint);
    if !payload.inside(&i.ram) {
        return Err(LayoutError::PayloadDoesNotFit);
    }
    let dtb_base = align_up(payload.end(), SZ_2M);
    let dtb_room = i.ram.end().saturating_sub(dtb_base).min(DTB_MAX);
    if dtb_room < i.staged_dtb.size || dtb_base >= i.ram.end() {
        return Err(LayoutError::DtbDoesNotFit);
    }
    let dtb = Range::new(dtb_base, dtb_room);
    // Scratch after the DTB's room: above the kernel's footprint, so the
    // payload move cannot reach it, and only needed before that move.
    let scratch = Range::new(dtb.end(), i.scratch_len);
    if scratch.size != 0 && !scratch.inside(&i.ram) {
        return Err(LayoutError::ScratchDoesNotFit);
    }
    // The DTB is built first (from the staged board DTB, while the payload is
    // still staged), then the payload is moved; the kernel's footprint
    // (BSS included) must not cover anything it will need.
    // One table, checked in order (the first overlap is the one reported):
    // the pairs are indices into `ranges`.
    const PAYLOAD: u8 = 0;
    const DTB: u8 = 1;
    const SCRATCH: u8 = 2;
    const LOADER: u8 = 3;
    const INITRD: u8 = 4;
    const STAGED_PAYLOAD: u8 = 5;
    const STAGED_DTB: u8 = 6;
    const STAGED_OVERLAYS: u8 = 7;
    const CHECKS: [(u8, u8, &str); 13] = [
        (PAYLOAD, LOADER, "payload destination overlaps the loader"),
        (PAYLOAD, INITRD, "payload destination overlaps the initrd"),
        (PAYLOAD, DTB, "payload destination overlaps the DTB"),
        (DTB, LOADER, "DTB destination overlaps the loader"),
        (DTB, INITRD, "DTB destination overlaps the initrd"),
        (DTB, STAGED_PAYLOAD, "DTB destination overlaps the staged payload"),
        (DTB, STAGED_DTB, "DTB destination overlaps the staged board DTB"),
        (DTB, STAGED_OVERLAYS, "DTB destination overlaps the staged overlays"),
        (SCRATCH, LOADER, "overlay scratch overlaps the loader"),
        (SCRATCH, INITRD, "overlay scratch overlaps the initrd"),
        (SCRATCH, STAGED_PAYLOAD, "overlay scratch overlaps the staged payload"),
        (SCRATCH, STAGED_DTB, "overlay scratch overlaps the staged board DTB"),
        (SCRATCH, STAGED_OVERLAYS, "overlay scratch overlaps the staged overlays"),
    ];
    let ranges = [
        payload,
        dtb,
        scratch,
        i.loader,
        i.initrd,
        i.staged_payload,
        i.staged_dtb,
        i.staged_overlays,
    ];
    for &(a, b, what) in &CHECKS {
        if ranges[usize::from(a)].overlaps(&ranges[usize::from(b)]) {
            return Err(LayoutError::Overlap(what));
        }
    }
    Ok(Plan {
        load,
        copy_len,
        entry,
        dtb: dtb_base,
        dtb_room,
        scratch: if scratch.size == 0 { 0 } else { scratch.base },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn inputs(payload: u64) -> Inputs {
        let ram = Range::new(0x4800_0000, 384 * MIB);
        Inputs {
            ram,
            loader: Range::new(0x4800_0000, 64 * 1024),
            staged_payload: Range::new(ram.end() - 64 * MIB, payload),
            staged_dtb: Range::new(ram.end() - 2 * MIB, MIB),
            initrd: Range::new(ram.end() - 32 * MIB, 20 * MIB),
            staged_overlays: Range::default(),
            scratch_len: 0,
        }
    }

    fn header(text_offset: u64, image_size: u64, flags: u64) -> [u8; 64] {
        let mut h = [0u8; 64];
        h[8..16].copy_from_slice(&text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[24..32].copy_from_slice(&flags.to_le_bytes());
        h[0x38..0x3c].copy_from_slice(&IMAGE_MAGIC.to_le_bytes());
        h
    }

    #[test]
    fn linux_placement() {
        let hdr = parse_image_header(&header(0, 0x1ff_0000 + 5, 0xa)).unwrap();
        let p = plan_linux(&inputs(30 * MIB), &hdr).unwrap();
        assert_eq!(p.load, 0x4820_0000);
        assert_eq!(p.entry, 0x4820_0000);
        assert_eq!(p.dtb, 0x4820_0000 + 32 * MIB);
        assert_eq!(p.dtb_room, 2 * MIB);
        assert_eq!(p.copy_len, 30 * MIB);
        // text_offset is honoured and an unaligned RAM base rounds up.
        let mut i = inputs(MIB);
        i.ram = Range::new(0x4810_0000, 383 * MIB);
        let hdr = parse_image_header(&header(0x80000, 4 * MIB, 0)).unwrap();
        let p = plan_linux(&i, &hdr).unwrap();
        assert_eq!(p.load, 0x4840_0000 + 0x80000);
    }

    #[test]
    fn payload_staged_in_place_is_not_copied() {
        let hdr = parse_image_header(&header(0, 40 * MIB, 0)).unwrap();
        let mut i = inputs(30 * MIB);
        i.staged_payload.base = 0x4820_0000;
        let p = plan_linux(&i, &hdr).unwrap();
        assert_eq!((p.load, p.copy_len, p.dtb), (0x4820_0000, 0, 0x4820_0000 + 40 * MIB));
        i.staged_payload.base = 0x4840_0000;
        assert_eq!(
            plan_linux(&i, &hdr).unwrap().copy_len,
            30 * MIB,
            "staged elsewhere: moved"
        );
        let mut i = inputs(100 * 1024);
        i.staged_payload.base = 0x4820_0000;
        assert_eq!(plan_raw(&i).unwrap().copy_len, 0);
    }

    /// The shim's in-place staging (cellboot_abi::staging) and this plan
    /// agree on where the kernel runs, for the real kernel and the demo cell.
    #[test]
    fn shim_staging_matches_the_loader_plan() {
        use cellboot_abi::staging::{KernelRun, StageSizes, plan};
        use cellboot_abi::{MemRegion, SystemConfig, boot_kind, mem};
        let img = fetched_cloud_kernel("image");
        let mut c = SystemConfig::empty().cells[0];
        c.num_mem = 1;
        c.mem[0] = MemRegion {
            phys: 0x4800_0000,
            virt: 0x4800_0000,
            size: 0x1800_0000,
            flags: mem::RAM,
        };
        c.loader_ipa = 0x4800_0000;
        c.boot.kind = boot_kind::LINUX;
        c.boot.overlay_first = cellboot_abi::NO_PAYLOAD;
        let n = img.len() as u64;
        let sizes = StageSizes {
            loader: 0x1_0138,
            board_dtb: 0x2000,
            initrd: Some(0xf_1a6e),
            kernel: Some(n),
            kernel_run: KernelRun::of(boot_kind::LINUX, &img, n),
            ..StageSizes::default()
        };
        let st = plan(&c, &sizes).unwrap();
        let r = |s: cellboot_abi::Staged| Range::new(s.ipa, s.size);
        let i = Inputs {
            ram: Range::new(0x4800_0000, 0x1800_0000),
            loader: Range::new(0x4800_0000, 0x1_0138 + 33 * 1024),
            staged_payload: r(st.kernel),
            staged_dtb: r(st.board_dtb),
            initrd: r(st.initrd),
            staged_overlays: Range::default(),
            scratch_len: 2 * MIB + 4096,
        };
        let p = plan_linux(&i, &parse_image_header(&img).unwrap()).unwrap();
        assert_eq!((p.load, p.copy_len), (st.kernel.ipa, 0));
    }

    #[test]
    fn header_errors() {
        assert_eq!(parse_image_header(&[0; 63]), Err(LayoutError::BadMagic));
        assert_eq!(parse_image_header(&[0; 64]), Err(LayoutError::BadMagic));
        assert_eq!(parse_image_header(&header(0, MIB, 1)), Err(LayoutError::BigEndian));
        let old = parse_image_header(&header(0, 0, 0)).unwrap();
        assert_eq!((old.text_offset, old.image_size), (0x80000, 64));
    }

    #[test]
    fn overlaps_are_refused() {
        let hdr = parse_image_header(&header(0, 360 * MIB, 0)).unwrap();
        assert_eq!(
            plan_linux(&inputs(30 * MIB), &hdr),
            Err(LayoutError::Overlap("payload destination overlaps the initrd"))
        );
        let hdr = parse_image_header(&header(0, 400 * MIB, 0)).unwrap();
        assert_eq!(plan_linux(&inputs(30 * MIB), &hdr), Err(LayoutError::PayloadDoesNotFit));
        let mut i = inputs(MIB);
        i.loader = Range::new(0x4800_0000, 3 * MIB);
        assert!(matches!(plan_raw(&i), Err(LayoutError::Overlap(_))));
    }

    #[test]
    fn overlay_scratch_follows_the_dtb_and_avoids_staged_inputs() {
        let hdr = parse_image_header(&header(0, 40 * MIB, 0)).unwrap();
        let mut i = inputs(30 * MIB);
        i.staged_overlays = Range::new(i.staged_payload.base - 64 * 1024, 64 * 1024);
        i.scratch_len = 2 * MIB + 80 * 1024;
        let p = plan_linux(&i, &hdr).unwrap();
        assert_eq!(p.dtb, 0x4820_0000 + 40 * MIB);
        assert_eq!(p.scratch, p.dtb + 2 * MIB);
        // no scratch asked for: none planned (and nothing else moves)
        i.scratch_len = 0;
        let q = plan_linux(&i, &hdr).unwrap();
        assert_eq!((q.scratch, q.dtb), (0, p.dtb));
        // staged overlays where the scratch would go: refused, not trampled
        i.scratch_len = 2 * MIB;
        i.staged_overlays = Range::new(p.scratch + MIB, 4096);
        assert_eq!(
            plan_linux(&i, &hdr),
            Err(LayoutError::Overlap("overlay scratch overlaps the staged overlays"))
        );
        // ... or where the DTB goes
        i.staged_overlays = Range::new(p.dtb + 4096, 4096);
        assert_eq!(
            plan_linux(&i, &hdr),
            Err(LayoutError::Overlap("DTB destination overlaps the staged overlays"))
        );
        // scratch past the end of RAM
        i.staged_overlays = Range::default();
        i.scratch_len = 400 * MIB;
        assert_eq!(plan_linux(&i, &hdr), Err(LayoutError::ScratchDoesNotFit));
    }

    #[test]
    fn raw_placement() {
        let p = plan_raw(&inputs(100 * 1024)).unwrap();
        assert_eq!((p.load, p.entry, p.dtb), (0x4820_0000, 0x4820_0000, 0x4840_0000));
    }

    /// A file of the cloud kernel package `cargo xtask fetch` resolved
    /// (its manifest names it: the version changes with security updates).
    fn fetched_cloud_kernel(role: &str) -> std::vec::Vec<u8> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let manifest = std::format!("{root}/build/guest/manifest.json");
        let text =
            std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{manifest}: {e}: run `cargo xtask fetch`"));
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        let rel = m["cloud"]["files"][role]
            .as_str()
            .unwrap_or_else(|| panic!("{manifest}: no cloud.files.{role}"));
        let path = std::format!("{root}/{rel}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}: run `cargo xtask fetch`"))
    }

    #[test]
    fn real_debian_image() {
        let img = fetched_cloud_kernel("vmlinuz");
        let hdr = parse_image_header(&img).unwrap();
        assert_eq!(hdr.text_offset, 0);
        assert!(hdr.image_size > img.len() as u64, "image_size covers BSS");
        assert_eq!(hdr.flags & 0b1000, 0b1000, "modern kernels may sit anywhere");
        let p = plan_linux(&inputs(img.len() as u64), &hdr).unwrap();
        assert_eq!(p.load % SZ_2M, 0);
        assert!(p.dtb >= p.load + hdr.image_size);
    }
}

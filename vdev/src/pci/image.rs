//! The bus's published config-space image: what the shim's EL2 fast path
//! (hypervisor-shim/src/arch/aarch64/ecam_fast.s) answers plain config reads
//! from without taking a lock or entering Rust.
//!
//! The bus keeps an attached image equal to its model after every change it
//! makes (device added, config write, interrupt latch, reset), so the fast
//! path never needs to know what changes config space. Each dword is stored
//! atomically: a reader on another CPU of the cell sees the dword from before
//! or after a change, as if its read had been ordered before or after it,
//! which is all a config read promises. Readers hold no lock, so the image
//! carries only what the cell may read anyway.
//!
//! The fast path takes only the common case and leaves the rest to the full
//! path: [`EcamImage::read`] is its exact description in Rust (the assembly
//! mirrors it step for step), and the host tests check that whatever it
//! answers equals [`VirtualPciBus::ecam_read`].

use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::access::BUS0_SPAN;
use super::VirtualPciBus;

/// Config-space bytes imaged per device: the type 0 header and the vendor
/// capability (0x40..0x60). The model reads every register from here to the
/// end of the 4 KiB extended space as zero.
pub const IMAGE_BYTES: u16 = 0x80;
const DWORDS: usize = IMAGE_BYTES as usize / 4;
/// Device numbers on bus 0.
const DEVICE_NUMBERS: usize = 32;

/// One cell's published image. `#[repr(C)]`: the assembly indexes it with
/// the offsets below.
#[repr(C)]
pub struct EcamImage {
    /// `[device][dword]`: function 0's config dwords 0x00..[`IMAGE_BYTES`].
    dwords: [[AtomicU32; DWORDS]; DEVICE_NUMBERS],
    /// Bit `d`: device `d` (function 0) is present.
    present: AtomicU32,
    _pad: u32,
    /// The cell's ECAM window: IPA base and the bytes the image answers for
    /// (bus 0 at most); 0 while no bus is attached, so nothing is answered.
    base: AtomicU64,
    span: AtomicU64,
}

impl EcamImage {
    pub const DWORDS_OFFSET: usize = offset_of!(EcamImage, dwords);
    /// Bytes per device row in `dwords` (a power of two: a shift in assembly).
    pub const ROW_BYTES: usize = DWORDS * 4;
    pub const PRESENT_OFFSET: usize = offset_of!(EcamImage, present);
    pub const BASE_OFFSET: usize = offset_of!(EcamImage, base);
    pub const SPAN_OFFSET: usize = offset_of!(EcamImage, span);

    /// An image that answers nothing (all zero, so it can live in BSS).
    pub const fn new() -> Self {
        Self {
            dwords: [const { [const { AtomicU32::new(0) }; DWORDS] }; DEVICE_NUMBERS],
            present: AtomicU32::new(0),
            _pad: 0,
            base: AtomicU64::new(0),
            span: AtomicU64::new(0),
        }
    }

    /// What the fast path answers for a `size`-byte, zero-extending read at
    /// IPA `ipa`, or `None` when it leaves the access to the full path: not in
    /// the window, beyond bus 0, a function other than 0, an absent device, or
    /// not a naturally aligned 1-, 2- or 4-byte access.
    pub fn read(&self, ipa: u64, size: u8) -> Option<u64> {
        let off = ipa.wrapping_sub(self.base.load(Ordering::Relaxed));
        if off >= self.span.load(Ordering::Relaxed) || off & 0x7000 != 0 {
            return None;
        }
        let device = (off >> 15) & 31;
        if self.present.load(Ordering::Acquire) >> device & 1 == 0 {
            return None;
        }
        if !matches!(size, 1 | 2 | 4) || off % u64::from(size) != 0 {
            return None;
        }
        let reg = off & 0xfff;
        if reg >= u64::from(IMAGE_BYTES) {
            return Some(0);
        }
        let dword = self.dwords[device as usize][(reg / 4) as usize].load(Ordering::Relaxed);
        let v = u64::from(dword >> ((reg % 4) * 8));
        Some(v & ((1u64 << (8 * u32::from(size))) - 1))
    }
}

impl Default for EcamImage {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualPciBus {
    /// Attaches `image` and publishes the whole bus into it; from now on
    /// every change the bus makes is published too. A cell's image is
    /// attached once per bus (a re-created cell attaches its new bus).
    pub fn attach_image(&mut self, image: &'static EcamImage) {
        self.image = Some(image);
        // Hide everything while the rows are rewritten.
        image.span.store(0, Ordering::Relaxed);
        image.present.store(0, Ordering::Release);
        for device in 0..DEVICE_NUMBERS as u8 {
            self.publish(device);
        }
        image.base.store(self.cfg.ecam_base, Ordering::Relaxed);
        image.span.store(self.cfg.ecam_size.min(BUS0_SPAN), Ordering::Release);
    }

    /// Rewrites device `device`'s row and presence bit from the model.
    pub(super) fn publish(&self, device: u8) {
        let Some(image) = self.image else { return };
        let Some(row) = image.dwords.get(usize::from(device)) else { return };
        let bit = 1u32 << (device % 32);
        match self.find(device) {
            Some(d) => {
                for (i, dw) in row.iter().enumerate() {
                    dw.store(d.cfg_read_dword(i as u16 * 4), Ordering::Relaxed);
                }
                image.present.fetch_or(bit, Ordering::Release);
            }
            None => {
                image.present.fetch_and(!bit, Ordering::Release);
            }
        }
    }
}

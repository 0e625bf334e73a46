//! The bus's published config-space image: the pages a cell's virtual ECAM
//! window maps read-only in its stage 2, so config reads never trap.
//!
//! Each present device's function 0 has a 4 KiB page holding its whole
//! config space as the model reads it; every absent function of bus 0 maps
//! one shared page of all-ones (a master abort reads all-ones). Config reads
//! have no side effects, which is what makes answering them from memory
//! sound. Writes still trap (the pages are read-only to the cell) and go to
//! the model, which republishes before the shim returns to the guest.
//!
//! The bus keeps an attached image equal to its model after every change it
//! makes (device added, config write, interrupt latch, reset), so nothing
//! outside it needs to know what changes config space. Each dword is stored
//! atomically: a reader on another CPU of the cell sees the dword from before
//! or after a change, as if its read had been ordered before or after it,
//! which is all a config read promises (a wider read is as if split into
//! dword cycles). Readers take no lock, so the pages carry only what the
//! cell may read anyway: its own devices' config space.
//!
//! The cell may read with its caches off while the shim writes through its
//! cache: after every change the bus calls the `clean` function it was
//! attached with over the page (the shim cleans it to the point of
//! coherency; docs/caches.md).

use core::sync::atomic::{AtomicU32, Ordering};

use super::access::BUS0_SPAN;
use super::{MAX_DEVICES, VirtualPciBus};

/// Makes `len` bytes at `addr` that the bus just wrote visible to a cell
/// reading with its caches off (the shim: clean to the point of coherency).
pub type CleanFn = fn(addr: u64, len: u64);

/// One function's config space, as mapped into the cell.
pub const PAGE_BYTES: usize = 4096;
const PAGE_DWORDS: usize = PAGE_BYTES / 4;
/// Function pages on bus 0 (32 devices x 8 functions): what the shim maps.
pub const BUS0_PAGES: usize = (BUS0_SPAN / PAGE_BYTES as u64) as usize;

/// A page-aligned config space page, written only by the bus.
#[repr(C, align(4096))]
pub struct ConfigPage([AtomicU32; PAGE_DWORDS]);

impl ConfigPage {
    const fn new() -> Self {
        Self([const { AtomicU32::new(0) }; PAGE_DWORDS])
    }

    fn addr(&self) -> u64 {
        core::ptr::from_ref(self) as u64
    }

    /// Stores `value(dword index)` into every dword that differs; whether
    /// any did.
    fn fill(&self, value: impl Fn(usize) -> u32) -> bool {
        let mut changed = false;
        for (i, dw) in self.0.iter().enumerate() {
            let v = value(i);
            if dw.load(Ordering::Relaxed) != v {
                dw.store(v, Ordering::Relaxed);
                changed = true;
            }
        }
        changed
    }

    /// Byte `i` as a reader of the mapped page sees it (little endian).
    fn byte(&self, i: usize) -> u8 {
        (self.0[i / 4].load(Ordering::Relaxed) >> (i % 4 * 8)) as u8
    }
}

/// One cell's published image (zero until attached, so it can live in BSS).
#[repr(C)]
pub struct EcamImage {
    /// Function 0 of the device in the bus's slot of the same index.
    pages: [ConfigPage; MAX_DEVICES],
    /// What every absent function reads.
    absent: ConfigPage,
    /// The management function's (on a granted cell's bus).
    mgmt: ConfigPage,
}

impl EcamImage {
    pub const fn new() -> Self {
        Self {
            pages: [const { ConfigPage::new() }; MAX_DEVICES],
            absent: ConfigPage::new(),
            mgmt: ConfigPage::new(),
        }
    }
}

impl Default for EcamImage {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualPciBus {
    /// Attaches `image` and publishes the whole bus into it; from now on
    /// every change the bus makes is published too, and `clean(addr, len)`
    /// called over each page it changed. Attach before the pages are mapped
    /// (a cell's bus is attached once, when the cell is built).
    pub fn attach_image(&mut self, image: &'static EcamImage, clean: CleanFn) {
        self.image = Some((image, clean));
        image.absent.fill(|_| u32::MAX);
        clean(image.absent.addr(), PAGE_BYTES as u64);
        for slot in 0..MAX_DEVICES {
            self.publish_slot(slot);
        }
        self.publish_mgmt();
    }

    /// The address of the image page that bus 0's function page `n` (ECAM
    /// offset `n << 12`) reads from, or `None` when no image is attached or
    /// `n` is beyond bus 0.
    pub fn image_page(&self, n: usize) -> Option<u64> {
        let (image, _) = self.image?;
        if n >= BUS0_PAGES {
            return None;
        }
        let (device, function) = ((n >> 3) as u8, n & 7);
        let slot = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|d| d.device == device));
        Some(match slot {
            Some(i) if function == 0 => image.pages[i].addr(),
            None if function == 0 && self.mgmt_at_device(device).is_some() => image.mgmt.addr(),
            _ => image.absent.addr(),
        })
    }

    /// What a `size`-byte load at ECAM `offset` of bus 0 reads from the
    /// mapped image (any size and alignment inside one page, as memory
    /// answers it); `None` where nothing is mapped. For tests: the shim's
    /// guests read the pages themselves.
    pub fn image_load(&self, offset: u64, size: u8) -> Option<u64> {
        let (image, _) = self.image?;
        let (n, at) = ((offset >> 12) as usize, (offset & 0xfff) as usize);
        if offset >= BUS0_SPAN || !matches!(size, 1..=8) || at + usize::from(size) > PAGE_BYTES {
            return None;
        }
        let addr = self.image_page(n)?;
        let page = [&image.absent, &image.mgmt]
            .into_iter()
            .chain(&image.pages)
            .find(|p| p.addr() == addr)?;
        Some((0..usize::from(size)).fold(0u64, |v, k| v | u64::from(page.byte(at + k)) << (8 * k)))
    }

    /// Rewrites device `device`'s page from the model.
    pub(super) fn publish(&self, device: u8) {
        if self.mgmt_at_device(device).is_some() {
            self.publish_mgmt();
        }
        if let Some(slot) = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|d| d.device == device))
        {
            self.publish_slot(slot);
        }
    }

    fn publish_slot(&self, slot: usize) {
        let (Some((image, clean)), Some(Some(d))) = (self.image, self.slots.get(slot)) else {
            return;
        };
        let page = &image.pages[slot];
        if page.fill(|k| d.cfg_read_dword(k as u16 * 4)) {
            clean(page.addr(), PAGE_BYTES as u64);
        }
    }

    fn publish_mgmt(&self) {
        let (Some((image, clean)), Some(m)) = (self.image, self.mgmt.as_ref()) else {
            return;
        };
        if image.mgmt.fill(|k| m.cfg_read_dword(k as u16 * 4)) {
            clean(image.mgmt.addr(), PAGE_BYTES as u64);
        }
    }
}

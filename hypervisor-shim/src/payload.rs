//! The image as loaded: shim, then (at the first 4 KiB boundary past `_end`)
//! the `PayloadTable` and the payloads it lists. Every entry is bounds-checked
//! against the image size the header carries before it is handed out.

// The image header and payload table are untrusted input: checked arithmetic.
#![deny(clippy::arithmetic_side_effects)]

use cellboot_abi::text;
use cellboot_abi::zerocopy::FromBytes;
use cellboot_abi::{PAYLOAD_ALIGN, PAYLOAD_MAGIC, PayloadEntry, PayloadTable, bytes_field};

/// Why a cell could not be built or staged: what, and the address or
/// value it concerns.
pub struct SetupError(pub &'static str, pub u64);

pub struct Payloads {
    table: &'static PayloadTable,
    /// Bytes from the table's start to the end of the image.
    span: u64,
    base: u64,
}

/// Why the payloads cannot be used; each names what is wrong.
pub enum PayloadError {
    NoTable {
        at: u64,
    },
    ImageTooSmall {
        image_size: u64,
        needed: u64,
    },
    BadEntry {
        index: usize,
        name: [u8; 24],
        offset: u64,
        size: u64,
        span: u64,
    },
}

impl text::Render for PayloadError {
    fn render(&self, s: &mut dyn text::Sink) {
        match *self {
            PayloadError::NoTable { at } => text::write(
                s,
                "no payload table at {:#x} (magic \"CBPAYLD\" missing): boot the assembled cellboot.img, not the bare shim",
                &cellboot_abi::args!(at),
            ),
            PayloadError::ImageTooSmall { image_size, needed } => text::write(
                s,
                "image header says image_size {:#x}, the payload table alone needs {:#x}",
                &cellboot_abi::args!(image_size, needed),
            ),
            PayloadError::BadEntry {
                index,
                name,
                offset,
                size,
                span,
            } => text::write(
                s,
                "payload {} \"{}\" at +{:#x} size {:#x} is unaligned or beyond the image (table covers {:#x})",
                &cellboot_abi::args!(index, bytes_field(&name), offset, size, span),
            ),
        }
    }
}
cellboot_abi::render_arg!(PayloadError);

impl Payloads {
    /// Finds and checks the table. `image_start`/`image_end` are the shim's
    /// link bounds, `image_size` the header's (patched) size.
    pub fn locate(image_start: u64, image_end: u64, image_size: u64) -> Result<Self, PayloadError> {
        let at = image_end.next_multiple_of(PAYLOAD_ALIGN);
        let table_len = core::mem::size_of::<PayloadTable>() as u64;
        // The link script puts `_end` above `_start`: no underflow.
        let needed = at.saturating_sub(image_start).saturating_add(table_len);
        if image_size < needed {
            // Without a table the magic read below could run off the image;
            // still try it, to tell "bare shim" from "bad header".
            // SAFETY: `at` is the page right after the shim's BSS inside RAM
            // the loader gave us (the image was loaded there or beyond).
            let magic = unsafe { core::ptr::read_volatile(at as *const [u8; 8]) };
            if magic != PAYLOAD_MAGIC {
                return Err(PayloadError::NoTable { at });
            }
            return Err(PayloadError::ImageTooSmall { image_size, needed });
        }
        // SAFETY: [at, at + table_len) lies inside the loaded image (checked
        // against image_size above); the image is never written after boot.
        let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, table_len as usize) };
        let table = PayloadTable::ref_from_bytes(bytes).map_err(|_| PayloadError::NoTable { at })?;
        if table.magic != PAYLOAD_MAGIC {
            return Err(PayloadError::NoTable { at });
        }
        // image_size >= needed >= at - image_start (checked above).
        let span = image_size.saturating_sub(at.saturating_sub(image_start));
        for (index, e) in table.entries().iter().enumerate() {
            let end = e.offset.checked_add(e.size);
            if e.offset % PAYLOAD_ALIGN != 0 || end.is_none_or(|end| end > span) || e.offset < table_len {
                return Err(PayloadError::BadEntry {
                    index,
                    name: e.name,
                    offset: e.offset,
                    size: e.size,
                    span,
                });
            }
        }
        Ok(Payloads { table, span, base: at })
    }

    pub fn get(&self, index: u32) -> Option<(&'static PayloadEntry, &'static [u8])> {
        let e = self.table.entries().get(index as usize)?;
        Some((e, self.bytes(e)))
    }

    pub fn find(&self, kind: u32) -> Option<(usize, &'static [u8])> {
        let (i, e) = self.table.find(kind)?;
        Some((i, self.bytes(e)))
    }

    fn bytes(&self, e: &PayloadEntry) -> &'static [u8] {
        debug_assert!(e.offset.checked_add(e.size).is_some_and(|end| end <= self.span));
        // SAFETY: every entry was checked in `locate` to lie inside the image,
        // which stays in shim memory (no cell maps it) and is never written.
        // (offset + size <= span, so base + offset is inside the image.)
        unsafe { core::slice::from_raw_parts(self.base.saturating_add(e.offset) as *const u8, e.size as usize) }
    }
}

//! Sequential writer (libfdt's fdt_sw.c): builds a blob front to back.
//!
//! Like libfdt, the writer keeps its state in the buffer's header: magic is
//! FDT_SW_MAGIC until `finish`, `last_comp_version` holds the flags,
//! `off_dt_strings` is 0 while reservations are being added and equals
//! totalsize once the structure block is open. The strings block grows down
//! from the end of the buffer; `finish` moves it after the structure block.
//! A failed call writes nothing (libfdt may leave a name's bytes behind in
//! free space).

use crate::header::*;
use crate::ro::Fdt;
use crate::rw::FdtMut;
use crate::rw_props::{c_name, find_string};
use crate::{Error, Result};

/// `FDT_CREATE_FLAG_NO_NAME_DEDUP`: store every property name anew instead
/// of searching the strings written so far (faster, bigger).
pub const CREATE_FLAG_NO_NAME_DEDUP: u32 = 0x1;
const CREATE_FLAGS_ALL: u32 = CREATE_FLAG_NO_NAME_DEDUP;

/// Header size the writer reserves: 40 rounded up to a reservation entry.
const SW_HDR: usize = 48;

/// A blob under construction in a caller buffer (libfdt's `fdt_sw`).
///
/// ```
/// let mut buf = vec![0u8; 256]; // heap: 8-byte aligned, as blobs must be
/// let mut w = cellfdt::Writer::create(&mut buf)?;
/// w.finish_reservemap()?;
/// w.begin_node("")?;
/// w.property_u32("#address-cells", 1)?;
/// w.end_node()?;
/// let size = w.finish()?;
/// let fdt = cellfdt::Fdt::new(&buf[..size])?;
/// assert_eq!(fdt.address_cells(0)?, 1);
/// # Ok::<(), cellfdt::Error>(())
/// ```
pub struct Writer<'a> {
    buf: &'a mut [u8],
}

impl<'a> Writer<'a> {
    /// `fdt_create`: zeroes the buffer and starts a blob in it.
    pub fn create(buf: &'a mut [u8]) -> Result<Writer<'a>> {
        Self::create_with_flags(buf, 0)
    }

    /// `fdt_create_with_flags`. NoSpace below 48 bytes; BadFlags for
    /// unknown flags.
    pub fn create_with_flags(buf: &'a mut [u8], flags: u32) -> Result<Writer<'a>> {
        let size = buf.len().min(INT_MAX);
        if size < SW_HDR {
            return Err(Error::NoSpace);
        }
        if flags & !CREATE_FLAGS_ALL != 0 {
            return Err(Error::BadFlags);
        }
        buf[..size].fill(0);
        put32(buf, H_MAGIC, FDT_SW_MAGIC);
        put32(buf, H_VERSION, LAST_SUPPORTED_VERSION);
        put32(buf, H_LAST_COMP_VERSION, flags);
        put32(buf, H_TOTALSIZE, size as u32);
        put32(buf, H_OFF_MEM_RSVMAP, SW_HDR as u32);
        put32(buf, H_OFF_DT_STRUCT, SW_HDR as u32);
        put32(buf, H_OFF_DT_STRINGS, 0);
        Ok(Writer { buf })
    }

    fn get(&self, field: usize) -> usize {
        hdr(self.buf, field)
    }

    fn set(&mut self, field: usize, v: usize) {
        put32(self.buf, field, v as u32);
    }

    fn probe(&self) -> Result<()> {
        match be32(self.buf, H_MAGIC) {
            FDT_SW_MAGIC => Ok(()),
            FDT_MAGIC => Err(Error::BadState),
            _ => Err(Error::BadMagic),
        }
    }

    /// Still adding memory reservations?
    fn probe_memrsv(&self) -> Result<()> {
        self.probe()?;
        if self.get(H_OFF_DT_STRINGS) != 0 {
            return Err(Error::BadState);
        }
        Ok(())
    }

    /// Writing the structure block?
    fn probe_struct(&self) -> Result<()> {
        self.probe()?;
        if self.get(H_OFF_DT_STRINGS) != self.get(H_TOTALSIZE) {
            return Err(Error::BadState);
        }
        Ok(())
    }

    /// Free bytes between the structure block's end and the strings.
    fn space_left(&self) -> usize {
        let used = self.get(H_OFF_DT_STRUCT) + self.get(H_SIZE_DT_STRUCT) + self.get(H_SIZE_DT_STRINGS);
        self.get(H_TOTALSIZE).saturating_sub(used)
    }

    /// `fdt_grab_space_`: extends the structure block by `len`; returns the
    /// absolute offset of the new bytes.
    fn grab_space(&mut self, len: usize) -> Result<usize> {
        if len > self.space_left() {
            return Err(Error::NoSpace);
        }
        let size = self.get(H_SIZE_DT_STRUCT);
        self.set(H_SIZE_DT_STRUCT, size + len);
        Ok(self.get(H_OFF_DT_STRUCT) + size)
    }

    /// `fdt_add_reservemap_entry`.
    pub fn add_reservemap_entry(&mut self, addr: u64, size: u64) -> Result<()> {
        self.probe_memrsv()?;
        let off = self.get(H_OFF_DT_STRUCT);
        if off + RSV_ENTRY > self.get(H_TOTALSIZE) {
            return Err(Error::NoSpace);
        }
        put64(self.buf, off, addr);
        put64(self.buf, off + 8, size);
        self.set(H_OFF_DT_STRUCT, off + RSV_ENTRY);
        Ok(())
    }

    /// `fdt_finish_reservemap`: writes the terminator and opens the
    /// structure block.
    pub fn finish_reservemap(&mut self) -> Result<()> {
        self.add_reservemap_entry(0, 0)?;
        let total = self.get(H_TOTALSIZE);
        self.set(H_OFF_DT_STRINGS, total);
        Ok(())
    }

    /// `fdt_begin_node`.
    pub fn begin_node(&mut self, name: &str) -> Result<()> {
        self.probe_struct()?;
        let name = c_name(name);
        let at = self.grab_space(TAGSIZE + tag_align(name.len() + 1))?;
        put32(self.buf, at, FDT_BEGIN_NODE);
        self.buf[at + TAGSIZE..at + TAGSIZE + name.len()].copy_from_slice(name);
        self.buf[at + TAGSIZE + name.len()] = 0;
        Ok(())
    }

    /// `fdt_end_node`.
    pub fn end_node(&mut self) -> Result<()> {
        self.probe_struct()?;
        let at = self.grab_space(TAGSIZE)?;
        put32(self.buf, at, FDT_END_NODE);
        Ok(())
    }

    /// `fdt_property_placeholder`: adds a property of `len` bytes and
    /// returns its value to fill.
    pub fn property_placeholder(&mut self, name: &str, len: usize) -> Result<&mut [u8]> {
        self.probe_struct()?;
        let name = c_name(name);
        let total = self.get(H_TOTALSIZE);
        let strtab_size = self.get(H_SIZE_DT_STRINGS);
        // Names are deduplicated against the strings written so far, which
        // sit at the top of the buffer, newest lowest.
        let dedup = self.get(H_LAST_COMP_VERSION) as u32 & CREATE_FLAG_NO_NAME_DEDUP == 0;
        let found = if dedup {
            find_string(&self.buf[total - strtab_size..total], name)
        } else {
            None
        };
        let string_len = if found.is_some() { 0 } else { name.len() + 1 };
        let proplen = PROP_HDR + tag_align(len);
        if string_len.checked_add(proplen).is_none_or(|n| n > self.space_left()) {
            return Err(Error::NoSpace);
        }
        // Name offsets are negative (from the end) until `finish`.
        let nameoff = match found {
            Some(p) => p.wrapping_sub(strtab_size),
            None => {
                let new_size = strtab_size + string_len;
                let at = total - new_size;
                self.buf[at..at + name.len()].copy_from_slice(name);
                self.buf[at + name.len()] = 0;
                self.set(H_SIZE_DT_STRINGS, new_size);
                new_size.wrapping_neg()
            }
        };
        let at = self.grab_space(proplen)?;
        put32(self.buf, at, FDT_PROP);
        put32(self.buf, at + 4, len as u32);
        put32(self.buf, at + 8, nameoff as u32);
        Ok(&mut self.buf[at + PROP_HDR..at + PROP_HDR + len])
    }

    /// `fdt_property`.
    pub fn property(&mut self, name: &str, val: &[u8]) -> Result<()> {
        self.property_placeholder(name, val.len())?.copy_from_slice(val);
        Ok(())
    }

    /// `fdt_property_u32`.
    pub fn property_u32(&mut self, name: &str, v: u32) -> Result<()> {
        self.property(name, &v.to_be_bytes())
    }

    /// `fdt_property_u64`.
    pub fn property_u64(&mut self, name: &str, v: u64) -> Result<()> {
        self.property(name, &v.to_be_bytes())
    }

    /// `fdt_property_string`: the text plus a NUL.
    pub fn property_str(&mut self, name: &str, v: &str) -> Result<()> {
        let dst = self.property_placeholder(name, v.len() + 1)?;
        dst[..v.len()].copy_from_slice(v.as_bytes());
        dst[v.len()] = 0;
        Ok(())
    }

    /// A list of big-endian cells.
    pub fn property_cells(&mut self, name: &str, cells: &[u32]) -> Result<()> {
        let dst = self.property_placeholder(name, cells.len() * 4)?;
        for (d, c) in dst.chunks_exact_mut(4).zip(cells) {
            d.copy_from_slice(&c.to_be_bytes());
        }
        Ok(())
    }

    /// `fdt_finish`: returns the blob's totalsize.
    pub fn finish(self) -> Result<usize> {
        self.finish_buf().map(|(_, n)| n)
    }

    /// `fdt_finish`, handing the buffer back for further use.
    pub fn finish_buf(mut self) -> Result<(&'a mut [u8], usize)> {
        self.probe_struct()?;
        let end = self.grab_space(TAGSIZE)?;
        put32(self.buf, end, FDT_END);

        let total = self.get(H_TOTALSIZE);
        let strings_size = self.get(H_SIZE_DT_STRINGS);
        let old = total - strings_size;
        let new = self.get(H_OFF_DT_STRUCT) + self.get(H_SIZE_DT_STRUCT);
        self.buf.copy_within(old..total, new);
        self.set(H_OFF_DT_STRINGS, new);

        // Turn the negative name offsets into offsets from the new start.
        let off_struct = self.get(H_OFF_DT_STRUCT);
        let mut off = 0;
        loop {
            let (tag, next) = Fdt::view(&self.buf[..total]).next_tag(off);
            if tag == FDT_END {
                next?;
                break;
            }
            if tag == FDT_PROP {
                let at = off_struct + off + 8;
                let nameoff = be32(self.buf, at).wrapping_add(strings_size as u32);
                put32(self.buf, at, nameoff);
            }
            off = next?;
        }

        let size = new + strings_size;
        self.set(H_TOTALSIZE, size);
        put32(self.buf, H_LAST_COMP_VERSION, LAST_COMPATIBLE_VERSION);
        put32(self.buf, H_MAGIC, FDT_MAGIC);
        Ok((self.buf, size))
    }
}

impl<'a> FdtMut<'a> {
    /// `fdt_create_empty_tree`: a blob with just an unnamed root, opened
    /// into the whole buffer.
    pub fn create_empty_tree(buf: &'a mut [u8]) -> Result<FdtMut<'a>> {
        let mut w = Writer::create(buf)?;
        w.finish_reservemap()?;
        w.begin_node("")?;
        w.end_node()?;
        let (buf, _) = w.finish_buf()?;
        FdtMut::open_in_place(buf)
    }
}

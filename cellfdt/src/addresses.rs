//! `#address-cells` / `#size-cells` and decoding of `reg` / `ranges`.

use crate::ro::Fdt;
use crate::{Error, Result};

/// libfdt's `FDT_MAX_NCELLS`.
pub const MAX_NCELLS: u32 = 4;

/// Reads `cells` big-endian cells (at most 2) as one number.
fn read_cells(b: &[u8], cells: u32) -> u64 {
    b.chunks_exact(4).take(cells as usize).fold(0u64, |acc, c| {
        (acc << 32) | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    })
}

/// Iterator over the (address, size) pairs of a `reg` property.
#[derive(Clone, Debug)]
pub struct RegIter<'a> {
    data: &'a [u8],
    addr_cells: u32,
    size_cells: u32,
}

impl<'a> RegIter<'a> {
    fn new(data: &'a [u8], addr_cells: u32, size_cells: u32) -> Result<Self> {
        if addr_cells > 2 || size_cells > 2 {
            return Err(Error::BadNCells);
        }
        let entry = ((addr_cells + size_cells) * 4) as usize;
        if entry == 0 || !data.len().is_multiple_of(entry) {
            return Err(Error::BadValue);
        }
        Ok(RegIter {
            data,
            addr_cells,
            size_cells,
        })
    }
}

impl Iterator for RegIter<'_> {
    type Item = (u64, u64);
    fn next(&mut self) -> Option<(u64, u64)> {
        let a = (self.addr_cells * 4) as usize;
        let s = (self.size_cells * 4) as usize;
        let entry = self.data.get(..a + s)?;
        self.data = &self.data[a + s..];
        Some((
            read_cells(&entry[..a], self.addr_cells),
            read_cells(&entry[a..], self.size_cells),
        ))
    }
}

/// Iterator over the (child address, parent address, size) triples of `ranges`.
#[derive(Clone, Debug)]
pub struct RangesIter<'a> {
    data: &'a [u8],
    child_cells: u32,
    parent_cells: u32,
    size_cells: u32,
}

impl Iterator for RangesIter<'_> {
    type Item = (u64, u64, u64);
    fn next(&mut self) -> Option<(u64, u64, u64)> {
        let c = (self.child_cells * 4) as usize;
        let p = (self.parent_cells * 4) as usize;
        let s = (self.size_cells * 4) as usize;
        let e = self.data.get(..c + p + s)?;
        self.data = &self.data[c + p + s..];
        Some((
            read_cells(&e[..c], self.child_cells),
            read_cells(&e[c..c + p], self.parent_cells),
            read_cells(&e[c + p..], self.size_cells),
        ))
    }
}

impl<'a> Fdt<'a> {
    /// libfdt's `fdt_cells`: a 4-byte value <= 4, else BadNCells.
    fn cells(&self, node: usize, name: &[u8]) -> Result<u32> {
        match *self.getprop_bytes(node, name)? {
            [a, b, c, d] => match u32::from_be_bytes([a, b, c, d]) {
                v if v > MAX_NCELLS => Err(Error::BadNCells),
                v => Ok(v),
            },
            _ => Err(Error::BadNCells),
        }
    }

    /// `fdt_address_cells`: 2 when absent; BadNCells when 0, > 4 or not 4 bytes.
    pub fn address_cells(&self, node: usize) -> Result<u32> {
        match self.cells(node, b"#address-cells") {
            Ok(0) => Err(Error::BadNCells),
            Err(Error::NotFound) => Ok(2),
            r => r,
        }
    }

    /// `fdt_size_cells`: 1 when absent; BadNCells when > 4 or not 4 bytes.
    pub fn size_cells(&self, node: usize) -> Result<u32> {
        match self.cells(node, b"#size-cells") {
            Err(Error::NotFound) => Ok(1),
            r => r,
        }
    }

    /// The node whose cells describe `node`'s `reg`: its parent (the root
    /// describes itself).
    fn cells_owner(&self, node: usize) -> Result<usize> {
        match self.parent_offset(node) {
            Err(Error::NotFound) => Ok(node),
            r => r,
        }
    }

    /// `reg` decoded with the parent's cell counts. BadNCells when a count
    /// exceeds 2 (does not fit u64); BadValue when the length is not a
    /// whole number of entries.
    pub fn reg(&self, node: usize) -> Result<RegIter<'a>> {
        let owner = self.cells_owner(node)?;
        let ac = self.address_cells(owner)?;
        let sc = self.size_cells(owner)?;
        RegIter::new(self.getprop_bytes(node, b"reg")?, ac, sc)
    }

    /// `ranges` decoded as (child address, parent address, size): child
    /// address and size cells from `node`, parent address cells from its
    /// parent. An empty `ranges` (identity mapping) yields nothing.
    pub fn ranges(&self, node: usize) -> Result<RangesIter<'a>> {
        let owner = self.cells_owner(node)?;
        let cc = self.address_cells(node)?;
        let sc = self.size_cells(node)?;
        let pc = self.address_cells(owner)?;
        if cc > 2 || sc > 2 || pc > 2 {
            return Err(Error::BadNCells);
        }
        let data = self.getprop_bytes(node, b"ranges")?;
        let entry = ((cc + pc + sc) * 4) as usize;
        if !data.len().is_multiple_of(entry) {
            return Err(Error::BadValue);
        }
        Ok(RangesIter {
            data,
            child_cells: cc,
            parent_cells: pc,
            size_cells: sc,
        })
    }
}

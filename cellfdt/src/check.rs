//! `fdt_check_full`: a whole-structure sanity check.

use crate::header::*;
use crate::ro::Fdt;
use crate::{Error, Result};

impl<'a> Fdt<'a> {
    /// `fdt_check_full`: the reservation map is terminated, tags nest
    /// properly, there is exactly one root and it is unnamed, and every
    /// property's name and value can be read.
    pub fn check_full(&self) -> Result<()> {
        self.num_mem_rsv()?;
        let mut depth: u32 = 0;
        let mut expect_end = false;
        let mut next = 0usize;
        loop {
            let off = next;
            let (tag, n) = self.next_tag(off);
            next = n?;
            if expect_end && tag != FDT_END {
                return Err(Error::BadStructure);
            }
            match tag {
                FDT_NOP => {}
                FDT_END => {
                    return if depth != 0 { Err(Error::BadStructure) } else { Ok(()) };
                }
                FDT_BEGIN_NODE => {
                    depth += 1;
                    if depth > INT_MAX as u32 {
                        return Err(Error::BadStructure);
                    }
                    if depth == 1 && !self.name_bytes(off)?.is_empty() {
                        return Err(Error::BadStructure);
                    }
                }
                FDT_END_NODE => {
                    if depth == 0 {
                        return Err(Error::BadStructure);
                    }
                    depth -= 1;
                    if depth == 0 {
                        expect_end = true;
                    }
                }
                FDT_PROP => {
                    self.property_at_bytes(off)?;
                }
                _ => return Err(Error::Internal),
            }
        }
    }
}

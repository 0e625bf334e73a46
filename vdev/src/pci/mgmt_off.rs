//! Without the `mgmt` feature no bus has a management function: this
//! type has no values, so every path that would reach one is dead code the
//! compiler drops.

#[derive(Clone, Copy, Debug)]
pub(crate) enum Mgmt {}

impl Mgmt {
    pub fn reset(&mut self) {
        match *self {}
    }
    pub fn memory_enabled(&self) -> bool {
        match *self {}
    }
    pub fn bar0(&self) -> u32 {
        match *self {}
    }
    pub fn cfg_read_dword(&self, _: u16) -> u32 {
        match *self {}
    }
    pub fn cfg_write_dword(&mut self, _: u16, _: u32, _: u32) {
        match *self {}
    }
}

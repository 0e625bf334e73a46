//! Access to the function's BAR0 registers and to the staging window.

/// The BAR0 register page. Accesses are single aligned loads and stores
/// (the shim decodes each trapped one from its syndrome).
pub trait Regs {
    fn read32(&mut self, off: u64) -> u32;
    fn write32(&mut self, off: u64, value: u32);
    fn read64(&mut self, off: u64) -> u64;
    fn write64(&mut self, off: u64, value: u64);
}

/// The staging window: written, never read back.
pub trait Window {
    fn size(&self) -> u64;
    /// Writes `data` at the start of the window; `data.len()` is at most
    /// [`Window::size`].
    fn fill(&mut self, data: &[u8]);
}

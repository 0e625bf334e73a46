//! An 8-byte aligned, zero-filled byte buffer (libfdt wants 8-aligned blobs).

/// Heap buffer whose byte view starts on an 8-byte boundary.
#[derive(Clone)]
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let storage = vec![0u8; len + 8];
        let start = storage.as_ptr().align_offset(8);
        assert!(start < 8, "cannot align buffer");
        AlignedBuf { storage, start, len }
    }

    /// A copy of `bytes`, followed by `extra` zero bytes.
    pub fn from_slice_padded(bytes: &[u8], extra: usize) -> AlignedBuf {
        let mut b = AlignedBuf::zeroed(bytes.len() + extra);
        b[..bytes.len()].copy_from_slice(bytes);
        b
    }

    /// A copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> AlignedBuf {
        AlignedBuf::from_slice_padded(bytes, 0)
    }
}

impl core::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

impl core::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

impl core::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

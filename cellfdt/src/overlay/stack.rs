//! Ancestor stack for the iterative tree walks of overlay apply.
//!
//! libfdt recurses once per overlay nesting level; a hostile overlay can nest
//! thousands deep and a bare-metal stack is small, so we walk iteratively.
//! The stack keeps the first `DEPTH` levels; deeper levels are recomputed with
//! a parent lookup (slow, but unbounded nesting stays correct with no heap).

const DEPTH: usize = 32;

pub(crate) struct Ancestors<T: Copy + Default> {
    saved: [T; DEPTH],
    depth: usize,
}

impl<T: Copy + Default> Ancestors<T> {
    pub(crate) fn new() -> Self {
        Ancestors {
            saved: [T::default(); DEPTH],
            depth: 0,
        }
    }

    pub(crate) fn push(&mut self, v: T) {
        if let Some(slot) = self.saved.get_mut(self.depth) {
            *slot = v;
        }
        self.depth += 1;
    }

    /// The parent level, `None` at the top; `recompute` supplies levels that
    /// did not fit.
    pub(crate) fn pop<E>(&mut self, recompute: impl FnOnce() -> Result<T, E>) -> Result<Option<T>, E> {
        if self.depth == 0 {
            return Ok(None);
        }
        self.depth -= 1;
        match self.saved.get(self.depth) {
            Some(&v) => Ok(Some(v)),
            None => recompute().map(Some),
        }
    }
}

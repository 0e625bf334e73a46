//! The one door to architecture code: everything that touches AArch64 system
//! registers or needs assembly lives in `arch/aarch64/`.
#[path = "arch/aarch64/mod.rs"]
mod imp;
pub use imp::*;

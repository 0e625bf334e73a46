//! The contract between host tooling, the hypervisor-shim (EL2) and the loader
//! (EL1): the binary system config, the payload table appended to the shim
//! image, the per-cell communication region, the hypercall numbers, PSCI
//! ([`psci`]) and the trap frame guests and the shim save; and,
//! for the hostile-guest suite, the attacker cell's bootargs
//! ([`attack_targets`]), read by the attacker inmate and by xtask alike.
//!
//! Every type here is `repr(C)`, little-endian, pointer-free and read with
//! `zerocopy`, so the shim, the loader and the host agree by construction; the
//! layout tests at the bottom pin sizes and offsets.
#![no_std]
#![forbid(unsafe_code)]
// Config and DTB values are untrusted and firmware release builds wrap:
// every operation on them is checked, or carries its bound in a comment.
#![deny(clippy::arithmetic_side_effects)]

pub mod attack_targets;
mod comm;
mod config;
pub mod jailhouse;
pub mod link_layout;
pub mod mgmt;
#[cfg(feature = "mgmt")]
mod mgmt_rules;
mod number;
mod payload;
pub mod psci;
mod rules;
pub mod staging;
pub mod text;
mod trap_frame;
mod validate;

pub use comm::*;
pub use config::*;
pub use jailhouse::{JailhouseBoot, MAX_IMAGES, is_jailhouse};
pub use number::parse_u64;
pub use payload::*;
pub use rules::{GICR_STRIDES, IPA_BITS, IPA_LIMIT, MPIDR_AFF_MASK, below_ipa_limit};
pub use trap_frame::TrapFrame;
pub use validate::*;

pub use zerocopy;

/// Fixed-size, NUL-padded string field helpers.
pub fn str_field<const N: usize>(field: &[u8; N]) -> &str {
    core::str::from_utf8(bytes_field(field)).unwrap_or("<non-utf8>")
}

/// The bytes of a NUL-terminated fixed-size field, up to its NUL. The shim
/// prints names as bytes: UTF-8 validation would cost it 0.8 KiB.
pub fn bytes_field<const N: usize>(field: &[u8; N]) -> &[u8] {
    let len = field.iter().position(|&b| b == 0).unwrap_or(N);
    &field[..len]
}

/// Fills a fixed-size field; returns false (field untouched) when `s` does not
/// fit with its terminating NUL.
pub fn set_str_field<const N: usize>(field: &mut [u8; N], s: &str) -> bool {
    if s.len() >= N {
        return false;
    }
    field.fill(0);
    field[..s.len()].copy_from_slice(s.as_bytes());
    true
}

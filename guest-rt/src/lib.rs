//! The shim's guest interface without startup code, for the inmates and
//! the shim's QEMU test payload (each has its own `_start` and vectors):
//! hypercalls, PSCI / SMCCC calls, raw guest-physical accesses and the
//! console line. Only `core` and `cellboot_abi`; on the host it is empty.
#![no_std]

#[cfg(target_os = "none")]
mod calls;
#[cfg(target_os = "none")]
pub use calls::*;

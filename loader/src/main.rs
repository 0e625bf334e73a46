//! EL1 loader binary (aarch64-unknown-none), entered by the hypervisor-shim
//! with x0 = comm region IPA (docs/boot-flow.md). On the host this is an empty
//! program so `cargo build --workspace` and `cargo test --workspace` work.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware;

#[cfg(not(target_os = "none"))]
fn main() {}

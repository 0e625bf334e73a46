//! `cellctl`: manages cells at run time from a managing cell's Linux user
//! space, through the management PCI function the shim places on that
//! cell's virtual bus (`cellboot_abi::mgmt`, docs/management.md). No
//! kernel module: the function is found by vendor/device ID in sysfs, its
//! BAR0 mapped through `resource0`, the staging window through `/dev/mem`.
//!
//! The protocol driver ([`client`]) works over any [`regs::Regs`]; on
//! Linux that is the mapped BAR0 ([`map`]), in tests the shim's own model
//! of the function (cellboot-vdev).

pub mod args;
pub mod client;
pub mod error;
pub mod format;
pub mod image;
#[cfg(target_os = "linux")]
pub mod map;
pub mod regs;
pub mod run;
pub mod sysfs;

//! Device models the shim emulates; pure logic, tested on the host.
//!
//! The EL2 shim decodes a trapped data abort (ESR_EL2.ISV: address, size,
//! direction, register) and hands the access to one of these models:
//! - [`pci`]: the virtual PCI host bridge (ECAM: mapped reads, trapped writes) with its ivshmem-v2
//!   devices and their BAR0 register pages;
//! - [`gicd`]: mediation of the shared GIC distributor, so a cell only sees
//!   and changes the SPIs it owns.
//!
//! Nothing here touches hardware directly: the distributor is reached through
//! the [`gicd::GicdHw`] trait the shim implements with real MMIO. Every entry
//! point accepts any guest-controlled offset, size and value without
//! panicking: guests are hostile.
#![no_std]
#![forbid(unsafe_code)]

pub mod gicd;
pub mod pci;

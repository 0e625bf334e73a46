//! Bare-metal inmates for partitioned deployments (issue 8).
//!
//! - `rtos-demo`: an RTOS-style cell beside Linux. It finds its ivshmem-v2
//!   device from its own DTB (PCI host node, ECAM walk, BAR0 assigned from
//!   `ranges`), runs a periodic task on the EL1 virtual timer (PPI through
//!   its own GICv3 redistributor) and answers Linux's messages over the
//!   shared memory, ringing Linux's doorbell.
//! - `attacker`: a hostile cell that tries to break out (foreign memory,
//!   foreign IRQs and CPUs, bad hypercalls, hostile config space) and prints
//!   a table of attempts and outcomes.
//!
//! `dtb`, `pci` and `proto` are plain logic (host-tested against the vdev
//! model); `arch` is the one module that touches the hardware, with the
//! calls into the shim and the raw guest-physical accessors from
//! `cellboot_guest_rt` (`unsafe fn`: each caller says why its address is
//! device or shared memory).
#![cfg_attr(not(test), no_std)]

pub mod dtb;
pub mod pci;
pub mod proto;

#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod gic;

//! Device models the shim emulates; pure logic, tested on the host.
#![no_std]
#![forbid(unsafe_code)]

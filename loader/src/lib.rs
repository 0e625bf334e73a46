//! The cell's guest-DTB edits, shared by the EL1 loader and the host CLI.
#![no_std]
#![forbid(unsafe_code)]

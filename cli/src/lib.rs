//! `cellboot` as a library: the commands and the checks behind them, for
//! the binary (`main.rs`), the integration tests and the fuzz targets
//! (`fuzz/fuzz_targets/config_dtb.rs`), which run the very same code.

pub mod args;
pub mod board_new;
pub mod board_vs_dtb;
pub mod cmd_build;
pub mod cmd_check;
pub mod cmd_diff;
pub mod cmd_dtb;
pub mod cmd_import;
pub mod config_input;
pub mod dtb_devices;
pub mod dtc;
pub mod failure;
pub mod guest;
pub mod input_file;
pub mod jailhouse_cell;
pub mod link_report;
pub mod problem;
pub mod prop_format;
pub mod shim_staging;
pub mod stdout;
pub mod tree_diff;

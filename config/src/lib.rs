//! Board and cell config files (TOML) to `cellboot_abi::SystemConfig`.

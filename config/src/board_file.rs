//! `boards/<board>/board.toml`: the board's fixed facts.

use crate::Source;
use crate::error::{ConfigError, from_toml};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    pub name: String,
    pub ram: Range,
    pub uart: Uart,
    pub gic: Gic,
    pub cpus: Cpus,
    pub hypervisor: Hypervisor,
    pub vpci: VpciDefaults,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub base: u64,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uart {
    pub base: u64,
    pub size: u64,
    /// The shim's console driver for it; a PL011 when absent.
    #[serde(default)]
    pub driver: UartDriver,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum UartDriver {
    /// ARM PL011 (`arm,pl011`).
    #[default]
    Pl011,
    /// Cadence UART (`cdns,uart-r1p12`, `xlnx,xuartps`): Zynq UltraScale+.
    Cdns,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gic {
    pub version: u32,
    pub num_irqs: u32,
    pub gicd_base: u64,
    pub gicd_size: u64,
    pub gicc_base: Option<u64>,
    pub gicc_size: Option<u64>,
    pub gicr_base: Option<u64>,
    pub gicr_stride: Option<u64>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CpuStart {
    PsciSmc,
    PsciHvc,
    SpinTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpus {
    pub start: CpuStart,
    pub mpidr: Vec<u64>,
    #[serde(default)]
    pub release_addr: Vec<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hypervisor {
    pub phys: u64,
    pub size: u64,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct VpciDefaults {
    pub ecam_base: u64,
    pub ecam_size: u64,
    pub mmio_base: u64,
    pub mmio_size: u64,
    pub irq_base: u32,
    pub domain: u32,
}

pub fn parse(src: &Source) -> Result<BoardFile, ConfigError> {
    toml::from_str(&src.text).map_err(|e| from_toml(&src.path, &src.text, &e))
}

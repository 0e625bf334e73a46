//! Building a cell's bus from the validated system config: one ivshmem
//! endpoint per link the cell is a peer of.

use cellboot_abi::{IvshmemLink, MemRegion, SystemConfig, VpciConfig, mem};

use super::{IvshmemParams, VirtualPciBus};

/// Peers per link in the ABI (`IvshmemLink::peers`).
const LINK_PEERS: u32 = 2;

impl VirtualPciBus {
    /// The bus of cell `cell_index`: device = `link.device`, peer_id = the
    /// cell's position in `link.peers`, shmem_ipa = where the cell's SHARED
    /// region containing the link's memory maps `link.shmem_phys`.
    ///
    /// Expects a config that passed `cellboot_abi::validate`; links it cannot
    /// honour anyway (no mapping region, device number > 31, duplicates,
    /// bad sizes) are skipped rather than trusted. An unknown cell gets an
    /// empty bus.
    pub fn build_from_config(cell_index: usize, sys: &SystemConfig) -> Self {
        let Some(cell) = sys.cells().get(cell_index) else {
            return Self::new(&VpciConfig::default());
        };
        let mut bus = Self::new(&cell.vpci);
        // A list that does not fit keeps BARs inside the window.
        if let Some(r) = super::ReservedIpas::for_cell(sys, cell_index) {
            bus.allow_bars_outside_window(r);
        }
        for link in sys.links() {
            let Some(peer_id) = link.peers.iter().position(|&p| p as usize == cell_index) else {
                continue;
            };
            let Some(shmem_ipa) = shmem_ipa(cell.mem_regions(), link) else {
                continue;
            };
            let Ok(device) = u8::try_from(link.device) else {
                continue;
            };
            let params = IvshmemParams {
                peer_id: peer_id as u32,
                max_peers: LINK_PEERS,
                shmem_ipa,
                state_size: link.state_size,
                rw_size: link.rw_size,
                out_size: link.out_size,
                protocol: link.protocol as u16,
            };
            // Skipping is the answer to an invalid link: validation already
            // reported it, and a missing device is safe for the guest.
            let _ = bus.add_ivshmem(device, params);
        }
        // Validation refuses a grant without a window or with a link on
        // the function's device number; such a cell gets no function.
        #[cfg(feature = "mgmt")]
        if let Some(p) = super::MgmtParams::from_config(sys, cell_index) {
            let _ = bus.add_mgmt(p);
        }
        bus
    }
}

/// The IPA at which `regions` map the link's whole shared memory.
fn shmem_ipa(regions: &[MemRegion], link: &IvshmemLink) -> Option<u64> {
    let start = link.shmem_phys;
    let end = start.checked_add(link.shmem_size_checked()?)?;
    regions
        .iter()
        .find(|r| r.flags & mem::SHARED != 0 && r.phys <= start && end <= r.phys_end())
        .and_then(|r| r.virt.checked_add(start - r.phys))
}

trait CheckedSize {
    fn shmem_size_checked(&self) -> Option<u64>;
}

impl CheckedSize for IvshmemLink {
    /// `IvshmemLink::shmem_size` without overflow on hostile configs.
    fn shmem_size_checked(&self) -> Option<u64> {
        self.state_size
            .checked_add(self.rw_size)?
            .checked_add(self.out_size.checked_mul(2)?)
    }
}

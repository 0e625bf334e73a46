//! Where a guest may place an ivshmem BAR0 outside its vPCI MEM window.
//! Jailhouse decodes a BAR wherever the guest programs it (its
//! ivshmem-demo uses 0xff00_0000); here that holds as long as the BAR
//! collides with nothing the cell's address space already means: its own
//! memory regions and comm region, its ECAM window, the GIC, and (as IPAs
//! the cell might reach if the map changed) other cells' memory and the
//! shim's. A BAR that collides stays programmed but does not decode, and
//! the config write that enables it reports why.

use cellboot_abi::{COMM_REGION_SIZE, SystemConfig, mem};

/// Ranges one cell's list can hold: its regions, every other cell's, and
/// the fixed windows.
pub const MAX_RESERVED: usize = cellboot_abi::MAX_MEM_REGIONS * cellboot_abi::MAX_CELLS + 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    base: u64,
    size: u64,
    what: &'static str,
}

/// IPA ranges a BAR may not cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedIpas {
    list: [Range; MAX_RESERVED],
    n: usize,
}

impl Default for ReservedIpas {
    fn default() -> Self {
        Self::new()
    }
}

impl ReservedIpas {
    pub const fn new() -> Self {
        Self {
            list: [Range {
                base: 0,
                size: 0,
                what: "",
            }; MAX_RESERVED],
            n: 0,
        }
    }

    /// Adds a range; false (nothing added) when the list is full, so the
    /// caller can refuse every placement outside the window instead.
    pub fn add(&mut self, base: u64, size: u64, what: &'static str) -> bool {
        if size == 0 {
            return true;
        }
        let Some(slot) = self.list.get_mut(self.n) else {
            return false;
        };
        *slot = Range { base, size, what };
        self.n += 1;
        true
    }

    /// What [base, base + size) collides with, if anything (`None` also for
    /// a range that wraps the address space: callers check that first).
    pub fn collision(&self, base: u64, size: u64) -> Option<&'static str> {
        let end = base.checked_add(size)?;
        self.list[..self.n]
            .iter()
            .find(|r| base < r.base.saturating_add(r.size) && r.base < end)
            .map(|r| r.what)
    }

    /// Everything cell `ci`'s BARs must avoid in `sys`.
    pub fn for_cell(sys: &SystemConfig, ci: usize) -> Option<Self> {
        let c = sys.cells().get(ci)?;
        let b = &sys.board;
        let mut r = Self::new();
        let mut ok = true;
        for m in c.mem_regions() {
            let what = if m.flags & mem::IO != 0 {
                "a device region of the cell"
            } else {
                "the cell's own memory"
            };
            ok &= r.add(m.virt, m.size, what);
        }
        ok &= r.add(c.comm_region_ipa, COMM_REGION_SIZE as u64, "the cell's comm region");
        ok &= r.add(c.vpci.ecam_base, c.vpci.ecam_size, "the vPCI ECAM window");
        ok &= r.add(b.gicd_base, b.gicd_size, "the GIC distributor");
        ok &= r.add(b.gicc_base, b.gicc_size, "the GIC CPU interface");
        ok &= r.add(
            b.gicr_base,
            b.gicr_stride.saturating_mul(b.num_cpus.into()),
            "the GIC redistributors",
        );
        ok &= r.add(sys.hypervisor.phys, sys.hypervisor.size, "the shim's memory");
        for (oi, o) in sys.cells().iter().enumerate() {
            if oi != ci {
                for m in o
                    .mem_regions()
                    .iter()
                    .filter(|m| m.flags & (mem::IO | mem::SHARED) == 0)
                {
                    ok &= r.add(m.phys, m.size, "another cell's memory");
                }
            }
        }
        ok.then_some(r)
    }
}

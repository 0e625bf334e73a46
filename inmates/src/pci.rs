//! Finding and enabling an ivshmem-v2 device by walking config space, the
//! way an OS would: vendor/device on bus 0, BAR0 sized and placed inside the
//! host bridge's MEM window, memory decoding on, the vendor capability read
//! for the shared-memory address and section sizes.

pub const VENDOR: u16 = 0x110a;
pub const DEVICE: u16 = 0x4106;
const CMD_MEMORY: u32 = 1 << 1;
const CAP_VENDOR: u32 = 0x09;

/// 32-bit config accesses at an ECAM offset of bus 0.
pub trait Ecam {
    fn read32(&mut self, off: u64) -> u32;
    fn write32(&mut self, off: u64, v: u32);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ivshmem {
    pub device: u8,
    /// CPU address of BAR0 (registers).
    pub bar0: u64,
    pub shmem: u64,
    pub state_size: u64,
    pub rw_size: u64,
    pub out_size: u64,
    /// Class code low 16 bits (sub-class, prog-if).
    pub protocol: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciError {
    NotFound,
    BarSize(u32),
    WindowTooSmall,
    NoVendorCap,
}

impl core::fmt::Display for PciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PciError::NotFound => f.write_str("no 110a:4106 on bus 0"),
            PciError::BarSize(v) => write!(f, "BAR0 sizing read back {v:#x}"),
            PciError::WindowTooSmall => f.write_str("BAR0 does not fit the MEM window"),
            PciError::NoVendorCap => f.write_str("no vendor capability (0x09) in the list"),
        }
    }
}

fn cfg(device: u8, reg: u64) -> u64 {
    u64::from(device) << 15 | reg
}

/// The first ivshmem device at or after `from` on bus 0, enabled with BAR0 at
/// `window_pci + slot` (the CPU sees it at `window_cpu + slot`).
pub fn find_ivshmem(
    e: &mut impl Ecam,
    from: u8,
    window_pci: u64,
    window_cpu: u64,
    window_size: u64,
) -> Result<Ivshmem, PciError> {
    let device = (from..32)
        .find(|&d| e.read32(cfg(d, 0)) == u32::from(DEVICE) << 16 | u32::from(VENDOR))
        .ok_or(PciError::NotFound)?;
    // Size BAR0: all-ones, read back the address mask, restore.
    e.write32(cfg(device, 0x04), 0);
    e.write32(cfg(device, 0x10), u32::MAX);
    let mask = e.read32(cfg(device, 0x10)) & !0xf;
    if mask == 0 {
        return Err(PciError::BarSize(mask));
    }
    let size = u64::from(!mask) + 1;
    let slot = window_pci.next_multiple_of(size) - window_pci;
    if slot + size > window_size || window_pci + slot > u64::from(u32::MAX) {
        return Err(PciError::WindowTooSmall);
    }
    e.write32(cfg(device, 0x10), (window_pci + slot) as u32);
    e.write32(cfg(device, 0x04), CMD_MEMORY);
    let protocol = (e.read32(cfg(device, 0x08)) >> 8) as u16;

    let mut cap = u64::from(e.read32(cfg(device, 0x34)) & 0xfc);
    let mut hops = 0;
    while cap != 0 && hops < 48 {
        let head = e.read32(cfg(device, cap));
        if head & 0xff == CAP_VENDOR {
            let rd64 = |e: &mut dyn FnMut(u64) -> u32, at: u64| u64::from(e(at)) | u64::from(e(at + 4)) << 32;
            let mut r = |at: u64| e.read32(cfg(device, cap + at));
            return Ok(Ivshmem {
                device,
                bar0: window_cpu + slot,
                state_size: u64::from(r(0x04)),
                rw_size: rd64(&mut r, 0x08),
                out_size: rd64(&mut r, 0x10),
                shmem: rd64(&mut r, 0x18),
                protocol,
            });
        }
        cap = u64::from(head >> 8 & 0xfc);
        hops += 1;
    }
    Err(PciError::NoVendorCap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::VpciConfig;
    use cellboot_vdev::pci::{IvshmemParams, VirtualPciBus};

    struct Bus(VirtualPciBus);
    impl Ecam for Bus {
        fn read32(&mut self, off: u64) -> u32 {
            self.0.ecam_read(off, 4) as u32
        }
        fn write32(&mut self, off: u64, v: u32) {
            self.0.ecam_write(off, 4, v.into());
        }
    }

    fn bus(device: u8) -> Bus {
        let cfg = VpciConfig {
            ecam_base: 0x08e0_0000,
            ecam_size: 1 << 20,
            mmio_base: 0x1000_0000,
            mmio_size: 0x1_0000,
            irq_base: 144,
            domain: 1,
        };
        let mut b = VirtualPciBus::new(&cfg);
        let p = IvshmemParams {
            peer_id: 1,
            max_peers: 2,
            shmem_ipa: 0x6000_0000,
            state_size: 0x1000,
            rw_size: 0x1_0000,
            out_size: 0x1_0000,
            protocol: 0,
        };
        b.add_ivshmem(device, p).unwrap();
        Bus(b)
    }

    #[test]
    fn finds_sizes_places_and_enables_the_vdev_model() {
        let mut b = bus(3);
        let d = find_ivshmem(&mut b, 0, 0x1000_0000, 0x1000_0000, 0x1_0000).unwrap();
        assert_eq!(
            d,
            Ivshmem {
                device: 3,
                bar0: 0x1000_0000,
                shmem: 0x6000_0000,
                state_size: 0x1000,
                rw_size: 0x1_0000,
                out_size: 0x1_0000,
                protocol: 0
            }
        );
        // BAR0 now decodes: the ID register answers with our peer id.
        assert_eq!(b.0.mmio_read(0x1000_0000, 4), Some(1));
    }

    #[test]
    fn an_empty_bus_or_a_tiny_window_is_an_error() {
        let cfg = VpciConfig {
            ecam_base: 0,
            ecam_size: 1 << 20,
            mmio_base: 0,
            mmio_size: 0,
            irq_base: 0,
            domain: 0,
        };
        let mut empty = Bus(VirtualPciBus::new(&cfg));
        assert_eq!(
            find_ivshmem(&mut empty, 0, 0x1000_0000, 0x1000_0000, 0x1_0000),
            Err(PciError::NotFound)
        );
        let mut b = bus(0);
        assert_eq!(
            find_ivshmem(&mut b, 0, 0x1000_0800, 0x1000_0800, 0x1000),
            Err(PciError::WindowTooSmall)
        );
    }
}

//! Properties: no sequence of arbitrary config-space and BAR accesses panics,
//! changes read-only identity, makes absent functions appear, or yields an
//! effect the spec forbids; and through any such sequence the published
//! image (the pages the cell reads its config space from) reads exactly as
//! the model does, and every page that changed was cleaned.

use cellboot_abi::VpciConfig;
use cellboot_vdev::pci::{BUS0_PAGES, EcamImage, EcamOutcome, IvshmemParams, MmioEffect, PAGE_BYTES, VirtualPciBus};
use proptest::prelude::*;

const MMIO_BASE: u64 = 0x1000_0000;
const DEVICES: [u8; 3] = [0, 3, 31];

#[derive(Clone, Debug)]
enum Op {
    EcamRead(u64, u8),
    EcamWrite(u64, u8, u64),
    MmioRead(u64, u8),
    MmioWrite(u64, u8, u64),
    Take(u8),
    Reset,
}

fn ecam_off() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (prop_oneof![Just(0u64), Just(3), Just(31), 0u64..32], 0u64..2, 0u64..0x80)
            .prop_map(|(d, f, r)| d << 15 | f << 12 | r),
        1 => 0u64..(1 << 20),
        1 => any::<u64>(),
    ]
}

fn mmio_ipa() -> impl Strategy<Value = u64> {
    prop_oneof![4 => (0u64..4, 0u64..0x20).prop_map(|(p, r)| MMIO_BASE + p * 0x1000 + r), 1 => any::<u64>()]
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        2 => Just(0x406u64),
        2 => (0u64..20).prop_map(|p| MMIO_BASE + p * 0x1000),
        1 => Just(u64::MAX),
        1 => (0u64..4, 0u64..2).prop_map(|(peer, v)| peer << 16 | v),
    ]
}

fn size() -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(4u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(8u8), 1 => any::<u8>()]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (ecam_off(), size()).prop_map(|(o, s)| Op::EcamRead(o, s)),
        4 => (ecam_off(), size(), value()).prop_map(|(o, s, v)| Op::EcamWrite(o, s, v)),
        2 => (mmio_ipa(), size()).prop_map(|(o, s)| Op::MmioRead(o, s)),
        3 => (mmio_ipa(), size(), value()).prop_map(|(o, s, v)| Op::MmioWrite(o, s, v)),
        1 => prop_oneof![Just(0u8), Just(3), any::<u8>()].prop_map(Op::Take),
        1 => Just(Op::Reset),
    ]
}

fn identity(b: &mut VirtualPciBus, d: u8) -> [u64; 9] {
    let base = u64::from(d) << 15;
    [0x00, 0x08, 0x0c, 0x2c, 0x34, 0x44, 0x48, 0x50, 0x58].map(|r| b.ecam_read(base + r, 4))
}

fn bus_with_devices(ecam_size: u64) -> VirtualPciBus {
    let cfg = VpciConfig {
        ecam_base: 0x08e0_0000,
        ecam_size,
        mmio_base: MMIO_BASE,
        mmio_size: 0x4000,
        irq_base: 108,
        ..VpciConfig::default()
    };
    let mut b = VirtualPciBus::new(&cfg);
    for (i, &d) in DEVICES.iter().enumerate() {
        let p = IvshmemParams {
            peer_id: i as u32 % 2,
            max_peers: 2,
            shmem_ipa: 0x8000_0000,
            state_size: 0x1000,
            rw_size: 0x2000,
            out_size: 0x1000,
            protocol: 3,
        };
        b.add_ivshmem(d, p).unwrap();
    }
    b
}

/// What the cell reads at `off`/`size` from its mapped image equals the
/// model: a config cycle (1/2/4 bytes inside a dword) reads what
/// `ecam_read` answers, any other load inside one page reads the model's
/// bytes side by side (absent functions: all-ones).
fn image_agrees(b: &mut VirtualPciBus, off: u64, size: u8) -> Result<(), TestCaseError> {
    let mapped = b.image_load(off, size);
    let in_page = off < 1 << 20 && matches!(size, 1..=8) && (off & 0xfff) + u64::from(size) <= 0x1000;
    prop_assert_eq!(mapped.is_some(), in_page, "mapped at +{:#x}, {} bytes", off, size);
    let Some(v) = mapped else { return Ok(()) };
    let want = if matches!(size, 1 | 2 | 4) && off % 4 + u64::from(size) <= 4 {
        b.ecam_read(off, size)
    } else {
        (0..u64::from(size)).fold(0, |w, k| w | b.ecam_read(off + k, 1) << (8 * k))
    };
    prop_assert_eq!(v, want, "image vs model at +{:#x}, {} bytes", off, size);
    Ok(())
}

/// Registers whose value the guest can change, or that tell devices apart.
const LIVE_REGS: [u64; 8] = [0x00, 0x04, 0x06, 0x10, 0x3c, 0x3d, 0x40, 0x43];

fn sweep(b: &mut VirtualPciBus) -> Result<(), TestCaseError> {
    for d in [0u64, 1, 3, 4, 30, 31] {
        for f in [0u64, 1, 7] {
            for reg in 0..0x90 {
                for s in [1u8, 2, 4, 8, 3] {
                    image_agrees(b, d << 15 | f << 12 | reg, s)?;
                }
            }
            for reg in [0xff8u64, 0xffc, 0xfff, 0x100, 0x800] {
                image_agrees(b, d << 15 | f << 12 | reg, 4)?;
                image_agrees(b, d << 15 | f << 12 | reg, 1)?;
            }
        }
    }
    Ok(())
}

thread_local! {
    /// Ranges the bus asked to have cleaned, since the last check.
    static CLEANED: std::cell::RefCell<Vec<(u64, u64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn record_clean(addr: u64, len: u64) {
    CLEANED.with(|c| c.borrow_mut().push((addr, len)));
}

/// The first 0x100 bytes of each present device's page, as the cell reads them.
fn snapshot(b: &VirtualPciBus) -> Vec<u64> {
    DEVICES
        .iter()
        .flat_map(|&d| (0..0x100u64).step_by(8).map(move |r| (d, r)))
        .map(|(d, r)| b.image_load(u64::from(d) << 15 | r, 8).unwrap())
        .collect()
}

#[test]
fn sub_dword_reads_of_the_vendor_capability_see_its_bytes() {
    let mut b = bus_with_devices(0x10_0000);
    // State table size 0x1000 at 0x44: its second byte is 0x10.
    assert_eq!(b.ecam_read(0x44, 4), 0x1000);
    assert_eq!(b.ecam_read(0x45, 1), 0x10);
    assert_eq!(b.ecam_read(0x46, 2), 0);
    assert_eq!(b.ecam_read(0x4a, 2), 0, "rw_size 0x2000 has no upper half");
    assert_eq!(b.ecam_read(0x49, 1), 0x20);
}

#[test]
fn pages_map_present_functions_and_all_ones_elsewhere() {
    let mut b = bus_with_devices(0x10_0000);
    assert_eq!(b.image_page(0), None, "nothing mapped before attach");
    b.attach_image(Box::leak(Box::new(EcamImage::new())), record_clean);
    let pages: Vec<u64> = (0..BUS0_PAGES).map(|n| b.image_page(n).unwrap()).collect();
    assert_eq!(b.image_page(BUS0_PAGES), None, "bus 1 is not imaged");
    let absent = pages[1];
    for (n, &p) in pages.iter().enumerate() {
        assert_eq!(p % PAGE_BYTES as u64, 0);
        let present = n & 7 == 0 && DEVICES.contains(&((n >> 3) as u8));
        assert_eq!(p != absent, present, "page {n}");
    }
    let mut own: Vec<u64> = DEVICES.iter().map(|&d| pages[usize::from(d) << 3]).collect();
    own.sort();
    own.dedup();
    assert_eq!(own.len(), DEVICES.len(), "a page per device");
    assert_eq!(b.image_load(1 << 12, 8), Some(u64::MAX));
    assert_eq!(b.image_load(0, 4), Some(b.ecam_read(0, 4)));
    // attach cleaned every page it wrote
    CLEANED.with(|c| {
        let c = c.borrow();
        for p in own.iter().chain([&absent]) {
            assert!(c.contains(&(*p, PAGE_BYTES as u64)), "page {p:#x} not cleaned");
        }
    });
}

proptest! {
    // Each case sweeps the image: fewer cases than the hostile-bus property.
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn image_matches_the_model_through_any_guest(ops in proptest::collection::vec(op(), 1..64)) {
        let mut b = bus_with_devices(0x10_0000);
        b.attach_image(Box::leak(Box::new(EcamImage::new())), record_clean);
        sweep(&mut b)?;
        let mut before = snapshot(&b);
        CLEANED.with(|c| c.borrow_mut().clear());
        for o in ops {
            let touched = match o {
                Op::EcamRead(off, s) => { b.ecam_read(off, s); Some((off, s)) }
                Op::EcamWrite(off, s, v) => { b.ecam_write(off, s, v); Some((off, s)) }
                Op::MmioRead(ipa, s) => { b.mmio_read(ipa, s); None }
                Op::MmioWrite(ipa, s, v) => { b.mmio_write(ipa, s, v); None }
                Op::Take(d) => { b.take_interrupt(d); None }
                Op::Reset => { b.reset(); None }
            };
            if let Some((off, s)) = touched {
                image_agrees(&mut b, off, s)?;
            }
            for &d in &DEVICES {
                for r in LIVE_REGS {
                    for s in [1u8, 2, 4, 8] {
                        image_agrees(&mut b, u64::from(d) << 15 | r, s)?;
                    }
                }
            }
            // A page that changed was cleaned for readers with caches off.
            let after = snapshot(&b);
            let cleaned = CLEANED.with(|c| std::mem::take(&mut *c.borrow_mut()));
            for (k, &d) in DEVICES.iter().enumerate() {
                let span = k * 32..(k + 1) * 32;
                if before[span.clone()] != after[span] {
                    let page = b.image_page(usize::from(d) << 3).unwrap();
                    prop_assert!(cleaned.contains(&(page, PAGE_BYTES as u64)), "device {} changed, page not cleaned", d);
                }
            }
            before = after;
        }
        sweep(&mut b)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn hostile_guest_cannot_break_the_bus(ops in proptest::collection::vec(op(), 1..128)) {
        let cfg = VpciConfig { mmio_base: MMIO_BASE, mmio_size: 0x4000, irq_base: 108, ..VpciConfig::default() };
        let mut b = VirtualPciBus::new(&cfg);
        for (i, &d) in DEVICES.iter().enumerate() {
            let p = IvshmemParams {
                peer_id: i as u32 % 2, max_peers: 2, shmem_ipa: 0x8000_0000, state_size: 0x1000,
                rw_size: 0x2000, out_size: 0x1000, protocol: 3,
            };
            b.add_ivshmem(d, p).unwrap();
        }
        let ids: Vec<_> = DEVICES.iter().map(|&d| identity(&mut b, d)).collect();
        for o in ops {
            match o {
                Op::EcamRead(off, s) => {
                    let v = b.ecam_read(off, s);
                    if (1..8).contains(&s) {
                        prop_assert_eq!(v >> (8 * u32::from(s)), 0);
                    }
                }
                Op::EcamWrite(off, s, v) => {
                    let dev = (off >> 15 & 31) as u8;
                    let absent = off >= 1 << 20 || off >> 12 & 7 != 0 || !DEVICES.contains(&dev);
                    if absent {
                        let ignored = matches!(b.ecam_write(off, s, v), EcamOutcome::Ignored { .. });
                        prop_assert!(ignored, "write to absent function accepted");
                    } else {
                        b.ecam_write(off, s, v);
                    }
                }
                Op::MmioRead(ipa, s) => {
                    if let Some(v) = b.mmio_read(ipa, s) {
                        prop_assert!(v <= u64::from(u32::MAX));
                        prop_assert!((MMIO_BASE..MMIO_BASE + 0x4000).contains(&ipa), "decoded outside the window");
                        prop_assert!(b.device_at(ipa).is_some());
                    }
                }
                Op::MmioWrite(ipa, s, v) => match b.mmio_write(ipa, s, v) {
                    Some(MmioEffect::Doorbell { peer, vector }) => prop_assert!(peer < 2 && vector == 0),
                    Some(_) => prop_assert!((MMIO_BASE..MMIO_BASE + 0x4000).contains(&ipa)),
                    None => {}
                },
                Op::Take(d) => {
                    let enabled = b.interrupts_enabled(d);
                    prop_assert_eq!(b.take_interrupt(d), enabled);
                }
                Op::Reset => b.reset(),
            }
            for (i, &d) in DEVICES.iter().enumerate() {
                prop_assert_eq!(&identity(&mut b, d), &ids[i]);
            }
            prop_assert_eq!(b.ecam_read(1 << 15, 4), 0xffff_ffff);
            prop_assert_eq!(b.ecam_read(1 << 12, 4), 0xffff_ffff);
        }
    }
}

//! The EL2 fast path for virtual ECAM config reads (`ecam_fast.s`): its
//! operands, and the layout facts about `EcamImage` it relies on.

use super::{GuestFrame, MAX_CPUS};
use cellboot_abi::MAX_CELLS;
use cellboot_vdev::pci::{EcamImage, IMAGE_BYTES};
use core::arch::global_asm;
use core::mem::size_of;

const _: () = {
    assert!(EcamImage::ROW_BYTES.is_power_of_two());
    // Immediate ranges of the loads and compares in ecam_fast.s.
    assert!(EcamImage::BASE_OFFSET % 8 == 0 && EcamImage::SPAN_OFFSET % 8 == 0);
    assert!(EcamImage::BASE_OFFSET < 32768 && EcamImage::SPAN_OFFSET < 32768);
    assert!(EcamImage::PRESENT_OFFSET % 4 == 0 && EcamImage::PRESENT_OFFSET < 16384);
    assert!(EcamImage::DWORDS_OFFSET < 4096 && (IMAGE_BYTES as usize) < 4096);
    assert!(size_of::<EcamImage>() < 65536);
    assert!(size_of::<usize>() == 8); // CPU_CELL entries are indexed `lsl #3`
};

global_asm!(
    include_str!("ecam_fast.s"),
    CPU_CELL = sym crate::cell::CPU_CELL,
    ECAM_IMAGES = sym crate::cell::ECAM_IMAGES,
    FRAME_SIZE = const size_of::<GuestFrame>(),
    MAX_CPUS = const MAX_CPUS,
    MAX_CELLS = const MAX_CELLS,
    IMG_SIZE = const size_of::<EcamImage>(),
    IMG_DWORDS = const EcamImage::DWORDS_OFFSET,
    IMG_ROW_SHIFT = const EcamImage::ROW_BYTES.trailing_zeros(),
    IMG_PRESENT = const EcamImage::PRESENT_OFFSET,
    IMG_BASE = const EcamImage::BASE_OFFSET,
    IMG_SPAN = const EcamImage::SPAN_OFFSET,
    IMG_BYTES = const IMAGE_BYTES,
);

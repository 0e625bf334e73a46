//! Start blobs for byte-decoded edit scripts (fuzz target and corpus replay):
//! the real fixtures (packed, opened with slack) and a small tree.

use crate::{AlignedBuf, libfdt, libfdt_sw::SwWriter};
use std::sync::OnceLock;

fn small_tree() -> Vec<u8> {
    let mut buf = AlignedBuf::zeroed(1024);
    let mut w = SwWriter::create(&mut buf).expect("1 KiB fits the header");
    w.add_reservemap_entry(0x8000_0000, 0x1000).expect("fits");
    w.finish_reservemap().expect("fits");
    w.begin_node("").expect("fits");
    w.property_u32("#address-cells", 1).expect("fits");
    w.property("compatible", b"test,small\0").expect("fits");
    for n in ["cpus", "memory@0", "soc@1000", "chosen"] {
        w.begin_node(n).expect("fits");
        w.property("reg", &[0, 0, 0x10, 0]).expect("fits");
        w.end_node().expect("fits");
    }
    w.end_node().expect("fits");
    let t = w.finish().expect("fits");
    buf[..t].to_vec()
}

fn opened(blob: &[u8], slack: usize) -> Vec<u8> {
    let mut packed = AlignedBuf::zeroed(libfdt::totalsize(blob));
    libfdt::open_into(blob, &mut packed).expect("fixture opens");
    libfdt::pack(&mut packed).expect("fixture packs");
    let used = libfdt::totalsize(&packed);
    let mut out = AlignedBuf::zeroed(used + slack);
    libfdt::open_into(&packed[..used], &mut out).expect("fixture reopens");
    out.to_vec()
}

/// Seed blob number `pick % 4`.
pub fn blob(pick: u8) -> &'static [u8] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let seeds = SEEDS.get_or_init(|| {
        let rpi = crate::fixtures::load(crate::fixtures::RPI4);
        let qemu = crate::fixtures::load(crate::fixtures::QEMU_VIRT);
        vec![small_tree(), opened(&rpi, 512), opened(&qemu, 2048), rpi]
    });
    &seeds[pick as usize % seeds.len()]
}

//! The oracle itself: the safe libfdt wrappers behave as libfdt documents.

use cellfdt::Error;
use fdt_conformance::{AlignedBuf, fixtures, libfdt, libfdt_ro, libfdt_sw};

#[test]
fn fixtures_pass_check_full() {
    for name in [fixtures::QEMU_VIRT, fixtures::RPI4] {
        let blob = fixtures::load(name);
        libfdt::check_full(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            libfdt::check_full(&blob[..blob.len() / 2]),
            Err(Error::Truncated),
            "{name}"
        );
    }
}

#[test]
fn open_setprop_getprop_roundtrip() {
    let blob = fixtures::load(fixtures::RPI4);
    let mut buf = AlignedBuf::zeroed(blob.len() + 4096);
    libfdt::open_into(&blob, &mut buf).unwrap();
    assert_eq!(libfdt::totalsize(&buf), buf.len());
    let chosen = libfdt_ro::path_offset(&buf, "/chosen").unwrap();
    libfdt::setprop_str(&mut buf, chosen, "bootargs", "console=ttyAMA0").unwrap();
    assert_eq!(
        libfdt_ro::getprop(&buf, chosen, "bootargs").unwrap(),
        b"console=ttyAMA0\0"
    );
    assert_eq!(libfdt::add_subnode(&mut buf, chosen, "x@1").map(|_| ()), Ok(()));
    assert_eq!(libfdt::add_subnode(&mut buf, chosen, "x@1"), Err(Error::Exists));
    assert_eq!(libfdt::setprop(&mut buf, 3, "a", b""), Err(Error::BadOffset));
    libfdt::pack(&mut buf).unwrap();
    libfdt::check_full(&buf[..libfdt::totalsize(&buf)]).unwrap();
    // A header claiming more than the buffer never reaches C.
    assert_eq!(libfdt::pack(&mut buf[..64]), Err(Error::Truncated));
}

#[test]
fn walk_names_and_properties() {
    let blob = fixtures::load(fixtures::QEMU_VIRT);
    let (mut node, mut depth, mut nodes, mut props) = (None, 0, 0, 0);
    while let Ok((off, d)) = libfdt_ro::next_node(&blob, node, depth) {
        if d < 0 {
            break;
        }
        nodes += 1;
        libfdt_ro::get_name(&blob, off).unwrap();
        let mut p = libfdt_ro::first_property(&blob, off);
        while let Ok(po) = p {
            let (name, _) = libfdt_ro::property_at(&blob, po).unwrap();
            assert!(!name.is_empty());
            props += 1;
            p = libfdt_ro::next_property(&blob, po);
        }
        assert_eq!(p, Err(Error::NotFound));
        (node, depth) = (Some(off), d);
    }
    assert!(nodes > 10 && props > nodes, "{nodes} nodes, {props} props");
    let cpus = libfdt_ro::path_offset(&blob, "/cpus").unwrap();
    assert_eq!(libfdt_ro::get_path(&blob, cpus, 64).unwrap(), "/cpus");
}

#[test]
fn sequential_writer_builds_a_valid_tree() {
    let mut buf = AlignedBuf::zeroed(1024);
    let mut w = libfdt_sw::SwWriter::create(&mut buf).unwrap();
    w.add_reservemap_entry(0x1000, 0x2000).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.property_u32("#address-cells", 2).unwrap();
    w.begin_node("a@1").unwrap();
    w.property("x", b"yz\0").unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    let size = w.finish().unwrap();
    libfdt::check_full(&buf[..size]).unwrap();
    assert_eq!(libfdt_ro::get_mem_rsv(&buf, 0).unwrap(), (0x1000, 0x2000));
    assert_eq!(
        libfdt_ro::path_offset(&buf, "/a"),
        libfdt_ro::subnode_offset(&buf, 0, "a@1")
    );
    let mut tiny = AlignedBuf::zeroed(8);
    assert_eq!(libfdt_sw::SwWriter::create(&mut tiny).err(), Some(Error::NoSpace));
}

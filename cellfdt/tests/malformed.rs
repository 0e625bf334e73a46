//! Malformed input: every read and edit API must answer with an error (or
//! a value), never panic, and a failed edit must leave the buffer as it was.

use cellfdt::{Error, Fdt, FdtMut, Writer};
use proptest::prelude::*;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

/// A small tree with every kind of thing the walkers look at.
fn sample() -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let mut w = Writer::create(&mut buf).unwrap();
    w.add_reservemap_entry(0x1000, 0x2000).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.property_str("compatible", "test,board").unwrap();
    w.begin_node("aliases").unwrap();
    w.property_str("serial0", "/soc/uart@1000").unwrap();
    w.end_node().unwrap();
    w.begin_node("soc").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.property_cells("ranges", &[0, 0x1000_0000, 0x1000]).unwrap();
    w.begin_node("uart@1000").unwrap();
    w.property("compatible", b"arm,pl011\0arm,primecell\0").unwrap();
    w.property_cells("reg", &[0x1000, 0x100]).unwrap();
    w.property_u32("phandle", 5).unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.begin_node("chosen").unwrap();
    w.property_str("bootargs", "console=ttyAMA0").unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

/// Calls every read API on everything reachable and on raw offsets.
fn read_all(f: &Fdt<'_>) {
    let mut path = [0u8; 64];
    let _ = f.check_full();
    let _ = f.num_mem_rsv();
    for n in 0..4 {
        let _ = f.get_mem_rsv(n);
    }
    let _ = f.find_max_phandle();
    let _ = f.generate_phandle();
    let _ = f.node_offset_by_phandle(5);
    for p in [
        "/",
        "/soc/uart",
        "/soc/uart@1000",
        "serial0",
        "serial0/x",
        "nope",
        "",
        "//",
        "/chosen/",
    ] {
        let _ = f.path_offset(p);
    }
    let _ = f.get_alias("serial0");
    let _ = f.node_offset_by_compatible(None, "arm,primecell");
    let _ = f.node_offset_by_prop_value(None, "phandle", &[0, 0, 0, 5]);
    let span = f.totalsize().min(4096) + 8;
    for off in (0..span)
        .step_by(4)
        .chain([1, 2, 3, usize::MAX, usize::MAX - 3, 1 << 31])
    {
        let _ = f.get_name(off);
        let _ = f.get_path(off, &mut path);
        let _ = f.get_path(off, &mut path[..3]);
        let _ = f.parent_offset(off);
        let _ = f.node_depth(off);
        let _ = f.first_subnode(off);
        let _ = f.next_subnode(off);
        let _ = f.subnodes(off).take(64).count();
        let _ = f.subnode_offset(off, "uart");
        let mut d = 0;
        let _ = f.next_node(Some(off), Some(&mut d));
        let _ = f.next_node(Some(off), None);
        let _ = f.first_property(off);
        let _ = f.next_property(off);
        let _ = f.property_at(off);
        let _ = f.properties(off).take(64).count();
        let _ = f.getprop(off, "compatible");
        let _ = f.getprop_u32(off, "phandle");
        let _ = f.getprop_u64(off, "reg");
        let _ = f.getprop_str(off, "bootargs");
        let _ = f.stringlist_count(off, "compatible");
        let _ = f.stringlist_search(off, "compatible", "arm,primecell");
        let _ = f.stringlist_get(off, "compatible", 1);
        let _ = f.node_check_compatible(off, "arm,pl011");
        let _ = f.get_phandle(off);
        let _ = f.address_cells(off);
        let _ = f.size_cells(off);
        let _ = f.reg(off).map(|r| r.take(64).count());
        let _ = f.ranges(off).map(|r| r.take(64).count());
        let _ = f.node_offset_by_compatible(Some(off), "arm,pl011");
    }
}

/// Runs `op`; if it fails, the buffer must be unchanged.
fn atomic<T>(fm: &mut FdtMut<'_>, op: impl FnOnce(&mut FdtMut<'_>) -> Result<T, Error>) {
    let before = fm.as_bytes().to_vec();
    if op(fm).is_err() {
        assert_eq!(before, fm.as_bytes(), "failed edit changed the buffer");
    }
}

/// Calls every edit API at a few offsets.
fn edit_all(fm: &mut FdtMut<'_>, offs: &[usize]) {
    let _ = fm.as_fdt().check_full();
    for &off in offs {
        atomic(fm, |f| f.setprop(off, "new-prop", b"value"));
        atomic(fm, |f| f.setprop_u32(off, "#size-cells", 2));
        atomic(fm, |f| f.setprop_str(off, "compatible", "a,b"));
        atomic(fm, |f| f.appendprop_u32(off, "reg", 7));
        atomic(fm, |f| f.appendprop_addrrange(0, off, "reg", 0x10, 0x20));
        atomic(fm, |f| f.setprop_reg(off, &[(1, 2), (3, 4)]));
        atomic(fm, |f| f.setprop_placeholder(off, "big", 100).map(|_| ()));
        atomic(fm, |f| f.delprop(off, "compatible"));
        atomic(fm, |f| f.add_subnode(off, "child@1"));
        atomic(fm, |f| f.set_name(off, "renamed-node"));
        atomic(fm, |f| f.setprop_inplace_u32(off, "phandle", 9));
        atomic(fm, |f| f.setprop_inplace_namelen_partial(off, "bootargs", 2, b"xy"));
        atomic(fm, |f| f.nop_property(off, "bootargs"));
        atomic(fm, |f| f.add_mem_rsv(0x5000, 0x10));
        atomic(fm, |f| f.del_mem_rsv(1));
        atomic(fm, |f| f.del_node(off));
        atomic(fm, |f| f.nop_node(off));
    }
    atomic(fm, |f| f.pack());
    read_all(&fm.as_fdt());
}

fn offsets(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..len.min(400)).step_by(12).collect();
    v.extend([1, 3, usize::MAX, 1 << 31]);
    v
}

/// Every API on a (possibly corrupt) blob.
fn exercise(blob: &[u8]) {
    if let Ok(f) = Fdt::new(blob) {
        read_all(&f);
    }
    let mut copy = blob.to_vec();
    if let Ok(mut fm) = FdtMut::new(&mut copy) {
        edit_all(&mut fm, &offsets(blob.len()));
    }
    let mut big = vec![0u8; blob.len() + 512];
    if let Ok(mut fm) = FdtMut::open_into(blob, &mut big) {
        edit_all(&mut fm, &offsets(blob.len()));
    }
    let mut inplace = blob.to_vec();
    inplace.resize(blob.len() * 2 + 256, 0);
    if let Ok(mut fm) = FdtMut::open_in_place(&mut inplace) {
        edit_all(&mut fm, &offsets(blob.len()));
    }
}

#[test]
fn valid_sample_exercises_cleanly() {
    let s = sample();
    Fdt::new(&s).unwrap().check_full().unwrap();
    exercise(&s);
}

#[test]
fn truncated_blobs() {
    let s = sample();
    for n in 0..s.len() {
        assert!(Fdt::new(&s[..n]).is_err(), "accepted {n} of {} bytes", s.len());
        exercise(&s[..n]);
    }
}

fn set32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn header_errors_in_libfdt_order() {
    let s = sample();
    let mut b = s.clone();
    set32(&mut b, 0, 0xdeadbeef);
    assert_eq!(Fdt::new(&b).err(), Some(Error::BadMagic));
    let mut b = s.clone();
    set32(&mut b, 20, 1);
    assert_eq!(Fdt::new(&b).err(), Some(Error::BadVersion));
    let mut b = s.clone();
    set32(&mut b, 24, 18);
    assert_eq!(Fdt::new(&b).err(), Some(Error::BadVersion));
    let mut b = s.clone();
    set32(&mut b, 4, 39);
    assert_eq!(Fdt::new(&b).err(), Some(Error::Truncated));
    let mut b = s.clone();
    set32(&mut b, 4, 0x8000_0000);
    assert_eq!(Fdt::new(&b).err(), Some(Error::Truncated));
    // struct block reaching past totalsize
    let mut b = s.clone();
    set32(&mut b, 36, 0xffff_fff0);
    assert_eq!(Fdt::new(&b).err(), Some(Error::Truncated));
    // strings block offset before the header
    let mut b = s.clone();
    set32(&mut b, 12, 8);
    assert_eq!(Fdt::new(&b).err(), Some(Error::Truncated));
    // misaligned blob
    let mut b = vec![0u8; s.len() + 1];
    b[1..].copy_from_slice(&s);
    assert_eq!(Fdt::new(&b[1..]).err(), Some(Error::Alignment));
    // totalsize larger than the slice
    assert_eq!(Fdt::new(&s[..s.len() - 1]).err(), Some(Error::Truncated));
}

#[test]
fn bad_structure_is_reported() {
    let s = sample();
    let f = Fdt::new(&s).unwrap();
    let st = f.off_dt_struct();
    // Unknown tag right after the root's name.
    let mut b = s.clone();
    set32(&mut b, st + 8, 0x77);
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.check_full(), Err(Error::BadStructure));
    assert_eq!(f.first_property(0), Err(Error::BadStructure));
    assert_eq!(f.next_node(Some(0), None), Err(Error::BadStructure));
    // Property length running past the block.
    let mut b = s.clone();
    set32(&mut b, st + 12, 0x7fff_0000);
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.getprop(0, "#address-cells"), Err(Error::BadStructure));
    assert_eq!(f.check_full(), Err(Error::BadStructure));
    // Property name offset outside the strings block.
    let mut b = s.clone();
    set32(&mut b, st + 16, 0x10_0000);
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.property_at(8), Err(Error::BadOffset));
    assert_eq!(f.check_full(), Err(Error::BadOffset));
    // Root name without NUL up to the end of the block.
    let mut b = s.clone();
    let len = f.size_dt_struct();
    for x in &mut b[st + 4..st + len] {
        *x = b'a';
    }
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.get_name(0), Err(Error::BadOffset));
    assert_eq!(f.check_full(), Err(Error::BadStructure));
    // Unterminated strings block.
    let mut b = s.clone();
    let (so, sl) = (f.off_dt_strings(), f.size_dt_strings());
    for x in &mut b[so..so + sl] {
        *x = b'z';
    }
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.check_full(), Err(Error::Truncated));
}

#[test]
fn real_boards_exercise_cleanly() {
    for b in ["qemu-virt.dtb", "bcm2711-rpi-4-b.dtb"] {
        let blob = std::fs::read(format!("{GOLDEN}{b}")).unwrap();
        let f = Fdt::new(&blob).unwrap();
        read_all(&f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Random byte overwrites anywhere (header included) never panic.
    #[test]
    fn corrupt_bytes_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut b = sample();
        for (i, v) in edits {
            let at = i.index(b.len());
            b[at] = v;
        }
        exercise(&b);
    }

    /// Random 32-bit words (tags, lengths, header fields) never panic.
    #[test]
    fn corrupt_words_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
        Just(0u32), Just(1), Just(2), Just(3), Just(4), Just(9), Just(0xffff_ffff), Just(0x8000_0000), any::<u32>(),
        (0u32..600)]), 1..4)) {
        let mut b = sample();
        for (i, v) in edits {
            let at = i.index(b.len() / 4) * 4;
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        exercise(&b);
    }

    /// Truncation combined with corruption.
    #[test]
    fn corrupt_and_truncate_never_panic(cut in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), v in any::<u32>()) {
        let mut b = sample();
        let w = at.index(b.len() / 4) * 4;
        b[w..w + 4].copy_from_slice(&v.to_be_bytes());
        let n = cut.index(b.len() + 1);
        exercise(&b[..n]);
    }
}

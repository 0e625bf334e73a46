//! Semantics of the read/write, write-in-place and writer APIs: trees are
//! built with the Writer, edited, and read back.

use cellfdt::{CREATE_FLAG_NO_NAME_DEDUP, Error, Fdt, FdtMut, Writer};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

/// / { a = <1>; soc { #address-cells = <1>; #size-cells = <1>; x@0 { reg = <0 0x10>; }; }; };
fn tree() -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::create(&mut buf).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.property_u32("a", 1).unwrap();
    w.begin_node("soc").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.begin_node("x@0").unwrap();
    w.property_cells("reg", &[0, 0x10]).unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

fn names(f: &Fdt<'_>, node: usize) -> Vec<String> {
    f.properties(node).map(|p| p.name.to_string()).collect()
}

fn children(f: &Fdt<'_>, node: usize) -> Vec<String> {
    f.subnodes(node).map(|n| f.get_name(n).unwrap().to_string()).collect()
}

#[test]
fn new_properties_go_first_and_existing_resize_in_place() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    fm.setprop_u32(0, "b", 2).unwrap();
    fm.setprop_str(0, "c", "hello").unwrap();
    assert_eq!(names(&fm.as_fdt(), 0), ["c", "b", "a"]);
    fm.setprop(0, "b", b"longer value").unwrap();
    assert_eq!(names(&fm.as_fdt(), 0), ["c", "b", "a"]);
    let f = fm.as_fdt();
    assert_eq!(f.getprop(0, "b").unwrap(), b"longer value");
    assert_eq!(f.getprop_str(0, "c").unwrap(), "hello");
    assert_eq!(f.getprop_u32(0, "a").unwrap(), 1);
    assert_eq!(f.getprop_u32(0, "b"), Err(Error::BadValue));
    f.check_full().unwrap();
}

#[test]
fn new_subnodes_go_before_existing_children() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    fm.add_subnode(0, "first").unwrap();
    fm.add_subnode(0, "second").unwrap();
    assert_eq!(children(&fm.as_fdt(), 0), ["second", "first", "soc"]);
    let soc = fm.as_fdt().path_offset("/soc").unwrap();
    // "x" matches "x@0", so it already exists.
    assert_eq!(fm.add_subnode(soc, "x"), Err(Error::Exists));
    assert_eq!(fm.add_subnode(soc, "x@0"), Err(Error::Exists));
    let y = fm.add_subnode(soc, "y@1").unwrap();
    assert_eq!(fm.as_fdt().get_path(y, &mut [0u8; 32]).unwrap(), "/soc/y@1");
    assert_eq!(fm.as_fdt().parent_offset(y), Ok(soc));
    fm.as_fdt().check_full().unwrap();
}

#[test]
fn strings_are_shared_by_suffix_and_never_reclaimed() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    let strings = fm.as_fdt().size_dt_strings();
    // "size-cells" is the tail of "#size-cells".
    fm.setprop_u32(0, "size-cells", 1).unwrap();
    fm.setprop_u32(0, "a", 3).unwrap();
    assert_eq!(fm.as_fdt().size_dt_strings(), strings);
    fm.setprop_u32(0, "fresh", 1).unwrap();
    assert_eq!(fm.as_fdt().size_dt_strings(), strings + 6);
    fm.delprop(0, "fresh").unwrap();
    assert_eq!(fm.as_fdt().size_dt_strings(), strings + 6);
    assert_eq!(fm.as_fdt().getprop(0, "fresh"), Err(Error::NotFound));
    assert_eq!(fm.delprop(0, "fresh"), Err(Error::NotFound));
}

#[test]
fn failed_edits_leave_the_buffer_unchanged() {
    let src = tree();
    let mut buf = vec![0xeeu8; src.len() + 16];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    let before = fm.as_bytes().to_vec();
    assert_eq!(fm.setprop(0, "a-new-name", &[0; 8]), Err(Error::NoSpace));
    assert_eq!(fm.setprop(0, "a", &[0; 64]), Err(Error::NoSpace));
    assert_eq!(fm.add_subnode(0, "a-long-node-name"), Err(Error::NoSpace));
    assert_eq!(fm.setprop(3, "a", b"x"), Err(Error::BadOffset));
    assert_eq!(fm.setprop(5, "a", b"x"), Err(Error::BadOffset));
    assert_eq!(fm.set_name(0, "much-longer-root-name"), Err(Error::NoSpace));
    assert_eq!(fm.del_node(8), Err(Error::BadOffset));
    assert_eq!(fm.setprop_inplace(0, "a", b"12345"), Err(Error::NoSpace));
    assert_eq!(
        fm.setprop_inplace_namelen_partial(0, "a", 2, b"123"),
        Err(Error::NoSpace)
    );
    assert_eq!(fm.as_bytes(), &before[..]);
    // Fill the free space, then one more entry does not fit.
    fm.add_mem_rsv(1, 2).unwrap();
    let full = fm.as_bytes().to_vec();
    assert_eq!(fm.add_mem_rsv(1, 2), Err(Error::NoSpace));
    assert_eq!(fm.as_bytes(), &full[..]);
}

#[test]
fn open_into_needs_room_for_totalsize() {
    let src = tree();
    let mut small = vec![0u8; src.len() - 1];
    assert_eq!(FdtMut::open_into(&src, &mut small).err(), Some(Error::NoSpace));
    let mut exact = vec![0u8; src.len()];
    let fm = FdtMut::open_into(&src, &mut exact).unwrap();
    assert_eq!(fm.as_fdt().version(), 17);
}

#[test]
fn open_into_reorders_a_misordered_blob() {
    // Put the strings block before the structure block.
    let src = tree();
    let f = Fdt::new(&src).unwrap();
    let (so, ss) = (f.off_dt_struct(), f.size_dt_struct());
    let (tro, tsz) = (f.off_dt_strings(), f.size_dt_strings());
    let mut mis = vec![0u8; src.len()];
    mis[..40].copy_from_slice(&src[..40]);
    mis[40..56].copy_from_slice(&src[f.off_mem_rsvmap()..f.off_mem_rsvmap() + 16]);
    mis[56..56 + tsz].copy_from_slice(&src[tro..tro + tsz]);
    let new_so = (56 + tsz + 3) & !3;
    mis[new_so..new_so + ss].copy_from_slice(&src[so..so + ss]);
    mis[16..20].copy_from_slice(&40u32.to_be_bytes());
    mis[12..16].copy_from_slice(&56u32.to_be_bytes());
    mis[8..12].copy_from_slice(&(new_so as u32).to_be_bytes());
    let mis_f = Fdt::new(&mis).unwrap();
    mis_f.check_full().unwrap();
    let mut probe = mis.clone();
    assert_eq!(
        FdtMut::new(&mut probe).unwrap().setprop_u32(0, "a", 1),
        Err(Error::BadLayout)
    );

    let mut buf = vec![0u8; 2048];
    let fm = FdtMut::open_into(&mis, &mut buf).unwrap();
    assert_eq!(fm.as_fdt().off_dt_struct(), 56);
    assert_eq!(fm.as_fdt().getprop_u32(0, "a"), Ok(1));
    // In place: the packed copy is built after the old blob and moved down.
    let mut inplace = mis.clone();
    inplace.resize(mis.len() * 2 + 64, 0);
    let fm2 = FdtMut::open_in_place(&mut inplace).unwrap();
    assert_eq!(&fm2.as_bytes()[56..56 + ss + tsz], &fm.as_bytes()[56..56 + ss + tsz]);
    let mut tight = mis.clone();
    tight.resize(mis.len() + 8, 0);
    assert_eq!(FdtMut::open_in_place(&mut tight).err(), Some(Error::NoSpace));
}

#[test]
fn pack_shrinks_to_the_data_and_keeps_content() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    fm.setprop_u32(0, "b", 2).unwrap();
    fm.add_mem_rsv(0x1000, 0x2000).unwrap();
    fm.pack().unwrap();
    let f = fm.as_fdt();
    assert_eq!(f.totalsize(), f.off_dt_strings() + f.size_dt_strings());
    assert_eq!(f.num_mem_rsv(), Ok(1));
    assert_eq!(f.get_mem_rsv(0), Ok((0x1000, 0x2000)));
    assert_eq!(fm.setprop_u32(0, "c", 1), Err(Error::NoSpace));
    assert_eq!(fm.as_fdt().getprop_u32(0, "b"), Ok(2));
    assert_eq!(fm.del_mem_rsv(1), Err(Error::NotFound));
}

#[test]
fn set_name_del_node_and_nop() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    let soc = fm.as_fdt().path_offset("/soc").unwrap();
    fm.set_name(soc, "bus@1000000").unwrap();
    assert!(fm.as_fdt().path_offset("/bus/x@0").is_ok());
    let x = fm.as_fdt().path_offset("/bus@1000000/x").unwrap();
    fm.nop_property(x, "reg").unwrap();
    assert_eq!(fm.as_fdt().getprop(x, "reg"), Err(Error::NotFound));
    fm.nop_node(x).unwrap();
    assert_eq!(fm.as_fdt().first_subnode(soc), Err(Error::NotFound));
    fm.as_fdt().check_full().unwrap();
    fm.del_node(soc).unwrap();
    assert_eq!(children(&fm.as_fdt(), 0), Vec::<String>::new());
    assert_eq!(fm.as_fdt().path_offset("/bus"), Err(Error::NotFound));
}

#[test]
fn appendprop_and_addresses() {
    let src = tree();
    let mut buf = vec![0u8; 4096];
    let mut fm = FdtMut::open_into(&src, &mut buf).unwrap();
    let soc = fm.as_fdt().path_offset("/soc").unwrap();
    let x = fm.as_fdt().subnode_offset(soc, "x").unwrap();
    fm.appendprop_addrrange(soc, x, "reg", 0x100, 0x20).unwrap();
    assert_eq!(
        fm.as_fdt().reg(x).unwrap().collect::<Vec<_>>(),
        [(0, 0x10), (0x100, 0x20)]
    );
    // One address cell: the range must end at or below 2^32 (libfdt
    // >= 1.7.1; 1.6.1 refused address 0 and accepted wrapping ranges).
    fm.appendprop_addrrange(soc, x, "reg", 0, 0x10).unwrap();
    fm.appendprop_addrrange(soc, x, "reg", 0xffff_fff0, 0x10).unwrap();
    assert_eq!(
        fm.appendprop_addrrange(soc, x, "reg", 0xffff_fff0, 0x11),
        Err(Error::BadValue)
    );
    assert_eq!(
        fm.as_fdt().reg(x).unwrap().collect::<Vec<_>>(),
        [(0, 0x10), (0x100, 0x20), (0, 0x10), (0xffff_fff0, 0x10)]
    );
    assert_eq!(
        fm.appendprop_addrrange(soc, x, "reg", 1 << 32, 0x10),
        Err(Error::BadValue)
    );
    fm.setprop_reg(x, &[(0x2000, 0x30)]).unwrap();
    assert_eq!(fm.as_fdt().getprop(x, "reg").unwrap(), &[0, 0, 0x20, 0, 0, 0, 0, 0x30]);
    assert_eq!(fm.setprop_reg(x, &[(1 << 33, 1)]), Err(Error::BadValue));
    fm.appendprop_str(0, "list", "one").unwrap();
    fm.appendprop_str(0, "list", "two").unwrap();
    let f = fm.as_fdt();
    // The new root property moved everything after it.
    let soc = f.path_offset("/soc").unwrap();
    assert_eq!(f.stringlist_count(0, "list"), Ok(2));
    assert_eq!(f.stringlist_get(0, "list", 1), Ok("two"));
    assert_eq!(f.stringlist_search(0, "list", "two"), Ok(1));
    assert_eq!(f.stringlist_search(0, "list", "tw"), Err(Error::NotFound));
    assert_eq!(f.address_cells(0), Ok(2));
    assert_eq!(f.size_cells(0), Ok(1));
    assert_eq!(f.address_cells(soc), Ok(1));
    fm.setprop_u32(soc, "#address-cells", 0).unwrap();
    assert_eq!(fm.as_fdt().address_cells(soc), Err(Error::BadNCells));
    fm.setprop_u32(soc, "#size-cells", 5).unwrap();
    assert_eq!(fm.as_fdt().size_cells(soc), Err(Error::BadNCells));
}

#[test]
fn writer_states_and_dedup() {
    let mut buf = vec![0u8; 512];
    let mut w = Writer::create(&mut buf).unwrap();
    assert_eq!(w.begin_node(""), Err(Error::BadState));
    w.finish_reservemap().unwrap();
    assert_eq!(w.add_reservemap_entry(1, 1), Err(Error::BadState));
    w.begin_node("").unwrap();
    w.property_u32("reg", 1).unwrap();
    w.property_u32("reg", 2).unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    assert_eq!(Fdt::new(&buf[..n]).unwrap().size_dt_strings(), 4);

    let mut buf = vec![0u8; 512];
    let mut w = Writer::create_with_flags(&mut buf, CREATE_FLAG_NO_NAME_DEDUP).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.property_u32("reg", 1).unwrap();
    w.property_u32("reg", 2).unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    assert_eq!(Fdt::new(&buf[..n]).unwrap().size_dt_strings(), 8);

    let mut buf = vec![0u8; 64];
    assert!(Writer::create_with_flags(&mut buf, 2).is_err());
    assert!(Writer::create(&mut buf[..47]).is_err());
    let mut w = Writer::create(&mut buf).unwrap();
    w.finish_reservemap().unwrap();
    assert_eq!(w.begin_node("this-name-does-not-fit"), Err(Error::NoSpace));
}

#[test]
fn real_boards_read() {
    let virt = std::fs::read(format!("{GOLDEN}qemu-virt.dtb")).unwrap();
    let f = Fdt::new(&virt).unwrap();
    let uart = f.node_offset_by_compatible(None, "arm,pl011").unwrap();
    assert_eq!(f.get_path(uart, &mut [0u8; 64]).unwrap(), "/pl011@9000000");
    assert_eq!(f.get_path(uart, &mut [0u8; 14]), Err(Error::NoSpace));
    assert_eq!(f.reg(uart).unwrap().collect::<Vec<_>>(), [(0x900_0000, 0x1000)]);
    assert_eq!(f.node_check_compatible(uart, "arm,primecell"), Ok(true));
    assert_eq!(f.node_depth(uart), Ok(1));
    let gic = f.node_offset_by_compatible(None, "arm,gic-v3").unwrap();
    let ph = f.get_phandle(gic).unwrap();
    assert_eq!(f.node_offset_by_phandle(ph), Ok(gic));
    assert!(f.find_max_phandle().unwrap() >= ph);
    assert_eq!(f.node_offset_by_phandle(0), Err(Error::BadPhandle));

    let rpi = std::fs::read(format!("{GOLDEN}bcm2711-rpi-4-b.dtb")).unwrap();
    let f = Fdt::new(&rpi).unwrap();
    f.check_full().unwrap();
    assert_eq!(f.num_mem_rsv(), Ok(1));
    let serial0 = f.get_alias("serial0").unwrap();
    assert_eq!(f.path_offset("serial0"), f.path_offset(serial0));
    assert!(f.path_offset("serial0").is_ok());
    assert_eq!(f.path_offset("no-such-alias"), Err(Error::BadPath));
    assert_eq!(f.path_offset("/soc/no-such-node"), Err(Error::NotFound));
    let soc = f.path_offset("/soc").unwrap();
    let ranges: Vec<_> = f.ranges(soc).unwrap().collect();
    assert!(ranges.contains(&(0x7e00_0000, 0xfe00_0000, 0x180_0000)), "{ranges:x?}");
}

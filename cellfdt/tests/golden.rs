//! Byte-for-byte checks against libfdt 1.6.1: the golden files were made by
//! running the same call sequences through Debian's libfdt (the C programs
//! are next to them: golden/seq.c, golden/sw.c).

use cellfdt::{Error, Fdt, FdtMut, Writer};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{GOLDEN}{name}")).unwrap()
}

/// Records return codes the way the C programs print them.
struct Log(String, usize);
impl Log {
    fn r(&mut self, x: Result<i64, Error>) -> i64 {
        let v = x.unwrap_or_else(|e| e.code() as i64);
        self.0 += &format!("{} {} ", self.1, v);
        self.1 += 1;
        v
    }
}
fn u<T>(x: Result<T, Error>) -> Result<i64, Error> {
    x.map(|_| 0)
}
fn o(x: Result<usize, Error>) -> Result<i64, Error> {
    x.map(|v| v as i64)
}

/// Mirror of golden/seq.c.
fn seq(src: &[u8], mem: &mut [u8]) -> String {
    let mut l = Log(String::new(), 0);
    let mut fm = FdtMut::open_into(src, mem).unwrap();
    l.r(Ok(0));
    let chosen = l.r(o(fm.as_fdt().path_offset("/chosen"))) as usize;
    l.r(u(fm.setprop_str(chosen, "bootargs", "console=ttyAMA0 root=/dev/vda")));
    l.r(u(fm.setprop_u64(chosen, "linux,initrd-start", 0x48000000)));
    l.r(u(fm.setprop_u64(chosen, "linux,initrd-end", 0x48100000)));
    l.r(u(fm.setprop_str(chosen, "bootargs", "short")));
    l.r(u(fm.setprop(chosen, "empty", &[])));
    l.r(u(fm.appendprop_str(chosen, "empty", "x")));
    l.r(u(fm.appendprop_u32(chosen, "empty", 7)));
    l.r(u(fm.appendprop_addrrange(0, chosen, "range", 0x40000000, 0x1000)));
    let cpus = l.r(o(fm.as_fdt().path_offset("/cpus"))) as usize;
    let c1 = l.r(o(fm.as_fdt().subnode_offset(cpus, "cpu@1")));
    if c1 >= 0 {
        l.r(u(fm.del_node(c1 as usize)));
    }
    let pci = l.r(o(fm.add_subnode(0, "pci@8e00000"))) as usize;
    l.r(o(fm.add_subnode(0, "pci")));
    l.r(u(fm.setprop_str(pci, "compatible", "pci-host-ecam-generic")));
    l.r(u(fm.setprop_str(pci, "device_type", "pci")));
    l.r(u(fm.setprop_u32(pci, "#address-cells", 3)));
    l.r(u(fm.setprop_u32(pci, "#size-cells", 2)));
    l.r(u(fm.setprop_u32(pci, "phandle", 0x9999)));
    l.r(u(fm.set_name(pci, "pci@8e00000-renamed-long")));
    l.r(u(fm.set_name(pci, "p")));
    let sub = l.r(o(fm.add_subnode(pci, "dev@0"))) as usize;
    l.r(o(fm.add_subnode(pci, "dev@1")));
    l.r(u(fm.delprop(chosen, "linux,initrd-end")));
    l.r(u(fm.delprop(chosen, "nonexistent")));
    l.r(u(fm.setprop(3, "x", b"a")));
    l.r(u(fm.add_mem_rsv(0x1000, 0x2000)));
    l.r(u(fm.add_mem_rsv(0x5000, 0x100)));
    l.r(u(fm.del_mem_rsv(0)));
    l.r(u(fm.del_mem_rsv(5)));
    l.r(u(fm.nop_property(chosen, "empty")));
    l.r(o(fm.as_fdt().node_offset_by_compatible(None, "arm,pl011")));
    l.r(u(fm.setprop_inplace_u32(pci, "#size-cells", 1)));
    l.r(u(fm.setprop_inplace_u32(pci, "compatible", 1)));
    l.r(u(fm.nop_node(sub)));
    l.r(u(fm.setprop_placeholder(chosen, "big", 1 << 22)));
    l.r(u(fm.setprop(chosen, "kaslr-seed", &[1, 2, 3, 4, 5, 6, 7, 8])));
    l.r(u(fm.as_fdt().check_full()));
    l.r(u(fm.pack()));
    l.r(u(fm.as_fdt().check_full()));
    l.r(Ok(fm.as_fdt().totalsize() as i64));
    l.0
}

fn check_seq(board: &str) {
    let src = read(&format!("{board}.dtb"));
    let mut mem = vec![0xa5u8; 65536];
    let codes = seq(&src, &mut mem);
    assert_eq!(
        codes,
        read(&format!("seq-{board}.codes"))
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
    );
    let want = read(&format!("seq-{board}.dtb"));
    assert_eq!(&mem[..want.len()], &want[..], "blob differs from libfdt's");
    // The stale bytes past the packed blob are libfdt's too.
    Fdt::new(&mem).unwrap().check_full().unwrap();
}

#[test]
fn edit_sequence_matches_libfdt_qemu_virt() {
    check_seq("qemu-virt");
}

#[test]
fn edit_sequence_matches_libfdt_rpi4() {
    check_seq("bcm2711-rpi-4-b");
}

/// Mirror of golden/sw.c (first part), with the buffer cut to 1000 bytes.
#[test]
fn writer_matches_libfdt() {
    let mut mem = vec![0x5au8; 1000];
    let mut l = Log(String::new(), 0);
    let mut w = Writer::create(&mut mem).unwrap();
    l.r(Ok(0));
    l.r(u(w.begin_node("early")));
    l.r(u(w.add_reservemap_entry(0x1000, 0x100)));
    l.r(u(w.finish_reservemap()));
    l.r(u(w.add_reservemap_entry(0x1000, 0x100)));
    l.r(u(w.begin_node("")));
    l.r(u(w.property_str("compatible", "linux,dummy-virt")));
    l.r(u(w.property_u32("#address-cells", 2)));
    l.r(u(w.property_u32("#size-cells", 2)));
    l.r(u(w.property_u32("cells", 1)));
    l.r(u(w.property("empty", &[])));
    l.r(u(w.begin_node("memory@40000000")));
    l.r(u(w.property_str("device_type", "memory")));
    l.r(u(w.property_u64("reg", 0x40000000)));
    l.r(u(w.end_node()));
    l.r(u(w.begin_node("chosen")));
    l.r(u(w.property_str("bootargs", "console=ttyAMA0")));
    l.r(u(w.property_str("compatible", "x")));
    l.r(u(w.property_str("patible", "y")));
    l.r(u(w.property("odd", b"abcde")));
    l.r(u(w.end_node()));
    l.r(u(w.end_node()));
    l.r(u(w.finish()));
    let f = Fdt::new(&mem).unwrap();
    l.r(u(f.check_full()));
    l.r(Ok(f.totalsize() as i64));
    // Name dedup reuses the tail of "compatible" for "patible".
    let chosen = f.path_offset("/chosen").unwrap();
    let mut props = f.properties(chosen);
    let a = props.nth(1).unwrap();
    let b = props.next().unwrap();
    assert_eq!((a.name, b.name), ("compatible", "patible"));
    let codes = read("sw-1000.codes").iter().map(|&b| b as char).collect::<String>();
    assert!(codes.starts_with(&l.0), "{codes} vs {}", l.0);
    assert_eq!(mem, read("sw-1000.buf"));
}

#[test]
fn empty_tree_matches_libfdt() {
    let mut mem = vec![0x5au8; 1000];
    let fm = FdtMut::create_empty_tree(&mut mem).unwrap();
    assert_eq!(fm.as_fdt().totalsize(), 1000);
    assert_eq!(mem, read("empty-1000.buf"));
}

/// Older blob versions: v16 opens (structure size found by walking), v3
/// reads (full-path names, 8-byte-aligned big values) but does not open.
#[test]
fn old_versions_match_libfdt() {
    let v16 = read("qemu-virt-v16.dtb");
    let mut buf = vec![0x77u8; 65536];
    let fm = FdtMut::open_into(&v16, &mut buf).unwrap();
    let want = read("open-v16.data");
    assert_eq!(&fm.as_bytes()[..want.len()], &want[..]);
    assert_eq!(&fm.as_bytes()[want.len()..], &vec![0x77u8; 65536 - want.len()][..]);

    let v3 = read("qemu-virt-v3.dtb");
    let mut buf = vec![0u8; 65536];
    assert_eq!(FdtMut::open_into(&v3, &mut buf).err(), Some(Error::BadVersion));
    let f = Fdt::new(&v3).unwrap();
    let uart = f.path_offset("/pl011@9000000").unwrap();
    assert_eq!(uart, 7216); // libfdt says so too
    assert_eq!(f.get_name(uart), Ok("pl011@9000000"));
    assert_eq!(f.getprop(uart, "reg").unwrap().len(), 16);
    assert_eq!(f.get_path(uart, &mut [0u8; 64]).unwrap(), "/pl011@9000000");
    f.check_full().unwrap();
}

//! Where libfdt changed since the linked 1.6.1 and cellfdt follows the
//! current release: each case is checked against libfdt 1.7.2 (pylibfdt's,
//! `libfdt_current`), with the expected code spelled out as well, and where
//! 1.6.1 behaves differently that is asserted too, so the reason the two
//! oracles disagree stays visible.

mod overlay_common;

use cellfdt::{Error, Fdt, FdtMut, Writer};
use fdt_conformance::libfdt_current::{Call, Ret, code, run};
use fdt_conformance::overlay_ffi::{apply_with_cellfdt, apply_with_current, apply_with_libfdt};
use fdt_conformance::{AlignedBuf, fixtures, libfdt, libfdt_ro};
use overlay_common::*;

/// (1) `nop_property` and `setprop_inplace` see a name up to its first NUL,
/// as a C caller's `char *` does (libfdt 1.6.1 and 1.7.2 alike).
#[test]
fn wip_names_are_cut_at_nul() {
    let blob = fixtures::load(fixtures::QEMU_VIRT);
    let node = libfdt_ro::path_offset(&blob, "/pl031@9010000").expect("pl031");
    let reg = libfdt_ro::getprop(&blob, node, "reg").expect("reg").to_vec();
    let val: Vec<u8> = reg.iter().map(|b| b ^ 0x5a).collect();

    let mut c1 = AlignedBuf::from_slice(&blob);
    let r1 = FdtMut::new(&mut c1).and_then(|mut f| f.setprop_inplace(node, "reg\0x", &val));
    assert_eq!(r1, Ok(()));
    let mut c2 = c1.clone();
    let r2 = FdtMut::new(&mut c2).and_then(|mut f| f.nop_property(node, "reg\0x"));
    assert_eq!(r2, Ok(()));
    assert_eq!(Fdt::new(&c2).unwrap().getprop(node, "reg"), Err(Error::NotFound));

    let (rets, after1) = run(&blob, &[Call::SetpropInplace(node, b"reg\0x", &val)]);
    assert_eq!(rets, [Ret::Code(code(&r1))]);
    assert!(after1[..] == c1[..], "setprop_inplace bytes differ from libfdt 1.7.2");
    let (rets, after2) = run(&c1, &[Call::NopProperty(node, b"reg\0x")]);
    assert_eq!(rets, [Ret::Code(code(&r2))]);
    assert!(after2[..] == c2[..], "nop_property bytes differ from libfdt 1.7.2");
}

/// A root with /aliases holding good and malformed values, and /chosen/sub.
fn alias_tree() -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut w = Writer::create(&mut buf).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.begin_node("aliases").unwrap();
    w.property("good", b"/chosen\0").unwrap();
    w.property("unterminated", b"/chosen").unwrap();
    w.property("chain", b"good\0").unwrap();
    w.property("empty", b"").unwrap();
    w.property("nul", b"\0").unwrap();
    w.end_node().unwrap();
    w.begin_node("chosen").unwrap();
    w.begin_node("sub").unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

/// (2) An alias is a NUL-terminated full path (libfdt >= 1.7.1): anything
/// else is BadValue from `get_alias` (libfdt: NULL) and BadPath from
/// `path_offset`. 1.6.1 resolved an unterminated value by reading past it
/// and followed alias chains.
#[test]
fn aliases_are_validated_as_current_libfdt() {
    let blob = alias_tree();
    let f = Fdt::new(&blob).unwrap();
    let chosen = f.path_offset("/chosen").unwrap();
    let sub = f.path_offset("/chosen/sub").unwrap();
    assert_eq!(f.get_alias("good"), Ok("/chosen"));
    assert_eq!(f.path_offset("good/sub"), Ok(sub));
    for bad in ["unterminated", "chain", "empty", "nul"] {
        assert_eq!(f.get_alias(bad), Err(Error::BadValue), "{bad}");
        assert_eq!(f.path_offset(bad), Err(Error::BadPath), "{bad}");
    }
    assert_eq!(f.get_alias("missing"), Err(Error::NotFound));
    assert_eq!(f.path_offset(""), Err(Error::BadPath));
    // 1.6.1 on the same blob: the unterminated alias and the chain resolve.
    assert_eq!(libfdt_ro::path_offset(&blob, "unterminated"), Ok(chosen));
    assert_eq!(libfdt_ro::path_offset(&blob, "chain"), Ok(chosen));

    let names: [&[u8]; 6] = [b"good", b"unterminated", b"chain", b"empty", b"nul", b"missing"];
    let paths: [&[u8]; 5] = [b"good/sub", b"unterminated", b"chain/sub", b"", b"missing"];
    let mut calls: Vec<Call> = names.iter().map(|n| Call::GetAlias(n)).collect();
    calls.extend(paths.iter().map(|p| Call::PathOffset(p)));
    let (rets, _) = run(&blob, &calls);
    for (n, r) in names.iter().zip(&rets) {
        let ours = f
            .get_alias(std::str::from_utf8(n).unwrap())
            .ok()
            .map(|s| s.as_bytes().to_vec());
        assert_eq!(r, &Ret::Alias(ours), "get_alias {:?}", String::from_utf8_lossy(n));
    }
    for (p, r) in paths.iter().zip(&rets[names.len()..]) {
        let ours = f.path_offset(std::str::from_utf8(p).unwrap());
        let ours = ours.map_or_else(|e| e.code(), |o| o as i32);
        assert_eq!(r, &Ret::Code(ours), "path_offset {:?}", String::from_utf8_lossy(p));
    }
}

/// (3) One address cell: the range must end at or below 2^32 (libfdt's
/// documentation, and 1.7.2; 1.6.1 computed the room in 32 bits).
#[test]
fn appendprop_addrrange_one_cell_bound() {
    let mut buf = vec![0u8; 4096];
    let mut w = Writer::create(&mut buf).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.begin_node("bus").unwrap();
    w.property_u32("#address-cells", 1).unwrap();
    w.property_u32("#size-cells", 1).unwrap();
    w.begin_node("dev").unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    w.end_node().unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    let mut opened = AlignedBuf::zeroed(n + 1024);
    libfdt::open_into(&buf, &mut opened).unwrap();

    let cases: [(u64, u64, Result<(), Error>); 6] = [
        (0, 0x10, Ok(())),
        (0x1000, 0, Ok(())),
        (0xffff_fff0, 0x10, Ok(())),
        (0xffff_fff0, 0x11, Err(Error::BadValue)),
        (0xffff_ffff, 0xffff_ffff, Err(Error::BadValue)),
        (1 << 32, 0, Err(Error::BadValue)),
    ];
    let mut ours = opened.clone();
    let (bus, dev) = {
        let f = Fdt::new(&ours).unwrap();
        let bus = f.path_offset("/bus").unwrap();
        (bus, f.path_offset("/bus/dev").unwrap())
    };
    let mut calls = Vec::new();
    for &(addr, size, want) in &cases {
        let r = FdtMut::new(&mut ours)
            .unwrap()
            .appendprop_addrrange(bus, dev, "reg", addr, size);
        assert_eq!(r, want, "addr {addr:#x} size {size:#x}");
        calls.push(Call::AppendpropAddrrange {
            parent: bus,
            node: dev,
            name: b"reg",
            addr,
            size,
        });
    }
    let (rets, after) = run(&opened, &calls);
    let want: Vec<Ret> = cases.iter().map(|c| Ret::Code(code(&c.2))).collect();
    assert_eq!(rets, want);
    assert!(after[..] == ours[..], "bytes differ from libfdt 1.7.2");
    // 1.6.1 refuses address 0 with a size.
    let mut old = opened.clone();
    assert_eq!(
        libfdt::appendprop_addrrange(&mut old, bus, dev, "reg", 0, 0x10),
        Err(Error::BadValue)
    );
}

/// The phandle a base node had is kept when an overlay node with a label
/// merges into it (libfdt >= 1.7.1, dtc's tests `fdtoverlay` phandle case);
/// cellfdt's bytes equal 1.7.2's, 1.6.1's differ.
#[test]
fn overlay_keeps_base_phandles() {
    let base = dts("phandle-base");
    let ov = dts("ov-phandle-keep");
    let ours = apply_with_cellfdt(&base.bytes, 4096, &[&ov.bytes]);
    let cur = apply_with_current(&base.bytes, 4096, &[&ov.bytes]);
    let old = apply_with_libfdt(&base.bytes, 4096, &[&ov.bytes]);
    assert_eq!(ours.result, Ok(()));
    assert_eq!(cur.result, Ok(()));
    assert!(ours.base[..] == cur.base[..], "bytes differ from libfdt 1.7.2");
    assert!(
        ours.base[..] != old.base[..],
        "1.6.1 was expected to overwrite the base's phandles"
    );

    let f = Fdt::new(&ours.base).unwrap();
    let b = Fdt::new(&base.bytes).unwrap();
    let ph = |f: &Fdt, p: &str| f.get_phandle(f.path_offset(p).unwrap()).unwrap();
    let val = |f: &Fdt, p: &str, n: &str| f.getprop(f.path_offset(p).unwrap(), n).unwrap().to_vec();
    assert_eq!(ph(&f, "/intc@1000"), ph(&b, "/intc@1000"));
    assert_eq!(ph(&f, "/clock"), ph(&b, "/clock"));
    assert_eq!(
        val(&f, "/bus/dev@2000", "interrupt-parent"),
        ph(&b, "/intc@1000").to_be_bytes()
    );
    assert_eq!(
        val(&f, "/consumer", "interrupt-parent"),
        ph(&b, "/intc@1000").to_be_bytes()
    );
    assert_eq!(
        val(&f, "/bus/dev@3000", "interrupt-parent"),
        ph(&b, "/intc@1000").to_be_bytes()
    );
    let clocks = val(&f, "/consumer", "clocks");
    assert_eq!(clocks[..4], ph(&f, "/clock/clock-frequency-holder").to_be_bytes());
    assert_eq!(clocks[4..], ph(&f, "/bus/dev@2000").to_be_bytes());
    libfdt::check_full(&ours.base[..libfdt::totalsize(&ours.base)]).unwrap();
}

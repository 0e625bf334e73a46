//! Cases the libfdt differential suites found, kept as plain tests.

use cellfdt::{Error, Fdt, Writer};

#[repr(align(8))]
struct Buf([u8; 512]);

const H_SIZE_DT_STRUCT: usize = 36;

/// `size_dt_struct` cut to end right after the root's empty name (inside the
/// name's alignment padding): libfdt 1.6.1's fdt_check_full reads the root's
/// name fine and then hits the block end, FDT_ERR_TRUNCATED. cellfdt used to
/// take the aligned end as the name's end and report FDT_ERR_INTERNAL.
#[test]
fn struct_block_ending_inside_root_name_padding_is_truncated() {
    let mut buf = Buf([0; 512]);
    let mut w = Writer::create(&mut buf.0).unwrap();
    w.finish_reservemap().unwrap();
    w.begin_node("").unwrap();
    w.property("x", &[0, 0, 0, 1]).unwrap();
    w.end_node().unwrap();
    let size = w.finish().unwrap();
    buf.0[H_SIZE_DT_STRUCT..H_SIZE_DT_STRUCT + 4].copy_from_slice(&5u32.to_be_bytes());
    let fdt = Fdt::new(&buf.0[..size]).unwrap();
    assert_eq!(fdt.get_name(0), Ok(""));
    assert_eq!(fdt.check_full(), Err(Error::Truncated));
}

//! The shim prints these messages through `text::write`, host tools through
//! `Display`: one rendering, and the text core::fmt gave (widths, `0x`
//! prefixes, zero) kept exactly, since `cellboot check` output and the e2e
//! cases match it.

use cellboot_abi::staging::{DtbTrimError, Item, StagingError};
use cellboot_abi::text::{Render, Sink};
use cellboot_abi::{NO_INDEX, Problem};

struct Text(Vec<u8>);
impl Sink for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// The shim's rendering (through a sink) and the host's (`Display`), equal.
fn both(d: &(impl core::fmt::Display + Render)) -> String {
    let mut t = Text(Vec::new());
    d.render(&mut t);
    let t = String::from_utf8(t.0).unwrap();
    assert_eq!(t, d.to_string());
    t
}

#[test]
fn problems_render_as_core_fmt_did() {
    let cases = [
        (
            Problem::BadChecksum {
                found: 0,
                computed: 0xabc,
            },
            "checksum 0x00000000, computed 0x00000abc",
        ),
        (
            Problem::BoardField {
                field: "uart_base",
                value: 0,
            },
            "board.uart_base = 0x0 is invalid",
        ),
        (
            Problem::TooMany {
                what: "cells",
                count: 9,
                max: 8,
            },
            "9 cells, at most 8",
        ),
        (
            Problem::CellField {
                cell: 1,
                field: "memory",
                index: 2,
                value: u64::MAX,
                rule: "r",
            },
            "cells[1].memory[2] = 0xffffffffffffffff: r",
        ),
        (
            Problem::CellField {
                cell: 4294967295,
                field: "f",
                index: NO_INDEX,
                value: 0x10,
                rule: "r",
            },
            "cells[4294967295].f = 0x10: r",
        ),
    ];
    for (p, want) in cases {
        assert_eq!(both(&p), want);
    }
}

#[test]
fn staging_and_trim_errors_render_as_core_fmt_did() {
    assert_eq!(
        both(&StagingError::DoesNotFit {
            what: Item::Overlay(3),
            size: 0x1000,
            floor: 0x4000_0000,
        }),
        "overlay 3 (0x1000 bytes) does not fit above 0x40000000 (loader end / RAM base) in the first RAM region"
    );
    assert_eq!(
        both(&DtbTrimError::BadMagic(0xd00d)),
        "magic 0x0000d00d, expected 0xd00dfeed"
    );
    assert_eq!(
        both(&DtbTrimError::Short {
            len: usize::MAX,
            need: 40
        }),
        "18446744073709551615 bytes, the DTB header needs 40"
    );
}

#[test]
fn the_interpreter_keeps_text_and_fills_arguments_in_order() {
    let mut t = Text(Vec::new());
    let p = Problem::NoCpus { cell: 7 };
    cellboot_abi::text::write(
        &mut t,
        "a {} b {:x} c {:#x} d {:02x} e {:#06x} f {} g {} h",
        &cellboot_abi::args!(0u8, 255u32, 0u64, 5usize, 0xabu16, "str", p),
    );
    assert_eq!(
        String::from_utf8(t.0).unwrap(),
        "a 0 b ff c 0x0 d 05 e 0x00ab f str g cells[7].cpus is empty h"
    );
    let mut t = Text(Vec::new());
    cellboot_abi::text::write(&mut t, "{} {:#x}", &cellboot_abi::args!(u64::MAX, u64::MAX));
    assert_eq!(
        String::from_utf8(t.0).unwrap(),
        "18446744073709551615 0xffffffffffffffff"
    );
}

#[test]
fn format_strings_are_checked_for_what_write_reads() {
    use cellboot_abi::text::valid;
    assert!(valid("a {} b {:x} c {:#x} d {:02x} e {:#010x}", 5));
    assert!(valid("no arguments", 0));
    assert!(!valid("a {}", 0), "an argument missing");
    assert!(!valid("a", 1), "an argument too many");
    assert!(!valid("cell {name}", 0), "a captured name would print nothing");
    assert!(!valid("{:?}", 1));
    assert!(!valid("{:5}", 1));
    assert!(!valid("{{}}", 0));
    assert!(!valid("a {", 1));
}

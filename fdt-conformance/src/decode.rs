//! Edit scripts from raw bytes (fuzz inputs and corpus files).
//!
//! Every byte string decodes to some script, so a fuzzer's mutations all
//! reach the libraries; the encoding favours existing nodes and properties.

use crate::script::{NodeName, NodeRef, Op, PropRef};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | self.u8()? as u64;
        }
        Some(v)
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
}

const PROP_NAMES: &[&str] = &[
    "compatible",
    "status",
    "reg",
    "bootargs",
    "phandle",
    "#address-cells",
    "x",
    "linux,initrd-start",
];
const NODE_CHARS: &[u8] = b"abcxyz019@,-_.+";

fn name(b: &mut Bytes<'_>, chars: &[u8]) -> Option<String> {
    let len = b.u8()? as usize % 12 + 1;
    let raw = b.take(len);
    Some(raw.iter().map(|&c| chars[c as usize % chars.len()] as char).collect())
}

fn node(b: &mut Bytes<'_>) -> Option<NodeRef> {
    let k = b.u8()?;
    Some(if k < 240 {
        NodeRef::Existing(k as u16 | (b.u8()? as u16) << 8)
    } else {
        NodeRef::Raw(b.u16()? as u32)
    })
}

fn prop(b: &mut Bytes<'_>) -> Option<PropRef> {
    let k = b.u8()?;
    Some(match k % 4 {
        0 | 1 => PropRef::Existing(b.u8()? as u16),
        2 => PropRef::Named(PROP_NAMES[b.u8()? as usize % PROP_NAMES.len()].to_string()),
        _ => PropRef::Named(name(b, b"abcdefgh,#-")?),
    })
}

fn value(b: &mut Bytes<'_>) -> Option<Vec<u8>> {
    let len = b.u8()? as usize;
    let len = if len >= 250 { (len - 249) * 300 } else { len % 40 };
    let seed = b.u8()?;
    Some((0..len).map(|i| seed.wrapping_add(i as u8)).collect())
}

fn node_name(b: &mut Bytes<'_>) -> Option<NodeName> {
    Some(if b.u8()? % 4 == 0 {
        NodeName::Sibling(b.u8()? as u16)
    } else {
        NodeName::New(name(b, NODE_CHARS)?)
    })
}

fn op(b: &mut Bytes<'_>) -> Option<Op> {
    Some(match b.u8()? % 15 {
        0 => Op::SetProp(node(b)?, prop(b)?, value(b)?),
        1 => Op::AppendProp(node(b)?, prop(b)?, value(b)?),
        2 => Op::DelProp(node(b)?, prop(b)?),
        3 => Op::AddSubnode(node(b)?, node_name(b)?),
        4 => Op::DelNode(node(b)?),
        5 => Op::SetName(node(b)?, node_name(b)?),
        6 => Op::AddMemRsv(b.u64()?, b.u64()?),
        7 => Op::DelMemRsv(b.u8()? % 8),
        8 => Op::SetPropInplace(
            node(b)?,
            prop(b)?,
            if b.u8()? % 2 == 0 { None } else { Some(value(b)?) },
        ),
        9 => Op::NopProperty(node(b)?, prop(b)?),
        10 => Op::NopNode(node(b)?),
        11 => Op::Pack,
        12 => Op::OpenInto(b.u16()? % 2048),
        13 => Op::OpenIntoDelta(b.u16()? as i16 as i32),
        _ => Op::OpenInPlace,
    })
}

/// Decode up to `max_ops` ops from `data`.
pub fn script(data: &[u8], max_ops: usize) -> Vec<Op> {
    let mut b = Bytes(data);
    let mut out = Vec::new();
    while out.len() < max_ops {
        match op(&mut b) {
            Some(o) => out.push(o),
            None => break,
        }
    }
    out
}

//! Generated trees: a tree description, turned into a sequential-writer call
//! list that is played through libfdt's fdt_sw and cellfdt's `Writer`.

#[cfg(feature = "cellfdt-sw")]
use crate::libfdt;
use crate::{AlignedBuf, libfdt_sw::SwWriter};
use cellfdt::Error;
#[cfg(feature = "cellfdt-sw")]
use cellfdt::Writer;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub props: Vec<(String, Vec<u8>)>,
    pub children: Vec<NodeSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeSpec {
    pub rsv: Vec<(u64, u64)>,
    pub root: NodeSpec,
}

/// One call of the sequential-write API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwCall {
    AddRsv(u64, u64),
    FinishRsv,
    Begin(String),
    Prop(String, Vec<u8>),
    End,
}

fn emit(n: &NodeSpec, out: &mut Vec<SwCall>) {
    out.push(SwCall::Begin(n.name.clone()));
    out.extend(n.props.iter().map(|(k, v)| SwCall::Prop(k.clone(), v.clone())));
    n.children.iter().for_each(|c| emit(c, out));
    out.push(SwCall::End);
}

impl TreeSpec {
    /// The calls building this tree (fdt_finish not included).
    pub fn calls(&self) -> Vec<SwCall> {
        let mut out: Vec<SwCall> = self.rsv.iter().map(|&(a, s)| SwCall::AddRsv(a, s)).collect();
        out.push(SwCall::FinishRsv);
        emit(&self.root, &mut out);
        out
    }
}

/// Result of one writer run: every call's result (the last one failed, or
/// the last is fdt_finish's totalsize), and the buffer.
pub struct SwRun {
    pub results: Vec<Result<usize, Error>>,
    pub buf: AlignedBuf,
}

/// The sequential-write API libfdt's fdt_sw and cellfdt's `Writer` share.
trait SeqWrite: Sized {
    fn add_rsv(&mut self, addr: u64, size: u64) -> Result<(), Error>;
    fn finish_rsv(&mut self) -> Result<(), Error>;
    fn begin(&mut self, name: &str) -> Result<(), Error>;
    fn prop(&mut self, name: &str, val: &[u8]) -> Result<(), Error>;
    fn end(&mut self) -> Result<(), Error>;
    fn finish(self) -> Result<usize, Error>;
}

macro_rules! seq_write {
    ($t:ty) => {
        impl SeqWrite for $t {
            fn add_rsv(&mut self, addr: u64, size: u64) -> Result<(), Error> {
                self.add_reservemap_entry(addr, size)
            }
            fn finish_rsv(&mut self) -> Result<(), Error> {
                self.finish_reservemap()
            }
            fn begin(&mut self, name: &str) -> Result<(), Error> {
                self.begin_node(name)
            }
            fn prop(&mut self, name: &str, val: &[u8]) -> Result<(), Error> {
                self.property(name, val)
            }
            fn end(&mut self) -> Result<(), Error> {
                self.end_node()
            }
            fn finish(self) -> Result<usize, Error> {
                <$t>::finish(self)
            }
        }
    };
}

seq_write!(SwWriter<'_>);
#[cfg(feature = "cellfdt-sw")]
seq_write!(Writer<'_>);

/// Every call's result: `Ok(0)` for creation, one per call until the first
/// failure, then fdt_finish's totalsize.
fn play<W: SeqWrite>(created: Result<W, Error>, calls: &[SwCall]) -> Vec<Result<usize, Error>> {
    let mut w = match created {
        Ok(w) => w,
        Err(e) => return vec![Err(e)],
    };
    let mut results = vec![Ok(0)];
    for c in calls {
        let r = match c {
            SwCall::AddRsv(a, s) => w.add_rsv(*a, *s),
            SwCall::FinishRsv => w.finish_rsv(),
            SwCall::Begin(n) => w.begin(n),
            SwCall::Prop(n, v) => w.prop(n, v),
            SwCall::End => w.end(),
        };
        results.push(r.map(|_| 0));
        if r.is_err() {
            return results;
        }
    }
    results.push(w.finish());
    results
}

/// Play `calls` through libfdt's sequential writer in a `size`-byte buffer.
pub fn build_libfdt(calls: &[SwCall], size: usize, flags: u32) -> SwRun {
    let mut buf = AlignedBuf::zeroed(size);
    let results = play(SwWriter::create_with_flags(&mut buf, flags), calls);
    SwRun { results, buf }
}

#[cfg(feature = "cellfdt-sw")]
/// Play `calls` through cellfdt's `Writer` in a `size`-byte buffer.
pub fn build_cellfdt(calls: &[SwCall], size: usize, flags: u32) -> SwRun {
    let mut buf = AlignedBuf::zeroed(size);
    let results = play(Writer::create_with_flags(&mut buf, flags), calls);
    SwRun { results, buf }
}

#[cfg(feature = "cellfdt-sw")]
/// Build with both writers and compare call results and the finished bytes.
/// Returns the finished blob (None if building failed in both the same way).
pub fn build_both(calls: &[SwCall], size: usize, flags: u32) -> Result<Option<Vec<u8>>, String> {
    let l = build_libfdt(calls, size, flags);
    let c = build_cellfdt(calls, size, flags);
    if l.results != c.results {
        let i = l
            .results
            .iter()
            .zip(&c.results)
            .position(|(a, b)| a != b)
            .unwrap_or(l.results.len().min(c.results.len()));
        return Err(format!(
            "sw call {i} ({:?}) in a {size}-byte buffer, flags {flags}: libfdt {:?} vs cellfdt {:?}",
            i.checked_sub(1).and_then(|j| calls.get(j)),
            l.results.get(i),
            c.results.get(i)
        ));
    }
    if l.results.len() != calls.len() + 2 || l.results.last().is_some_and(|r| r.is_err()) {
        return Ok(None);
    }
    let t = libfdt::totalsize(&l.buf);
    if let Some(d) = l.buf[..t].iter().zip(&c.buf[..t]).position(|(a, b)| a != b) {
        return Err(format!(
            "sw result differs at byte {d} (totalsize {t}, buffer {size}, flags {flags})"
        ));
    }
    Ok(Some(l.buf[..t].to_vec()))
}

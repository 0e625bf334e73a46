//! The differential runner: one edit script, applied step by step to a libfdt
//! copy and a cellfdt copy of the same blob, compared after every step.

use crate::script::{Edit, Op, resolve};
use crate::{AlignedBuf, apply_cellfdt, apply_libfdt, libfdt};
use cellfdt::Error;
use std::fmt;

pub type Outcome = Result<Option<usize>, Error>;

/// How the two libraries disagreed.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub step: usize,
    pub op: Option<Op>,
    pub edit: Option<Edit>,
    pub what: String,
    pub libfdt: Outcome,
    pub cellfdt: Outcome,
    /// First differing byte offset within the compared range (`defined_bytes`), if bytes differ.
    pub first_diff: Option<usize>,
    pub totalsize: (usize, usize),
    /// The blob both started the step from (libfdt's copy, up to totalsize).
    pub before: Vec<u8>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "MISMATCH at step {}: {}", self.step, self.what)?;
        writeln!(f, "  op:    {:?}", self.op)?;
        writeln!(f, "  edit:  {:?}", self.edit)?;
        writeln!(f, "  libfdt  -> {:?}", self.libfdt)?;
        writeln!(f, "  cellfdt -> {:?}", self.cellfdt)?;
        writeln!(
            f,
            "  totalsize libfdt {} / cellfdt {}",
            self.totalsize.0, self.totalsize.1
        )?;
        write!(
            f,
            "  first differing byte: {:?}; input blob {} bytes",
            self.first_diff,
            self.before.len()
        )
    }
}

/// What a passing script did (for coverage statistics).
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub steps: usize,
    pub ok_steps: usize,
    pub errors: Vec<Error>,
    /// A successful edit changed or removed the root node.
    pub root_edited: bool,
    /// Failed edits after which libfdt's buffer was restored.
    pub resyncs: usize,
    /// A successful edit at an offset that is not a node of the tree: libfdt
    /// accepts any aligned offset holding a BEGIN_NODE tag, including bytes
    /// inside a property value, and both libraries then write garbage alike.
    pub stray_offset: bool,
    /// The final blob (up to totalsize), set by `run_script`.
    pub final_blob: Vec<u8>,
}

fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    )
}

/// A libfdt and a cellfdt copy of the same blob.
pub struct Pair {
    pub libfdt: AlignedBuf,
    pub cellfdt: AlignedBuf,
    /// Failed edits after which libfdt's buffer was restored (see `step`).
    pub resyncs: usize,
}

impl Pair {
    pub fn new(blob: &[u8]) -> Pair {
        Pair {
            libfdt: AlignedBuf::from_slice(blob),
            cellfdt: AlignedBuf::from_slice(blob),
            resyncs: 0,
        }
    }

    /// The libfdt blob, up to its totalsize.
    pub fn blob(&self) -> &[u8] {
        let t = libfdt::totalsize(&self.libfdt).min(self.libfdt.len());
        &self.libfdt[..t]
    }

    /// Apply one concrete edit to both; compare outcome and bytes.
    pub fn step(&mut self, step: usize, op: Option<&Op>, e: &Edit) -> Result<Outcome, Box<Mismatch>> {
        let before = self.blob().to_vec();
        let cell_before = self.cellfdt.clone();
        let lo = apply_libfdt::apply(&mut self.libfdt, e);
        let co = apply_cellfdt::apply(&mut self.cellfdt, e);
        let (lt, ct) = (libfdt::totalsize(&self.libfdt), libfdt::totalsize(&self.cellfdt));
        let mismatch = |what: String, fd: Option<usize>| {
            Box::new(Mismatch {
                step,
                op: op.cloned(),
                edit: Some(e.clone()),
                what,
                libfdt: lo,
                cellfdt: co,
                first_diff: fd,
                totalsize: (lt, ct),
                before: before.clone(),
            })
        };
        if lo != co {
            return Err(mismatch("different result".into(), None));
        }
        if co.is_err() {
            let n = cell_before.len().min(self.cellfdt.len());
            if let Some(d) = first_diff(&cell_before[..n], &self.cellfdt[..n]) {
                return Err(mismatch("cellfdt changed the buffer of a failed edit".into(), Some(d)));
            }
            // libfdt is not atomic: a failed setprop may leave the new name's
            // bytes in the free space after the strings block (it only rolls
            // back size_dt_strings). cellfdt promises an unchanged buffer, so
            // put libfdt back to its pre-edit state to keep comparing.
            self.libfdt = cell_before;
            self.resyncs += 1;
            return Ok(lo);
        }
        if lt != ct {
            return Err(mismatch(
                "different totalsize".into(),
                first_diff(&self.libfdt, &self.cellfdt),
            ));
        }
        // What libfdt defines, not its free space (crate::defined).
        if let Some(d) = crate::defined::first_defined_diff(&self.libfdt, &self.cellfdt) {
            return Err(mismatch("different bytes".into(), Some(d)));
        }
        Ok(lo)
    }

    /// Resolve and apply every op of `ops`.
    pub fn run(&mut self, ops: &[Op]) -> Result<Report, Box<Mismatch>> {
        let mut rep = Report::default();
        for (i, op) in ops.iter().enumerate() {
            let e = resolve(self.blob(), op);
            let stray = edit_node(&e).is_some_and(|n| !crate::script::node_offsets(self.blob()).contains(&n));
            let out = self.step(i, Some(op), &e)?;
            rep.steps += 1;
            match out {
                Ok(_) => {
                    rep.ok_steps += 1;
                    rep.stray_offset |= stray;
                    rep.root_edited |= matches!(
                        e,
                        Edit::DelNode { node: 0 } | Edit::NopNode { node: 0 } | Edit::SetName { node: 0, .. }
                    );
                }
                Err(err) => rep.errors.push(err),
            }
        }
        Ok(rep)
    }
}

/// The node an edit addresses, if any.
fn edit_node(e: &Edit) -> Option<usize> {
    match *e {
        Edit::SetProp { node, .. }
        | Edit::AppendProp { node, .. }
        | Edit::DelProp { node, .. }
        | Edit::DelNode { node }
        | Edit::SetName { node, .. }
        | Edit::SetPropInplace { node, .. }
        | Edit::NopProperty { node, .. }
        | Edit::NopNode { node } => Some(node),
        Edit::AddSubnode { parent, .. } => Some(parent),
        _ => None,
    }
}

/// Run `ops` on `blob`; on success also require the final blob to pass
/// libfdt's `fdt_check_full` (unless the script edited the root away or
/// wrote at a stray offset) and
/// both libraries' read-only views of it to agree.
pub fn run_script(blob: &[u8], ops: &[Op]) -> Result<Report, Box<Mismatch>> {
    let mut pair = Pair::new(blob);
    let mut rep = pair.run(ops)?;
    rep.resyncs = pair.resyncs;
    let fin = pair.blob().to_vec();
    let fail = |what: String| {
        Box::new(Mismatch {
            step: ops.len(),
            op: None,
            edit: None,
            what,
            libfdt: Ok(None),
            cellfdt: Ok(None),
            first_diff: None,
            totalsize: (fin.len(), fin.len()),
            before: fin.clone(),
        })
    };
    if !rep.root_edited && !rep.stray_offset && libfdt::check_full(&fin).is_ok() != libfdt::check_full(blob).is_ok() {
        return Err(fail(format!(
            "final blob fails fdt_check_full: {:?}",
            libfdt::check_full(&fin)
        )));
    }
    if let Err(what) = crate::ro_compare::compare_views(&fin) {
        return Err(fail(what));
    }
    rep.final_blob = fin;
    Ok(rep)
}

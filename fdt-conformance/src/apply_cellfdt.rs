//! Apply a concrete [`Edit`] with cellfdt.

use crate::AlignedBuf;
use crate::script::Edit;
use cellfdt::{FdtMut, Result};

/// What cellfdt's fresh `OpenInto` buffers hold before the open.
pub const FREE_SPACE_PATTERN: u8 = 0xa5;

/// Apply `e` to `buf` (which `OpenInto` replaces on success). Returns the new
/// node's offset for `AddSubnode`, `None` for the rest.
pub fn apply(buf: &mut AlignedBuf, e: &Edit) -> Result<Option<usize>> {
    match e {
        Edit::OpenInto { size } => {
            // libfdt's copy gets a zeroed buffer; cellfdt's is filled with a
            // pattern, so the byte comparison proves that nothing libfdt
            // defines depends on what free space held.
            let mut new = AlignedBuf::zeroed(*size);
            new.fill(FREE_SPACE_PATTERN);
            FdtMut::open_into(buf, &mut new)?;
            *buf = new;
            return Ok(None);
        }
        Edit::OpenInPlace => {
            FdtMut::open_in_place(buf)?;
            return Ok(None);
        }
        _ => {}
    }
    let mut f = FdtMut::new(buf)?;
    match e {
        Edit::SetProp { node, name, val } => f.setprop(*node, name, val)?,
        Edit::AppendProp { node, name, val } => f.appendprop(*node, name, val)?,
        Edit::DelProp { node, name } => f.delprop(*node, name)?,
        Edit::AddSubnode { parent, name } => return f.add_subnode(*parent, name).map(Some),
        Edit::DelNode { node } => f.del_node(*node)?,
        Edit::SetName { node, name } => f.set_name(*node, name)?,
        Edit::AddMemRsv { addr, size } => f.add_mem_rsv(*addr, *size)?,
        Edit::DelMemRsv { n } => f.del_mem_rsv(*n)?,
        Edit::SetPropInplace { node, name, val } => f.setprop_inplace(*node, name, val)?,
        Edit::NopProperty { node, name } => f.nop_property(*node, name)?,
        Edit::NopNode { node } => f.nop_node(*node)?,
        Edit::Pack => f.pack()?,
        Edit::OpenInto { .. } | Edit::OpenInPlace => unreachable!(),
    }
    Ok(None)
}

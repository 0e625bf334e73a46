//! Apply a concrete [`Edit`] with libfdt.

use crate::AlignedBuf;
use crate::libfdt::{self, Result};
use crate::script::Edit;

/// Apply `e` to `buf` (which `OpenInto` replaces on success). Returns the new
/// node's offset for `AddSubnode`, `None` for the rest.
pub fn apply(buf: &mut AlignedBuf, e: &Edit) -> Result<Option<usize>> {
    match e {
        Edit::SetProp { node, name, val } => libfdt::setprop(buf, *node, name, val)?,
        Edit::AppendProp { node, name, val } => libfdt::appendprop(buf, *node, name, val)?,
        Edit::DelProp { node, name } => libfdt::delprop(buf, *node, name)?,
        Edit::AddSubnode { parent, name } => return libfdt::add_subnode(buf, *parent, name).map(Some),
        Edit::DelNode { node } => libfdt::del_node(buf, *node)?,
        Edit::SetName { node, name } => libfdt::set_name(buf, *node, name)?,
        Edit::AddMemRsv { addr, size } => libfdt::add_mem_rsv(buf, *addr, *size)?,
        Edit::DelMemRsv { n } => libfdt::del_mem_rsv(buf, *n)?,
        Edit::SetPropInplace { node, name, val } => libfdt::setprop_inplace(buf, *node, name, val)?,
        Edit::NopProperty { node, name } => libfdt::nop_property(buf, *node, name)?,
        Edit::NopNode { node } => libfdt::nop_node(buf, *node)?,
        Edit::Pack => libfdt::pack(buf)?,
        Edit::OpenInto { size } => {
            let mut new = AlignedBuf::zeroed(*size);
            libfdt::open_into(buf, &mut new)?;
            *buf = new;
        }
        Edit::OpenInPlace => libfdt::open_in_place(buf)?,
    }
    Ok(None)
}

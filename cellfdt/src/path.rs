//! Paths and aliases: `path_offset`, `get_path`, `get_alias`.

use crate::ro::Fdt;
use crate::{Error, Result};

fn find_byte(b: &[u8], c: u8) -> Option<usize> {
    b.iter().position(|&x| x == c)
}

impl<'a> Fdt<'a> {
    /// `fdt_path_offset`. A path not starting with '/' begins with an
    /// alias, whose value must itself be a full path (libfdt >= 1.7.1): no
    /// alias chains. An empty path is BadPath.
    pub fn path_offset(&self, path: &str) -> Result<usize> {
        self.path_offset_bytes(path.as_bytes())
    }

    pub(crate) fn path_offset_bytes(&self, path: &[u8]) -> Result<usize> {
        let end = path.len();
        if end == 0 {
            return Err(Error::BadPath);
        }
        let mut p = 0;
        let mut offset: Result<usize> = Ok(0);
        if path[0] != b'/' {
            let q = find_byte(path, b'/').unwrap_or(end);
            let target = self.alias_bytes(&path[..q]).map_err(|_| Error::BadPath)?;
            offset = self.path_offset_bytes(target);
            p = q;
        }
        while p < end {
            while path[p] == b'/' {
                p += 1;
                if p == end {
                    return offset;
                }
            }
            let q = find_byte(&path[p..], b'/').map_or(end, |i| p + i);
            offset = Ok(self.subnode_offset_bytes(offset?, &path[p..q])?);
            p = q;
        }
        offset
    }

    /// `fdt_get_alias_namelen`: the value of /aliases/<name> without its
    /// NUL. As libfdt >= 1.7.1 checks: BadValue unless the value is a
    /// NUL-terminated string starting with '/'.
    pub(crate) fn alias_bytes(&self, name: &[u8]) -> Result<&'a [u8]> {
        let aliases = self.path_offset_bytes(b"/aliases")?;
        let v = self.getprop_bytes(aliases, name)?;
        match v {
            [b'/', .., 0] => Ok(&v[..v.len() - 1]),
            _ => Err(Error::BadValue),
        }
    }

    /// `fdt_get_alias`: NotFound without the alias, BadValue if its value is
    /// not a NUL-terminated UTF-8 path starting with '/' (libfdt: NULL).
    pub fn get_alias(&self, name: &str) -> Result<&'a str> {
        core::str::from_utf8(self.alias_bytes(name.as_bytes())?).map_err(|_| Error::BadValue)
    }

    /// `fdt_get_path`: writes the full path of `node` into `buf`.
    /// NoSpace if it (plus NUL) does not fit; BadOffset if `node` is not a node.
    pub fn get_path<'b>(&self, node: usize, buf: &'b mut [u8]) -> Result<&'b str> {
        let n = self.get_path_bytes(node, buf)?;
        core::str::from_utf8(&buf[..n]).map_err(|_| Error::BadValue)
    }

    /// Returns the path length (without the NUL written after it).
    pub(crate) fn get_path_bytes(&self, node: usize, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < 2 {
            return Err(Error::NoSpace);
        }
        // Walk from the root keeping buf = "/" + one "name/" per open
        // ancestor that fitted; `pdepth` counts those components.
        let mut p = 0usize;
        let mut pdepth = 0i32;
        let mut depth = 0i32;
        let mut off = 0usize;
        loop {
            while pdepth > depth {
                // Drop the last "name/" component.
                p = p.saturating_sub(1);
                while p > 0 && buf[p - 1] != b'/' {
                    p -= 1;
                }
                pdepth -= 1;
            }
            if pdepth >= depth {
                let name = self.name_bytes(off)?;
                if p + name.len() < buf.len() {
                    buf[p..p + name.len()].copy_from_slice(name);
                    p += name.len();
                    buf[p] = b'/';
                    p += 1;
                    pdepth += 1;
                }
            }
            if off == node {
                if pdepth < depth + 1 {
                    return Err(Error::NoSpace);
                }
                if p > 1 {
                    // "/a/b/" -> "/a/b", but the root stays "/".
                    p -= 1;
                }
                buf[p] = 0;
                return Ok(p);
            }
            match self.next_node_depth(Some(off), &mut depth) {
                Ok(o) if o <= node => off = o,
                Ok(_) | Err(Error::NotFound) => return Err(Error::BadOffset),
                Err(Error::BadOffset) => return Err(Error::BadStructure),
                Err(e) => return Err(e),
            }
        }
    }
}

//! Which nodes of a DTB are devices, and where their registers are. One
//! walk for the loader's device step (what a cell loses) and the host's
//! `cellboot check --dtb` (what a config may collide with), so the check
//! reports exactly the devices the loader judges.
//!
//! A device is a node with a non-empty `reg` whose parent is the root, a
//! `simple-bus` or the GIC, and that is not a structural node (memory,
//! cpus, chosen, ...). The GIC itself is reported too, marked
//! [`DeviceRef::is_gic`]. Nodes deeper than [`MAX_DEPTH`] are not looked at.
//!
//! The walk is a cursor ([`DeviceWalk::next`] takes the tree on every call)
//! rather than a callback over one `&Fdt`: the loader sets `status` on the
//! device just returned before asking for the next one. No allocation.

use cellfdt::{Error, Fdt};

/// Deeper bus nesting than this is not looked into (real trees use 2-3).
pub const MAX_DEPTH: usize = 16;

/// Node names that describe the machine rather than a device.
const STRUCTURAL: [&str; 8] = [
    "memory",
    "reserved-memory",
    "cpus",
    "chosen",
    "aliases",
    "psci",
    "__symbols__",
    "__overrides__",
];

/// Known GIC compatibles (GICv3 and the GICv2 family).
pub const GIC_COMPATIBLES: [&str; 4] = ["arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic"];

/// How the walk recognises the GIC, whose children (GICv3 ITS, GICv2m) are
/// devices.
#[derive(Clone, Copy, Debug)]
pub enum GicMatch {
    /// The node with this phandle (the loader: the GIC `interrupt-parent`
    /// names, the one its vPCI node targets).
    Phandle(u32),
    /// Any node compatible with one of [`GIC_COMPATIBLES`].
    Compatible,
}

/// A cellfdt error while walking or translating, with the node and property
/// it came from (`prop` is "" for the structure walk itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkError {
    pub node: usize,
    pub prop: &'static str,
    pub error: Error,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The root or a `simple-bus`: its children with `reg` are devices.
    Bus,
    /// The GIC: its children are devices.
    Gic,
    Other,
}

/// One device: its offset and those of its ancestors (for the path and for
/// address translation).
#[derive(Clone, Copy, Debug)]
pub struct DeviceRef {
    pub node: usize,
    /// The GIC itself (the loader keeps it; the host clamps its ranges).
    pub is_gic: bool,
    /// `offsets[0]` is the root, `offsets[depth]` is `node`.
    offsets: [usize; MAX_DEPTH],
    depth: usize,
}

impl DeviceRef {
    /// Offsets of the device's ancestors below the root, outermost first,
    /// then of the device itself: its path, one node per component.
    pub fn path(&self) -> &[usize] {
        &self.offsets[1..=self.depth]
    }

    /// Every `reg` entry as a CPU physical (base, size), translated up
    /// through the parents' `ranges`; `None` for an entry no `ranges` maps
    /// (not reachable from the CPU).
    pub fn regs<'s>(
        &'s self,
        fdt: &'s Fdt<'_>,
    ) -> Result<impl Iterator<Item = Result<Option<(u64, u64)>, WalkError>> + 's, WalkError> {
        let reg = fdt.reg(self.node).map_err(|error| WalkError {
            node: self.node,
            prop: "reg",
            error,
        })?;
        Ok(reg.map(move |(addr, size)| Ok(self.translate(fdt, addr)?.map(|a| (a, size)))))
    }

    /// `addr` in the address space of the device's parent to a CPU physical
    /// address; `None` when a bus has no `ranges` or none of its entries maps it.
    fn translate(&self, fdt: &Fdt<'_>, mut addr: u64) -> Result<Option<u64>, WalkError> {
        let err = |bus, error| WalkError {
            node: bus,
            prop: "ranges",
            error,
        };
        for &bus in self.offsets[1..self.depth].iter().rev() {
            match fdt.getprop(bus, "ranges") {
                Ok([]) => continue, // identity
                Ok(_) => {}
                Err(Error::NotFound) => return Ok(None),
                Err(e) => return Err(err(bus, e)),
            }
            let hit = fdt
                .ranges(bus)
                .map_err(|e| err(bus, e))?
                .find(|&(child, _, len)| addr.checked_sub(child).is_some_and(|off| off < len));
            // A parent address whose sum overflows maps nothing.
            let mapped = hit.and_then(|(child, parent, _)| parent.checked_add(addr.checked_sub(child)?));
            match mapped {
                Some(a) => addr = a,
                None => return Ok(None),
            }
        }
        Ok(Some(addr))
    }
}

/// The device walk, in structure-block order.
pub struct DeviceWalk {
    gic: GicMatch,
    kind: [Kind; MAX_DEPTH],
    offsets: [usize; MAX_DEPTH],
    node: usize,
    depth: i32,
    done: bool,
}

impl DeviceWalk {
    pub fn new(gic: GicMatch) -> Self {
        let mut kind = [Kind::Other; MAX_DEPTH];
        kind[0] = Kind::Bus;
        DeviceWalk {
            gic,
            kind,
            offsets: [0; MAX_DEPTH],
            node: 0,
            depth: 0,
            done: false,
        }
    }

    /// The next device, or `None` at the end. `fdt` may differ from the
    /// previous call's only inside the node last returned (setting its
    /// `status` grows it: its offset and its ancestors' stay valid).
    pub fn next(&mut self, fdt: &Fdt<'_>) -> Result<Option<DeviceRef>, WalkError> {
        while !self.done {
            let node = match fdt.next_node(Some(self.node), Some(&mut self.depth)) {
                Ok(n) if self.depth > 0 => n,
                Ok(_) | Err(Error::NotFound) => break,
                Err(error) => {
                    return Err(WalkError {
                        node: self.node,
                        prop: "",
                        error,
                    });
                }
            };
            self.node = node;
            let d = self.depth as usize;
            if d >= MAX_DEPTH {
                continue;
            }
            self.offsets[d] = node;
            self.kind[d] = Kind::Other;
            if self.kind[d - 1] == Kind::Other || is_structural(fdt, node) {
                continue;
            }
            let is_gic = match self.gic {
                GicMatch::Phandle(ph) => fdt.get_phandle(node) == Some(ph),
                GicMatch::Compatible => GIC_COMPATIBLES
                    .iter()
                    .any(|c| fdt.node_check_compatible(node, c).unwrap_or(false)),
            };
            if is_gic {
                self.kind[d] = Kind::Gic;
            } else if fdt.node_check_compatible(node, "simple-bus").unwrap_or(false) {
                self.kind[d] = Kind::Bus;
            }
            if fdt.getprop(node, "reg").map_or(true, |r| r.is_empty()) {
                continue;
            }
            return Ok(Some(DeviceRef {
                node,
                is_gic,
                offsets: self.offsets,
                depth: d,
            }));
        }
        self.done = true;
        Ok(None)
    }

    /// Do not look into the children of the device last returned (the
    /// loader disabled it: a disabled bus takes its children with it).
    pub fn skip_children(&mut self) {
        if let Ok(d @ 1..MAX_DEPTH) = usize::try_from(self.depth) {
            self.kind[d] = Kind::Other;
        }
    }
}

fn is_structural(f: &Fdt<'_>, node: usize) -> bool {
    let name = f.get_name(node).unwrap_or("");
    let base = name.split('@').next().unwrap_or(name);
    STRUCTURAL.contains(&base)
        || f.getprop(node, "device_type")
            .is_ok_and(|v| v == b"memory\0" || v == b"cpu\0")
}

//! Who may write which part of an ivshmem link's shared memory (ivshmem
//! v2): the state table only the shim (on a peer's STATE register write),
//! the R/W section every peer, each output section only its owner. The shim
//! maps each section into a peer with this, `cellboot check` prints it:
//! one rule, derived from the link definition, that no config can get wrong.

use crate::IvshmemLink;

/// One section of a link, as seen by one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: &'static str,
    /// Offset from the link's `shmem_phys`.
    pub offset: u64,
    pub size: u64,
    /// Whether this peer may write it (it may read every section).
    pub writable: bool,
}

/// The sections of `link` in address order, with `peer`'s (0 or 1) write
/// rights. Offsets saturate: validation rejects links whose sizes overflow.
pub fn sections(link: &IvshmemLink, peer: usize) -> [Section; 4] {
    let rw = link.state_size;
    let out0 = rw.saturating_add(link.rw_size);
    let out1 = out0.saturating_add(link.out_size);
    [
        Section {
            name: "state table",
            offset: 0,
            size: link.state_size,
            writable: false,
        },
        Section {
            name: "R/W section",
            offset: rw,
            size: link.rw_size,
            writable: true,
        },
        Section {
            name: "output of peer 0",
            offset: out0,
            size: link.out_size,
            writable: peer == 0,
        },
        Section {
            name: "output of peer 1",
            offset: out1,
            size: link.out_size,
            writable: peer == 1,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> IvshmemLink {
        IvshmemLink {
            shmem_phys: 0x6000_0000,
            state_size: 0x1000,
            rw_size: 0x1_0000,
            out_size: 0x1_0000,
            ..Default::default()
        }
    }

    #[test]
    fn each_peer_writes_only_the_rw_section_and_its_own_output() {
        let l = link();
        let p0 = sections(&l, 0);
        let p1 = sections(&l, 1);
        let w = |s: &[Section; 4]| s.map(|s| s.writable);
        assert_eq!(w(&p0), [false, true, true, false]);
        assert_eq!(w(&p1), [false, true, false, true]);
        // Contiguous, covering exactly the link.
        let mut at = 0;
        for s in p0 {
            assert_eq!(s.offset, at, "{}", s.name);
            at += s.size;
        }
        assert_eq!(at, l.shmem_size());
        assert_eq!(p1[3].offset, 0x2_1000);
    }
}

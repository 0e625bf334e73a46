//! `cellboot check`'s account of each ivshmem link: where its sections lie
//! and who may write them, as the shim maps them (`cellboot_abi::link_layout`).

use crate::problem::hex;
use cellboot_abi::NO_PEER;
use cellboot_abi::link_layout;
use cellboot_config::System;

/// One line per link, then one per section.
pub fn describe(sys: &System) -> String {
    let mut out = String::new();
    let name = |p: u32| {
        if p == NO_PEER {
            "(no peer)".to_string()
        } else {
            sys.cell_names
                .get(p as usize)
                .cloned()
                .unwrap_or_else(|| format!("cell {p}"))
        }
    };
    for (li, l) in sys.config.links().iter().enumerate() {
        let peers = [name(l.peers[0]), name(l.peers[1])];
        out += &format!(
            "link {li} at {} physical (device {}): peer 0 {}, peer 1 {}\n",
            hex(l.shmem_phys),
            l.device,
            peers[0],
            peers[1]
        );
        for (i, s) in link_layout::sections(l, 0).iter().enumerate() {
            let writers = match i {
                0 => "read-only to both peers (the shim writes it on a STATE register write)".to_string(),
                1 => "read-write to both peers".to_string(),
                n if l.peers[n - 2] == NO_PEER => "read-only (no such peer yet)".to_string(),
                n => format!("written by {} only, read-only to the other peer", peers[n - 2]),
            };
            let at = l.shmem_phys.saturating_add(s.offset);
            out += &format!("  {:<17} {}+{}: {writers}\n", s.name, hex(at), hex(s.size));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_links_are_explained() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sys =
            cellboot_config::load_system(&root.join("boards/qemu-virt/hostile.toml")).expect("hostile.toml compiles");
        let text = super::describe(&sys);
        assert!(
            text.contains("link 0 at 0x6000_0000 physical (device 0): peer 0 linux, peer 1 rtos"),
            "{text}"
        );
        assert!(
            text.contains("  state table       0x6000_0000+0x1000: read-only to both peers"),
            "{text}"
        );
        assert!(
            text.contains("  output of peer 1  0x6002_1000+0x1_0000: written by rtos only"),
            "{text}"
        );
        assert!(
            text.contains("link 1 at 0x6010_0000 physical (device 0): peer 0 attacker, peer 1 (no peer)"),
            "{text}"
        );
        assert!(
            text.contains("  output of peer 1  0x6012_1000+0x1_0000: read-only (no such peer yet)"),
            "{text}"
        );
    }
}

//! Call every read-only cellfdt entry point on (possibly hostile) input.
//! Used by the malformed-input tests and the read fuzz target: the only
//! requirement there is "no panic, no hang".

use cellfdt::Fdt;

/// Exercise `Fdt` on `blob`; returns how many nodes the walk visited.
pub fn walk_everything(blob: &[u8]) -> usize {
    let Ok(fdt) = Fdt::new(blob) else { return 0 };
    let _ = fdt.check_full();
    let _ = (
        fdt.totalsize(),
        fdt.version(),
        fdt.boot_cpuid_phys(),
        fdt.size_dt_struct(),
        fdt.size_dt_strings(),
    );
    for n in 0..fdt.num_mem_rsv().unwrap_or(0).min(64) + 1 {
        let _ = fdt.get_mem_rsv(n);
    }
    let _ = fdt.find_max_phandle();
    let _ = fdt.path_offset("/chosen");
    let _ = fdt.path_offset("serial0/x");
    let _ = fdt.get_alias("serial0");
    let _ = fdt.node_offset_by_compatible(None, "arm,pl011");
    let _ = fdt.node_offset_by_phandle(1);
    let mut nodes = 0;
    let mut node = None;
    let mut depth = 0i32;
    let mut buf = [0u8; 512];
    while let Ok(off) = fdt.next_node(node, Some(&mut depth)) {
        if depth < 0 || nodes > 20_000 {
            break;
        }
        nodes += 1;
        node = Some(off);
        let _ = fdt.get_name(off);
        let _ = fdt.get_path(off, &mut buf);
        let _ = fdt.parent_offset(off);
        let _ = fdt.node_depth(off);
        let _ = fdt.get_phandle(off);
        let _ = fdt.address_cells(off);
        let _ = fdt.size_cells(off);
        if let Ok(regs) = fdt.reg(off) {
            regs.take(64).for_each(drop);
        }
        if let Ok(r) = fdt.ranges(off) {
            r.take(64).for_each(drop);
        }
        let _ = fdt.stringlist_count(off, "compatible");
        let _ = fdt.stringlist_get(off, "compatible", 1);
        let _ = fdt.stringlist_search(off, "compatible", "simple-bus");
        let _ = fdt.node_check_compatible(off, "simple-bus");
        let _ = fdt.getprop_u32(off, "#address-cells");
        let _ = fdt.getprop_str(off, "status");
        for p in fdt.properties(off).take(4096) {
            let _ = fdt.getprop(off, p.name);
        }
        for s in fdt.subnodes(off).take(4096) {
            if let Ok(n) = fdt.get_name(s) {
                let _ = fdt.subnode_offset(off, n);
            }
        }
        let _ = fdt.first_subnode(off).and_then(|s| fdt.next_subnode(s));
        let _ = fdt.first_property(off).and_then(|p| fdt.next_property(p));
    }
    // Raw offsets: every 4th struct offset, as node and as property.
    for o in (0..fdt.size_dt_struct().min(4096) + 8).step_by(4) {
        let _ = fdt.get_name(o);
        let _ = fdt.property_at(o);
        let _ = fdt.first_property(o);
        let _ = fdt.next_node(Some(o), None);
    }
    nodes
}

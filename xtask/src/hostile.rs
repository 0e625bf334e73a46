//! The hostile-guest suite's expectations (`xtask test --case hostile`,
//! boards/<board>/hostile.toml): the attacker cell (inmates/src/bin/
//! attacker.rs) prints one table row per attempt while Linux and rtos-demo
//! run; every row must say "contained", the shim must have logged the
//! attempts, the attacker's last, fatal attempt must stop only the attacker,
//! and the other cells must carry on to their own markers afterwards.
//!
//! What the attacker aims at comes from its bootargs (`attack.<key>=N` in
//! the system file, parsed by `cellboot_abi::attack_targets` here and in the
//! inmate), which is also where the expected shim log lines come from here;
//! what differs by GIC version comes from the board.

use anyhow::{Context, Result};
use cellboot_abi::attack_targets::Targets;
use cellboot_config::System;

/// Any of these fails the hostile case at once (besides the common ones).
/// A config read the shim had to answer on bus 0 means the read-only ECAM
/// pages were not mapped.
pub const FAIL_ON: &[&str] = &["attacker: BREACH", "attacker: BUG", "| BREACH |", "is no config cycle"];

/// Ordered console markers of the hostile case for `sys` (a hostile.toml).
pub fn expect(sys: &System) -> Result<Vec<String>> {
    let ai = sys
        .cell_names
        .iter()
        .position(|n| n == "attacker")
        .context("the system has no cell named attacker")?;
    let cell = &sys.config.cells[ai];
    let t = Targets::parse(cellboot_abi::str_field(&cell.boot.bootargs))
        .map_err(|e| anyhow::anyhow!("the attacker cell's bootargs: {e}"))?;
    let (linux_irq, rtos_irq) = (u64::from(t.linux_irq), u64::from(t.rtos_irq));
    let b = &sys.config.board;
    let own_irq = u64::from(cell.vpci.irq_base);
    let attacker_cpu = cell.cpu_mask.trailing_zeros();
    let mut shim: Vec<String> = vec![
        format!("denied read 8 bytes at IPA {:#x}", t.linux_ram),
        format!("denied write 8 bytes at IPA {:#x}", t.linux_ram + 0x10_0000),
        format!("denied read 8 bytes at IPA {:#x}", t.rtos_ram),
        format!("denied write 8 bytes at IPA {:#x}", t.shim),
        format!("denied read of unknown size at IPA {:#x}", t.shim),
        format!("denied write 4 bytes at IPA {:#x}", t.shmem),
    ];
    if let Some(w) = t.release {
        shim.push(format!("denied write 8 bytes at IPA {w:#x}"));
    }
    let gicd_write = |off: u64, irq: u64| format!("GICD write at +{off:#x} (IRQ {irq})");
    shim.push(gicd_write(0x100 + linux_irq / 32 * 4, linux_irq));
    shim.push(gicd_write(0x180 + rtos_irq / 32 * 4, rtos_irq));
    if b.gic_version == 3 {
        shim.push(gicd_write(0x6000 + 8 * own_irq, own_irq));
    } else {
        shim.push(gicd_write(0x800 + own_irq, own_irq));
        shim.push(gicd_write(0x800 + linux_irq, linux_irq));
        shim.push(gicd_write(0xf00, 1));
    }
    shim.push("GICD write 0x0 at +0x0: gicd: CTLR may only enable".into());
    if b.gic_version == 3 {
        shim.push(format!(
            "write to another CPU's redistributor at IPA {:#x} ignored",
            b.gicr_base + 0x1_0000 + 0x180
        ));
    } else {
        // GIC-400 frames: GICH right after the GICC (the Pi's 8 KiB GICC,
        // the ZynqMP's 64 KiB-aliased 128 KiB one).
        let gich = b.gicc_base + b.gicc_size;
        shim.push(format!("denied read 4 bytes at IPA {gich:#x}"));
        shim.push(format!("denied write 4 bytes at IPA {gich:#x}"));
    }
    if b.gic_version == 3 {
        let linux = 1u64 << t.linux_cpu;
        let sgi = |reg: &str, v: u64, why: &str| format!("{reg} write {v:#x}: refused, {why}");
        let flood = 2 << 24 | 0b11 << t.linux_cpu;
        shim.extend([
            sgi("ICC_SGI1R_EL1", 2 << 24 | linux, "another cell's CPU"),
            sgi("ICC_SGI1R_EL1", 1 << 40 | 2 << 24, "broadcast"),
            sgi("ICC_ASGI1R_EL1", 2 << 24 | linux, "group 0 or secure"),
            sgi("ICC_SGI0R_EL1", 2 << 24 | linux, "group 0 or secure"),
            sgi("ICC_SGI1R_EL1", flood, "another cell's CPU"),
            sgi("ICC_SGI1R_EL1", flood, "another cell's CPU (no more logged)"),
        ]);
    }
    shim.extend([
        "DC ISW 0x0: done as DC CISW".into(),
        "DC CISW 0x0: done as DC CISW".into(),
    ]);
    // Its own link: the state table and the other peer's output section
    // are read-only to it (cellboot_abi::link_layout).
    let (state, out1) = attacker_link_ipas(sys, ai)?;
    shim.push(format!("denied write 4 bytes at IPA {state:#x}"));
    shim.push(format!("denied write 4 bytes at IPA {out1:#x}"));
    shim.extend([
        format!(
            "PSCI CPU_ON for CPU {0} (MPIDR {0:#x}), which it does not own: denied",
            t.linux_cpu
        ),
        format!(
            "PSCI CPU_ON for CPU {0} (MPIDR {0:#x}), which it does not own: denied",
            t.rtos_cpu
        ),
        format!(
            "PSCI AFFINITY_INFO for CPU {}, which it does not own: denied",
            t.linux_cpu
        ),
        "unknown hypercall 0x999: E_NOSYS".into(),
        format!(
            "DEBUG_CONSOLE_WRITE from IPA {:#x}+0x10, not the cell's RAM: E_INVAL",
            t.shim
        ),
        "DEBUG_CONSOLE_WRITE of 1073741824 bytes (max 4096): E_INVAL".into(),
        "DEBUG_CONSOLE_WRITE from IPA 0xfffffffffffffff8+0x10, not the cell's RAM: E_INVAL".into(),
        "CELL_GET_STATE of cell 0x0, not itself: E_PERM".into(),
        "HVC #0x1 is not a service: NOT_SUPPORTED".into(),
        "SMCCC/PSCI function 0xc2000000 not supported".into(),
        format!(
            "ivshmem BAR0 refused (not decoded): it would cover another cell's memory at {:#x}",
            t.linux_ram
        ),
        format!("denied read 4 bytes at IPA {:#x}", t.linux_ram),
    ]);
    // BAR0 outside the MEM window over memory (issue 14; attacker.rs block).
    shim.extend([
        "ivshmem BAR0 refused (not decoded): it would cover the cell's own memory at 0x".to_string(),
        format!(
            "ivshmem BAR0 refused (not decoded): it would cover another cell's memory at {:#x}",
            t.rtos_ram
        ),
        format!("denied read 4 bytes at IPA {:#x}", t.rtos_ram),
        format!(
            "ivshmem BAR0 refused (not decoded): it would cover the shim's memory at {:#x}",
            t.shim
        ),
        format!("denied read 4 bytes at IPA {:#x}", t.shim),
    ]);
    shim.extend([
        "ECAM write 0x10000000 at +0x28010 ignored: vpci: config write to an absent device".into(),
        // No grant: no management function at device 31.
        "ECAM write 0x2 at +0xf8004 ignored: vpci: config write to an absent device".into(),
        "ECAM write 0xffffffffffffffff at +0x10 ignored: vpci: config write not within one dword".into(),
        "ivshmem doorbell to peer 1 of device 0: no such other peer, ignored".into(),
        "ivshmem write ignored: ivshmem: doorbell to a peer that does not exist".to_string(),
    ]);
    let mut v = vec!["[attacker] attacker: up".to_string()];
    v.extend(shim.iter().map(|l| format!("[shim] cell attacker: {l}")));
    v.extend([
        "[attacker] attacker: | # | attempt".to_string(),
        "[attacker] attacker: all attempts contained".into(),
        "[attacker] attacker: PSCI SYSTEM_RESET of its own cell".into(),
        format!("[shim] cell attacker: {}", crate::e2e::restarting(attacker_cpu)),
        "[attacker] attacker: up".into(),
        "[attacker] attacker: restarted by its own SYSTEM_RESET".into(),
        format!(
            "[attacker] attacker: last attempt (fatal): jump into the Linux cell's RAM at {:#x}",
            t.linux_ram
        ),
        format!(
            "[shim] cell attacker: denied instruction fetch at IPA {:#x}",
            t.linux_ram
        ),
        "CELLBOOT: ivshmem round trip ok".into(),
        "CELLBOOT: rtt n=".into(),
        "[rtos] rtos-demo: served ".into(),
        "CELLBOOT: shmem canary intact".into(),
        "CELLBOOT: done".into(),
    ]);
    Ok(v)
}

/// IPAs, in the attacker cell, of its link's state table and of peer 1's
/// output section (it is peer 0).
fn attacker_link_ipas(sys: &System, ai: usize) -> Result<(u64, u64)> {
    let l = sys
        .config
        .links()
        .iter()
        .find(|l| l.peers[0] as usize == ai)
        .context("no ivshmem link has the attacker as peer 0")?;
    let ipa = |pa: u64| {
        let r = sys.config.cells[ai]
            .mem_regions()
            .iter()
            .find(|r| r.phys <= pa && pa < r.phys + r.size);
        r.map(|r| r.virt + (pa - r.phys))
            .context("the attacker's link lies in none of its memory regions")
    };
    let out1 = cellboot_abi::link_layout::sections(l, 0)[3].offset;
    Ok((ipa(l.shmem_phys)?, ipa(l.shmem_phys + out1)?))
}

#[cfg(test)]
mod tests {
    fn markers(board: &str) -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sys = cellboot_config::load_system(&root.join(format!("boards/{board}/hostile.toml")))
            .expect("hostile.toml compiles");
        super::expect(&sys).expect("the attacker's bootargs name every target")
    }

    #[test]
    fn virt_markers_follow_the_attackers_bootargs() {
        let v = markers("qemu-virt");
        assert!(v.len() > 30);
        assert!(v.contains(&"[shim] cell attacker: denied read 8 bytes at IPA 0x48000000".to_string()));
        assert!(v.contains(&"[shim] cell attacker: GICD write at +0x64a0 (IRQ 148)".to_string()));
        assert!(v.contains(
            &"[shim] cell attacker: write to another CPU's redistributor at IPA 0x80b0180 ignored".to_string()
        ));
        assert!(!v.iter().any(|m| m.contains("GICH") || m.contains("+0xf00")));
        assert!(
            v.contains(&"[shim] cell attacker: ICC_SGI1R_EL1 write 0x2000001: refused, another cell's CPU".to_string())
        );
        assert!(
            v.contains(&"[shim] cell attacker: denied write 4 bytes at IPA 0x60100000".to_string()),
            "state table"
        );
        assert!(
            v.contains(&"[shim] cell attacker: denied write 4 bytes at IPA 0x60121000".to_string()),
            "peer 1's output"
        );
    }

    #[test]
    fn zcu102_gich_follows_its_128k_cpu_interface() {
        let v = markers("zcu102");
        assert!(
            v.contains(&"[shim] cell attacker: denied read 4 bytes at IPA 0xf9040000".to_string()),
            "GICH after the ZynqMP's 128 KiB GICC"
        );
        assert!(!v.iter().any(|m| m.contains("spin-table") || m.contains("IPA 0xd8")));
    }

    #[test]
    fn pi_markers_cover_gicv2_and_the_spin_table() {
        let v = markers("rpi4b");
        assert!(
            v.contains(&"[shim] cell attacker: denied write 8 bytes at IPA 0xd8".to_string()),
            "spin-table word"
        );
        assert!(
            v.contains(&"[shim] cell attacker: GICD write at +0xf00 (IRQ 1)".to_string()),
            "SGIR"
        );
        assert!(
            v.contains(&"[shim] cell attacker: denied read 4 bytes at IPA 0xff844000".to_string()),
            "GICH"
        );
        assert!(v.contains(&"[shim] cell attacker: denied instruction fetch at IPA 0x8000000".to_string()));
        assert!(!v.iter().any(|m| m.contains("redistributor") || m.contains("ICC_")));
        assert!(v.contains(&"[shim] cell attacker: DC ISW 0x0: done as DC CISW".to_string()));
        assert!(
            v.contains(&"[shim] cell attacker: denied write 4 bytes at IPA 0x60121000".to_string()),
            "peer 1's output, IPA not phys"
        );
    }

    #[test]
    fn bad_targets_are_named() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sys =
            cellboot_config::load_system(&root.join("boards/qemu-virt/hostile.toml")).expect("hostile.toml compiles");
        let ai = sys.cell_names.iter().position(|n| n == "attacker").unwrap();
        let args = &mut sys.config.cells[ai].boot.bootargs;
        let good = cellboot_abi::str_field(args).to_string();
        assert!(cellboot_abi::set_str_field(
            args,
            &good.replace("attack.rtos_irq=144", "attack.rtos_irq=0x")
        ));
        let e = super::expect(&sys).unwrap_err().to_string();
        assert!(
            e.contains("attacker cell's bootargs") && e.contains("attack.rtos_irq=\"0x\""),
            "{e}"
        );
        let args = &mut sys.config.cells[ai].boot.bootargs;
        assert!(cellboot_abi::set_str_field(
            args,
            &good.replace("attack.shim=0x40200000", "")
        ));
        let e = super::expect(&sys).unwrap_err().to_string();
        assert!(e.contains("lack attack.shim="), "{e}");
    }
}

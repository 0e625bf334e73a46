//! ecam-bench: the guest cost of a PCI config-space read from the shim's
//! virtual ECAM (config pages mapped read-only: a plain load, no trap)
//! against the same read on QEMU's own PCIe ECAM, mapped into the cell
//! as an `io` region (boards/qemu-virt/ecam-bench.toml). Times N 32-bit reads
//! of the vendor/device dword of device 00.0 on each with CNTVCT_EL0 (best
//! of several interleaved rounds: the host is shared). For the
//! floor under the trapped read it also times a null `hvc` (PSCI_VERSION), a
//! trapped read the shim answers without any device model (a read-as-zero
//! register in another CPU's redistributor frame), and an exception round
//! trip that never leaves EL1 (`svc` answered by a bare `eret` in a vector
//! table of its own): what QEMU charges for an exception itself, which no
//! hypervisor can undercut.
//!
//! Before timing it checks its device's mapped config space: identity,
//! loads of every width and signedness agreeing, an 8-byte load only a
//! mapped page answers, config writes (still trapped) seen by the next read,
//! absent functions all-ones; any difference is a FAIL line. `cargo xtask bench`
//! boots it, and so does the e2e case `ecam-fast`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod bench {
    use cellboot_abi::psci::fid;
    use cellboot_inmates::arch::{self, Frame};
    use cellboot_inmates::{dtb, pci, say};
    use core::arch::{asm, global_asm};

    // EL1 vectors for the EL1-only round trip: the current-EL (SPx) sync
    // entry counts `svc`s in x10 (the timed loop's) and returns past them.
    // Any other exception here would be a bench bug: it spins and the
    // bench's timeout reports it.
    global_asm!(
        ".section .text.ecam_bench_vectors, \"ax\"",
        ".balign 0x800",
        "ecam_bench_vectors:",
        ".rept 4",
        ".balign 0x80",
        "b .",
        ".endr",
        ".balign 0x80",
        "    add  x10, x10, #1",
        "    eret",
        ".rept 11",
        ".balign 0x80",
        "b .",
        ".endr",
    );

    unsafe extern "C" {
        static ecam_bench_vectors: u8;
    }

    /// The sign-extending loads: what they read must be the plain loads'
    /// bytes, sign-extended (the mapped image answers them like any load).
    fn ldrsb(a: u64) -> u64 {
        let v: u64;
        // SAFETY: a load from the cell's virtual ECAM; no Rust object there.
        unsafe { asm!("ldrsb {0}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }
    fn ldrsh(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldrsh {0}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }
    fn ldrsw(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldrsw {0}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }
    fn rd16(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldrh {0:w}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }

    /// Every byte and half-word of `dev`'s function 0 up to `end` (and a few
    /// far registers), plain and sign-extending, against the bytes of its
    /// dword reads; the registers beyond the header read zero. Returns the
    /// number of loads checked.
    fn consistent(ecam: u64, dev: u64, end: u64) -> Result<u32, (u64, u8, u64, u64)> {
        // SAFETY: loads from the cell's virtual ECAM (device 0's function and beyond); no Rust object there.
        unsafe {
            let base = ecam + (dev << 15);
            let mut n = 0;
            for reg in (0..end).chain([0x100, 0x7fc, 0xffc, 0xffe, 0xfff]) {
                let a = base + reg;
                let word = u64::from(arch::rd32(a & !3));
                let byte = word >> (reg % 4 * 8) & 0xff;
                let sext = |v: u64, bits: u32| ((v << (64 - bits)) as i64 >> (64 - bits)) as u64;
                for (size, got, want) in [(1, u64::from(arch::rd8(a)), byte), (1, ldrsb(a), sext(byte, 8))] {
                    if got != want {
                        return Err((reg, size, got, want));
                    }
                    n += 1;
                }
                if reg % 2 == 0 {
                    let half = word >> (reg % 4 * 8) & 0xffff;
                    for (got, want) in [(rd16(a), half), (ldrsh(a), sext(half, 16))] {
                        if got != want {
                            return Err((reg, 2, got, want));
                        }
                        n += 1;
                    }
                }
                if reg % 4 == 0 && ldrsw(a) != sext(word, 32) {
                    return Err((reg, 4, ldrsw(a), sext(word, 32)));
                }
                if reg >= 0x100 && word != 0 {
                    return Err((reg, 4, word, 0));
                }
            }
            Ok(n)
        }
    }

    /// The cell's mapped config space: its device's identity, loads of every
    /// width agreeing with each other, an 8-byte load that only a mapped page
    /// answers (the trapped path reads all-ones for it), and config writes
    /// (trapped) seen by the very next plain read. Leaves the device as found.
    fn check_mapped_reads(ecam: u64) {
        // SAFETY: loads and config writes in the cell's virtual ECAM, left as found; no Rust object there.
        unsafe {
            let report = |when: &str, r: Result<u32, (u64, u8, u64, u64)>| match r {
                Ok(n) => n,
                Err((reg, size, got, want)) => fail(format_args!(
                    "{when}: +{reg:#x} ({size} bytes) reads {got:#x}, not {want:#x}"
                )),
            };
            let id = arch::rd32(ecam);
            let want_id = u32::from(pci::DEVICE) << 16 | u32::from(pci::VENDOR);
            if id != want_id {
                fail(format_args!("device 00.0 id {id:#x}, not {want_id:#x}"));
            }
            let wide = arch::rd64(ecam);
            let want_wide = u64::from(arch::rd32(ecam + 4)) << 32 | u64::from(id);
            if wide != want_wide {
                fail(format_args!(
                    "8-byte load at +0 reads {wide:#x}, not {want_wide:#x} (trapped, not mapped?)"
                ));
            }
            let mut n = report("as built", consistent(ecam, 0, 0x100));
            let (bar, cmd, line) = (arch::rd32(ecam + 0x10), arch::rd32(ecam + 0x4), arch::rd8(ecam + 0x3c));
            arch::wr32(ecam + 0x10, u32::MAX);
            if arch::rd32(ecam + 0x10) != 0xffff_f000 {
                fail(format_args!(
                    "BAR0 sizing reads {:#x}, not 0xfffff000",
                    arch::rd32(ecam + 0x10)
                ));
            }
            n += report("after sizing BAR0", consistent(ecam, 0, 0x40));
            arch::wr32(ecam + 0x10, bar);
            if arch::rd32(ecam + 0x10) != bar {
                fail(format_args!(
                    "BAR0 reads {:#x} after restoring {bar:#x}",
                    arch::rd32(ecam + 0x10)
                ));
            }
            arch::wr8(ecam + 0x4, 0x06); // memory + bus master
            arch::wr8(ecam + 0x5, 0x04); // INTx disable (byte write)
            if rd16(ecam + 0x4) != 0x406 {
                fail(format_args!(
                    "command reads {:#x} after writing 0x406",
                    rd16(ecam + 0x4)
                ));
            }
            arch::wr8(ecam + 0x3c, line ^ 0x5a);
            if arch::rd8(ecam + 0x3c) != line ^ 0x5a {
                fail(format_args!(
                    "interrupt line reads {:#x} after writing {:#x}",
                    arch::rd8(ecam + 0x3c),
                    line ^ 0x5a
                ));
            }
            n += report("after command writes", consistent(ecam, 0, 0x40));
            arch::wr8(ecam + 0x3c, line);
            arch::wr32(ecam + 0x4, cmd);
            // Absent device and function: all-ones, at every width.
            for a in [
                ecam + (1 << 15),
                ecam + (1 << 12),
                ecam + (31 << 15) + (7 << 12) + 0xff8,
            ] {
                if arch::rd64(a) != u64::MAX || arch::rd32(a) != u32::MAX || rd16(a) != 0xffff || arch::rd8(a) != 0xff {
                    fail(format_args!("absent function at {a:#x} does not read all-ones"));
                }
            }
            say!("ecam-bench: config reads from the mapped image agree ({n} loads), writes trapped and seen");
        }
    }

    /// Reads (or round trips) per timed round.
    const READS: u64 = 400;
    /// Rounds, each timing every kind once in turn; the best round of each
    /// kind is reported. The host is shared: a round during which QEMU's
    /// thread was preempted is noise, and interleaving puts the kinds under
    /// the same conditions.
    const ROUNDS: u32 = 16;
    /// Redistributor frame stride on QEMU virt (RD_base + SGI_base).
    const GICR_STRIDE: u64 = 0x2_0000;
    /// An RD_base offset past the identification words the shim passes
    /// through: in another CPU's frame it reads as zero without touching
    /// the GIC (hypervisor-shim/src/gic.rs `gicr_foreign_read`).
    const GICR_RAZ: u64 = 0x10;

    #[unsafe(no_mangle)]
    fn inmate_handle(frame: &mut Frame, kind: u64) {
        say!(
            "ecam-bench: FAIL exception kind {kind} ESR {:#x} FAR {:#x} ELR {:#x}",
            arch::esr_el1(),
            arch::far_el1(),
            frame.elr
        );
        stop();
    }

    fn fail(what: core::fmt::Arguments) -> ! {
        say!("ecam-bench: FAIL {what}");
        arch::hypercall(cellboot_abi::hypercall::CELL_FAILED, 0, 0);
        stop()
    }

    fn stop() -> ! {
        arch::smc(fid::SYSTEM_OFF, 0, 0, 0);
        loop {
            arch::wfi()
        }
    }

    fn now() -> u64 {
        // SAFETY: barriers only: the counter read is neither hoisted above
        // the loads before it nor sunk below the ones after it.
        unsafe { core::arch::asm!("isb", options(nostack)) };
        let t = arch::cntvct();
        // SAFETY: as above.
        unsafe { core::arch::asm!("isb", options(nostack)) };
        t
    }

    /// Ticks for READS volatile 32-bit loads of `addr`; the value read.
    fn time(addr: u64) -> (u64, u32) {
        // SAFETY: loads of a device register the caller names (virtual or board ECAM, a redistributor
        // hole); no Rust object there.
        unsafe {
            let first = arch::rd32(addr); // warm up (and the value for the line)
            let t0 = now();
            for _ in 0..READS {
                arch::rd32(addr);
            }
            (now() - t0, first)
        }
    }

    /// PSCI_VERSION through `hvc #0`: the cheapest service the shim has, so
    /// READS of them are the cost of an exception round trip to EL2.
    fn psci_version_hvc() -> u64 {
        arch::psci_hvc(fid::VERSION) as u64
    }

    /// Ticks for READS `svc #0` taken and returned at EL1; the count taken
    /// when that is not every one of them.
    fn time_svc() -> Result<u64, u64> {
        let old: u64;
        // SAFETY: reads VBAR_EL1; then points it at ecam_bench_vectors (2 KiB
        // aligned, above) for the loop below and restores it. IRQs stay masked.
        unsafe {
            asm!("mrs {0}, vbar_el1", out(reg) old, options(nomem, nostack));
            asm!("msr vbar_el1, {0}", "isb", in(reg) &raw const ecam_bench_vectors, options(nostack));
        }
        let taken: u64;
        let t0 = now();
        // SAFETY: each `svc` enters the vector above, which only counts in
        // x10 (declared) and returns.
        unsafe {
            asm!("mov x10, #0", "2:", "svc #0", "subs {n}, {n}, #1", "b.ne 2b",
                n = inout(reg) READS => _, out("x10") taken, options(nostack))
        };
        let ticks = now() - t0;
        // SAFETY: restores the vectors saved above.
        unsafe { asm!("msr vbar_el1, {0}", "isb", in(reg) old, options(nostack)) };
        if taken == READS { Ok(ticks) } else { Err(taken) }
    }

    fn time_hvc() -> (u64, u64) {
        let version = psci_version_hvc();
        let t0 = now();
        for _ in 0..READS {
            psci_version_hvc();
        }
        (now() - t0, version)
    }

    /// The board's own `pci-host-ecam-generic` node: the one that is not the
    /// cell's virtual host (the loader disabled it, its `reg` stays).
    fn physical_ecam(fdt: &cellfdt::Fdt<'_>, vecam: u64) -> Option<u64> {
        let mut at = None;
        loop {
            let n = fdt.node_offset_by_compatible(at, "pci-host-ecam-generic").ok()?;
            let (base, _) = fdt.reg(n).ok()?.next()?;
            if base != vecam {
                return Some(base);
            }
            at = Some(n);
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(dtb_addr: u64) -> ! {
        let Some(blob) = arch::dtb(dtb_addr) else {
            fail(format_args!("no DTB at {dtb_addr:#x}"))
        };
        let Ok(fdt) = cellfdt::Fdt::new(blob) else {
            fail(format_args!("DTB header rejected"))
        };
        let Some(host) = dtb::vpci_host(&fdt) else {
            fail(format_args!("no enabled pci-host-ecam-generic"))
        };
        let Some(phys) = physical_ecam(&fdt, host.ecam) else {
            fail(format_args!("no board pci-host-ecam-generic node"))
        };
        check_mapped_reads(host.ecam);
        let Some(dtb::Gic::V3 { gicr, .. }) = dtb::gic(&fdt) else {
            fail(format_args!("no arm,gic-v3 node"))
        };
        // This cell runs on CPU 0 only: CPU 1's frame is never mapped into it.
        let raz_at = gicr + GICR_STRIDE + GICR_RAZ;
        let (mut mapped, mut direct, mut raz, mut hvc, mut svc) = (u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
        let (mut vid, mut pid, mut version) = (0, 0, 0);
        for _ in 0..ROUNDS {
            let (t, v) = time(host.ecam);
            let (d, p) = time(phys);
            let (r, zero) = time(raz_at);
            if zero != 0 {
                fail(format_args!("foreign redistributor hole read {zero:#x}, not zero"));
            }
            let (h, ver) = time_hvc();
            let e = match time_svc() {
                Ok(t) => t,
                Err(n) => fail(format_args!("EL1 svc round trips: {n} of {READS} taken")),
            };
            (mapped, direct, raz, hvc, svc) = (mapped.min(t), direct.min(d), raz.min(r), hvc.min(h), svc.min(e));
            (vid, pid, version) = (v, p, ver);
        }
        say!(
            "ecam-bench: virtual {:#x} id {vid:#010x}, board {phys:#x} id {pid:#010x}, psci {version:#x}",
            host.ecam
        );
        say!("ecam-bench: best of {ROUNDS} rounds");
        say!("ecam-bench: floor hvc {hvc} trap {raz} reads {READS}");
        say!("ecam-bench: el1 svc {svc} reads {READS}");
        say!(
            "ecam-bench: mapped {mapped} direct {direct} reads {READS} cntfrq {}",
            arch::cntfrq()
        );
        stop()
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        fail(format_args!("panic {p}"))
    }
}

//! ecam-bench: the guest cost of a PCI config-space read through the shim's
//! trapped virtual ECAM (stage-2 hole, data abort decoded and emulated by
//! vdev) against the same read on QEMU's own PCIe ECAM, mapped into the cell
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
//! Before timing it checks the shim's fast path (plain loads, answered in
//! EL2 assembly) against its full path (the same bytes through sign-extending
//! loads, which the fast path leaves to the Rust model) for every register of
//! the header and beyond, after config writes too, and a plain load into
//! every general register; any difference is a FAIL line. `cargo xtask bench`
//! boots it, and so does the e2e case `ecam-fast`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod bench {
    use cellboot_inmates::arch::{self, Frame};
    use cellboot_inmates::{dtb, say};
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
        /// Loads the 32-bit word at `addr` (x0) into w0..w30 in turn, each
        /// register all-ones before, and stores each as 64 bits to `out[n]`
        /// (x1); then one load into wzr. Saves what AAPCS64 asks.
        fn ecam_bench_load_each(addr: u64, out: *mut [u64; 31]);
    }

    // One plain load per target register: the fast path writes its answer
    // to the register the syndrome names (saved slot for x0..x5, a jump
    // table for x6..x30, nothing for xzr). x2 keeps the address, x3 the
    // output (both reloaded after their own turn; x0/x1 keep the originals).
    global_asm!(
        ".section .text.ecam_bench_load_each, \"ax\"",
        ".global ecam_bench_load_each",
        "ecam_bench_load_each:",
        "    stp  x29, x30, [sp, #-96]!",
        "    stp  x19, x20, [sp, #16]",
        "    stp  x21, x22, [sp, #32]",
        "    stp  x23, x24, [sp, #48]",
        "    stp  x25, x26, [sp, #64]",
        "    stp  x27, x28, [sp, #80]",
        "    mov  x2, x0",
        "    mov  x3, x1",
        "    .irp n, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30",
        "    mov  x\\n, #-1",
        "    ldr  w\\n, [x2]",
        "    str  x\\n, [x3, #(\\n * 8)]",
        "    .endr",
        "    mov  x2, #-1",
        "    ldr  w2, [x0]",
        "    str  x2, [x1, #16]",
        "    mov  x2, x0",
        "    mov  x3, #-1",
        "    ldr  w3, [x2]",
        "    str  x3, [x1, #24]",
        "    mov  x3, x1",
        "    mov  x1, #-1",
        "    ldr  w1, [x2]",
        "    str  x1, [x3, #8]",
        "    mov  x0, #-1",
        "    ldr  w0, [x2]",
        "    str  x0, [x3]",
        "    ldr  wzr, [x2]",
        "    ldp  x19, x20, [sp, #16]",
        "    ldp  x21, x22, [sp, #32]",
        "    ldp  x23, x24, [sp, #48]",
        "    ldp  x25, x26, [sp, #64]",
        "    ldp  x27, x28, [sp, #80]",
        "    ldp  x29, x30, [sp], #96",
        "    ret",
    );

    /// The three loads the fast path leaves alone because they sign-extend.
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

    /// Every byte, half-word and word of `dev`'s function 0 up to `end`
    /// (and a few far ones): plain (fast path) against sign-extending (full
    /// path) loads. Returns the number of comparisons.
    fn compare_paths(ecam: u64, dev: u64, end: u64) -> Result<u32, (u64, u8, u64, u64)> {
        let base = ecam + (dev << 15);
        let mut n = 0;
        let regs = (0..end).chain([0x100, 0x7fc, 0xffc, 0xffe, 0xfff]);
        for reg in regs {
            let a = base + reg;
            let (fast, slow) = (rd8(a), ldrsb(a) & 0xff);
            if fast != slow {
                return Err((reg, 1, fast, slow));
            }
            n += 1;
            if reg % 2 == 0 {
                let (fast, slow) = (rd16(a), ldrsh(a) & 0xffff);
                if fast != slow {
                    return Err((reg, 2, fast, slow));
                }
                n += 1;
            }
            if reg % 4 == 0 {
                let (fast, slow) = (rd32(a), ldrsw(a) & 0xffff_ffff);
                if fast != slow {
                    return Err((reg, 4, fast, slow));
                }
                n += 1;
            }
        }
        Ok(n)
    }

    // Plain loads in assembly, returning the whole X register (an answer
    // wider than the load must show): the compiler would also fold a
    // volatile read into a write-back addressing mode, which has no syndrome
    // (ISV=0) and is refused by the shim, rightly.
    fn rd8(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldrb {0:w}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }
    fn rd16(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldrh {0:w}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }
    fn rd32(a: u64) -> u64 {
        let v: u64;
        // SAFETY: as ldrsb.
        unsafe { asm!("ldr {0:w}, [{1}]", out(reg) v, in(reg) a, options(nostack, readonly)) };
        v
    }

    /// The fast path against the full path on device 0 as the shim built it,
    /// while BAR0 is being sized, and with memory decoding and INTx masking
    /// on; then a plain load into every register. Leaves the device as found.
    fn check_fast_path(ecam: u64) {
        let report = |when: &str, r: Result<u32, (u64, u8, u64, u64)>| match r {
            Ok(n) => n,
            Err((reg, size, fast, slow)) => fail(format_args!(
                "fast path {when}: +{reg:#x} ({size} bytes) reads {fast:#x}, full path {slow:#x}"
            )),
        };
        let mut n = report("as built", compare_paths(ecam, 0, 0x100));
        let (bar, cmd) = (rd32(ecam + 0x10), rd32(ecam + 0x4));
        arch::wr32(ecam + 0x10, u32::MAX);
        n += report("after sizing BAR0", compare_paths(ecam, 0, 0x40));
        if rd32(ecam + 0x10) != 0xffff_f000 {
            fail(format_args!("BAR0 sizing reads {:#x}, not 0xfffff000", rd32(ecam + 0x10)));
        }
        arch::wr32(ecam + 0x10, bar as u32);
        arch::wr8(ecam + 0x4, 0x06); // memory + bus master
        arch::wr8(ecam + 0x5, 0x04); // INTx disable (byte write)
        n += report("after command writes", compare_paths(ecam, 0, 0x40));
        if rd16(ecam + 0x4) != 0x406 {
            fail(format_args!("command reads {:#x} after writing 0x406", rd16(ecam + 0x4)));
        }
        arch::wr32(ecam + 0x4, cmd as u32);
        // Absent device and function: all-ones, whichever path answers.
        for a in [ecam + (1 << 15), ecam + (1 << 12)] {
            if rd32(a) != 0xffff_ffff || rd16(a) != 0xffff || rd8(a) != 0xff {
                fail(format_args!("absent function at {a:#x} does not read all-ones"));
            }
        }
        let want = rd32(ecam);
        let mut regs = [0u64; 31];
        // SAFETY: `regs` is ours; the routine saves the registers AAPCS64
        // asks it to and reads only `ecam`.
        unsafe { ecam_bench_load_each(ecam, &mut regs) };
        if let Some((r, v)) = regs.iter().enumerate().find(|&(_, &v)| v != want) {
            fail(format_args!("plain load into x{r} got {v:#x}, not {want:#x}"));
        }
        say!("ecam-bench: fast path agrees with the full path ({n} reads, 31 target registers)");
    }

    /// Reads (or round trips) per timed round.
    const READS: u64 = 400;
    /// Rounds, each timing every kind once in turn; the best round of each
    /// kind is reported. The host is shared: a round during which QEMU's
    /// thread was preempted is noise, and interleaving puts the kinds under
    /// the same conditions.
    const ROUNDS: u32 = 16;
    const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
    const PSCI_VERSION: u64 = 0x8400_0000;
    /// Redistributor frame stride on QEMU virt (RD_base + SGI_base).
    const GICR_STRIDE: u64 = 0x2_0000;
    /// An RD_base offset past the identification words the shim passes
    /// through: in another CPU's frame it reads as zero without touching
    /// the GIC (hypervisor-shim/src/gic.rs `gicr_foreign_read`).
    const GICR_RAZ: u64 = 0x10;

    #[unsafe(no_mangle)]
    fn inmate_handle(frame: &mut Frame, kind: u64) {
        say!("ecam-bench: FAIL exception kind {kind} ESR {:#x} FAR {:#x} ELR {:#x}", arch::esr_el1(), arch::far_el1(), frame.elr);
        stop();
    }

    fn fail(what: core::fmt::Arguments) -> ! {
        say!("ecam-bench: FAIL {what}");
        arch::hypercall(cellboot_abi::hypercall::CELL_FAILED, 0, 0);
        stop()
    }

    fn stop() -> ! {
        arch::smc(PSCI_SYSTEM_OFF, 0, 0, 0);
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
        let first = arch::rd32(addr); // warm up (and the value for the line)
        let t0 = now();
        for _ in 0..READS {
            arch::rd32(addr);
        }
        (now() - t0, first)
    }

    /// PSCI_VERSION through `hvc #0`: the cheapest service the shim has, so
    /// READS of them are the cost of an exception round trip to EL2.
    fn psci_version_hvc() -> u64 {
        let r: u64;
        // SAFETY: SMCCC call through the shim's PSCI service; PSCI_VERSION
        // only returns a value in x0 (SMCCC lets it clobber x1..x3).
        unsafe {
            core::arch::asm!("hvc #0", inlateout("x0") PSCI_VERSION => r,
                out("x1") _, out("x2") _, out("x3") _, options(nostack))
        };
        r
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
        let Some(blob) = arch::dtb(dtb_addr) else { fail(format_args!("no DTB at {dtb_addr:#x}")) };
        let Ok(fdt) = cellfdt::Fdt::new(blob) else { fail(format_args!("DTB header rejected")) };
        let Some(host) = dtb::vpci_host(&fdt) else { fail(format_args!("no enabled pci-host-ecam-generic")) };
        let Some(phys) = physical_ecam(&fdt, host.ecam) else { fail(format_args!("no board pci-host-ecam-generic node")) };
        check_fast_path(host.ecam);
        let Some(dtb::Gic::V3 { gicr, .. }) = dtb::gic(&fdt) else { fail(format_args!("no arm,gic-v3 node")) };
        // This cell runs on CPU 0 only: CPU 1's frame is never mapped into it.
        let raz_at = gicr + GICR_STRIDE + GICR_RAZ;
        let (mut trapped, mut direct, mut raz, mut hvc, mut svc) = (u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
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
            (trapped, direct, raz, hvc, svc) = (trapped.min(t), direct.min(d), raz.min(r), hvc.min(h), svc.min(e));
            (vid, pid, version) = (v, p, ver);
        }
        say!("ecam-bench: virtual {:#x} id {vid:#010x}, board {phys:#x} id {pid:#010x}, psci {version:#x}", host.ecam);
        say!("ecam-bench: best of {ROUNDS} rounds");
        say!("ecam-bench: floor hvc {hvc} trap {raz} reads {READS}");
        say!("ecam-bench: el1 svc {svc} reads {READS}");
        say!("ecam-bench: trapped {trapped} direct {direct} reads {READS} cntfrq {}", arch::cntfrq());
        stop()
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        fail(format_args!("panic {p}"))
    }
}

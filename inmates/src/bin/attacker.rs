//! attacker: the hostile cell of boards/qemu-virt/hostile.toml and
//! boards/rpi4b/hostile.toml. Its DTB says which GIC it has (v3: IROUTER and
//! foreign redistributors; v2: ITARGETSR, SGIR, the hypervisor interface
//! GICH); its bootargs say where the other cells, the shim and the
//! spin-table words are (`attack.<key>=N`, read by
//! `cellboot_abi::attack_targets`, as xtask reads them for the shim lines it
//! expects: the board's layout is data there, the attempts are the same on
//! every board). While Linux and rtos-demo run, it tries to break out of its
//! cell, one attempt at a time, and prints a table of attempts and outcomes. Denied memory accesses
//! come back as synchronous aborts the shim injects into our EL1 vectors
//! (the handler records the syndrome and skips the instruction), so the suite
//! goes on after each of them. The last attempt is deliberately fatal (a
//! jump into another cell's RAM): the shim must stop this cell, and only it.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod hostile {
    use cellboot_abi::attack_targets::Targets;
    use cellboot_abi::hypercall as hc;
    use cellboot_abi::psci::fid;
    use cellboot_inmates::arch::{self, Frame};
    use cellboot_inmates::pci::{self, Ecam};
    use cellboot_inmates::{dtb, say};
    use core::cell::UnsafeCell;

    /// The last synchronous exception taken (ESR_EL1), 0 = none since reset.
    struct Fault(UnsafeCell<u64>);
    // SAFETY: one CPU; written by the handler, read by the attempt after it returns.
    unsafe impl Sync for Fault {}
    static FAULT: Fault = Fault(UnsafeCell::new(0));
    /// The fault the last probe raised (and clears it). The handler ran
    /// "inside" the probing load/store, which the compiler cannot see: the
    /// empty asm (a memory clobber) keeps this read after the probe.
    fn take_fault() -> u64 {
        // SAFETY: an empty asm block; it only constrains compiler ordering.
        unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
        let p = FAULT.0.get();
        // SAFETY: see `Fault`.
        unsafe {
            let v = p.read_volatile();
            p.write_volatile(0);
            v
        }
    }

    #[unsafe(no_mangle)]
    fn inmate_handle(frame: &mut Frame, kind: u64) {
        if kind == arch::KIND_SYNC {
            // SAFETY: see `Fault`.
            unsafe { FAULT.0.get().write_volatile(arch::esr_el1() | 1 << 63) };
            frame.elr += 4; // skip the faulting load/store
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Want {
        /// A synchronous abort (injected by the shim, or the MMU's own).
        Abort,
        /// This return code from a hypercall / PSCI call.
        Code(i64),
        /// The write is dropped without fault (the shim logs it).
        Absorbed,
        /// A read returns all-ones.
        Ones,
        /// A read returns exactly this: bytes of the cell's own config space
        /// (its ECAM window maps its own devices' pages read-only).
        Own(i64),
        /// Either the MMU's own alignment fault (Device memory, the cell's
        /// MMU off) or, where the CPU lets it through, these own bytes (low
        /// 32 bits compared).
        AbortOrOwn(i64),
    }

    struct Row {
        what: &'static str,
        want: Want,
        abort: u64,
        value: i64,
    }

    struct Table {
        rows: [Option<Row>; 48],
        n: usize,
    }

    impl Table {
        fn push(&mut self, what: &'static str, want: Want, value: i64) {
            let abort = take_fault();
            if self.n < self.rows.len() {
                self.rows[self.n] = Some(Row {
                    what,
                    want,
                    abort,
                    value,
                });
                self.n += 1;
            }
        }
    }

    fn contained(r: &Row) -> bool {
        match r.want {
            Want::Abort => r.abort != 0,
            Want::Code(c) => r.abort == 0 && r.value == c,
            Want::Absorbed => r.abort == 0,
            Want::Ones => r.abort == 0 && r.value == -1,
            Want::Own(v) => r.abort == 0 && r.value == v,
            Want::AbortOrOwn(v) => r.abort != 0 || r.value as u32 == v as u32,
        }
    }

    struct Mmio(u64);
    impl Ecam for Mmio {
        fn read32(&mut self, off: u64) -> u32 {
            // SAFETY: the cell's virtual ECAM (device memory; no Rust object there).
            unsafe { arch::rd32(self.0 + off) }
        }
        fn write32(&mut self, off: u64, v: u32) {
            // SAFETY: the cell's virtual ECAM (device memory; no Rust object there).
            unsafe { arch::wr32(self.0 + off, v) }
        }
    }

    /// Left in its own link's R/W section before it resets its cell: shared
    /// memory outlives a cell restart, the cell's RAM is staged anew.
    const RESET_TOKEN: u32 = 0x5e5e_7002;

    fn stop(why: core::fmt::Arguments) -> ! {
        say!("attacker: BUG: {why}");
        loop {
            arch::wfi()
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(dtb_addr: u64) -> ! {
        // SAFETY: every raw access names a register of the cell's devices, its own RAM or link memory,
        // or on purpose memory the cell does not own, which the shim denies with an abort the vectors
        // record; no Rust object of this program lives at any of these addresses.
        unsafe {
            say!(
                "attacker: up on MPIDR {:#x}: starting the hostile-guest suite",
                arch::mpidr() & 0xff_ffff
            );
            let Some(fdt) = arch::dtb(dtb_addr).and_then(|b| cellfdt::Fdt::new(b).ok()) else {
                stop(format_args!("no DTB"))
            };
            let (Some(host), Some(gic)) = (dtb::vpci_host(&fdt), dtb::gic(&fdt)) else {
                stop(format_args!("DTB without vPCI host or GIC"))
            };
            let tg = match Targets::parse(dtb::bootargs(&fdt)) {
                Ok(t) => t,
                Err(e) => stop(format_args!("{e}")),
            };
            let own_irq = dtb::intx_intid(&fdt, host.node, 0, 1).unwrap_or(0);
            let ecam = host.ecam;
            let (bar0, token, link) =
                match pci::find_ivshmem(&mut Mmio(ecam), 0, host.mem_pci, host.mem_cpu, host.mem_size) {
                    Ok(d) => (d.bar0, d.shmem + d.state_size, Some(d)),
                    Err(e) => {
                        say!("attacker: BUG: own ivshmem device: {e}");
                        (0, 0, None)
                    }
                };
            // Second life (see the end): the restart touched no other cell.
            if token != 0 && arch::rd32(token) == RESET_TOKEN {
                say!("attacker: restarted by its own SYSTEM_RESET, suite done before it");
                say!(
                    "attacker: last attempt (fatal): jump into the Linux cell's RAM at {:#x}",
                    tg.linux_ram
                );
                arch::jump(tg.linux_ram)
            }
            // Somewhere in our own RAM: the DTB the loader put there.
            let own = dtb_addr;
            let gicd = gic.gicd();
            let mut t = Table {
                rows: [const { None }; 48],
                n: 0,
            };
            let rd = |a| arch::rd64(a) as i64;

            // --- memory of other cells and of the shim ---
            t.push("read Linux RAM", Want::Abort, rd(tg.linux_ram));
            arch::wr64(tg.linux_ram + 0x10_0000, 0xbad);
            t.push("write Linux RAM (+1 MiB)", Want::Abort, 0);
            t.push("read rtos RAM", Want::Abort, rd(tg.rtos_ram));
            arch::wr64(tg.shim, 0xbad);
            t.push("write shim image", Want::Abort, 0);
            t.push("ldp from shim image (ISV=0)", Want::Abort, arch::ldp(tg.shim).0 as i64);
            arch::wr32(tg.shmem, 0xbad);
            t.push("write Linux<->rtos shmem (not linked)", Want::Abort, 0);
            if let Some(w) = tg.release {
                // A CPU parked in the firmware's spin loop jumps to what this
                // word says, at EL2.
                arch::wr64(w, own);
                t.push("write spin-table release word", Want::Abort, 0);
            }

            // --- interrupt controller (distributor trapped and mediated) ---
            let (li, ri) = (u64::from(tg.linux_irq), u64::from(tg.rtos_irq));
            arch::wr32(gicd + 0x100 + li / 32 * 4, 1 << (li % 32)); // ISENABLER
            t.push("GICD enable Linux's UART IRQ", Want::Absorbed, 0);
            arch::wr32(gicd + 0x180 + ri / 32 * 4, 1 << (ri % 32)); // ICENABLER
            t.push("GICD disable rtos doorbell IRQ", Want::Absorbed, 0);
            match gic {
                dtb::Gic::V3 { .. } => {
                    arch::wr64(gicd + 0x6000 + 8 * u64::from(own_irq), tg.linux_cpu); // IROUTER
                    t.push("GICD route own IRQ to Linux's CPU", Want::Absorbed, 0);
                }
                dtb::Gic::V2 { .. } => {
                    // ITARGETSR byte: CPU interface n is CPU n on the boards we know.
                    arch::wr8(gicd + 0x800 + u64::from(own_irq), 1 << tg.linux_cpu);
                    t.push("GICD ITARGETSR own IRQ -> Linux's CPU", Want::Absorbed, 0);
                    let me = arch::rd8(gicd + 0x800); // banked: our own interface bit
                    arch::wr8(gicd + 0x800 + li, me);
                    t.push("GICD ITARGETSR steal Linux's UART IRQ", Want::Absorbed, 0);
                    arch::wr32(gicd + 0xf00, 1 << (16 + tg.linux_cpu) | 1); // SGIR: SGI 1
                    t.push("GICD_SGIR SGI 1 to Linux's CPU", Want::Absorbed, 0);
                }
            }
            // Enable the distributor first, as any cell may (the shim lets CTLR
            // bits be set, never cleared): otherwise, if this cell got here
            // before Linux and rtos-demo enabled it, there would be nothing to
            // disable and the next attempt would prove nothing.
            let enable = if matches!(gic, dtb::Gic::V3 { .. }) {
                1 << 4 | 1 << 1
            } else {
                1
            };
            arch::wr32(gicd, arch::rd32(gicd) | enable);
            let ctlr_before = arch::rd32(gicd);
            arch::wr32(gicd, 0); // CTLR: disable the shared distributor
            t.push("GICD_CTLR = 0 (disable all)", Want::Absorbed, 0);
            let ctlr_after = arch::rd32(gicd);
            match gic {
                dtb::Gic::V3 { gicr, .. } => {
                    // CPU 0's SGI frame: ICENABLER0 (Linux's timer PPI among them).
                    arch::wr32(gicr + 0x1_0000 + 0x180, u32::MAX);
                    t.push("CPU 0 GICR: disable all PPIs", Want::Absorbed, 0);
                }
                dtb::Gic::V2 { gich: Some(gich), .. } => {
                    // The hypervisor control interface: list registers, i.e.
                    // interrupts injected into any CPU's guest.
                    t.push("read GICH (hypervisor interface)", Want::Abort, arch::rd32(gich) as i64);
                    arch::wr32(gich, 1); // GICH_HCR.En
                    t.push("write GICH_HCR", Want::Abort, 0);
                }
                dtb::Gic::V2 { gich: None, .. } => {}
            }
            if matches!(gic, dtb::Gic::V3 { .. }) {
                // SGIs through the CPU's own GIC registers (no distributor in
                // the way): SGI 2 is Linux arm64's IPI_CPU_STOP.
                let linux = 1 << tg.linux_cpu;
                sgi::sgi1r(2 << 24 | linux);
                t.push("ICC_SGI1R_EL1 SGI 2 to Linux's CPU", Want::Absorbed, 0);
                sgi::sgi1r(sgi::IRM | 2 << 24);
                t.push("ICC_SGI1R_EL1 SGI 2 broadcast (IRM)", Want::Absorbed, 0);
                sgi::asgi1r(2 << 24 | linux);
                t.push("ICC_ASGI1R_EL1 SGI 2 to Linux's CPU", Want::Absorbed, 0);
                sgi::sgi0r(2 << 24 | linux);
                t.push("ICC_SGI0R_EL1 SGI 2 to Linux's CPU", Want::Absorbed, 0);
                // The sustained version: SGI 2 to Linux's two CPUs every 20 ms
                // from 2 s after this cell started, for 3 s, while Linux boots.
                let ms = arch::cntfrq() / 1000;
                while arch::cntvct() < 2000 * ms {}
                let mut n = 0;
                while n < sgi::FLOOD_WRITES {
                    sgi::sgi1r(2 << 24 | 0b11 << tg.linux_cpu);
                    n += 1;
                    let next = arch::cntvct() + 20 * ms;
                    while arch::cntvct() < next {}
                }
                t.push("ICC_SGI1R_EL1 SGI 2 flood, 150 x 20 ms", Want::Absorbed, n as i64);
            }
            // Cache maintenance by set/way acts on whatever line sits in that
            // set and way, any cell's: level 1, set 0, way 0.
            sgi::dc_isw(0);
            t.push("DC ISW (invalidate by set/way)", Want::Absorbed, 0);
            sgi::dc_cisw(0);
            t.push("DC CISW (clean+invalidate by set/way)", Want::Absorbed, 0);
            // Its own link (it is peer 0): ivshmem v2 lets only the shim write
            // the state table, only peer 1 its output section.
            if let Some(d) = link {
                arch::wr32(d.shmem, 0xbad);
                t.push("write own link's state table", Want::Abort, 0);
                arch::wr32(
                    d.shmem + cellboot_inmates::proto::out_section(d.state_size, d.rw_size, d.out_size, 1),
                    0xbad,
                );
                t.push("write peer 1's output section", Want::Abort, 0);
            }

            // --- CPUs ---
            t.push(
                "PSCI CPU_ON Linux's CPU",
                Want::Code(-3),
                arch::smc(fid::CPU_ON_64, tg.linux_cpu, own, 0),
            );
            t.push(
                "PSCI CPU_ON rtos's CPU",
                Want::Code(-3),
                arch::smc(fid::CPU_ON_64, tg.rtos_cpu, own, 0),
            );
            t.push(
                "PSCI AFFINITY_INFO Linux's CPU",
                Want::Code(-2),
                arch::smc(fid::AFFINITY_INFO_64, tg.linux_cpu, 0, 0),
            );

            // --- hypercalls ---
            t.push(
                "hypercall 0x999 (unknown)",
                Want::Code(hc::E_NOSYS),
                arch::hypercall(0x999, 0, 0),
            );
            t.push(
                "console write from shim memory",
                Want::Code(hc::E_INVAL),
                arch::hypercall(hc::DEBUG_CONSOLE_WRITE, tg.shim, 16),
            );
            t.push(
                "console write of 1 GiB",
                Want::Code(hc::E_INVAL),
                arch::hypercall(hc::DEBUG_CONSOLE_WRITE, own, 1 << 30),
            );
            t.push(
                "console write at IPA 2^64-8 (wraps)",
                Want::Code(hc::E_INVAL),
                arch::hypercall(hc::DEBUG_CONSOLE_WRITE, u64::MAX - 7, 16),
            );
            t.push(
                "CELL_GET_STATE of cell 0",
                Want::Code(hc::E_PERM),
                arch::hypercall(hc::CELL_GET_STATE, 0, 0),
            );
            t.push(
                "hvc #1 (not a service)",
                Want::Code(-1),
                arch::hvc_imm1(u64::from(fid::VERSION)),
            );
            t.push(
                "SMC 0xc2000000 (unknown SMCCC)",
                Want::Code(-1),
                arch::smc(0xc200_0000, 0, 0, 0),
            );

            // --- virtual PCI ---
            arch::wr32(ecam + 0x10, tg.linux_ram as u32); // own BAR0 onto Linux RAM
            t.push("BAR0 := Linux RAM", Want::Absorbed, 0);
            t.push(
                "  ...then read through that BAR",
                Want::Abort,
                arch::rd32(tg.linux_ram) as i64,
            );
            arch::wr32(ecam + 0x10, host.mem_pci as u32); // put it back
            // --- BAR0 outside the MEM window (issue 14): decoded only where it
            // covers nothing; over memory the shim refuses and logs it ---
            let own_word = i64::from(arch::rd32(own));
            arch::wr32(ecam + 0x10, own as u32);
            t.push("BAR0 := own RAM (refused)", Want::Absorbed, 0);
            t.push(
                "  ...then read: own RAM, not the BAR",
                Want::Own(own_word),
                i64::from(arch::rd32(own)),
            );
            arch::wr32(ecam + 0x10, tg.rtos_ram as u32);
            t.push("BAR0 := rtos RAM (refused)", Want::Absorbed, 0);
            t.push(
                "  ...then read through that BAR",
                Want::Abort,
                arch::rd32(tg.rtos_ram) as i64,
            );
            arch::wr32(ecam + 0x10, tg.shim as u32);
            t.push("BAR0 := shim memory (refused)", Want::Absorbed, 0);
            t.push(
                "  ...then read through that BAR",
                Want::Abort,
                arch::rd32(tg.shim) as i64,
            );
            arch::wr32(ecam + 0x10, host.mem_pci as u32); // put it back
            // --- end of the BAR0 placement block ---
            arch::wr32(ecam + (5 << 15) + 0x10, 0x1000_0000);
            t.push("config write to absent device 5", Want::Absorbed, 0);
            // Run-time management (docs/management.md): only a granted
            // cell's bus has the function, at device 31; this cell has no grant.
            let mgmt = ecam + (u64::from(cellboot_abi::mgmt::PCI_DEVICE) << 15);
            t.push(
                "probe for the management function",
                Want::Ones,
                arch::rd32(mgmt) as i32 as i64,
            );
            arch::wr32(mgmt + 4, 2); // memory decoding on
            t.push("enable the management function", Want::Absorbed, 0);
            // Reads never leave the cell's own config pages: whatever the width,
            // they see its own device's bytes (from aligned 4-byte reads) or
            // all-ones; writes of any shape trap.
            let own = i64::from(arch::rd32(ecam + 4)) << 32 | i64::from(arch::rd32(ecam));
            t.push("ECAM 8-byte read (oversized)", Want::Own(own), rd(ecam));
            arch::wr64(ecam + 0x10, u64::MAX);
            t.push("ECAM 8-byte BAR write (oversized)", Want::Absorbed, 0);
            t.push("ECAM ldp (pair)", Want::Own(own), arch::ldp(ecam).0 as i64);
            t.push(
                "ECAM 4-byte read at +0x2 (misaligned)",
                Want::AbortOrOwn(own >> 16),
                arch::rd32_unaligned(ecam + 2) as i64,
            );
            t.push("ECAM 8-byte read of absent device 5", Want::Ones, rd(ecam + (5 << 15)));
            let bar_ok = arch::rd32(ecam + 0x10) == host.mem_pci as u32;
            if bar0 != 0 {
                arch::wr32(bar0 + 0x0c, 1 << 16);
                t.push("doorbell to absent peer 1", Want::Absorbed, 0);
                arch::wr32(bar0 + 0x0c, 7 << 16);
                t.push("doorbell to peer 7", Want::Absorbed, 0);
            }

            say!(
                "attacker: | # | attempt                               | expected  | observed            | verdict   |"
            );
            let mut bad = 0;
            for (i, r) in t.rows[..t.n].iter().flatten().enumerate() {
                let ok = contained(r);
                bad += usize::from(!ok);
                let want = match r.want {
                    Want::Abort => "abort",
                    Want::Code(_) => "error",
                    Want::Absorbed => "dropped",
                    Want::Ones => "all-ones",
                    Want::Own(_) => "own cfg",
                    Want::AbortOrOwn(_) => "fault/own",
                };
                let verdict = if ok { "contained" } else { "BREACH" };
                if r.abort != 0 {
                    let esr = r.abort & !(1 << 63);
                    let how = if esr & 0x3f == 0x21 { "alignment" } else { "ext abort" };
                    say!(
                        "attacker: | {:>2} | {:<37} | {want:<9} | {how} ESR {:#010x} | {verdict} |",
                        i + 1,
                        r.what,
                        esr
                    );
                } else if let Want::Code(_) = r.want {
                    say!(
                        "attacker: | {:>2} | {:<37} | {want:<9} | returned {:<10} | {verdict} |",
                        i + 1,
                        r.what,
                        r.value
                    );
                } else {
                    say!(
                        "attacker: | {:>2} | {:<37} | {want:<9} | no fault ({:#x}) | {verdict} |",
                        i + 1,
                        r.what,
                        r.value as u64 & 0xffff_ffff
                    );
                }
            }
            let ctlr_kept = ctlr_before & enable == enable && ctlr_after & ctlr_before == ctlr_before;
            say!(
                "attacker: GICD_CTLR {ctlr_before:#x} before CTLR=0, {ctlr_after:#x} after (kept: {ctlr_kept}), own BAR0 restored: {bar_ok}"
            );
            if bad == 0 && ctlr_kept && bar_ok {
                say!("attacker: all attempts contained ({} of {})", t.n, t.n);
            } else {
                say!("attacker: BREACH: {bad} attempt(s) not contained");
            }
            // A reset of its own cell: the shim restarts only this cell (its
            // loader again), Linux and rtos-demo must not notice.
            if token != 0 {
                arch::wr32(token, RESET_TOKEN);
                say!("attacker: PSCI SYSTEM_RESET of its own cell");
                let r = arch::smc(fid::SYSTEM_RESET, 0, 0, 0);
                say!("attacker: BREACH: SYSTEM_RESET returned {r}");
            }
            say!(
                "attacker: last attempt (fatal): jump into the Linux cell's RAM at {:#x}",
                tg.linux_ram
            );
            arch::jump(tg.linux_ram)
        }
    }

    /// System-register writes the shim must trap (HCR_EL2.IMO/FMO, TSW).
    mod sgi {
        use core::arch::asm;
        pub const IRM: u64 = 1 << 40;
        pub const FLOOD_WRITES: u32 = 150;
        // Each: a write to one of this CPU's own system registers /
        // a cache maintenance instruction; no memory of this program changes.
        pub fn sgi1r(v: u64) {
            // SAFETY: a system register or cache operation (see above).
            unsafe { asm!("msr icc_sgi1r_el1, {0}", "isb", in(reg) v, options(nostack)) }
        }
        pub fn asgi1r(v: u64) {
            // SAFETY: a system register or cache operation (see above).
            unsafe { asm!("msr icc_asgi1r_el1, {0}", "isb", in(reg) v, options(nostack)) }
        }
        pub fn sgi0r(v: u64) {
            // SAFETY: a system register or cache operation (see above).
            unsafe { asm!("msr icc_sgi0r_el1, {0}", "isb", in(reg) v, options(nostack)) }
        }
        pub fn dc_isw(v: u64) {
            // SAFETY: a system register or cache operation (see above).
            unsafe { asm!("dc isw, {0}", "dsb sy", in(reg) v, options(nostack)) }
        }
        pub fn dc_cisw(v: u64) {
            // SAFETY: a system register or cache operation (see above).
            unsafe { asm!("dc cisw, {0}", "dsb sy", in(reg) v, options(nostack)) }
        }
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        say!("attacker: BUG: panic {p}");
        loop {
            arch::wfi()
        }
    }
}

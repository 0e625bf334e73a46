//! attacker: the hostile cell of boards/qemu-virt/hostile.toml. While Linux
//! and rtos-demo run, it tries to break out of its cell, one attempt at a
//! time, and prints a table of attempts and outcomes. Denied memory accesses
//! come back as synchronous aborts the shim injects into our EL1 vectors
//! (the handler records the syndrome and skips the instruction), so the suite
//! goes on after each of them. The last attempt is deliberately fatal (a
//! jump into another cell's RAM): the shim must stop this cell, and only it.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod hostile {
    use cellboot_abi::hypercall as hc;
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
        /// Either the MMU's own alignment fault (Device memory) or, where the
        /// CPU lets it through, the shim's all-ones for a non-config cycle.
        AbortOrOnes,
    }

    struct Row {
        what: &'static str,
        want: Want,
        abort: u64,
        value: i64,
    }

    struct Table {
        rows: [Option<Row>; 40],
        n: usize,
    }

    impl Table {
        fn push(&mut self, what: &'static str, want: Want, value: i64) {
            let abort = take_fault();
            if self.n < self.rows.len() {
                self.rows[self.n] = Some(Row { what, want, abort, value });
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
            Want::AbortOrOnes => r.abort != 0 || r.value as u32 == u32::MAX,
        }
    }

    struct Mmio(u64);
    impl Ecam for Mmio {
        fn read32(&mut self, off: u64) -> u32 {
            arch::rd32(self.0 + off)
        }
        fn write32(&mut self, off: u64, v: u32) {
            arch::wr32(self.0 + off, v)
        }
    }

    const LINUX_RAM: u64 = 0x4800_0000;
    const RTOS_RAM: u64 = 0x6100_0000;
    const SHIM: u64 = 0x4020_0000;
    const LINK0_RW: u64 = 0x6000_1000;
    const CPU_ON: u64 = 0xc400_0003;
    const AFFINITY_INFO: u64 = 0xc400_0004;

    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(dtb_addr: u64) -> ! {
        say!("attacker: up on MPIDR {:#x}: starting the hostile-guest suite", arch::mpidr() & 0xff_ffff);
        let fdt = arch::dtb(dtb_addr).and_then(|b| cellfdt::Fdt::new(b).ok());
        let host = fdt.as_ref().and_then(dtb::vpci_host);
        let gic = fdt.as_ref().and_then(dtb::gic_v3);
        let (Some(host), Some(gic)) = (host, gic) else {
            say!("attacker: BUG: DTB without vPCI host or GIC");
            loop {
                arch::wfi()
            }
        };
        let ecam = host.ecam;
        let bar0 = match pci::find_ivshmem(&mut Mmio(ecam), 0, host.mem_pci, host.mem_cpu, host.mem_size) {
            Ok(d) => d.bar0,
            Err(e) => {
                say!("attacker: BUG: own ivshmem device: {e}");
                0
            }
        };
        let gicd = gic.gicd;
        let mut t = Table { rows: [const { None }; 40], n: 0 };
        let rd = |a| arch::rd64(a) as i64;

        // --- memory of other cells and of the shim ---
        t.push("read Linux RAM (IPA 0x48000000)", Want::Abort, rd(LINUX_RAM));
        arch::wr64(LINUX_RAM + 0x10_0000, 0xbad);
        t.push("write Linux RAM (IPA 0x48100000)", Want::Abort, 0);
        t.push("read rtos RAM (0x61000000)", Want::Abort, rd(RTOS_RAM));
        arch::wr64(SHIM, 0xbad);
        t.push("write shim image (0x40200000)", Want::Abort, 0);
        t.push("ldp from shim image (ISV=0)", Want::Abort, arch::ldp(SHIM).0 as i64);
        arch::wr32(LINK0_RW, 0xbad);
        t.push("write Linux<->rtos shmem (not linked)", Want::Abort, 0);

        // --- interrupt controller ---
        arch::wr32(gicd + 0x104, 1 << 1); // ISENABLER1: SPI INTID 33 (Linux's UART)
        t.push("GICD enable INTID 33 (Linux UART)", Want::Absorbed, 0);
        arch::wr32(gicd + 0x190, 1 << 16); // ICENABLER4: INTID 144 (rtos doorbell)
        t.push("GICD disable INTID 144 (rtos doorbell)", Want::Absorbed, 0);
        arch::wr64(gicd + 0x6000 + 8 * 148, 0); // IROUTER148 (ours) -> CPU 0
        t.push("GICD route own INTID 148 to CPU 0", Want::Absorbed, 0);
        let ctlr_before = arch::rd32(gicd);
        arch::wr32(gicd, 0); // CTLR: disable the shared distributor
        t.push("GICD_CTLR = 0 (disable all)", Want::Absorbed, 0);
        let ctlr_after = arch::rd32(gicd);
        arch::wr32(gic.gicr + 0x1_0000 + 0x180, u32::MAX); // CPU 0 GICR ICENABLER0 (Linux's timer)
        t.push("CPU 0 GICR: disable all PPIs", Want::Absorbed, 0);

        // --- CPUs ---
        t.push("PSCI CPU_ON CPU 0 (Linux)", Want::Code(-3), arch::smc(CPU_ON, 0, 0x6220_0000, 0));
        t.push("PSCI CPU_ON CPU 2 (rtos)", Want::Code(-3), arch::smc(CPU_ON, 2, 0x6220_0000, 0));
        t.push("PSCI AFFINITY_INFO CPU 0", Want::Code(-2), arch::smc(AFFINITY_INFO, 0, 0, 0));

        // --- hypercalls ---
        t.push("hypercall 0x999 (unknown)", Want::Code(hc::E_NOSYS), arch::hypercall(0x999, 0, 0));
        t.push("console write from shim memory", Want::Code(hc::E_INVAL), arch::hypercall(hc::DEBUG_CONSOLE_WRITE, SHIM, 16));
        t.push("console write of 1 GiB", Want::Code(hc::E_INVAL), arch::hypercall(hc::DEBUG_CONSOLE_WRITE, 0x6220_0000, 1 << 30));
        t.push("console write at IPA 2^64-8 (wraps)", Want::Code(hc::E_INVAL), arch::hypercall(hc::DEBUG_CONSOLE_WRITE, u64::MAX - 7, 16));
        t.push("CELL_GET_STATE of cell 0", Want::Code(hc::E_PERM), arch::hypercall(hc::CELL_GET_STATE, 0, 0));
        t.push("hvc #1 (not a service)", Want::Code(-1), arch::hvc_imm1(0x8400_0000));
        t.push("SMC 0xc2000000 (unknown SMCCC)", Want::Code(-1), arch::smc(0xc200_0000, 0, 0, 0));

        // --- virtual PCI ---
        arch::wr32(ecam + 0x10, LINUX_RAM as u32); // own BAR0 onto Linux RAM
        t.push("BAR0 := 0x48000000 (Linux RAM)", Want::Absorbed, 0);
        t.push("  ...then read through that BAR", Want::Abort, arch::rd32(LINUX_RAM) as i64);
        arch::wr32(ecam + 0x10, host.mem_pci as u32); // put it back
        arch::wr32(ecam + (5 << 15) + 0x10, 0x1000_0000);
        t.push("config write to absent device 5", Want::Absorbed, 0);
        t.push("ECAM 8-byte read (oversized)", Want::Ones, rd(ecam));
        arch::wr64(ecam + 0x10, u64::MAX);
        t.push("ECAM 8-byte BAR write (oversized)", Want::Absorbed, 0);
        t.push("ECAM ldp (pair, ISV=0)", Want::Abort, arch::ldp(ecam).0 as i64);
        t.push("ECAM 4-byte read at +0x2 (misaligned)", Want::AbortOrOnes, arch::rd32_unaligned(ecam + 2) as i64);
        let bar_ok = arch::rd32(ecam + 0x10) == host.mem_pci as u32;
        if bar0 != 0 {
            arch::wr32(bar0 + 0x0c, 1 << 16);
            t.push("doorbell to absent peer 1", Want::Absorbed, 0);
            arch::wr32(bar0 + 0x0c, 7 << 16);
            t.push("doorbell to peer 7", Want::Absorbed, 0);
        }

        say!("attacker: | # | attempt                               | expected  | observed            | verdict   |");
        let mut bad = 0;
        for (i, r) in t.rows[..t.n].iter().flatten().enumerate() {
            let ok = contained(r);
            bad += usize::from(!ok);
            let want = match r.want {
                Want::Abort => "abort",
                Want::Code(_) => "error",
                Want::Absorbed => "dropped",
                Want::Ones => "all-ones",
                Want::AbortOrOnes => "fault/1s",
            };
            let verdict = if ok { "contained" } else { "BREACH" };
            if r.abort != 0 {
                let esr = r.abort & !(1 << 63);
                let how = if esr & 0x3f == 0x21 { "alignment" } else { "ext abort" };
                say!("attacker: | {:>2} | {:<37} | {want:<9} | {how} ESR {:#010x} | {verdict} |", i + 1, r.what, esr);
            } else if let Want::Code(_) = r.want {
                say!("attacker: | {:>2} | {:<37} | {want:<9} | returned {:<10} | {verdict} |", i + 1, r.what, r.value);
            } else {
                say!("attacker: | {:>2} | {:<37} | {want:<9} | no fault ({:#x}) | {verdict} |", i + 1, r.what, r.value as u64 & 0xffff_ffff);
            }
        }
        let ctlr_kept = ctlr_after & ctlr_before == ctlr_before;
        say!("attacker: GICD_CTLR {ctlr_before:#x} before CTLR=0, {ctlr_after:#x} after (kept: {ctlr_kept}), own BAR0 restored: {bar_ok}");
        if bad == 0 && ctlr_kept && bar_ok {
            say!("attacker: all attempts contained ({} of {})", t.n, t.n);
        } else {
            say!("attacker: BREACH: {bad} attempt(s) not contained");
        }
        say!("attacker: last attempt (fatal): jump into the Linux cell's RAM at {LINUX_RAM:#x}");
        arch::jump(LINUX_RAM)
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        say!("attacker: BUG: panic {p}");
        loop {
            arch::wfi()
        }
    }
}

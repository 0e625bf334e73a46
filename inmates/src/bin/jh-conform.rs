//! jh-conform: a cell that uses only what Jailhouse's arm64 inmate library
//! (`inmates/lib`) uses, the way it uses it, so the `jailhouse` boot kind is
//! tested without Jailhouse's code in the repository:
//! - linked at 0 and entered there (x0 ignored), command line at 0x1000;
//! - the comm region at 0x8000_0000: signature and ABI revision checked
//!   (else cell_state = FAILED_COMM_REV, as the library's `c_entry`), console
//!   chosen from `console.type` (PL011 driven directly) or, with
//!   DBG_PUTC_PERMITTED/ACTIVE, the DEBUG_CONSOLE_PUTC hypercall;
//! - the GIC only through ICC_* (v3) / GICC (v2), GICD_CTLR = 1 (v2) and
//!   GICD/GICR ISENABLER: no groups, priorities or routing of its own;
//! - the EL1 virtual timer (PPI 27) at 10 Hz;
//! - the ivshmem device found on bus 0 of `pci_mmconfig_base`, its BAR0 put
//!   at 0xff00_0000, its INTx at SPI `vpci_irq_base` (+32 for the INTID);
//!   the two peers ring each other's doorbell five times each.
//!   Markers: boards/*/jailhouse-demo.toml, xtask/src/jailhouse_e2e.rs.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod conform {
    use cellboot_abi::jailhouse::{comm_flags, console as con};
    use cellboot_abi::{COMM_REVISION, COMM_SIGNATURE, JhCommHeader, cell_state, hypercall as hc};
    use cellboot_inmates::arch::{self, Frame, rd8, rd32, rd64, wr32};
    use core::fmt::Write;
    use core::mem::offset_of;
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

    // RAW_ACCESSES: every raw access in this inmate names a register of the
    // cell's devices (console, GIC, ECAM, ivshmem BAR0), its comm region or
    // its link memory, at the addresses the comm region and Jailhouse's
    // fixed layout give: device or shared memory no Rust object occupies.

    /// Jailhouse's arm64 `COMM_REGION_BASE`.
    const COMM: u64 = 0x8000_0000;
    /// Where Jailhouse's `.cmdline` section sits.
    const CMDLINE_SIZE: usize = 256;
    #[unsafe(link_section = ".cmdline")]
    #[used]
    static CMDLINE: [u8; CMDLINE_SIZE] = [0; CMDLINE_SIZE];

    const TIMER_PPI: u32 = 27;
    const BEATS_PER_SEC: u64 = 10;
    /// ivshmem-demo's BAR address.
    const BAR_BASE: u64 = 0xff00_0000;
    const DOORBELLS: u32 = 5;
    const NO_DEVICE: &str = "no ivshmem device on bus 0";
    /// `reset-once` on peer 1's command line: after both summaries it resets
    /// its own cell (PSCI SYSTEM_RESET), which the shim restarts by loading
    /// its images again and entering it at its reset address. The token,
    /// in its own output section (shared memory outlives the restart), tells
    /// the second start from the first.
    const RESET_ONCE: &str = "reset-once";
    const RESET_TOKEN: u32 = 0x5e5e_7014;

    fn comm32(field: usize) -> u32 {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe { rd32(COMM + field as u64) }
    }
    fn comm64(field: usize) -> u64 {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe { rd64(COMM + field as u64) }
    }

    // --- console: the comm region decides, as inmates/lib/printk.c ---
    static PL011: AtomicU64 = AtomicU64::new(0);
    static VIRTUAL: AtomicU32 = AtomicU32::new(0);
    const PL011_DR: u64 = 0x00;
    const PL011_FR: u64 = 0x18;
    const PL011_FR_TXFF: u32 = 1 << 5;

    fn putc(c: u8) {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let base = PL011.load(Relaxed);
            if base != 0 {
                while rd32(base + PL011_FR) & PL011_FR_TXFF != 0 {}
                wr32(base + PL011_DR, c.into());
            }
            if VIRTUAL.load(Relaxed) != 0 {
                arch::hypercall(hc::DEBUG_CONSOLE_PUTC, c.into(), 0);
            }
        }
    }

    struct Out;
    impl Write for Out {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for b in s.bytes() {
                if b == b'\n' {
                    putc(b'\r');
                }
                putc(b);
            }
            Ok(())
        }
    }
    macro_rules! out {
        ($($t:tt)*) => {{ let _ = writeln!(Out, "jh-conform: {}", format_args!($($t)*)); }};
    }

    fn console_init() {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let flags = comm32(offset_of!(JhCommHeader, flags));
            if flags & comm_flags::DBG_PUTC_PERMITTED != 0 && flags & comm_flags::DBG_PUTC_ACTIVE != 0 {
                VIRTUAL.store(1, Relaxed);
            }
            let console = offset_of!(JhCommHeader, console);
            let kind = rd32(COMM + console as u64 + 12) & 0xffff; // type, then flags
            if kind == u32::from(con::TYPE_PL011) {
                PL011.store(comm64(console), Relaxed);
            }
        }
    }

    // --- GIC: CPU interface + ISENABLER only, as inmates/lib/arm-common/gic-v*.c ---
    #[derive(Clone, Copy)]
    enum Gic {
        V3 { gicd: u64, gicr: u64 },
        V2 { gicd: u64 },
    }
    static GICC: AtomicU64 = AtomicU64::new(0);
    const GICC_CTLR: u64 = 0x00;
    const GICC_PMR: u64 = 0x04;
    const GICC_IAR: u64 = 0x0c;
    const GICC_EOIR: u64 = 0x10;
    const GICD_ISENABLER: u64 = 0x100;
    const GICR_TYPER: u64 = 0x08;
    const GICR_PIDR2: u64 = 0xffe8;
    const GICR_SGI_BASE: u64 = 0x1_0000;
    const GICR_STRIDE: u64 = 0x2_0000;

    fn gic_init() -> Result<Gic, &'static str> {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let version = rd8(COMM + offset_of!(JhCommHeader, gic_version) as u64);
            let gicd = comm64(offset_of!(JhCommHeader, gicd_base));
            if version == 3 {
                let m = arch::mpidr();
                let aff = ((m >> 32) & 0xff) << 24 | (m & 0xff_ffff);
                let mut rd = comm64(offset_of!(JhCommHeader, gicr_base));
                loop {
                    if (rd32(rd + GICR_PIDR2) >> 4) & 0xf != 3 {
                        return Err("no GICv3 redistributor for this CPU");
                    }
                    let typer = u64::from(rd32(rd + GICR_TYPER)) | u64::from(rd32(rd + GICR_TYPER + 4)) << 32;
                    if typer >> 32 == aff {
                        break;
                    }
                    if typer & 1 << 4 != 0 {
                        return Err("no GICv3 redistributor for this CPU");
                    }
                    rd += GICR_STRIDE;
                }
                arch::set_icc_ctlr(0);
                arch::set_icc_pmr(0xf0);
                arch::set_icc_igrpen1(1);
                Ok(Gic::V3 { gicd, gicr: rd })
            } else {
                let gicc = comm64(offset_of!(JhCommHeader, gicc_base));
                wr32(gicc + GICC_CTLR, 1);
                wr32(gicc + GICC_PMR, 0xf0);
                wr32(gicd, 1); // GICD_CTLR
                GICC.store(gicc, Relaxed);
                Ok(Gic::V2 { gicd })
            }
        }
    }

    fn gic_enable(g: Gic, irq: u32) {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let bit = 1 << (irq % 32);
            match g {
                Gic::V3 { gicr, .. } if irq < 32 => wr32(gicr + GICR_SGI_BASE + GICD_ISENABLER, bit),
                Gic::V3 { gicd, .. } | Gic::V2 { gicd, .. } => {
                    wr32(gicd + GICD_ISENABLER + u64::from(irq / 32) * 4, bit)
                }
            }
        }
    }

    fn ack() -> u32 {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            match GICC.load(Relaxed) {
                0 => (arch::icc_iar1() & 0xff_ffff) as u32,
                gicc => rd32(gicc + GICC_IAR) & 0x3ff,
            }
        }
    }

    fn eoi(irq: u32) {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            match GICC.load(Relaxed) {
                0 => arch::set_icc_eoir1(irq.into()),
                gicc => wr32(gicc + GICC_EOIR, irq),
            }
        }
    }

    // --- ivshmem, as inmates/demos/ivshmem-demo.c ---
    const PCI_CMD_MEM: u32 = 1 << 1;
    const PCI_CMD_MASTER: u32 = 1 << 2;
    const CAP_VENDOR: u8 = 0x09;
    const REG_ID: u64 = 0x00;
    const REG_INT_CONTROL: u64 = 0x08;
    const REG_DOORBELL: u64 = 0x0c;
    const REG_STATE: u64 = 0x10;

    struct Ivshmem {
        irq: u32,
        id: u32,
        state_table: u64,
        out_mine: u64,
        out_peer: u64,
    }

    fn find_cap(cfg: u64, cap: u8) -> Option<u64> {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let mut p = rd8(cfg + 0x34) & 0xfc;
            for _ in 0..48 {
                if p == 0 {
                    return None;
                }
                if rd8(cfg + u64::from(p)) == cap {
                    return Some(cfg + u64::from(p));
                }
                p = rd8(cfg + u64::from(p) + 1) & 0xfc;
            }
            None
        }
    }

    fn ivshmem_init(g: Gic) -> Result<Ivshmem, &'static str> {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let ecam = comm64(offset_of!(JhCommHeader, pci_mmconfig_base));
            if ecam == 0 {
                return Err("no PCI ECAM in the comm region");
            }
            let dev = (0..32u64)
                .find(|d| rd32(ecam + (d << 15)) == 0x4106_110a)
                .ok_or(NO_DEVICE)?;
            let cfg = ecam + (dev << 15);
            if rd32(cfg + 0x08) >> 24 != 0xff {
                return Err("ivshmem class is not 0xff");
            }
            let cap = find_cap(cfg, CAP_VENDOR).ok_or("ivshmem without vendor capability")?;
            wr32(cfg + 0x10, BAR_BASE as u32);
            wr32(cfg + 0x04, PCI_CMD_MEM | PCI_CMD_MASTER);
            let id = rd32(BAR_BASE + REG_ID);
            let state_size = u64::from(rd32(cap + 0x04));
            let rw_size = u64::from(rd32(cap + 0x08)) | u64::from(rd32(cap + 0x0c)) << 32;
            let out_size = u64::from(rd32(cap + 0x10)) | u64::from(rd32(cap + 0x14)) << 32;
            let shmem = u64::from(rd32(cap + 0x18)) | u64::from(rd32(cap + 0x1c)) << 32;
            let outs = shmem + state_size + rw_size;
            let peer = 1 - (id & 1);
            let vpci_irq_base = comm32(offset_of!(JhCommHeader, vpci_irq_base));
            // Jailhouse: INTx of device d is SPI vpci_irq_base + d % 4.
            let irq = vpci_irq_base + 32 + (dev as u32 % 4);
            let d = Ivshmem {
                irq,
                id,
                state_table: shmem,
                out_mine: outs + u64::from(id) * out_size,
                out_peer: outs + u64::from(peer) * out_size,
            };
            wr32(d.out_mine, 0);
            gic_enable(g, irq);
            wr32(BAR_BASE + REG_INT_CONTROL, 1);
            wr32(BAR_BASE + REG_STATE, id + 1);
            out!(
                "ivshmem: device {dev:02x}.0, BAR0 at {BAR_BASE:#x}, ID {id}, shared memory at {shmem:#x}, INTx = SPI {} (INTID {irq})",
                irq - 32
            );
            Ok(d)
        }
    }

    // --- interrupt state (one CPU; the handler runs with IRQs masked) ---
    static TICKS: AtomicU64 = AtomicU64::new(0);
    static TICK_T0: AtomicU64 = AtomicU64::new(0);
    /// Milliseconds the first TICKS_MEASURED ticks took (0 until then).
    static TICKS_MS: AtomicU64 = AtomicU64::new(0);
    const TICKS_MEASURED: u64 = 20;
    /// What 20 ticks at 10 Hz may take: 2 s plus re-arming delays under load.
    const TICKS_MS_OK: core::ops::RangeInclusive<u64> = 1900..=6000;
    /// STATE register value of a peer that has finished (after `id + 1`).
    const STATE_DONE: u32 = 3;
    static PEER_SEEN: AtomicU32 = AtomicU32::new(0);
    static RECEIVED: AtomicU32 = AtomicU32::new(0);
    static SENT: AtomicU32 = AtomicU32::new(0);
    static IV_IRQ: AtomicU32 = AtomicU32::new(u32::MAX);
    static IV_MINE: AtomicU64 = AtomicU64::new(0);
    static IV_PEER: AtomicU64 = AtomicU64::new(0);
    static PEER_ID: AtomicU32 = AtomicU32::new(0);

    fn ring_peer() {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let n = SENT.load(Relaxed) + 1;
            SENT.store(n, Relaxed);
            wr32(IV_MINE.load(Relaxed), n);
            wr32(BAR_BASE + REG_DOORBELL, PEER_ID.load(Relaxed) << 16);
        }
    }

    fn on_ivshmem() {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let seen = rd32(IV_PEER.load(Relaxed));
            if seen == PEER_SEEN.load(Relaxed) {
                return; // a state change, not a doorbell
            }
            PEER_SEEN.store(seen, Relaxed);
            let got = RECEIVED.load(Relaxed) + 1;
            RECEIVED.store(got, Relaxed);
            if SENT.load(Relaxed) < DOORBELLS {
                ring_peer();
            }
        }
    }

    fn on_timer() {
        let t = TICKS.load(Relaxed) + 1;
        TICKS.store(t, Relaxed);
        arch::set_cntv_tval(arch::cntfrq() / BEATS_PER_SEC);
        if t == TICKS_MEASURED {
            TICKS_MS.store(
                (arch::cntvct() - TICK_T0.load(Relaxed)) * 1000 / arch::cntfrq(),
                Relaxed,
            );
        }
    }

    #[unsafe(no_mangle)]
    fn inmate_handle(frame: &mut Frame, kind: u64) {
        if kind != arch::KIND_IRQ {
            out!(
                "FAIL: unexpected exception kind {kind} at {:#x}, ESR {:#x}, FAR {:#x}",
                frame.elr,
                arch::esr_el1(),
                arch::far_el1()
            );
            fail();
        }
        loop {
            let irq = ack();
            if irq >= 1020 {
                break;
            }
            if irq == TIMER_PPI {
                on_timer();
            } else if irq == IV_IRQ.load(Relaxed) {
                on_ivshmem();
            }
            eoi(irq);
        }
    }

    fn fail() -> ! {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            wr32(COMM + offset_of!(JhCommHeader, cell_state) as u64, cell_state::FAILED);
            loop {
                arch::wfi();
            }
        }
    }

    /// The command line as the shim left it (a copy: the buffer is read
    /// volatile, or the compiler would fold the zeros it was linked with).
    fn cmdline(buf: &mut [u8; CMDLINE_SIZE]) -> &str {
        let mut len = 0;
        while len < CMDLINE_SIZE {
            // SAFETY: len < CMDLINE_SIZE, inside the static buffer, which the
            // shim wrote before this CPU started and nothing writes since.
            let b = unsafe { core::ptr::read_volatile(CMDLINE.as_ptr().add(len)) };
            if b == 0 {
                break;
            }
            buf[len] = b;
            len += 1;
        }
        core::str::from_utf8(&buf[..len]).unwrap_or("<not UTF-8>")
    }

    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(_x0: u64) -> ! {
        // SAFETY: device and shared memory only (`RAW_ACCESSES`).
        unsafe {
            let sig_ok = (0..6).all(|i| rd8(COMM + i as u64) == COMM_SIGNATURE[i]);
            let rev = rd32(COMM + offset_of!(JhCommHeader, signature) as u64 + 4) >> 16;
            if !sig_ok || rev != u32::from(COMM_REVISION) {
                wr32(
                    COMM + offset_of!(JhCommHeader, cell_state) as u64,
                    cell_state::FAILED_COMM_REV,
                );
                loop {
                    arch::wfi();
                }
            }
            console_init();
            let kind = if PL011.load(Relaxed) != 0 {
                "PL011"
            } else {
                "debug-console hypercall"
            };
            out!(
                "started at {:#x}, comm region {COMM:#x} rev {rev}, console: {kind}",
                inmate_main as *const () as usize
            );
            let mut buf = [0; CMDLINE_SIZE];
            out!("cmdline: \"{}\"", cmdline(&mut buf));
            let g = match gic_init() {
                Ok(g) => g,
                Err(e) => {
                    out!("FAIL: GIC: {e}");
                    fail()
                }
            };
            out!("GIC: v{}", if matches!(g, Gic::V3 { .. }) { 3 } else { 2 });
            gic_enable(g, TIMER_PPI);
            let ivshmem = match ivshmem_init(g) {
                Ok(d) => Some(d),
                Err(e) => {
                    // A cell without a link has no device: not a failure.
                    let fail = if e == NO_DEVICE { "" } else { "FAIL: " };
                    out!("{fail}ivshmem: {e}");
                    None
                }
            };
            if let Some(d) = &ivshmem {
                IV_IRQ.store(d.irq, Relaxed);
                IV_MINE.store(d.out_mine, Relaxed);
                IV_PEER.store(d.out_peer, Relaxed);
                PEER_ID.store(1 - (d.id & 1), Relaxed);
            }
            let token = ivshmem.as_ref().map(|d| d.out_mine + 4);
            let second_start = token.is_some_and(|t| rd32(t) == RESET_TOKEN);
            if second_start {
                out!("started again after SYSTEM_RESET");
            }
            TICK_T0.store(arch::cntvct(), Relaxed);
            arch::set_cntv_tval(arch::cntfrq() / BEATS_PER_SEC);
            arch::set_cntv_ctl(1);
            arch::irqs_on();
            let mut kicked = false;
            loop {
                arch::wfi();
                let ms = TICKS_MS.load(Relaxed);
                let Some(d) = ivshmem.as_ref() else {
                    if ms != 0 {
                        done(ms, &buf, "no ivshmem");
                        loop {
                            arch::wfi();
                        }
                    }
                    continue;
                };
                if second_start {
                    if ms != 0 {
                        let timer = if TICKS_MS_OK.contains(&ms) { "ok" } else { "FAIL" };
                        out!(
                            "after SYSTEM_RESET: cmdline \"{}\", timer {timer}: {TICKS_MEASURED} ticks in {ms} ms",
                            cmdline(&mut [0; CMDLINE_SIZE])
                        );
                        loop {
                            arch::wfi();
                        }
                    }
                    continue;
                }
                // Peer 0 starts the exchange once peer 1 is up (its state entry set).
                if d.id == 0 && !kicked && rd32(d.state_table + 4) != 0 {
                    kicked = true;
                    // ring_peer shares its counters with the handler.
                    with_irqs_masked(ring_peer);
                }
                let exchanged = RECEIVED.load(Relaxed) >= DOORBELLS && SENT.load(Relaxed) >= DOORBELLS;
                // Peer 1 reports first, then tells peer 0 through its state: the
                // two summaries come out in this order.
                let peer_done = d.id == 1 || rd32(d.state_table + 4) == STATE_DONE;
                if ms != 0 && exchanged && peer_done {
                    let mut line = [0u8; 96];
                    let n = fmt_into(
                        &mut line,
                        format_args!("ivshmem ID {} SPI {}, {DOORBELLS} doorbells each way", d.id, d.irq - 32),
                    );
                    done(ms, &buf, core::str::from_utf8(&line[..n]).unwrap_or("?"));
                    wr32(BAR_BASE + REG_STATE, STATE_DONE);
                    let reset = d.id == 1 && cmdline(&mut [0; CMDLINE_SIZE]).split(' ').any(|w| w == RESET_ONCE);
                    if reset {
                        // Only once peer 0 has reported (its state): the restart
                        // zeroes this side's state, which peer 0 watches.
                        while rd32(d.state_table) != STATE_DONE {
                            arch::wfi();
                        }
                        if let Some(t) = token {
                            wr32(t, RESET_TOKEN);
                        }
                        out!("PSCI SYSTEM_RESET of its own cell");
                        let r = arch::smc(cellboot_abi::psci::fid::SYSTEM_RESET, 0, 0, 0);
                        out!("FAIL: SYSTEM_RESET returned {r}");
                    }
                    loop {
                        arch::wfi();
                    }
                }
            }
        }
    }

    /// The cell's summary line (what the e2e cases assert).
    fn done(ms: u64, cmdline: &[u8; CMDLINE_SIZE], ivshmem: &str) {
        let len = cmdline.iter().position(|&b| b == 0).unwrap_or(CMDLINE_SIZE);
        let cmdline = core::str::from_utf8(&cmdline[..len]).unwrap_or("?");
        let console = if PL011.load(Relaxed) != 0 { "PL011" } else { "hypercall" };
        let gic = if GICC.load(Relaxed) == 0 { 3 } else { 2 };
        let timer = if TICKS_MS_OK.contains(&ms) { "ok" } else { "FAIL" };
        // One line of at most ~140 bytes: the shim's console line buffer
        // (DEBUG_CONSOLE_PUTC) breaks longer ones.
        out!(
            "done: console {console}, cmdline \"{cmdline}\", GICv{gic}, timer {timer}: {TICKS_MEASURED} ticks at {BEATS_PER_SEC} Hz in {ms} ms, {ivshmem}"
        );
    }

    /// Formats into `buf`; returns the length (cut at the buffer's end).
    fn fmt_into(buf: &mut [u8], args: core::fmt::Arguments) -> usize {
        struct W<'a>(&'a mut [u8], usize);
        impl Write for W<'_> {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                let n = s.len().min(self.0.len() - self.1);
                self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
                self.1 += n;
                Ok(())
            }
        }
        let mut w = W(buf, 0);
        let _ = w.write_fmt(args);
        w.1
    }

    fn with_irqs_masked(f: fn()) {
        // SAFETY: only PSTATE.I changes.
        unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
        f();
        arch::irqs_on();
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        out!("FAIL: panic: {p}");
        fail()
    }
}

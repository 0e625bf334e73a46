//! rtos-demo: an RTOS-style cell beside Linux (boards/qemu-virt/two-cell.toml,
//! boards/rpi4b/two-cell.toml).
//!
//! Boot: DTB from x0 → vPCI host, GIC (v3 or v2), virtual timer; ECAM walk finds the
//! ivshmem device and places BAR0; the timer PPI and the ivshmem SPI go
//! straight to this CPU (no shim exits for them). Then two "tasks": a
//! periodic tick at 100 Hz and a message server woken by the doorbell SPI,
//! answering each request in its own output section and ringing the
//! requester's doorbell (protocol: `cellboot_inmates::proto`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod rtos {
    use cellboot_inmates::arch::{self, Frame, rd32, wr32};
    use cellboot_inmates::pci::{self, Ecam, Ivshmem};
    use cellboot_inmates::{dtb, gic, proto, say};
    use core::cell::UnsafeCell;

    const TICK_HZ: u64 = 100;
    /// Reported when serving starts: `cellctl load` swaps builds at run time.
    const VERSION: u32 = if cfg!(feature = "demo-v2") { 2 } else { 1 };
    const REG_INT_CONTROL: u64 = 0x08;
    const REG_DOORBELL: u64 = 0x0c;
    const REG_STATE: u64 = 0x10;

    /// State shared between the IRQ handler and the main loop. One CPU, and
    /// the handler runs with IRQs masked, so plain cells suffice.
    struct Shared {
        ticks: UnsafeCell<u64>,
        doorbells: UnsafeCell<u64>,
        timer_intid: UnsafeCell<u32>,
        doorbell_intid: UnsafeCell<u32>,
        tval: UnsafeCell<u64>,
        /// CNTVCT when the last doorbell interrupt was taken.
        bell_at: UnsafeCell<u64>,
        /// Timer interrupt latency, compare value to handler (CNTVCT
        /// ticks): sum, minimum and maximum over `ticks`.
        lat_sum: UnsafeCell<u64>,
        lat_min: UnsafeCell<u64>,
        lat_max: UnsafeCell<u64>,
    }
    // SAFETY: single CPU; accesses are volatile and never overlap (the main
    // loop reads, the handler writes with IRQs masked).
    unsafe impl Sync for Shared {}
    static S: Shared = Shared {
        ticks: UnsafeCell::new(0),
        doorbells: UnsafeCell::new(0),
        timer_intid: UnsafeCell::new(0),
        doorbell_intid: UnsafeCell::new(0),
        tval: UnsafeCell::new(0),
        bell_at: UnsafeCell::new(0),
        lat_sum: UnsafeCell::new(0),
        lat_min: UnsafeCell::new(u64::MAX),
        lat_max: UnsafeCell::new(0),
    };
    fn get<T: Copy>(c: &UnsafeCell<T>) -> T {
        // SAFETY: see `Shared`.
        unsafe { c.get().read_volatile() }
    }
    fn set<T: Copy>(c: &UnsafeCell<T>, v: T) {
        // SAFETY: see `Shared`.
        unsafe { c.get().write_volatile(v) }
    }

    struct Mmio(u64);
    impl Ecam for Mmio {
        fn read32(&mut self, off: u64) -> u32 {
            // SAFETY: the cell's virtual ECAM (device memory; no Rust object there).
            unsafe { rd32(self.0 + off) }
        }
        fn write32(&mut self, off: u64, v: u32) {
            // SAFETY: the cell's virtual ECAM (device memory; no Rust object there).
            unsafe { wr32(self.0 + off, v) }
        }
    }

    fn fail(what: core::fmt::Arguments) -> ! {
        say!("rtos-demo: FAIL {what}");
        arch::hypercall(cellboot_abi::hypercall::CELL_FAILED, 0, 0);
        loop {
            arch::wfi()
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn inmate_main(dtb_addr: u64) -> ! {
        // SAFETY: the ivshmem device's BAR0 registers, found and placed through the cell's own ECAM
        // (device memory; no Rust object there).
        unsafe {
            say!(
                "rtos-demo: up on MPIDR {:#x}, DTB at {dtb_addr:#x}",
                arch::mpidr() & 0xff_ffff
            );
            let Some(blob) = arch::dtb(dtb_addr) else {
                fail(format_args!("no DTB at {dtb_addr:#x}"))
            };
            let Ok(fdt) = cellfdt::Fdt::new(blob) else {
                fail(format_args!("DTB header rejected"))
            };
            let Some(host) = dtb::vpci_host(&fdt) else {
                fail(format_args!("no enabled pci-host-ecam-generic with a MEM range"))
            };
            let Some(g) = dtb::gic(&fdt) else {
                fail(format_args!(
                    "no enabled arm,gic-v3 or GICv2 (arm,gic-400, arm,cortex-a15-gic) node"
                ))
            };
            let Some(timer) = dtb::virt_timer_intid(&fdt) else {
                fail(format_args!("no arm,armv8-timer node"))
            };
            let dev = match pci::find_ivshmem(&mut Mmio(host.ecam), 0, host.mem_pci, host.mem_cpu, host.mem_size) {
                Ok(d) => d,
                Err(e) => fail(format_args!("ivshmem: {e}")),
            };
            let Some(spi) = dtb::intx_intid(&fdt, host.node, dev.device, 1) else {
                fail(format_args!("interrupt-map has no row for device {}", dev.device))
            };
            let (id, peers) = (rd32(dev.bar0), rd32(dev.bar0 + 4));
            say!(
                "rtos-demo: ivshmem 00:{:02x}.0 BAR0 {:#x} id {id}/{peers}, shmem {:#x} (state {:#x} rw {:#x} out {:#x}), INTA -> INTID {spi}",
                dev.device,
                dev.bar0,
                dev.shmem,
                dev.state_size,
                dev.rw_size,
                dev.out_size
            );
            if peers != 2 || id > 1 {
                fail(format_args!("expected a two-peer link, got id {id} of {peers}"));
            }

            let g = match gic::init_cpu(g) {
                Ok(g) => g,
                Err(e) => fail(format_args!("GIC: {e}")),
            };
            gic::enable_ppi(&g, timer);
            gic::enable_spi(&g, spi);
            set(&S.timer_intid, timer);
            set(&S.doorbell_intid, spi);
            let tval = arch::cntfrq() / TICK_HZ;
            set(&S.tval, tval);
            arch::set_cntv_tval(tval);
            arch::set_cntv_ctl(1);
            wr32(dev.bar0 + REG_INT_CONTROL, 1);
            wr32(dev.bar0 + REG_STATE, 1); // ready (the peer sees it in the state table)
            arch::irqs_on();
            say!(
                "rtos-demo: timer INTID {timer} at {TICK_HZ} Hz, doorbell INTID {spi} ({}): serving (version {VERSION})",
                g.describe()
            );
            serve(&dev, id)
        }
    }

    fn serve(dev: &Ivshmem, id: u32) -> ! {
        // SAFETY: the link's shared memory and the device's BAR0 registers, both outside every Rust
        // object (the shim maps them into the cell as such).
        unsafe {
            let other = 1 - id;
            let inbox = dev.shmem + proto::out_section(dev.state_size, dev.rw_size, dev.out_size, other);
            let outbox = dev.shmem + proto::out_section(dev.state_size, dev.rw_size, dev.out_size, id);
            let (mut last_seq, mut served, mut seen_doorbells, mut reported_tick) = (0u32, 0u64, 0u64, false);
            // Service time: doorbell interrupt taken -> answer's doorbell rung (counter ticks).
            let (mut svc_sum, mut svc_max) = (0u64, 0u64);
            let us = |ticks: u64| ticks * 1_000_000 / arch::cntfrq().max(1);
            loop {
                arch::wfi();
                let ticks = get(&S.ticks);
                if !reported_tick && ticks >= TICK_HZ {
                    // Once: proof that the periodic task runs (quiet afterwards,
                    // the console is shared with Linux).
                    reported_tick = true;
                    say!("rtos-demo: periodic task: {ticks} ticks");
                }
                let bells = get(&S.doorbells);
                if bells == seen_doorbells {
                    continue;
                }
                seen_doorbells = bells;
                // Before anything else: the next doorbell may land while we answer.
                let bell_at = get(&S.bell_at);
                let seq = rd32(inbox + 4);
                if rd32(inbox) != proto::PING || seq == last_seq {
                    continue;
                }
                let (a, b) = (rd32(inbox + 8), rd32(inbox + 12));
                served += 1;
                if b == proto::STATS {
                    say!(
                        "rtos-demo: served {served} requests, {bells} doorbell interrupts, {ticks} timer ticks; service time (doorbell IRQ -> answer rung) avg {}us max {}us",
                        us(svc_sum / served.saturating_sub(1).max(1)),
                        us(svc_max)
                    );
                    say!(
                        "rtos-demo: timer latency (CNTV_CVAL -> handler) n={ticks} min_ticks={} avg_ticks={} max_ticks={} cntfrq={}",
                        get(&S.lat_min),
                        get(&S.lat_sum) / ticks.max(1),
                        get(&S.lat_max),
                        arch::cntfrq()
                    );
                }
                wr32(outbox, proto::PONG);
                wr32(outbox + 8, proto::answer(a, b));
                wr32(outbox + 12, ticks as u32);
                wr32(outbox + 4, seq);
                wr32(dev.bar0 + REG_DOORBELL, other << 16);
                let svc = arch::cntvct().saturating_sub(bell_at);
                svc_sum += svc;
                svc_max = svc_max.max(svc);
                last_seq = seq;
            }
        }
    }

    #[unsafe(no_mangle)]
    fn inmate_handle(frame: &mut Frame, kind: u64) {
        if kind != arch::KIND_IRQ {
            say!(
                "rtos-demo: exception kind {kind} ESR {:#x} FAR {:#x} at {:#x}: halting",
                arch::esr_el1(),
                arch::far_el1(),
                frame.elr
            );
            loop {
                arch::wfi()
            }
        }
        loop {
            let intid = gic::ack();
            if intid == gic::SPURIOUS {
                break;
            }
            if intid == get(&S.timer_intid) {
                let lat = arch::cntvct().saturating_sub(arch::cntv_cval());
                set(&S.lat_sum, get(&S.lat_sum) + lat);
                set(&S.lat_min, get(&S.lat_min).min(lat));
                set(&S.lat_max, get(&S.lat_max).max(lat));
                set(&S.ticks, get(&S.ticks) + 1);
                arch::set_cntv_tval(get(&S.tval));
            } else if intid == get(&S.doorbell_intid) {
                set(&S.bell_at, arch::cntvct());
                set(&S.doorbells, get(&S.doorbells) + 1);
            }
            gic::eoi(intid);
        }
    }

    #[panic_handler]
    fn panic(p: &core::panic::PanicInfo) -> ! {
        say!("rtos-demo: panic: {p}");
        arch::hypercall(cellboot_abi::hypercall::CELL_FAILED, 0, 0);
        loop {
            arch::wfi()
        }
    }
}

//! EL2 partitioning shim (aarch64-unknown-none). On the host this is an empty
//! program so `cargo build --workspace` and `cargo test --workspace` work.
//!
//! Boot: validate the system config and board DTB, build every cell (stage-2,
//! comm region, loader, staged payloads), start each cell's boot CPU
//! (firmware PSCI CPU_ON for the others), then enter the cell owning this CPU.
//! After that the shim only runs on traps (see `trap`).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

// Layers, bottom up (docs/shim.md draws the graph; tests/module_graph.rs
// keeps it free of cycles). Modules marked "host" are pure logic, also
// built for host unit tests.
// host: the spin lock every other module takes.
#[cfg(target_os = "none")]
mod arch;
#[cfg(any(target_os = "none", test))]
mod lock;
#[cfg(target_os = "none")]
#[macro_use]
mod console;
// host: PSCI IDs, result codes, FEATURES answers.
#[cfg(target_os = "none")]
#[macro_use]
mod off;
#[cfg(any(target_os = "none", test))]
mod psci;
// host: one CPU's state machine.
#[cfg(any(target_os = "none", test))]
mod percpu;
// host: page-table descriptor bits (stage 1 and 2).
#[cfg(any(target_os = "none", test))]
mod descriptor;
// host: stage-2 table builder.
#[cfg(any(target_os = "none", test))]
mod stage2;
// host: the ESR/HPFAR decode.
#[cfg(any(target_os = "none", test))]
mod syndrome;
// host: the EC 0x18 decode and the SGI target check.
#[cfg(any(target_os = "none", test))]
mod sysreg;
// host: which RAM the EL2 map holds.
#[cfg(any(target_os = "none", test))]
mod el2_ram;
// host: which memory a (re)start flushes.
#[cfg(any(target_os = "none", test))]
mod restage;
// host: list-register bookkeeping against fake registers.
#[cfg(target_os = "none")]
mod cell;
// host: the Jailhouse comm header as Jailhouse fills it.
#[cfg(any(target_os = "none", test))]
mod comm_header;
#[cfg(target_os = "none")]
mod cpu_power;
#[cfg(target_os = "none")]
mod dtb;
#[cfg(target_os = "none")]
mod el2_map;
#[cfg(target_os = "none")]
mod gic;
#[cfg(target_os = "none")]
mod guest_mem;
#[cfg(target_os = "none")]
mod hypercall;
#[cfg(target_os = "none")]
mod irq_prep;
#[cfg(target_os = "none")]
mod ivshmem;
#[cfg(target_os = "none")]
mod jailhouse_load;
#[cfg(all(target_os = "none", feature = "mgmt"))]
mod loaded;
#[cfg(all(target_os = "none", feature = "mgmt"))]
mod mgmt;
#[cfg(target_os = "none")]
mod mmio;
#[cfg(target_os = "none")]
mod payload;
#[cfg(target_os = "none")]
mod reset;
#[cfg(target_os = "none")]
mod spin_table;
#[cfg(target_os = "none")]
mod state;
#[cfg(target_os = "none")]
mod stats;
#[cfg(target_os = "none")]
mod trap;
#[cfg(target_os = "none")]
mod uart_cdns;
#[cfg(target_os = "none")]
mod vgic;
#[cfg(any(target_os = "none", test))]
mod vgic_lrs;
#[cfg(target_os = "none")]
mod vpsci;

#[cfg(target_os = "none")]
mod boot {
    use crate::cpu_power::{self, CpuPower};
    use crate::payload::{Payloads, SetupError};
    use crate::percpu::Power;
    use crate::{arch, cell, console, dtb, el2_map, gic, off, spin_table, state};
    use cellboot_abi::zerocopy::FromBytes;
    use cellboot_abi::{SystemConfig, bytes_field, payload_kind, validate, validate_header};

    /// Prints the reason (`info!` syntax) and powers the machine off (QEMU exits).
    macro_rules! refuse {
        ($($t:tt)*) => {{
            info!($($t)*);
            refused()
        }};
    }

    #[inline(never)]
    fn refused() -> ! {
        info!("refusing to start: powering off");
        off::system_off()
    }

    /// Refuses to start when an EL2 mapping failed (one call site for the
    /// message: the shim's 64 KiB budget).
    #[inline(never)]
    fn mapped(r: Result<(), (&'static str, arch::MapError)>) {
        if let Err((what, e)) = r {
            refuse!("cannot map the {} at EL2: {} ({:#x})", what, e.0, e.1);
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn shim_main(dtb_addr: u64, el: u64, entry_el: u64) -> ! {
        arch::init_el2_vectors();
        let (start, end) = arch::image_bounds();
        // SAFETY: the image header at _start (offset 0x10: image_size) is part
        // of the loaded shim text.
        let image_size = unsafe { ((start + 0x10) as *const u64).read_volatile() };
        // Caches on before the first lock: exclusives on the Device memory
        // the MMU-off state gives are not guaranteed to work (Cortex-A72).
        let early = if el == 2 {
            el2_map::early(image_size, console::EARLY_UART as u64)
        } else {
            Ok(())
        };
        if el == 2 && early.is_ok() {
            arch::mmu_enable_boot_cpu(start, end);
        }
        let from = if entry_el != el { " from EL3" } else { "" };
        info!(
            "cellboot hypervisor-shim {} starting (EL{}{}, DTB at {:#x})",
            env!("CARGO_PKG_VERSION"),
            el,
            from,
            dtb_addr
        );
        phase!("shim entry");
        mapped(early);
        if let Some(msg) = arch::current_el_boot_message(el) {
            refuse!("{}", msg);
        }
        let pl = match Payloads::locate(start, end, image_size) {
            Ok(p) => state::keep_payloads(p),
            Err(e) => refuse!("{}", e),
        };

        // --- system config ---
        let Some((_, raw)) = pl.find(payload_kind::SYSCONFIG) else {
            refuse!("the image has no SYSCONFIG payload");
        };
        let mut report = |p: cellboot_abi::Problem| info!("system config invalid: {}", p);
        let mut bad = validate_header(raw, &mut report);
        let cfg = if bad == 0 {
            SystemConfig::ref_from_prefix(raw).ok().map(|(c, _)| c)
        } else {
            None
        };
        let Some(cfg) = cfg else {
            refuse!("system config rejected ({} problem(s))", bad);
        };
        bad = bad.saturating_add(validate(cfg, &mut report));
        if bad != 0 {
            refuse!("system config rejected ({} problem(s))", bad);
        }
        let b = &cfg.board;
        if start < cfg.hypervisor.phys || start.saturating_add(image_size) > cfg.hypervisor.phys_end() {
            refuse!(
                "the shim image {:#x}+{:#x} is not inside the configured hypervisor region {:#x}+{:#x}",
                start,
                image_size,
                cfg.hypervisor.phys,
                cfg.hypervisor.size
            );
        }
        let gic = gic::choose(b.gic_version);
        mapped(el2_map::board(cfg, image_size, dtb_addr));
        state::set_config(cfg);
        let power = cpu_power::choose(b);
        console::set_uart(b.uart_base, b.uart_driver);
        let Some(me) = state::cpu_of_mpidr(arch::mpidr()) else {
            refuse!("boot CPU MPIDR {:#x} is not in board.mpidr", arch::mpidr());
        };
        arch::set_cpu_index(me);
        if power == CpuPower::SpinTable {
            spin_table::claim_boot_cpu(me);
            if let Err((cpu, a)) = spin_table::check_release_addrs() {
                refuse!(
                    "CPU {}'s spin-table release address {:#x} is not an aligned word in the hypervisor region outside the shim image",
                    cpu,
                    a
                );
            }
        }
        info!(
            "board {}: {} CPUs, GICv{}, {} cell(s), boot CPU {}, EL2 MMU on ({} tables), stage-2 RAM {}",
            bytes_field(&b.name),
            b.num_cpus,
            gic.version(),
            cfg.num_cells,
            me,
            arch::mmu_tables_used(),
            env!("SHIM_STAGE2_RAM")
        );

        // --- board DTB (copied out of what may become cell RAM) ---
        match dtb::take(dtb_addr, b.ram_base, b.ram_base.saturating_add(b.ram_size)) {
            Ok(n) => info!("board DTB: {} bytes used, copied to shim memory", n),
            Err(e) => refuse!("board DTB unusable: {}", e),
        }
        mapped(el2_map::cell_ram(cfg));

        // --- cells ---
        for ci in 0..cfg.cells().len() {
            if let Err(SetupError(what, at)) = cell::prepare(ci, pl) {
                refuse!("cell {}: {} ({:#x})", state::name(ci), what, at);
            }
        }
        phase!("cells staged");
        let mut mine = None;
        for (ci, c) in cfg.cells().iter().enumerate() {
            let cpu = state::boot_cpu(c);
            let (entry, x0) = cell::entry(c);
            if cpu == me {
                mine = Some(ci);
                continue;
            }
            state::cpu(cpu).set_power(Power::OnPending);
            let r = power.start_cpu(cpu, b.mpidr[cpu], entry, x0);
            if r != 0 {
                refuse!(
                    "cell {}: firmware PSCI CPU_ON for CPU {} failed (-{})",
                    state::name(ci),
                    cpu,
                    r.unsigned_abs()
                );
            }
        }
        match mine {
            Some(ci) => {
                let (entry, x0) = cell::entry(&cfg.cells()[ci]);
                info!("entering cell {} on CPU {} at {:#x}", state::name(ci), me, entry);
                cell::run_on_this_cpu(ci, entry, x0)
            }
            None => {
                info!("CPU {} belongs to no cell: switching it off", me);
                cell::park_this_cpu()
            }
        }
    }

    /// First code in Rust on a CPU started by the shim's own PSCI CPU_ON.
    #[unsafe(no_mangle)]
    extern "C" fn shim_secondary_main(cpu: u64) -> ! {
        let cpu = cpu as usize;
        arch::init_el2_vectors();
        arch::set_cpu_index(cpu);
        // boot.s drops a core the firmware left at EL3; anything else here
        // would run its cell without stage 2.
        if arch::current_el() != 2 {
            fatal!("CPU {} runs the shim at EL{}, not EL2", cpu, arch::current_el());
        }
        // spin_entry derives the index from MPIDR.Aff0: hold it to the board.
        if state::cpu_of_mpidr(arch::mpidr()) != Some(cpu) {
            fatal!("CPU with MPIDR {:#x} entered as CPU {}", arch::mpidr(), cpu);
        }
        let ci = state::cpu(cpu).cell();
        if ci >= state::cfg().cells().len() {
            fatal!("CPU {} started but belongs to no cell", cpu);
        }
        let (entry, x0) = state::cpu(cpu).boot();
        cell::run_on_this_cpu(ci, entry, x0)
    }
}

/// Debug builds print the panic's message and place. The release shim
/// prints that it panicked and nothing more: reading `PanicInfo` at all
/// keeps every panic site's message and file name in the image (~4.3 KiB of
/// the 64 KiB budget); a debug build of the same tree shows where.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(p: &core::panic::PanicInfo) -> ! {
    #[cfg(debug_assertions)]
    console::emergency_fmt(format_args!("{p}"));
    #[cfg(not(debug_assertions))]
    {
        let _ = p;
        console::emergency("internal error (the debug build names the place)");
    }
    off::system_off()
}

//! A cell's life: built (stage-2 tables, virtual PCI bus, payloads staged,
//! comm region filled), run on its CPUs, stopped, and the CPUs parked. The
//! registry of cells and CPUs it works on is `state`; restarts are `reset`.

use crate::arch;
use crate::cpu_power;
use crate::dtb;
use crate::gic;
use crate::guest_mem::{self, copy_in};
use crate::payload::{Payloads, SetupError};
use crate::percpu::Power;
use crate::stage2::{self, Kind, Leaves, POOL, Perm};
use crate::state::{self, ECAM_IMAGES, cell_rt, cfg, name};
use cellboot_abi::link_layout;
use cellboot_abi::staging::{self, StageSizes};
use cellboot_abi::zerocopy::IntoBytes;
use cellboot_abi::{
    CELLBOOT_MAGIC, COMM_REGION_SIZE, CellConfig, CommRegion, NO_PAYLOAD, PayloadEntry, Staged, cell_state, mem,
    payload_kind,
};
use cellboot_vdev::pci::{BUS0_PAGES, PAGE_BYTES, VirtualPciBus};

fn perm_of(flags: u64) -> Perm {
    Perm {
        read: flags & mem::READ != 0,
        write: flags & mem::WRITE != 0,
        exec: flags & mem::EXECUTE != 0,
    }
}

/// Builds cell `ci`: stage-2 map, virtual PCI bus, then `load`.
pub fn prepare(ci: usize, pl: &'static Payloads) -> Result<(), SetupError> {
    let sys = cfg();
    let c = &sys.cells()[ci];
    let b = &sys.board;
    let mut rt = cell_rt(ci).lock();

    // --- stage-2 ---
    let mut pool = POOL.lock();
    let root = pool.new_root().map_err(|_| SetupError("out of stage-2 tables", 0))?;
    for r in c.mem_regions() {
        if r.virt < b.gicd_base.saturating_add(b.gicd_size) && b.gicd_base < r.virt_end() {
            return Err(SetupError(
                "a memory region covers the GIC distributor (the shim mediates it)",
                r.virt,
            ));
        }
        // RAM in the platform's leaves (stage2::RAM_LEAVES), devices in blocks where aligned.
        let (kind, leaves) = if r.flags & mem::IO != 0 {
            (Kind::Device, Leaves::Blocks)
        } else {
            (Kind::Normal, stage2::RAM_LEAVES)
        };
        pool.map(root, r.virt, r.phys, r.size, kind, perm_of(r.flags), leaves)
            .map_err(|e| SetupError(map_err_text(e), r.virt))?;
    }
    // ivshmem links: what this peer may not write (the state table, the
    // other peer's output section) mapped again over its region, read-only.
    for l in sys.links() {
        let Some(peer) = l.peers.iter().position(|&p| p as usize == ci) else {
            continue;
        };
        for s in link_layout::sections(l, peer).iter().filter(|s| !s.writable) {
            let pa = l.shmem_phys + s.offset;
            if let Some(r) = c
                .mem_regions()
                .iter()
                .find(|r| r.phys <= pa && pa + s.size <= r.phys + r.size)
            {
                let ro = Perm {
                    write: false,
                    ..perm_of(r.flags)
                };
                pool.map(
                    root,
                    r.virt + (pa - r.phys),
                    pa,
                    s.size,
                    Kind::Normal,
                    ro,
                    Leaves::Pages,
                )
                .map_err(|e| SetupError(map_err_text(e), pa))?;
            }
        }
    }
    let rw = Perm {
        read: true,
        write: true,
        exec: false,
    };
    pool.map(
        root,
        c.comm_region_ipa,
        guest_mem::comm_pa(ci),
        COMM_REGION_SIZE as u64,
        Kind::Normal,
        rw,
        Leaves::Pages,
    )
    .map_err(|e| SetupError(map_err_text(e), c.comm_region_ipa))?;
    gic::get()
        .map_cpu_frames(&mut pool, root, c)
        .map_err(|(e, at)| SetupError(map_err_text(e), at))?;
    let stash = pool.new_root().map_err(|_| SetupError("out of stage-2 tables", 0))?;
    rt.set_tables(root, stash, pool.table_pa(root) | ((ci as u64 + 1) << 48));
    drop(pool);

    // --- virtual PCI bus ---
    let mut bus = VirtualPciBus::build_from_config(ci, sys);
    // Shim memory is cached at EL2; cells may read it with their caches off.
    bus.attach_image(&ECAM_IMAGES[ci], arch::dcache_clean_inval);
    map_ecam_image(&bus, rt.root(), c.vpci.ecam_base, c.vpci.ecam_size)?;
    rt.set_vpci(bus);

    let devices = rt.vpci_devices();
    load_flushed(ci, devices, pl, &[])?;
    rt.set_state(cell_state::RUNNING);
    #[cfg(feature = "mgmt")]
    {
        rt.life_mut().started_at = arch::counter().0;
    }
    state::cell_started();
    for cpu in 0..arch::MAX_CPUS {
        if c.owns_cpu(cpu) {
            state::cpu(cpu).set_cell(ci);
        }
    }
    Ok(())
}

/// [`load`] between the cache maintenance every (re)start needs
/// (`crate::restage`): one call site, so one copy in the shim.
pub(crate) fn load_flushed(
    ci: usize,
    devices: ([u8; 8], usize),
    pl: &Payloads,
    loaded: &[(u64, u64)],
) -> Result<(), SetupError> {
    crate::restage::restage(&cfg().cells()[ci], &mut arch::Caches, || load(ci, devices, pl, loaded))
}

/// Copies the loader and stages the payloads into cell `ci`'s RAM and fills
/// its comm region: what power-on and every restart do alike. Takes no
/// lock: a restart copies tens of MiB, and peers ringing this cell's
/// doorbell take its lock meanwhile (they find it not running). `loaded`:
/// images a manager put into the cell's RAM (`mgmt`), booted instead of
/// the config's kernel (jailhouse kind: images).
pub(crate) fn load(
    ci: usize,
    (devices, ndev): ([u8; 8], usize),
    pl: &Payloads,
    loaded: &[(u64, u64)],
) -> Result<(), SetupError> {
    let sys = cfg();
    let c = &sys.cells()[ci];
    if cellboot_abi::is_jailhouse(c) {
        crate::jailhouse_load::load(ci, c, pl, cfg!(feature = "mgmt") && !loaded.is_empty())?;
        fill_comm(
            ci,
            (devices, ndev),
            [Staged::default(); 4],
            0,
            [[0; 24]; 4],
            [Staged::default(); 4],
        );
        return Ok(());
    }
    // --- loader ---
    let (_, loader) = pl
        .find(cellboot_abi::payload_kind::LOADER)
        .ok_or(SetupError("the image has no LOADER payload", 0))?;
    copy_in(c, c.loader_ipa, loader)
        .map_err(|_| SetupError("the loader does not fit in RAM at loader_ipa", c.loader_ipa))?;

    // --- staging at the top of the first RAM region, downwards ---
    // Placement: `cellboot_abi::staging::plan` (shared with `cellboot dtb`).
    let boot = &c.boot;
    let n_ovl = staging::overlay_count(c).map_err(staging_err)?;
    let input = |idx: u32, want: u32| -> Result<Option<(&'static PayloadEntry, &'static [u8])>, SetupError> {
        if idx == NO_PAYLOAD {
            return Ok(None);
        }
        match pl.get(idx) {
            Some((e, d)) if want == ANY_KIND || e.kind == want => Ok(Some((e, d))),
            Some(_) => Err(SetupError(
                "boot payload index names a payload of another kind",
                idx as u64,
            )),
            None => Err(SetupError("boot payload index is not in the payload table", idx as u64)),
        }
    };
    // Kernel and initrd payloads are taken as indexed (test images use other kinds).
    const ANY_KIND: u32 = 0;
    // A loaded kernel is in the cell's RAM already: only its size and head
    // (for its run placement) are needed, and it may have to move.
    let loaded_kernel = loaded.first().copied().filter(|_| cfg!(feature = "mgmt"));
    let kernel_in = if loaded_kernel.is_some() {
        None
    } else {
        input(boot.kernel, ANY_KIND)?
    };
    let initrd_in = input(boot.initrd, ANY_KIND)?;
    let mut ovl_in: [Option<(&PayloadEntry, &[u8])>; staging::MAX_OVERLAYS] = [None; staging::MAX_OVERLAYS];
    for (k, o) in ovl_in.iter_mut().enumerate().take(n_ovl) {
        let idx = boot.overlay_first.checked_add(k as u32).unwrap_or(NO_PAYLOAD);
        *o = Some(
            input(idx, payload_kind::OVERLAY)?
                .ok_or(SetupError("boot.overlay_first + k is not a payload", idx as u64))?,
        );
    }
    let template_in = pl.find(payload_kind::VPCI_TEMPLATE);
    let len = |d: Option<(&PayloadEntry, &[u8])>| d.map(|(_, d)| d.len() as u64);
    let mut sizes = StageSizes {
        loader: loader.len() as u64,
        board_dtb: dtb::with(|d| d.len() as u64),
        initrd: len(initrd_in),
        kernel: len(kernel_in).or(loaded_kernel.map(|(_, n)| n)),
        // Staged where the loader will run it, so it need not copy it.
        kernel_run: match loaded_kernel {
            #[cfg(feature = "mgmt")]
            Some((ipa, n)) => crate::loaded::kernel_run(c, ipa, n),
            _ => kernel_in.and_then(|(_, d)| staging::KernelRun::of(boot.kind, d, d.len() as u64)),
        },
        vpci_template: template_in.map(|(_, d)| d.len() as u64),
        ..StageSizes::default()
    };
    for (s, o) in sizes.overlays.iter_mut().zip(&ovl_in) {
        *s = len(*o).unwrap_or(0);
    }
    let plan = staging::plan(c, &sizes).map_err(staging_err)?;
    #[cfg(feature = "mgmt")]
    if let Some((ipa, n)) = loaded_kernel {
        // Before anything else is staged: it may lie where the rest goes.
        crate::loaded::move_kernel(c, ipa, plan.kernel.ipa, n)?;
    }
    let put = |at: Staged, data: &[u8]| {
        copy_in(c, at.ipa, data).map_err(|_| SetupError("staging outside the cell's RAM", at.ipa))
    };
    dtb::with(|d| put(plan.board_dtb, d))?;
    for (at, d) in [(plan.initrd, initrd_in), (plan.kernel, kernel_in)] {
        if let Some((_, d)) = d {
            put(at, d)?;
        }
    }
    let mut overlay_names = [[0u8; 24]; 4];
    for k in 0..n_ovl {
        if let Some((e, d)) = ovl_in[k] {
            put(plan.overlays[k], d)?;
            overlay_names[k] = e.name;
        }
    }
    if let Some((_, d)) = template_in.filter(|_| plan.vpci_template.size != 0) {
        put(plan.vpci_template, d)?;
    }
    let (board_dtb, kernel, initrd) = (plan.board_dtb, plan.kernel, plan.initrd);
    fill_comm(
        ci,
        (devices, ndev),
        [board_dtb, kernel, initrd, plan.vpci_template],
        plan.num_overlays,
        overlay_names,
        plan.overlays,
    );

    cell_info!(
        name(ci),
        "{} stage-2 tables in use, loader {:#x}+{:#x}, dtb {:#x}, kernel {:#x}+{:#x}, initrd {:#x}+{:#x}, {} vPCI device(s)",
        POOL.lock().tables_used(),
        c.loader_ipa,
        loader.len(),
        board_dtb.ipa,
        kernel.ipa,
        kernel.size,
        initrd.ipa,
        initrd.size,
        ndev
    );
    Ok(())
}

/// Fills cell `ci`'s comm region: Jailhouse's header (`comm_header`), then
/// cellboot's own part for its loader ([board DTB, kernel, initrd, vPCI
/// template] staged, overlays counted, named and placed).
/// Where [`fill_comm`] composes a comm region. At 4 KiB it must not be a
/// local: a restart runs on the stack of the CPU that trapped, and a debug
/// build keeps several copies of such a local in one frame (it overflowed
/// the 16 KiB per-CPU stack into the config pointer below it). A leaf lock:
/// nothing else is taken while it is held.
static COMM_SCRATCH: crate::lock::Mutex<CommRegion> = crate::lock::Mutex::new(cellboot_abi::zerocopy::transmute!(
    [0u8; core::mem::size_of::<CommRegion>()]
));

fn fill_comm(
    ci: usize,
    (devices, ndev): ([u8; 8], usize),
    staged: [Staged; 4],
    num_overlays: u32,
    overlay_names: [[u8; 24]; 4],
    overlays: [Staged; 4],
) {
    let sys = cfg();
    let (c, b) = (&sys.cells()[ci], &sys.board);
    // Built in shim memory, then stored whole: no reference into the page
    // the cell shares.
    let mut comm = COMM_SCRATCH.lock();
    comm.as_mut_bytes().fill(0);
    crate::comm_header::fill(&mut comm.header, b, c);
    let i = &mut comm.info;
    i.magic = CELLBOOT_MAGIC;
    i.cell_index = ci as u32;
    i.num_cells = sys.num_cells;
    // Byte copies: a struct assignment from the config here is a memmove.
    i.board.as_mut_bytes().copy_from_slice(b.as_bytes());
    i.cell.as_mut_bytes().copy_from_slice(c.as_bytes());
    [i.board_dtb, i.kernel, i.initrd, i.vpci_template] = staged;
    i.num_overlays = num_overlays;
    i.overlay_names = overlay_names;
    i.num_vpci_devices = ndev as u32;
    i.vpci_devices = devices;
    i.overlays = overlays;
    guest_mem::comm_store(ci, &comm);
}

/// Where cell `c`'s boot CPU starts and its x0: the loader with the comm
/// region, or a jailhouse inmate at its reset address with x0 = 0.
pub fn entry(c: &CellConfig) -> (u64, u64) {
    if cellboot_abi::is_jailhouse(c) {
        (c.boot.jailhouse.reset_address, 0)
    } else {
        (c.loader_ipa, c.comm_region_ipa)
    }
}

/// Maps bus 0 of the cell's ECAM window read-only onto its image pages:
/// config reads are plain loads, config writes take a stage-2 permission
/// fault to the full path (mmio.rs). Further buses stay a hole (all-ones
/// through the full path).
fn map_ecam_image(bus: &VirtualPciBus, root: usize, base: u64, size: u64) -> Result<(), SetupError> {
    let ro = Perm {
        read: true,
        write: false,
        exec: false,
    };
    let mut pool = POOL.lock();
    for n in 0..BUS0_PAGES {
        let (ipa, Some(page)) = (base + ((n as u64) << 12), bus.image_page(n)) else {
            break;
        };
        if ipa - base >= size {
            break;
        }
        pool.map(root, ipa, page, PAGE_BYTES as u64, Kind::Normal, ro, Leaves::Pages)
            .map_err(|e| SetupError(map_err_text(e), ipa))?;
    }
    Ok(())
}

fn staging_err(e: staging::StagingError) -> SetupError {
    SetupError(e.message(), e.value())
}

fn map_err_text(e: stage2::MapError) -> &'static str {
    match e {
        stage2::MapError::OutOfTables => "out of stage-2 tables",
        stage2::MapError::IpaTooLarge => "guest-physical address beyond the 39-bit IPA space",
        stage2::MapError::Unaligned => "region not 4 KiB aligned",
    }
}

/// Runs cell `ci` on this CPU: EL2 setup with its stage-2, then EL1 at `entry`.
pub fn run_on_this_cpu(ci: usize, entry: u64, x0: u64) -> ! {
    let cpu = arch::cpu_index();
    let gic = gic::get();
    let vttbr = cell_rt(ci).lock().vttbr();
    arch::setup_el2_for_cell(vttbr, gic.irqs_through_el2());
    gic.enter_cell(cpu);
    crate::irq_prep::at_cell_start(ci, cpu);
    state::cpu(cpu).set_power(Power::On);
    arch::enter_guest(entry, x0)
}

/// Stops cell `ci` (it shut down or misbehaved, `reason` says which:
/// `cellboot_abi::mgmt::reason`): its stage-2 is emptied so its other CPUs
/// trap on their next access and park. Powers the machine off when no cell
/// is left running.
pub fn stop(ci: usize, new_state: u32, reason: u32) {
    let rt = cell_rt(ci).lock();
    if rt.is_running() {
        end(ci, rt, new_state, reason);
    }
}

/// Ends cell `ci`'s run in `new_state` for `reason`, its lock held in `rt`:
/// the comm region says so, its stage 2 is emptied (kept aside for a
/// manager's start), one running cell fewer.
pub fn end(ci: usize, mut rt: crate::lock::MutexGuard<'_, state::CellRt>, new_state: u32, reason: u32) {
    rt.set_state(new_state);
    #[cfg(feature = "mgmt")]
    {
        rt.life_mut().reason = reason;
    }
    #[cfg(not(feature = "mgmt"))]
    let _ = reason;
    guest_mem::comm_set_cell_state(ci, new_state);
    #[cfg(feature = "mgmt")]
    rt.hide_tables();
    #[cfg(not(feature = "mgmt"))]
    crate::stage2::POOL.lock().unmap_all(rt.root());
    arch::tlb_flush_vm(rt.vttbr());
    drop(rt);
    retire();
}

/// One cell fewer running; the machine powers off after the last.
fn retire() {
    if state::cell_ended() {
        info!("no cell is running any more: powering off");
        crate::off::system_off();
    }
}

pub fn is_running(ci: usize) -> bool {
    cell_rt(ci).lock().is_running()
}

/// Parks this CPU for good (its cell stopped): real PSCI CPU_OFF.
pub fn park_this_cpu() -> ! {
    let cpu = arch::cpu_index();
    gic::get().leave_cell();
    state::cpu(cpu).set_power(Power::Off);
    cpu_power::get().cpu_off_self();
    arch::halt()
}

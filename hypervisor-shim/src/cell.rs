//! Cells: their stage-2 tables, comm region, staged payloads, run state, and
//! the CPUs they own. Board facts all come from the validated SystemConfig.

use crate::arch::{self, MAX_CPUS};
use crate::payload::Payloads;
use crate::stage2::{self, Kind, Leaves, POOL, Perm};
use crate::{dtb, info};
use cellboot_abi::link_layout;
use cellboot_abi::staging::{self, StageSizes};
use cellboot_abi::zerocopy::FromBytes;
use cellboot_abi::{
    CELLBOOT_MAGIC, COMM_REGION_SIZE, CellConfig, CommRegion, MAX_CELLS, NO_PAYLOAD, PayloadEntry, Staged,
    SystemConfig, cell_state, mem, payload_kind, str_field,
};
use cellboot_vdev::pci::{BUS0_PAGES, EcamImage, PAGE_BYTES, VirtualPciBus};
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};

static CONFIG: spin::Once<&'static SystemConfig> = spin::Once::new();

pub fn set_config(cfg: &'static SystemConfig) {
    CONFIG.call_once(|| cfg);
}

/// The validated system config (set once at boot, before any cell runs).
pub fn cfg() -> &'static SystemConfig {
    match CONFIG.get() {
        Some(c) => c,
        None => crate::fatal(format_args!("system config used before it was validated")),
    }
}

/// The system config if it has been validated; for paths (power-off) that
/// also run when it was refused.
pub fn try_cfg() -> Option<&'static SystemConfig> {
    CONFIG.get().copied()
}

pub fn name(ci: usize) -> &'static str {
    cfg().cells().get(ci).map_or("?", |c| str_field(&c.name))
}

/// Per-cell runtime state, one lock per cell.
pub struct CellRt {
    pub state: u32,
    pub vttbr: u64,
    pub root: usize,
    /// Stage-2 table that keeps the root's entries while a restart has
    /// taken them away from the cell's CPUs.
    pub stash: usize,
    /// DEBUG_CONSOLE_PUTC line buffer.
    pub line: [u8; 160],
    pub line_len: usize,
    pub vpci: Option<VirtualPciBus>,
    /// Mediation refusals seen (only the first few are logged: Linux's GIC
    /// init touches every SPI of the board).
    pub gicd_denials: u32,
}

impl CellRt {
    const EMPTY: CellRt = CellRt {
        state: cell_state::SHUT_DOWN,
        vttbr: 0,
        root: 0,
        stash: 0,
        line: [0; 160],
        line_len: 0,
        vpci: None,
        gicd_denials: 0,
    };
}

// Made on first use so the array is BSS, not 2 KiB of the shim's 64 KiB
// image: an empty CellRt is not all-zero bytes (its `None` bus).
static CELLS: [spin::Once<spin::Mutex<CellRt>>; MAX_CELLS] = [const { spin::Once::new() }; MAX_CELLS];

pub fn rt(ci: usize) -> &'static spin::Mutex<CellRt> {
    CELLS[ci].call_once(|| spin::Mutex::new(CellRt::EMPTY))
}

/// Each cell's config-space pages, mapped read-only at its virtual ECAM
/// window so config reads never trap; its bus keeps them current.
pub static ECAM_IMAGES: [EcamImage; MAX_CELLS] = [const { EcamImage::new() }; MAX_CELLS];

/// Backing of each cell's comm region (shim memory, mapped into the cell).
#[repr(C, align(4096))]
struct CommPages([[u8; COMM_REGION_SIZE]; MAX_CELLS]);
static mut COMM: CommPages = CommPages([[0; COMM_REGION_SIZE]; MAX_CELLS]);

pub(crate) fn comm_pa(ci: usize) -> u64 {
    // SAFETY: only the address is taken.
    unsafe { (&raw const COMM.0[ci]) as u64 }
}

/// The cell's comm region as bytes. The cell may write it at any time, so
/// the shim reads only plain data from it and trusts none of it.
fn comm_bytes(ci: usize) -> &'static mut [u8; COMM_REGION_SIZE] {
    // SAFETY: the page is shim memory shared only with cell `ci`; the shim
    // writes it before the cell starts, then only reads bytes and writes
    // `cell_state` words (any value the guest races in is just data).
    // (`&raw mut` and not clippy's `&mut COMM`: edition 2024 rejects
    // references to a static mut.)
    #[allow(clippy::deref_addrof)]
    unsafe {
        &mut *(&raw mut COMM.0[ci])
    }
}

/// Makes what cell `ci`'s loader wrote into its comm region with its caches
/// off visible to the shim's cached reads (drops the shim's stale lines).
pub fn comm_refresh(ci: usize) {
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);
}

pub fn comm_region(ci: usize) -> &'static mut CommRegion {
    match CommRegion::mut_from_prefix(comm_bytes(ci)) {
        Ok((c, _)) => c,
        Err(_) => crate::fatal(format_args!("comm region layout")),
    }
}

/// Physical CPU states, for PSCI.
pub mod cpu {
    pub const OFF: u8 = 0;
    pub const ON_PENDING: u8 = 1;
    pub const ON: u8 = 2;
}
pub static CPU_STATE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(cpu::OFF) }; MAX_CPUS];
pub static CPU_CELL: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(usize::MAX) }; MAX_CPUS];

/// What a CPU started through PSCI CPU_ON does first: (entry IPA, x0).
pub static CPU_BOOT: [spin::Mutex<(u64, u64)>; MAX_CPUS] = [const { spin::Mutex::new((0, 0)) }; MAX_CPUS];

pub static RUNNING_CELLS: AtomicU32 = AtomicU32::new(0);

/// Physical CPU index of an MPIDR affinity value.
pub fn cpu_of_mpidr(mpidr: u64) -> Option<usize> {
    let b = &cfg().board;
    let n = (b.num_cpus as usize).min(MAX_CPUS);
    b.mpidr[..n]
        .iter()
        .position(|&m| m & 0xff_00ff_ffff == mpidr & 0xff_00ff_ffff)
}

fn perm_of(flags: u64) -> Perm {
    Perm {
        read: flags & mem::READ != 0,
        write: flags & mem::WRITE != 0,
        exec: flags & mem::EXECUTE != 0,
    }
}

/// Physical address of [ipa, ipa+len) when it lies in one RAM (non-IO)
/// region of the cell with the wanted access.
pub fn ipa_to_pa(c: &CellConfig, ipa: u64, len: u64, write: bool) -> Option<u64> {
    let end = ipa.checked_add(len)?;
    c.mem_regions().iter().find_map(|r| {
        let ok = r.flags & mem::IO == 0
            && r.flags & mem::READ != 0
            && (!write || r.flags & mem::WRITE != 0)
            && ipa >= r.virt
            && end <= r.virt_end();
        ok.then(|| r.phys + (ipa - r.virt))
    })
}

/// Copies `data` into cell memory at `ipa` (shim-side, before the cell runs).
pub(crate) fn copy_in(c: &CellConfig, ipa: u64, data: &[u8]) -> Result<(), ()> {
    let pa = ipa_to_pa(c, ipa, data.len() as u64, false).ok_or(())?;
    // Cell RAM is non-cacheable at EL2 (el2_map), so the copy lands in
    // memory, where the cell's MMU-off reads find it. Lines some earlier
    // cacheable owner (boot firmware) left there go first: written back
    // later, they would land on top of the copy.
    arch::dcache_clean_inval(pa, data.len() as u64);
    // SAFETY: [pa, pa+len) is RAM of this cell (config-validated to be inside
    // board RAM and outside the shim's memory), so it aliases no Rust object.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), pa as *mut u8, data.len()) };
    arch::dsb();
    Ok(())
}

pub struct SetupError(pub &'static str, pub u64);

static PAYLOADS: spin::Once<Payloads> = spin::Once::new();

/// Keeps the image's payloads for the life of the shim: a cell restart
/// stages them again.
pub fn keep_payloads(pl: Payloads) -> &'static Payloads {
    PAYLOADS.call_once(|| pl)
}

/// The payloads kept at boot (`None` only before `keep_payloads`).
pub fn payloads() -> Option<&'static Payloads> {
    PAYLOADS.get()
}

/// Builds cell `ci`: stage-2 map, virtual PCI bus, then `load`.
pub fn prepare(ci: usize, pl: &'static Payloads) -> Result<(), SetupError> {
    let sys = cfg();
    let c = &sys.cells()[ci];
    let b = &sys.board;
    let mut rt = rt(ci).lock();

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
        comm_pa(ci),
        COMM_REGION_SIZE as u64,
        Kind::Normal,
        rw,
        Leaves::Pages,
    )
    .map_err(|e| SetupError(map_err_text(e), c.comm_region_ipa))?;
    if b.gic_version == 3 {
        for cpu in 0..MAX_CPUS {
            if c.owns_cpu(cpu) {
                let frame = b.gicr_base + cpu as u64 * b.gicr_stride;
                pool.map(root, frame, frame, b.gicr_stride, Kind::Device, rw, Leaves::Blocks)
                    .map_err(|e| SetupError(map_err_text(e), frame))?;
            }
        }
    } else if b.gicc_base != 0 {
        pool.map(
            root,
            b.gicc_base,
            b.gicc_base,
            b.gicc_size.next_multiple_of(4096),
            Kind::Device,
            rw,
            Leaves::Blocks,
        )
        .map_err(|e| SetupError(map_err_text(e), b.gicc_base))?;
    }
    rt.root = root;
    rt.stash = pool.new_root().map_err(|_| SetupError("out of stage-2 tables", 0))?;
    rt.vttbr = pool.table_pa(root) | ((ci as u64 + 1) << 48);
    drop(pool);

    // --- virtual PCI bus ---
    let mut bus = VirtualPciBus::build_from_config(ci, sys);
    // Shim memory is cached at EL2; cells may read it with their caches off.
    bus.attach_image(&ECAM_IMAGES[ci], arch::dcache_clean_inval);
    map_ecam_image(&bus, rt.root, c.vpci.ecam_base, c.vpci.ecam_size)?;
    rt.vpci = Some(bus);

    let devices = vpci_devices(&rt);
    load_flushed(ci, devices, pl)?;
    rt.state = cell_state::RUNNING;
    RUNNING_CELLS.fetch_add(1, Ordering::SeqCst);
    for (cpu, owner) in CPU_CELL.iter().enumerate() {
        if c.owns_cpu(cpu) {
            owner.store(ci, Ordering::SeqCst);
        }
    }
    Ok(())
}

/// The device numbers on the cell's vPCI bus (at most 8, as the comm region
/// lists them), and how many.
pub(crate) fn vpci_devices(rt: &CellRt) -> ([u8; 8], usize) {
    let mut devices = [0u8; 8];
    let mut ndev = 0;
    for d in rt.vpci.iter().flat_map(|bus| bus.devices()) {
        if ndev < devices.len() {
            devices[ndev] = d;
            ndev += 1;
        }
    }
    (devices, ndev)
}

/// [`load`] between the cache maintenance every (re)start needs
/// (`crate::restage`): one call site, so one copy in the shim.
pub(crate) fn load_flushed(ci: usize, devices: ([u8; 8], usize), pl: &Payloads) -> Result<(), SetupError> {
    crate::restage::restage(&cfg().cells()[ci], &mut arch::Caches, || load(ci, devices, pl))
}

/// Copies the loader and stages the payloads into cell `ci`'s RAM and fills
/// its comm region: what power-on and every restart do alike. Takes no
/// lock: a restart copies tens of MiB, and peers ringing this cell's
/// doorbell take its lock meanwhile (they find it not running).
pub(crate) fn load(ci: usize, (devices, ndev): ([u8; 8], usize), pl: &Payloads) -> Result<(), SetupError> {
    let sys = cfg();
    let c = &sys.cells()[ci];
    if cellboot_abi::is_jailhouse(c) {
        crate::jailhouse_load::load(ci, c, pl)?;
        fill_comm(ci, (devices, ndev), [Staged::default(); 4], 0, [[0; 24]; 4]);
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
    let kernel_in = input(boot.kernel, ANY_KIND)?;
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
        kernel: len(kernel_in),
        // Staged where the loader will run it, so it need not copy it.
        kernel_run: kernel_in.and_then(|(_, d)| staging::KernelRun::of(boot.kind, d, d.len() as u64)),
        vpci_template: template_in.map(|(_, d)| d.len() as u64),
        ..StageSizes::default()
    };
    for (s, o) in sizes.overlays.iter_mut().zip(&ovl_in) {
        *s = len(*o).unwrap_or(0);
    }
    let plan = staging::plan(c, &sizes).map_err(staging_err)?;
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
    );
    comm_region(ci).info.overlays = plan.overlays;
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);

    info!(
        "cell {}: {} stage-2 tables in use, loader {:#x}+{:#x}, dtb {:#x}, kernel {:#x}+{:#x}, initrd {:#x}+{:#x}, {} vPCI device(s)",
        name(ci),
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
/// template] staged, overlays counted and named; `overlays` set by the caller).
fn fill_comm(
    ci: usize,
    (devices, ndev): ([u8; 8], usize),
    staged: [Staged; 4],
    num_overlays: u32,
    overlay_names: [[u8; 24]; 4],
) {
    let sys = cfg();
    let (c, b) = (&sys.cells()[ci], &sys.board);
    comm_bytes(ci).fill(0);
    let comm = comm_region(ci);
    crate::comm_header::fill(&mut comm.header, b, c);
    let i = &mut comm.info;
    i.magic = CELLBOOT_MAGIC;
    i.cell_index = ci as u32;
    i.num_cells = sys.num_cells;
    i.board = *b;
    i.cell = *c;
    [i.board_dtb, i.kernel, i.initrd, i.vpci_template] = staged;
    i.num_overlays = num_overlays;
    i.overlay_names = overlay_names;
    i.num_vpci_devices = ndev as u32;
    i.vpci_devices = devices;
    // Shim memory (cached at EL2) the cell reads with its caches off.
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);
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

/// The cell's boot CPU (lowest CPU it owns).
pub fn boot_cpu(c: &CellConfig) -> usize {
    c.cpu_mask.trailing_zeros() as usize
}

pub fn vttbr(ci: usize) -> u64 {
    rt(ci).lock().vttbr
}

/// Runs cell `ci` on this CPU: EL2 setup with its stage-2, then EL1 at `entry`.
pub fn run_on_this_cpu(ci: usize, entry: u64, x0: u64) -> ! {
    let cpu = arch::cpu_index();
    let gicv3 = cfg().board.gic_version == 3;
    let vgic = gicv3 && crate::vgic::ON_GICV3;
    arch::setup_el2_for_cell(vttbr(ci), vgic);
    if vgic {
        crate::vgic::init_this_cpu();
    } else if !gicv3 || crate::vgic::ON_GICV3 {
        arch::set_gicv2_mode();
        crate::gic::record_cpu_interface(cpu);
    }
    crate::irq_prep::at_cell_start(ci, cpu);
    CPU_STATE[cpu].store(cpu::ON, Ordering::SeqCst);
    arch::enter_guest(entry, x0)
}

/// Stops cell `ci` (it shut down or misbehaved): its stage-2 is emptied so
/// its other CPUs trap on their next access and park. Powers the machine
/// off when no cell is left running.
pub fn stop(ci: usize, new_state: u32) {
    let mut rt = rt(ci).lock();
    if rt.state != cell_state::RUNNING {
        return;
    }
    rt.state = new_state;
    let comm = comm_region(ci);
    comm.header.cell_state = new_state;
    arch::dcache_clean_inval(comm_pa(ci), COMM_REGION_SIZE as u64);
    {
        let mut pool = POOL.lock();
        pool.unmap_all(rt.root);
    }
    arch::tlb_flush_vm(rt.vttbr);
    drop(rt);
    retire();
}

/// One cell fewer running; the machine powers off after the last.
pub(crate) fn retire() {
    if RUNNING_CELLS.fetch_sub(1, Ordering::SeqCst) == 1 {
        info!("no cell is running any more: powering off");
        crate::psci::system_off();
    }
}

pub fn is_running(ci: usize) -> bool {
    rt(ci).lock().state == cell_state::RUNNING
}

/// Parks this CPU for good (its cell stopped): real PSCI CPU_OFF.
pub fn park_this_cpu() -> ! {
    let cpu = arch::cpu_index();
    if cfg().board.gic_version == 3 && crate::vgic::ON_GICV3 {
        crate::vgic::release_this_cpu();
    }
    CPU_STATE[cpu].store(cpu::OFF, Ordering::SeqCst);
    crate::psci::cpu_off_self();
    arch::halt()
}

//! What the shim maps for itself at EL2 and with which memory attributes.
//! Every range comes from the link symbols or the validated board/system
//! config; the cache rules these choices lead to are in docs/caches.md.
//!
//! | range | type | access |
//! |---|---|---|
//! | shim text + read-only data | Normal WB | read, execute |
//! | shim data, BSS (stacks, stage-2 tables, comm regions, DTB copy) | Normal WB | read/write |
//! | payloads after `_end` (up to the header's `image_size`) | Normal WB | read |
//! | rest of the hypervisor region (spin-table words, the DTB QEMU puts there) | Normal WB | read/write |
//! | cells' RAM regions and links' shared memory (`el2_ram`), inside the DTB's `/memory` | Normal non-cacheable | read/write |
//! | the board DTB's pages where firmware put it, if outside the hypervisor region | Normal non-cacheable | read/write |
//! | UART, GICD, GICC (v2), GICR frames (v3) | Device-nGnRE | read/write |
//!
//! Nothing else is mapped: a stray shim access faults instead of reaching
//! a device, and no speculative read reaches RAM that is not DRAM or not
//! ours (`el2_ram`). Cell memory is non-cacheable at EL2 so the shim never holds a
//! cache line of memory that cells use with their caches off (loader, early
//! Linux, bare-metal inmates): no line EL2 ever allocated can go stale behind
//! their backs or shadow what they wrote.

use crate::arch::{self, MapAccess, MapError, Mem};
use crate::dtb;
use crate::el2_ram;
use cellboot_abi::SystemConfig;

const PAGE: u64 = 4096;

/// The early error when the image header's `image_size` is too small.
const IMAGE_SIZE_SHORT: &str = "image_size ends inside BSS";

fn down(a: u64) -> u64 {
    a & !(PAGE - 1)
}
fn up(a: u64) -> u64 {
    a.saturating_add(PAGE - 1) & !(PAGE - 1)
}

/// End of what the early map covers from the image: the payloads and, at
/// least, the page where the payload table should be (so a bare shim can be
/// told from a bad header).
fn image_map_end(start: u64, end: u64, image_size: u64) -> u64 {
    up(start.saturating_add(image_size)).max(end + PAGE)
}

/// One range to map: what it is (for errors), [start, end), type, access.
type Range = (&'static str, u64, u64, Mem, MapAccess);

fn map_all(ranges: &[Range]) -> Result<(), (&'static str, MapError)> {
    for &(what, s, e, mem, access) in ranges {
        if s < e {
            arch::map_identity(s, e, mem, access).map_err(|err| (what, err))?;
        }
    }
    Ok(())
}

/// The map the boot CPU switches on first, before it uses any lock: the
/// image (text, data, BSS, payloads) and the build-time early UART.
pub fn early(image_size: u64, early_uart: u64) -> Result<(), (&'static str, MapError)> {
    let (start, end) = arch::image_bounds();
    // The arm64 boot protocol's image_size is what the boot firmware keeps
    // free: a smaller one lets it put the DTB where boot.s zeroed BSS.
    if image_size < end - start {
        return Err(("image", MapError(IMAGE_SIZE_SHORT, image_size)));
    }
    let rw = down(arch::image_data_start());
    let uart = down(early_uart);
    map_all(&[
        ("shim text", start, rw, Mem::WriteBack, MapAccess::Text),
        ("shim data", rw, end, Mem::WriteBack, MapAccess::ReadWrite),
        (
            "payloads",
            end,
            image_map_end(start, end, image_size),
            Mem::WriteBack,
            MapAccess::ReadOnly,
        ),
        ("early UART", uart, uart + PAGE, Mem::Device, MapAccess::ReadWrite),
    ])
}

/// Adds from the validated config: the hypervisor region around the image,
/// the board's MMIO the shim itself drives and the board DTB's pages at
/// `dtb_addr` (cell RAM: [`cell_ram`], once the DTB is copied).
/// `image_size` as for [`early`]; the image lies inside the hypervisor region
/// (checked by the caller).
pub fn board(cfg: &SystemConfig, image_size: u64, dtb_addr: u64) -> Result<(), (&'static str, MapError)> {
    let (start, end) = arch::image_bounds();
    let b = &cfg.board;
    let hv = &cfg.hypervisor;
    let (hv_start, hv_end) = (down(hv.phys), up(hv.phys_end()));
    let img_end = image_map_end(start, end, image_size).min(hv_end);
    let (gic_cpu, gic_cpu_size) = crate::gic::get().cpu_frames(b);
    let mmio = |base: u64, size: u64| (down(base), up(base.saturating_add(size)));
    let (uart, uart_end) = mmio(b.uart_base, b.uart_size.max(1));
    let (gicd, gicd_end) = mmio(b.gicd_base, b.gicd_size);
    let (gicc, gicc_end) = mmio(gic_cpu, gic_cpu_size);
    let rw = MapAccess::ReadWrite;
    map_all(&[
        ("hypervisor region below the image", hv_start, start, Mem::WriteBack, rw),
        ("hypervisor region above the image", img_end, hv_end, Mem::WriteBack, rw),
        ("UART", uart, uart_end, Mem::Device, rw),
        ("GIC distributor", gicd, gicd_end, Mem::Device, rw),
        ("GIC CPU interface / redistributors", gicc, gicc_end, Mem::Device, rw),
    ])?;
    arch::mmu_sync();
    dtb_window(cfg, dtb_addr)
}

/// The refusal of configured RAM the board DTB's `/memory` lacks.
const NOT_IN_MEMORY: &str = "not in the DTB's /memory";

/// Maps the RAM the config gives cells and links (`el2_ram`) after refusing
/// any piece of it the copied board DTB's `/memory` does not hold: no
/// speculative read may reach address space without DRAM behind it.
pub fn cell_ram(cfg: &SystemConfig) -> Result<(), (&'static str, MapError)> {
    const WHAT: &str = "cell RAM";
    if let Some((s, _)) = el2_ram::outside_memory(cfg, dtb::in_memory) {
        return Err((WHAT, MapError(NOT_IN_MEMORY, s)));
    }
    let mut mapped = Ok(());
    el2_ram::each_piece(cfg, |s, e| {
        if mapped.is_ok() {
            mapped = map_all(&[(WHAT, s, e, Mem::NonCacheable, MapAccess::ReadWrite)]);
        }
    });
    arch::mmu_sync();
    mapped
}

/// Largest DTB the arm64 boot protocol allows.
const DTB_PROTOCOL_MAX: u64 = 2 << 20;
const FDT_HEADER: u64 = 40;

/// Maps the pages of the board DTB where the firmware put it (RAM, by the
/// boot protocol) when that is outside the hypervisor region: its header
/// page, then what the header claims, at most 2 MiB. Mapped like cell RAM,
/// which it may be (cell RAM mapped later descends into these pages). Addresses
/// `dtb::take` refuses are left unmapped.
fn dtb_window(cfg: &SystemConfig, addr: u64) -> Result<(), (&'static str, MapError)> {
    let (b, hv) = (&cfg.board, &cfg.hypervisor);
    let ram_end = b.ram_base.saturating_add(b.ram_size);
    if (hv.phys..hv.phys_end()).contains(&addr) || !(b.ram_base..ram_end.saturating_sub(FDT_HEADER)).contains(&addr) {
        return Ok(());
    }
    let mut end = addr + FDT_HEADER;
    loop {
        map_all(&[(
            "board DTB",
            down(addr),
            up(end.min(ram_end)),
            Mem::NonCacheable,
            MapAccess::ReadWrite,
        )])?;
        arch::mmu_sync();
        arch::dcache_clean_inval(addr, FDT_HEADER);
        // SAFETY: the header's totalsize word, inside the page just mapped.
        let total = u32::from_be(unsafe { ((addr + 4) as *const u32).read_volatile() }) as u64;
        let want = addr.saturating_add(total.clamp(FDT_HEADER, DTB_PROTOCOL_MAX));
        if want <= end {
            return Ok(());
        }
        end = want;
    }
}

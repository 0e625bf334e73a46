//! The loader's boot flow: comm region → guest DTB → payload → jump.
//! Hardware access goes through `arch` only; the decisions live in the
//! `cellboot_loader` library, which the host tests.

#[path = "arch_aarch64.rs"]
mod arch;

use cellboot_abi::zerocopy::FromBytes;
use cellboot_abi::{
    CELLBOOT_INFO_OFFSET, CELLBOOT_MAGIC, COMM_REVISION, COMM_SIGNATURE, CommRegion, boot_kind, cell_state, hypercall,
    mem, str_field,
};
use cellboot_loader::image::{self, DTB_MAX, Inputs, LayoutError, Plan, Range};
use cellboot_loader::text::Text;
use cellboot_loader::{CellView, Overlay, build_guest_dtb_in, scratch_len};
use core::mem::offset_of;
use core::sync::atomic::{AtomicU64, Ordering};

/// The comm region IPA, for the panic handler. Relaxed atomics compile to
/// plain loads/stores: no exclusives, which Device memory (MMU off) may not support.
static COMM_IPA: AtomicU64 = AtomicU64::new(0);

type Msg = Text<256>;

/// Called by the startup code (relocations applied, BSS zeroed, SP set).
#[unsafe(no_mangle)]
extern "C" fn loader_main(comm_ipa: u64) -> ! {
    COMM_IPA.store(comm_ipa, Ordering::Relaxed);
    // SAFETY: the shim maps the comm region (COMM_REGION_SIZE bytes) at the
    // IPA it passes in x0 for the cell's whole life; nothing else in the
    // loader aliases it, and it is only read through this copy.
    let raw = unsafe { arch::mem(comm_ipa, core::mem::size_of::<CommRegion>() as u64) };
    // A copy, not a reference: MMU off means Device memory and every field
    // access must be aligned — the copy is an aligned local.
    let Ok(comm) = CommRegion::read_from_bytes(raw) else {
        fail(comm_ipa, cell_state::FAILED_COMM_REV, "comm region")
    };
    if comm.header.signature != COMM_SIGNATURE
        || comm.header.revision != COMM_REVISION
        || comm.info.magic != CELLBOOT_MAGIC
    {
        fail(
            comm_ipa,
            cell_state::FAILED_COMM_REV,
            "comm region: bad signature, revision or CBCELL magic",
        );
    }
    let mut msg = Msg::new();
    match boot(&comm, &mut msg) {
        Ok(()) => unreachable_after_jump(),
        Err(()) => fail(comm_ipa, cell_state::FAILED, msg.as_str()),
    }
}

fn unreachable_after_jump() -> ! {
    arch::park()
}

/// `cellboot loader: boot-phase <µs> <what>` in builds with `--features
/// boot-timing` (`cargo xtask bench --only boot --phases`); nothing otherwise.
fn phase(_what: &str) {
    #[cfg(feature = "boot-timing")]
    {
        let mut t = Text::<96>::new();
        t.push_str("cellboot loader: boot-phase ")
            .push_dec(arch::counter_us())
            .push_str(" ")
            .push_str(_what)
            .push_str("\n");
        arch::console_write(t.as_bytes());
    }
}

fn say(s: &str) {
    let mut t = Text::<96>::new();
    t.push_str(s).push_str("\n");
    arch::console_write(t.as_bytes());
}

/// Everything that can fail; on error `msg` says what.
fn boot(comm: &CommRegion, msg: &mut Msg) -> Result<(), ()> {
    let info = &comm.info;
    let mut cell = CellView::from_info(info);
    phase("loader entry");
    say("cellboot loader: building guest DTB");

    let ram = cell
        .cell
        .mem_regions()
        .iter()
        .find(|r| r.flags & mem::RAM != 0 && r.virt <= cell.cell.loader_ipa && cell.cell.loader_ipa < r.virt_end())
        .map(|r| Range::new(r.virt, r.size))
        .ok_or_else(|| {
            msg.push_str("loader_ipa ")
                .push_addr(cell.cell.loader_ipa)
                .push_str(" is not in a RAM region");
        })?;
    let (image_start, image_end) = arch::image_bounds();
    let num_overlays = (info.num_overlays as usize).min(info.overlays.len());
    let staged_overlays = info.overlays[..num_overlays]
        .iter()
        .chain([&info.vpci_template])
        .map(|s| Range::new(s.ipa, s.size))
        .fold(Range::default(), hull);
    let mut inputs = Inputs {
        ram,
        loader: Range::new(image_start, image_end - image_start),
        staged_payload: Range::new(info.kernel.ipa, info.kernel.size),
        staged_dtb: Range::new(info.board_dtb.ipa, info.board_dtb.size),
        initrd: Range::new(info.initrd.ipa, info.initrd.size),
        staged_overlays,
        scratch_len: 0,
    };
    for (what, r) in [
        ("kernel", inputs.staged_payload),
        ("board DTB", inputs.staged_dtb),
        ("initrd", inputs.initrd),
        ("overlays", inputs.staged_overlays),
    ] {
        if r.size != 0 && !r.inside(&ram) {
            msg.push_str(what)
                .push_str(" staged outside the loader's RAM region at ")
                .push_addr(r.base);
            return Err(());
        }
        // Our BSS and stack (up to `_end`) were zeroed at start: anything
        // staged there is already gone.
        if r.overlaps(&inputs.loader) {
            msg.push_str(what)
                .push_str(" staged inside the loader's image/BSS/stack at ")
                .push_addr(r.base);
            return Err(());
        }
    }
    if inputs.staged_payload.size == 0 || inputs.staged_dtb.size == 0 {
        msg.push_str("no kernel or board DTB staged");
        return Err(());
    }

    // Template and user overlays, as staged (inside the RAM region, clear of
    // the loader: checked above through their hull). They are only read: the
    // DTB build applies copies in its scratch.
    let mut overlays = [Overlay { name: "", blob: &[] }; 4];
    for (k, (o, s)) in overlays.iter_mut().zip(&info.overlays).take(num_overlays).enumerate() {
        // SAFETY: inside the cell's RAM and outside the loader (checked
        // above); nothing writes there until the payload move, after the
        // DTB is built (plan_* keeps DTB and scratch off the staged range).
        o.blob = unsafe { arch::mem(s.ipa, s.size) };
        o.name = match str_field(&info.overlay_names[k]) {
            "" => ["overlay0", "overlay1", "overlay2", "overlay3"][k],
            name => name,
        };
    }
    cell.overlays = &overlays[..num_overlays];
    if info.vpci_template.size != 0 {
        let t = info.vpci_template;
        // SAFETY: as for the overlays.
        cell.vpci_template = Some(unsafe { arch::mem(t.ipa, t.size) });
    }
    // DTB_MAX >= the DTB room any plan gives, so this always suffices.
    inputs.scratch_len = scratch_len(&cell, DTB_MAX as usize) as u64;

    let plan = match info.cell.boot.kind {
        boot_kind::LINUX => {
            // SAFETY: the staged kernel lies inside the cell's RAM (checked
            // above); only read here, before anything is written.
            let head = unsafe { arch::mem(inputs.staged_payload.base, inputs.staged_payload.size.min(64)) };
            let hdr = image::parse_image_header(head).map_err(|e| layout_err(msg, e))?;
            image::plan_linux(&inputs, &hdr)
        }
        boot_kind::RAW => image::plan_raw(&inputs),
        k => {
            msg.push_str("unknown boot kind ").push_dec(k.into());
            return Err(());
        }
    }
    .map_err(|e| layout_err(msg, e))?;

    // SAFETY: plan_* checked that [dtb, dtb + dtb_room) and the scratch
    // after it are inside RAM and overlap neither each other, the loader nor
    // the staged board DTB, payload, initrd or overlays, so these are the
    // only live references to them; the staged inputs are only read.
    let (board_dtb, out, scratch) = unsafe {
        (
            arch::mem(inputs.staged_dtb.base, inputs.staged_dtb.size),
            arch::mem_mut(plan.dtb, plan.dtb_room),
            // No scratch planned: `plan.scratch` is 0, and a slice must
            // not start at a null pointer even when empty.
            match inputs.scratch_len {
                0 => &mut [][..],
                len => arch::mem_mut(plan.scratch, len),
            },
        )
    };
    let dtb_size = build_guest_dtb_in(board_dtb, out, scratch, &cell).map_err(|e| e.write_to(msg))?;
    phase("guest DTB built");
    // The shim stages the payload where it runs when it can (copy_len 0;
    // it cleaned it to PoC then).
    if plan.copy_len != 0 {
        say("cellboot loader: guest DTB ready, moving payload");
        // SAFETY: source (staged payload) and destination lie inside the
        // cell's RAM and the destination overlaps neither loader, DTB nor
        // initrd (plan_*); `move_bytes` has memmove semantics for the
        // overlap with its own staging.
        unsafe { arch::move_bytes(inputs.staged_payload.base, plan.load, plan.copy_len) };
        arch::clean_dcache_to_poc(plan.load, plan.copy_len);
    }
    arch::clean_dcache_to_poc(plan.dtb, dtb_size as u64);
    phase("payload in place");
    report_jump(&plan);
    // SAFETY: the payload is in place and cleaned to PoC, the DTB is complete
    // (packed); this is the arm64 boot protocol's hand-over.
    unsafe { arch::enter(plan.entry, plan.dtb) }
}

/// Smallest range covering both (an empty range covers nothing).
fn hull(a: Range, b: Range) -> Range {
    if a.size == 0 {
        return b;
    }
    if b.size == 0 {
        return a;
    }
    let base = a.base.min(b.base);
    Range::new(base, a.end().max(b.end()) - base)
}

fn layout_err(msg: &mut Msg, e: LayoutError) {
    msg.push_str("layout: ").push_str(e.name());
}

fn report_jump(plan: &Plan) {
    let mut t = Text::<96>::new();
    t.push_str("cellboot loader: entering ")
        .push_addr(plan.entry)
        .push_str(" dtb ")
        .push_addr(plan.dtb)
        .push_str("\n");
    arch::console_write(t.as_bytes());
}

/// Reports `why` in the comm region and through the console, tells the shim,
/// and parks.
fn fail(comm_ipa: u64, state: u32, why: &str) -> ! {
    let err_ipa = comm_ipa + (CELLBOOT_INFO_OFFSET + offset_of!(cellboot_abi::CellbootInfo, error)) as u64;
    let err_len = 256usize;
    let n = why.len().min(err_len - 1);
    arch::write_bytes(err_ipa, &why.as_bytes()[..n]);
    arch::write_bytes(err_ipa + n as u64, &[0]);
    arch::write_u32(
        comm_ipa + offset_of!(cellboot_abi::JhCommHeader, cell_state) as u64,
        state,
    );
    let mut t = Text::<300>::new();
    t.push_str("cellboot loader: FAILED: ").push_str(why).push_str("\n");
    arch::console_write(t.as_bytes());
    arch::hvc(hypercall::CELL_FAILED, 0, 0);
    arch::park()
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No core::fmt here: formatting the panic message would pull it in.
    let comm_ipa = COMM_IPA.load(Ordering::Relaxed);
    if comm_ipa == 0 {
        arch::park();
    }
    fail(comm_ipa, cell_state::FAILED, "loader panic")
}

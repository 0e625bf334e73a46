//! AArch64 EL2: boot assembly, exception vectors, EL2 register setup, guest
//! entry, stage-2 control, SMC calls into firmware, cache/TLB maintenance.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::*;
use core::arch::{asm, global_asm};

pub mod gicv3;
mod mmu;
mod regs;
pub use mmu::{Access as MapAccess, MapError, Mem};
pub use mmu::{
    enable_boot_cpu as mmu_enable_boot_cpu, map_identity, sync_after_map as mmu_sync, tables_used as mmu_tables_used,
};

pub const MAX_CPUS: usize = cellboot_abi::MAX_CPUS;
/// Per CPU. A cell restart runs on the stack of the CPU that trapped
/// (vectors, trap, PSCI, restart, staging): ~15 KiB of frames in a debug
/// build, which e2e boots. Stacks lie in BSS (no image bytes), next to the
/// shim's statics, with no guard page: an overflow corrupts them.
pub const STACK_SIZE: usize = 32 * 1024;

#[repr(C, align(16))]
pub struct Stacks([[u8; STACK_SIZE]; MAX_CPUS]);
#[repr(C, align(16))]
pub struct BootStack([u8; STACK_SIZE]);

/// Per-CPU EL2 stacks (trap frames of guests live at their top).
#[unsafe(no_mangle)]
static mut CPU_STACKS: Stacks = Stacks([[0; STACK_SIZE]; MAX_CPUS]);
/// Stack of the boot CPU until it enters its cell.
static mut BOOT_STACK: BootStack = BootStack([0; STACK_SIZE]);

global_asm!(
    include_str!("boot.s"),
    STACKS = sym CPU_STACKS,
    STACK_SIZE = const STACK_SIZE,
    MAX_CPUS = const MAX_CPUS,
    BOOT_STACK = sym BOOT_STACK,
);
global_asm!(include_str!("vectors.s"), FRAME_SIZE = const GuestFrame::SIZE);

unsafe extern "C" {
    static el2_vectors: u8;
    fn el2_enter_guest(frame: *mut GuestFrame) -> !;
    fn secondary_entry();
    fn spin_entry();
    static _start_image: u8;
    static __data_start: u8;
    static _end: u8;
}

/// Registers of a trapped guest CPU as saved by `vectors.s`.
pub use cellboot_abi::TrapFrame as GuestFrame;

/// SPSR of an entry into EL1h with D, A, I and F masked.
const SPSR_EL1H_MASKED: u64 = SPSR_EL2::D::Masked.value
    | SPSR_EL2::A::Masked.value
    | SPSR_EL2::I::Masked.value
    | SPSR_EL2::F::Masked.value
    | SPSR_EL2::M::EL1h.value;

/// Shim image bounds: (start, end of BSS).
pub fn image_bounds() -> (u64, u64) {
    // Linker symbols; only their addresses are taken.
    (&raw const _start_image as u64, &raw const _end as u64)
}

/// First byte of the shim's writable data (.data, then .bss up to `_end`);
/// text and read-only data lie below it.
pub fn image_data_start() -> u64 {
    // Linker symbol; only its address is taken.
    &raw const __data_start as u64
}

pub fn current_el_boot_message(el: u64) -> Option<&'static str> {
    match el {
        2 => None,
        1 => Some("entered at EL1: the boot firmware gave us no EL2 (QEMU needs -M virt,virtualization=on)"),
        _ => Some("entered at an unexpected exception level"),
    }
}

/// The exception level this code runs at.
pub fn current_el() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

pub fn mpidr() -> u64 {
    MPIDR_EL1.get() & cellboot_abi::MPIDR_AFF_MASK
}

/// This CPU's physical index (set by `set_cpu_index` on entry).
pub fn cpu_index() -> usize {
    TPIDR_EL2.get() as usize
}
pub fn set_cpu_index(i: usize) {
    TPIDR_EL2.set(i as u64);
}

/// Physical address size from ID_AA64MMFR0_EL1.PARange, as VTCR_EL2.PS bits and
/// a bit count (capped at 48: 4 KiB granule without LPA2).
pub fn pa_range() -> (u64, u32) {
    let r = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange);
    match r {
        0 => (0, 32),
        1 => (1, 36),
        2 => (2, 40),
        3 => (3, 42),
        4 => (4, 44),
        _ => (5, 48),
    }
}

/// EL2 state every CPU needs before it runs shim code that may fault.
pub fn init_el2_vectors() {
    // The vector table from vectors.s (2 KiB aligned there).
    VBAR_EL2.set(&raw const el2_vectors as u64);
    barrier::isb(barrier::SY);
}

/// Microseconds on the physical counter (it starts at 0 with the machine
/// under QEMU): boot-phase timestamps.
#[cfg(feature = "boot-timing")]
pub fn counter_us() -> u64 {
    let (t, f) = (CNTPCT_EL0.get(), CNTFRQ_EL0.get().max(1));
    (t as u128 * 1_000_000 / f as u128) as u64
}

/// A point `ms` milliseconds from now on the physical counter, for
/// [`passed`] (no division: the u128 arithmetic would cost the shim ~800
/// bytes).
pub fn deadline_ms(ms: u64) -> u64 {
    CNTPCT_EL0.get().wrapping_add(CNTFRQ_EL0.get() / 1000 * ms)
}

/// The physical counter and its frequency (CNTPCT_EL0, CNTFRQ_EL0).
#[cfg(feature = "mgmt")]
pub fn counter() -> (u64, u64) {
    (CNTPCT_EL0.get(), CNTFRQ_EL0.get())
}

pub fn passed(deadline: u64) -> bool {
    CNTPCT_EL0.get().wrapping_sub(deadline) as i64 >= 0
}

/// Stage-2 geometry shared by all cells: 39-bit IPA (T0SZ 25), walk starts at
/// level 1 with one 4 KiB root table (the table builder owns the number).
use crate::stage2::IPA_BITS;

/// Sets up EL2 on this CPU to run a cell with the given VTTBR value.
/// `irqs_at_el2`: physical IRQs and FIQs go to EL2 and the cell's GICv3
/// system-register accesses to its virtual CPU interface (`vgic`). Set/way
/// cache maintenance always traps (`sysreg`): it would act on lines of
/// every cell.
pub fn setup_el2_for_cell(vttbr: u64, irqs_at_el2: bool) {
    let (ps, _) = pa_range();
    let irqs = if irqs_at_el2 {
        HCR_EL2::IMO::SET + HCR_EL2::FMO::SET
    } else {
        HCR_EL2::IMO::CLEAR
    };
    // TACR (HCR_EL2.TAC): ACTLR_EL1 traps (`sysreg`), as Jailhouse sets it.
    HCR_EL2.write(
        HCR_EL2::VM::Enable
            + HCR_EL2::RW::EL1IsAarch64
            + HCR_EL2::TSC::EnableTrapEl1SmcToEl2
            + HCR_EL2::TSW::SET
            + HCR_EL2::TACR::SET
            + irqs,
    );
    VTCR_EL2.write(
        VTCR_EL2::RES1::SET
            + VTCR_EL2::PS.val(ps)
            + VTCR_EL2::TG0::Granule4KB
            + VTCR_EL2::SH0::Inner
            + VTCR_EL2::ORGN0::NormalWBRAWA
            + VTCR_EL2::IRGN0::NormalWBRAWA
            + VTCR_EL2::SL0::Granule4KBLevel1
            + VTCR_EL2::T0SZ.val(64 - IPA_BITS as u64),
    );
    VTTBR_EL2.set(vttbr);
    // Physical timer and counter usable from EL1; no virtual offset.
    CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCEN::SET + CNTHCTL_EL2::EL1PCTEN::SET);
    CNTVOFF_EL2.set(0);
    // The guest sees the real CPU identity.
    let midr = MIDR_EL1.get();
    let mpidr = MPIDR_EL1.get();
    // SAFETY: writes EL2 identity/trap-control registers that only affect
    // what lower ELs observe; no memory is touched.
    unsafe {
        asm!("msr vpidr_el2, {0}", "msr vmpidr_el2, {1}", in(reg) midr, in(reg) mpidr, options(nostack));
    }
    // ACTLR_EL2 0: EL1 gets no write access to the core's IMPLEMENTATION
    // DEFINED controls (Cortex-A72 TRM, ACTLR_EL2: CPUECTLR_EL1.SMPEN,
    // L2CTLR_EL1...), whatever the firmware left (the Pi's armstub opens them).
    ACTLR_EL2.set(0);
    CPTR_EL2.set(regs::CPTR_EL2_NO_TRAPS);
    // SAFETY: PMCR_EL0 is read and MDCR_EL2 written, neither of which the
    // crate has; only what lower ELs may use of the PMU and debug changes.
    unsafe {
        // MDCR_EL2: no debug/PMU traps, all PMU counters to EL1 (HPMN = PMCR.N).
        let pmcr: u64;
        asm!("mrs {0}, pmcr_el0", out(reg) pmcr, options(nostack));
        asm!("msr mdcr_el2, {0}", in(reg) (pmcr >> 11) & 0x1f, options(nostack));
    }
    if has_gic_sysregs() {
        // ICH_HCR_EL2 exists (ID_AA64PFR0_EL1.GIC != 0); zero keeps the
        // virtual CPU interface off (physical IRQs go to EL1).
        ICH_HCR_EL2.set(0);
        // GICv3 system-register interface for EL2, and EL1 may use its own.
        ICC_SRE_EL2.write(ICC_SRE_EL2::ENABLE::SET + ICC_SRE_EL2::SRE::SET);
    }
    // EL1 starts from architectural reset-like state, MMU and caches off,
    // no vectors and no timer armed: after a cell restart nothing of the
    // previous guest may fire into the loader.
    SCTLR_EL1.set(regs::SCTLR_EL1_RESET);
    VBAR_EL1.set(0);
    CNTV_CTL_EL0.set(0);
    CNTP_CTL_EL0.set(0);
    // FP/SIMD usable at EL1 (bare-metal inmates built for aarch64-unknown-none
    // use NEON for memcpy; the loader is softfloat); the boot protocol leaves
    // this to the guest, Linux sets it again.
    CPACR_EL1.write(CPACR_EL1::FPEN::TrapNothing);
    barrier::isb(barrier::SY);
    tlb_flush_guest_local();
}

/// Whether this CPU implements the GICv3 system-register CPU interface
/// (ID_AA64PFR0_EL1.GIC). A GIC-400 board (Raspberry Pi 4) has none: every
/// ICC_*/ICH_* access would be UNDEFINED.
pub fn has_gic_sysregs() -> bool {
    regs::ID_AA64PFR0::GIC.read(ID_AA64PFR0_EL1.get()) != 0
}

pub fn set_gicv2_mode() {
    // GICv2 with a GICv3-capable CPU: EL1 must not see system-register GIC access.
    if has_gic_sysregs() {
        ICC_SRE_EL2.set(0);
        barrier::isb(barrier::SY);
    }
}

/// Drops to EL1h at `entry`, MMU off, DAIF masked, with `x0`, on this CPU's
/// stack (the trap frame of later exits lives there).
pub fn enter_guest(entry: u64, x0: u64) -> ! {
    let cpu = cpu_index();
    // SAFETY: CPU `cpu`'s stack slot is used by this CPU only; the frame is
    // written at its top and the stack pointer moved there by el2_enter_guest.
    unsafe {
        let stacks = &raw mut CPU_STACKS;
        let top = (stacks as *mut u8).add((cpu + 1) * STACK_SIZE);
        let frame = top.sub(GuestFrame::SIZE) as *mut GuestFrame;
        frame.write(GuestFrame::entry(entry, SPSR_EL1H_MASKED, x0));
        el2_enter_guest(frame)
    }
}

pub fn secondary_entry_pa() -> u64 {
    secondary_entry as *const () as u64
}

/// Where a CPU released from the board firmware's spin-table enters the
/// shim (`spin_entry` in boot.s: EL2, MMU off, x0 = 0).
pub fn spin_entry_pa() -> u64 {
    spin_entry as *const () as u64
}

/// Releases a CPU waiting in the boot firmware's spin-table loop: stores
/// `entry` at its release address, cleans and invalidates the line to PoC
/// (the waiting CPU reads with its MMU and caches off) and wakes it with SEV.
///
/// # Safety
/// `addr` must be the 8-byte aligned release address of a CPU that is still
/// in the firmware's loop, in memory no Rust object and no cell can reach.
pub unsafe fn spin_table_release(addr: u64, entry: u64) {
    // SAFETY: the caller guarantees `addr` is the firmware's release word.
    unsafe {
        (addr as *mut u64).write_volatile(entry);
        asm!("dc civac, {0}", in(reg) addr, options(nostack));
    }
    barrier::dsb(barrier::SY);
    aarch64_cpu::asm::sev();
}

/// Restarts this CPU at `secondary_entry` with x0 = `cpu` and a fresh stack
/// (a CPU the shim parked itself, woken for PSCI CPU_ON).
pub fn restart_secondary(cpu: usize) -> ! {
    // SAFETY: secondary_entry takes x0 = CPU index, resets SP to that CPU's
    // stack top and never returns; nothing on the current stack is used again.
    unsafe {
        asm!("br {entry}", entry = in(reg) secondary_entry as *const () as u64, in("x0") cpu as u64, options(noreturn))
    }
}

/// Waits for an interrupt in low power (taken where HCR_EL2 routes it).
pub fn wait_for_interrupt() {
    // SAFETY: a barrier and a wait; no memory is changed.
    unsafe { asm!("dsb sy", "wfi", options(nostack)) };
}

/// Waits for an event (SEV from another CPU) in low power.
pub fn wait_for_event() {
    aarch64_cpu::asm::wfe();
}

/// Wakes every CPU waiting in WFE.
pub fn send_event() {
    aarch64_cpu::asm::sev();
}

/// Calls firmware through SMC (SMCCC: x0 function, x1..x3 args, x0 result).
pub fn smc(fid: u64, a1: u64, a2: u64, a3: u64) -> u64 {
    let r: u64;
    // SAFETY: SMCCC call into firmware; it clobbers at most x0..x17.
    unsafe {
        asm!("smc #0",
            inlateout("x0") fid => r, inlateout("x1") a1 => _, inlateout("x2") a2 => _,
            inlateout("x3") a3 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
            out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
            options(nostack));
    }
    r
}

/// Whether the shim's data accesses are cacheable Normal memory
/// (SCTLR_EL2.M and .C): before that every access is Device-nGnRnE.
pub fn data_cache_on() -> bool {
    SCTLR_EL2.matches_all(SCTLR_EL2::M::Enable + SCTLR_EL2::C::Cacheable)
}

/// The CPU's own ACTLR_EL1, what a cell reading it (trapped) is given.
pub fn actlr_el1() -> u64 {
    ACTLR_EL1.get()
}

/// The faulting virtual address of the current trap (FAR_EL2).
pub fn fault_address() -> u64 {
    FAR_EL2.get()
}

/// Syndrome of the current trap: (ESR_EL2, FAR_EL2, HPFAR_EL2).
pub fn trap_syndrome() -> (u64, u64, u64) {
    (ESR_EL2.get(), FAR_EL2.get(), HPFAR_EL2.get())
}

/// The IPA of the page the guest's own stage-1 translation gives `va` (AT
/// S1E1R), for a data abort whose HPFAR_EL2 is UNKNOWN
/// (`syndrome::DataAbort::decode`); `None` when the guest's tables no
/// longer map it.
pub fn guest_stage1_ipa(va: u64) -> Option<u64> {
    // PAR_EL1 is the guest's register: its value is put back.
    let saved = PAR_EL1.get();
    // SAFETY: an address translation of the guest's own VA in its EL1&0
    // regime; it writes PAR_EL1 only.
    unsafe { asm!("at s1e1r, {va}", "isb", va = in(reg) va, options(nostack)) };
    let par = PAR_EL1.extract();
    PAR_EL1.set(saved);
    if par.is_set(PAR_EL1::F) {
        return None;
    }
    Some(par.read(PAR_EL1::PA) << 12)
}

/// The guest's own EL1 exception state (ESR_EL1, ELR_EL1, FAR_EL1), for
/// reports when a cell crashed through its vectors.
pub fn guest_el1_fault_state() -> (u64, u64, u64) {
    (ESR_EL1.get(), ELR_EL1.get(), FAR_EL1.get())
}

/// Invalidates this VMID's stage-1+2 TLB entries on this CPU.
pub fn tlb_flush_guest_local() {
    // SAFETY: TLB maintenance for the current VMID only.
    unsafe { asm!("dsb ishst", "tlbi vmalls12e1", "dsb ish", "isb", options(nostack)) };
}

/// Invalidates the current VMID's TLB entries on all CPUs (inner shareable).
pub fn tlb_flush_guest_all() {
    // SAFETY: TLB maintenance for the current VMID only.
    unsafe { asm!("dsb ishst", "tlbi vmalls12e1is", "dsb ish", "isb", options(nostack)) };
}

/// Invalidates all stage-1+2 TLB entries of VMID `vttbr` on all CPUs,
/// switching VTTBR temporarily.
pub fn tlb_flush_vm(vttbr: u64) {
    let saved = VTTBR_EL2.get();
    VTTBR_EL2.set(vttbr);
    barrier::isb(barrier::SY);
    tlb_flush_guest_all();
    VTTBR_EL2.set(saved);
    barrier::isb(barrier::SY);
}

/// Cleans and invalidates the data cache lines covering [addr, addr+len)
/// to the point of coherency, in every cache of the shareability domain
/// (`dc civac`), then waits for completion. After it, memory holds the
/// newest data and no cache holds a copy: a CPU reading with its caches
/// off sees what the shim wrote, and the shim's next cached read fetches
/// what such a CPU wrote. The rules for when: docs/caches.md.
/// Not inlined: it has eight callers and one taken address (the vPCI
/// bus's page clean), and the shim binary has a 64 KiB budget.
#[inline(never)]
pub fn dcache_clean_inval(addr: u64, len: u64) {
    let line = 4u64 << (CTR_EL0_dminline());
    let mut a = addr & !(line - 1);
    barrier::dsb(barrier::SY); // the shim's own earlier stores first
    while a < addr.saturating_add(len) {
        // SAFETY: cache maintenance by VA on a range the EL2 map covers
        // (maintenance never changes what memory holds, only where).
        unsafe { asm!("dc civac, {0}", in(reg) a, options(nostack)) };
        a += line;
    }
    barrier::dsb(barrier::SY);
}

/// Invalidates, without cleaning, the data cache lines of [addr, addr+len)
/// to PoC (`dcache_inval_range` in boot.s): for memory whose newest data is
/// in memory (written with the MMU off) and nowhere else. `addr` must be
/// line aligned, or a neighbour's dirty data in a shared line would be lost.
pub fn dcache_inval(addr: u64, len: u64) {
    // SAFETY: the caller's range holds nothing newer in any cache than in
    // memory, so dropping its lines loses no data; the routine touches no
    // memory and clobbers x0, x2, x3 only.
    unsafe {
        asm!("bl dcache_inval_range", inout("x0") addr => _, in("x1") addr.saturating_add(len),
            out("x2") _, out("x3") _, out("x30") _, options(nostack))
    };
}

/// `crate::restage`'s cache operations on the hardware.
pub struct Caches;

impl crate::restage::CacheOps for Caches {
    fn clean_inval(&mut self, pa: u64, len: u64) {
        dcache_clean_inval(pa, len);
    }
    fn icache_inval_all(&mut self) {
        // SAFETY: instruction-cache maintenance and barriers only.
        unsafe { asm!("dsb ish", "ic ialluis", "dsb ish", "isb", options(nostack)) };
    }
}

#[allow(non_snake_case)]
fn CTR_EL0_dminline() -> u64 {
    let ctr: u64;
    // SAFETY: reads a read-only ID register.
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    (ctr >> 16) & 0xf
}

/// Data-cache clean and invalidate by set/way, the operand as a cell gave it.
pub fn dc_cisw(set_way: u64) {
    // SAFETY: maintenance of one line of the local cache hierarchy; clean
    // first, so no memory contents change.
    unsafe { asm!("dc cisw, {0}", "dsb sy", in(reg) set_way, options(nostack)) };
}

pub fn dsb() {
    barrier::dsb(barrier::SY);
}

/// Stops this CPU for good (low-power wait).
pub fn halt() -> ! {
    loop {
        aarch64_cpu::asm::wfe();
    }
}

/// What the guest's EL1 would use to take a synchronous exception:
/// (VBAR_EL1, whether its stage-1 MMU is on, so VBAR is a VA not an IPA).
pub fn guest_el1_vectors() -> (u64, bool) {
    (VBAR_EL1.get(), SCTLR_EL1.is_set(SCTLR_EL1::M))
}

/// Reflects a stage-2 data abort into the guest's EL1 as a synchronous
/// external abort (DFSC 0x10), the way hardware would take it: ESR_EL1,
/// FAR_EL1, ELR_EL1, SPSR_EL1 set from the trapped context, then the return
/// goes to the matching EL1 vector with DAIF masked. Returns the vector
/// address; `None` when the guest ran in AArch32 or at an unexpected mode.
pub fn reflect_data_abort(frame: &mut GuestFrame, va: u64, write: bool) -> Option<u64> {
    let (vbar, _) = guest_el1_vectors();
    // The vector offset of a synchronous exception from that mode.
    let (same_el, offset) = match regs::SPSR_MODE::M.read_as_enum(frame.spsr) {
        Some(regs::SPSR_MODE::M::Value::EL0t) => (false, 0x400u64),
        Some(regs::SPSR_MODE::M::Value::EL1t) => (true, 0x000),
        Some(regs::SPSR_MODE::M::Value::EL1h) => (true, 0x200),
        None => return None,
    };
    ESR_EL1.set(crate::syndrome::external_abort_esr(same_el, write));
    FAR_EL1.set(va);
    ELR_EL1.set(frame.elr);
    SPSR_EL1.set(frame.spsr);
    frame.elr = vbar + offset;
    frame.spsr = SPSR_EL1H_MASKED;
    Some(frame.elr)
}

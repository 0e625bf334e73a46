//! Bare-metal test inmate for the shim's QEMU integration test: runs in the
//! LOADER slot of every cell, talks to the shim through hypercalls, PSCI and
//! trapped MMIO, and prints what it sees (tests/qemu.rs checks the console).
//!
//! Cell 0 exercises the services (console, vPCI ECAM, PSCI CPU_ON/OFF for
//! its own and a foreign CPU, unknown hypercall, GICD reads, ivshmem
//! doorbell) and ends with PSCI SYSTEM_OFF. Cell 1 plays the attacker: bad
//! hypercall arguments, then a read of an address outside its memory, which
//! must stop it without harming cell 0.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod inmate {
    use cellboot_abi::hypercall as hc;
    use cellboot_abi::psci::fid;
    use cellboot_abi::{CellbootInfo, CommRegion, JhCommHeader};
    use cellboot_guest_rt::{console_write, hypercall, rd32, rd64, smc, wr32};
    use core::arch::global_asm;
    use core::mem::offset_of;
    use core::sync::atomic::{AtomicU64, Ordering};

    global_asm!(
        ".section .text.start, \"ax\"",
        ".global _start",
        "_start:",
        "    ldr x1, =__stack_top",
        "    mov sp, x1",
        "    ldr x1, =__bss_start",
        "    ldr x2, =__bss_end",
        "1:  cmp x1, x2",
        "    b.hs 2f",
        "    str xzr, [x1], #8",
        "    b 1b",
        "2:  bl payload_main",
        "3:  wfe",
        "    b 3b",
        ".global secondary_start",
        "secondary_start:",
        "    ldr x1, =__stack2_top",
        "    mov sp, x1",
        "    bl payload_secondary",
        "4:  wfe",
        "    b 4b",
    );

    unsafe extern "C" {
        fn secondary_start();
    }

    static SECONDARY_SAW: AtomicU64 = AtomicU64::new(0);

    fn print(args: core::fmt::Arguments) {
        console_write("payload: ", args);
    }
    macro_rules! say { ($($t:tt)*) => { print(format_args!($($t)*)) } }

    /// ivshmem BAR0 as both cells program it, and a flag word in the link's
    /// R/W section (shared memory at 0x6000_0000, state table first).
    const BAR0: u64 = 0x1000_0000;
    const READY_FLAG: u64 = 0x6000_1000;
    const READY: u32 = 0xc0ff_ee00;
    /// Cell 0's vPCI INTA (irq_base 140 + device 0).
    const DOORBELL_SPI: u64 = 140;

    /// Places BAR0 and enables memory decoding and the device's interrupt.
    fn ivshmem_enable(ecam: u64) {
        // SAFETY: the cell's virtual ECAM and the BAR0 it places there: device memory no Rust object occupies.
        unsafe {
            wr32(ecam + 0x10, BAR0 as u32);
            wr32(ecam + 0x04, 0x2);
            wr32(BAR0 + 0x08, 1);
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn payload_main(comm: u64) -> ! {
        // SAFETY: the cell's comm region (x0 of the loader slot), outside every Rust object of the payload.
        unsafe {
            let info = comm + offset_of!(CommRegion, info) as u64;
            let ci = rd32(info + offset_of!(CellbootInfo, cell_index) as u64);
            let ecam = rd64(comm + offset_of!(JhCommHeader, pci_mmconfig_base) as u64);
            let gicd = rd64(comm + offset_of!(JhCommHeader, gicd_base) as u64);
            let sig = rd32(comm);
            say!(
                "hello from cell {ci}, comm region at {comm:#x} (signature ok: {})",
                sig == u32::from_le_bytes(*b"JHCO")
            );
            if ci == 0 { services(ecam, gicd) } else { attacker(ecam) }
        }
    }

    /// The guest's FP/SIMD registers across traps whose handlers run shim
    /// Rust (a console write, an unknown hypercall, a mediated GICD_CTLR
    /// read and write of the same value; the write path zeroes arrays with
    /// vector stores):
    /// q0..q31 filled with distinct bytes, the traps taken, the registers
    /// stored and compared, all in one asm block so no payload code runs
    /// in between.
    fn fp_simd_kept(gicd: u64) -> bool {
        let msg = b"payload: fp/simd probe\n";
        let mut out = [0u128; 32];
        // SAFETY: the hypercall ABI clobbers x0 only; x9 carries GICD_CTLR
        // (written back unchanged); every vector register is declared clobbered; `out` is a
        // local array of 32 × 16 bytes that x11 points to.
        unsafe {
            core::arch::asm!(
            "movi v0.16b, #1",
            "movi v1.16b, #2",
            "movi v2.16b, #3",
            "movi v3.16b, #4",
            "movi v4.16b, #5",
            "movi v5.16b, #6",
            "movi v6.16b, #7",
            "movi v7.16b, #8",
            "movi v8.16b, #9",
            "movi v9.16b, #10",
            "movi v10.16b, #11",
            "movi v11.16b, #12",
            "movi v12.16b, #13",
            "movi v13.16b, #14",
            "movi v14.16b, #15",
            "movi v15.16b, #16",
            "movi v16.16b, #17",
            "movi v17.16b, #18",
            "movi v18.16b, #19",
            "movi v19.16b, #20",
            "movi v20.16b, #21",
            "movi v21.16b, #22",
            "movi v22.16b, #23",
            "movi v23.16b, #24",
            "movi v24.16b, #25",
            "movi v25.16b, #26",
            "movi v26.16b, #27",
            "movi v27.16b, #28",
            "movi v28.16b, #29",
            "movi v29.16b, #30",
            "movi v30.16b, #31",
            "movi v31.16b, #32",
            "hvc #{imm}",
            "mov x0, #0x999",
            "hvc #{imm}",
            "ldr w9, [x10]",
            "str w9, [x10]",
            "stp q0, q1, [x11, #0]",
            "stp q2, q3, [x11, #32]",
            "stp q4, q5, [x11, #64]",
            "stp q6, q7, [x11, #96]",
            "stp q8, q9, [x11, #128]",
            "stp q10, q11, [x11, #160]",
            "stp q12, q13, [x11, #192]",
            "stp q14, q15, [x11, #224]",
            "stp q16, q17, [x11, #256]",
            "stp q18, q19, [x11, #288]",
            "stp q20, q21, [x11, #320]",
            "stp q22, q23, [x11, #352]",
            "stp q24, q25, [x11, #384]",
            "stp q26, q27, [x11, #416]",
            "stp q28, q29, [x11, #448]",
            "stp q30, q31, [x11, #480]",
            imm = const hc::HVC_IMM,
            inout("x0") hc::DEBUG_CONSOLE_WRITE => _, in("x1") msg.as_ptr(), in("x2") msg.len(),
            in("x10") gicd, in("x11") out.as_mut_ptr(), out("x9") _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _, out("v6") _, out("v7") _, out("v8") _, out("v9") _, out("v10") _, out("v11") _, out("v12") _, out("v13") _, out("v14") _, out("v15") _, out("v16") _, out("v17") _, out("v18") _, out("v19") _, out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _, out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            options(nostack),
            );
        }
        out.iter()
            .enumerate()
            .all(|(i, v)| *v == u128::from_ne_bytes([i as u8 + 1; 16]))
    }

    fn services(ecam: u64, gicd: u64) -> ! {
        // SAFETY: the cell's virtual ECAM, ivshmem BAR0 and link memory, and the GIC
        // distributor: device or shared memory no Rust object occupies; the
        // ACTLR_EL1 accesses trap to the shim.
        unsafe {
            say!("vpci 00:00.0 id {:#010x} class {:#010x}", rd32(ecam), rd32(ecam + 8));
            ivshmem_enable(ecam);
            say!("ivshmem BAR0 id {} max_peers {}", rd32(BAR0), rd32(BAR0 + 4));
            wr32(READY_FLAG, READY);
            say!("vpci 00:05.0 id {:#010x}", rd32(ecam + (5 << 15)));
            say!("psci version {:#x}", smc(fid::VERSION, 0, 0, 0));
            say!(
                "cpu_on foreign cpu 2 -> {}",
                smc(fid::CPU_ON_64, 2, secondary_start as *const () as u64, 0)
            );
            let r = smc(fid::CPU_ON_64, 1, secondary_start as *const () as u64, 0x1234);
            say!("cpu_on own cpu 1 -> {r}");
            let mut spins = 0u64;
            while SECONDARY_SAW.load(Ordering::SeqCst) == 0 && spins < 50_000_000 {
                spins += 1;
            }
            while smc(fid::AFFINITY_INFO_64, 1, 0, 0) != 1 && spins < 100_000_000 {
                spins += 1;
            }
            say!(
                "secondary reported x0={:#x}, now off",
                SECONDARY_SAW.load(Ordering::SeqCst)
            );
            say!("unknown hypercall -> {}", hypercall(0x999, 0, 0));
            say!("cell_get_state -> {}", hypercall(hc::CELL_GET_STATE, 0, 0));
            // HCR_EL2.TAC: the write traps and is ignored (the shim logs it).
            let actlr: u64;
            // ACTLR_EL1 accesses trap to the shim; no memory is touched.
            core::arch::asm!("msr actlr_el1, {v}", "mrs {r}, actlr_el1", v = in(reg) 0x2u64, r = out(reg) actlr, options(nostack));
            say!("actlr_el1 after writing 0x2: {actlr:#x}");
            say!("gicd typer {:#x} ctlr {:#x}", rd32(gicd + 4), rd32(gicd));
            say!("fp/simd registers kept across traps: {}", fp_simd_kept(gicd));
            let ispendr = gicd + 0x200 + 4 * (DOORBELL_SPI / 32);
            let bit = 1u32 << (DOORBELL_SPI % 32);
            let mut spins = 0u64;
            while rd32(ispendr) & bit == 0 && spins < 20_000_000 {
                spins += 1;
            }
            if rd32(ispendr) & bit != 0 {
                say!("ivshmem doorbell: SPI {DOORBELL_SPI} pending");
                wr32(gicd + 0x280 + 4 * (DOORBELL_SPI / 32), bit);
            } else {
                say!("ivshmem doorbell: SPI {DOORBELL_SPI} never became pending");
            }
            say!("done, SYSTEM_OFF");
            smc(fid::SYSTEM_OFF, 0, 0, 0);
            say!("BUG: SYSTEM_OFF returned");
            loop {
                core::hint::spin_loop()
            }
        }
    }

    #[unsafe(no_mangle)]
    extern "C" fn payload_secondary(ctx: u64) -> ! {
        say!("secondary cpu up, x0={ctx:#x}");
        SECONDARY_SAW.store(ctx, Ordering::SeqCst);
        smc(fid::CPU_OFF, 0, 0, 0);
        say!("BUG: CPU_OFF returned");
        loop {
            core::hint::spin_loop()
        }
    }

    fn attacker(ecam: u64) -> ! {
        // SAFETY: the link memory and ivshmem BAR0 (no Rust object there), and on purpose the shim's
        // image, which the shim denies by stopping this cell.
        unsafe {
            let mut spins = 0u64;
            while rd32(READY_FLAG) != READY && spins < 50_000_000 {
                spins += 1;
            }
            ivshmem_enable(ecam);
            wr32(BAR0 + 0x0c, 0); // DOORBELL: peer 0, vector 0
            say!(
                "rang the doorbell of peer 0 (ready flag seen: {})",
                rd32(READY_FLAG) == READY
            );
            say!(
                "console write from a foreign IPA -> {}",
                hypercall(hc::DEBUG_CONSOLE_WRITE, 0x4020_0000, 16)
            );
            say!("cpu_on foreign cpu 0 -> {}", smc(fid::CPU_ON_64, 0, 0x4800_0000, 0));
            say!("reading the hypervisor at 0x40200000");
            let v = rd64(0x4020_0000);
            say!("BUG: read hypervisor memory: {v:#x}");
            loop {
                core::hint::spin_loop()
            }
        }
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        hypercall(hc::CELL_FAILED, 0, 0);
        loop {
            core::hint::spin_loop()
        }
    }
}

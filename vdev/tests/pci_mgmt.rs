//! The management function (`cellboot_abi::mgmt`): only a granted cell's
//! bus has it; its config space, its BAR0 registers and its mailbox, with
//! every refusal the config decides (grants, the target's memory, the
//! staging window's size). Hostile offsets and sizes never panic.

use cellboot_abi::mgmt::{self, CellInfo, CellStats, cmd, load_flags, mailbox, reg, status};
use cellboot_abi::zerocopy::FromBytes;
use cellboot_abi::{IvshmemLink, MemRegion, SystemConfig, mem};
use cellboot_vdev::pci::{EcamImage, MgmtWrite, Reply, Request, VirtualPciBus, info_from_config};
use proptest::prelude::*;

const WINDOW_IPA: u64 = 0x6400_0000;
const WINDOW_PA: u64 = 0x2400_0000;
const WINDOW: u64 = 0x80_0000;
const RTOS_IPA: u64 = 0x6100_0000;
const RTOS_PA: u64 = 0x2100_0000;
const SHMEM: u64 = 0x6000_0000;
const BAR: u64 = 0x1000_1000;
const MGMT_CFG: u64 = (mgmt::PCI_DEVICE as u64) << 15;

fn region(phys: u64, virt: u64, size: u64, flags: u64) -> MemRegion {
    MemRegion {
        phys,
        virt,
        size,
        flags,
    }
}

/// linux (0) manages rtos (1); other (2) is neither managed nor a manager.
fn system() -> SystemConfig {
    let mut s = SystemConfig::empty();
    s.num_cells = 3;
    let rw = mem::READ | mem::WRITE;
    for (i, name) in ["linux", "rtos", "other"].iter().enumerate() {
        let c = &mut s.cells[i];
        c.name[..name.len()].copy_from_slice(name.as_bytes());
        c.cpu_mask = 1 << i;
        c.vpci.ecam_size = 1 << 20;
        c.vpci.mmio_base = 0x1000_0000;
        c.vpci.mmio_size = 0x1_0000;
        c.vpci.irq_base = 140 + 4 * i as u32;
        c.comm_region_ipa = 0x7fff_0000;
        c.mem[0] = region(SHMEM, SHMEM, 0x10_0000, rw | mem::SHARED);
        c.num_mem = 1;
    }
    let l = &mut s.cells[0];
    l.manage = 1 << 1;
    l.mem[1] = region(0x0800_0000, 0x0800_0000, 0x1800_0000, rw | mem::RAM | mem::EXECUTE);
    l.mem[2] = region(WINDOW_PA, WINDOW_IPA, WINDOW, rw | mem::STAGING);
    l.num_mem = 3;
    let r = &mut s.cells[1];
    r.boot.kind = cellboot_abi::boot_kind::RAW;
    r.mem[1] = region(RTOS_PA, RTOS_IPA, 0x100_0000, rw | mem::RAM | mem::EXECUTE);
    r.mem[2] = region(0xfe20_1000, 0xfe20_1000, 0x1000, rw | mem::IO);
    r.num_mem = 3;
    s.cells[2].mem[1] = region(0x2200_0000, 0x6200_0000, 0x100_0000, rw | mem::RAM);
    s.cells[2].num_mem = 2;
    s.num_links = 1;
    s.links[0] = IvshmemLink {
        shmem_phys: SHMEM,
        state_size: 0x1000,
        rw_size: 0x1_0000,
        out_size: 0x1_0000,
        peers: [0, 1],
        device: 0,
        protocol: 0,
    };
    s
}

fn noclean(_: u64, _: u64) {}

/// Cell `ci`'s bus with its image attached, and the management BAR0 placed
/// at [`BAR`] with memory decoding on (when the function is there).
fn bus(s: &SystemConfig, ci: usize) -> VirtualPciBus {
    let mut b = VirtualPciBus::build_from_config(ci, s);
    b.attach_image(Box::leak(Box::new(EcamImage::new())), noclean);
    b.ecam_write(MGMT_CFG | 0x10, 4, BAR);
    b.ecam_write(MGMT_CFG | 0x04, 2, 0x2);
    b
}

fn r32(b: &VirtualPciBus, off: u64) -> u64 {
    b.mgmt_read(BAR + off, 4).expect("BAR0 decodes")
}

fn w(b: &mut VirtualPciBus, s: &SystemConfig, off: u64, size: u8, v: u64) -> MgmtWrite {
    b.mgmt_write(BAR + off, size, v, s).expect("BAR0 decodes")
}

fn command(b: &mut VirtualPciBus, s: &SystemConfig, code: u32, cell: u32) -> MgmtWrite {
    w(b, s, reg::ARG_CELL, 4, cell.into());
    w(b, s, reg::COMMAND, 4, code.into())
}

fn result(b: &VirtualPciBus) -> Vec<u8> {
    (0..mgmt::RESULT_LEN as u64)
        .step_by(8)
        .flat_map(|o| b.mgmt_read(BAR + reg::RESULT + o, 8).unwrap().to_le_bytes())
        .collect()
}

#[test]
fn only_the_granted_cell_sees_the_function() {
    let s = system();
    let mut b = bus(&s, 0);
    let id = b.ecam_read(MGMT_CFG, 4);
    assert_eq!(id, u64::from(mgmt::DEVICE_ID) << 16 | u64::from(mgmt::VENDOR_ID));
    assert_eq!(
        b.image_load(MGMT_CFG, 4),
        Some(id),
        "the mapped config page shows it too"
    );
    assert_eq!(b.ecam_read(MGMT_CFG | 0x08, 4) >> 8, u64::from(mgmt::CLASS_CODE));
    assert_eq!(b.ecam_read(MGMT_CFG | 0x3d, 1), 0, "no interrupt pin");
    assert_eq!(b.ecam_read(MGMT_CFG | 0x40, 1), 0x09, "vendor capability");
    assert_eq!(b.ecam_read(MGMT_CFG | 0x48, 4), WINDOW_IPA & 0xffff_ffff);
    assert_eq!(b.ecam_read(MGMT_CFG | 0x50, 4), WINDOW);
    assert_eq!(
        b.devices().collect::<Vec<_>>(),
        [0],
        "ivshmem devices only: the loader's interrupt-map"
    );
    for ci in [1, 2] {
        let mut b = bus(&s, ci);
        assert_eq!(b.ecam_read(MGMT_CFG, 4), 0xffff_ffff, "cell {ci}");
        assert_eq!(b.image_load(MGMT_CFG, 4), Some(0xffff_ffff), "cell {ci}");
        assert_eq!(b.mgmt_read(BAR, 4), None, "cell {ci}");
        assert!(b.mgmt_params().is_none());
    }
}

#[test]
fn bar0_decodes_only_when_enabled_and_placed_where_it_may() {
    let s = system();
    let mut b = VirtualPciBus::build_from_config(0, &s);
    b.ecam_write(MGMT_CFG | 0x10, 4, BAR);
    assert_eq!(b.mgmt_read(BAR, 4), None, "memory decoding off");
    b.ecam_write(MGMT_CFG | 0x04, 2, 0x2);
    assert_eq!(b.mgmt_read(BAR, 4), Some(mgmt::MAGIC.into()));
    // Over the cell's own RAM: programmed, but it does not decode.
    b.ecam_write(MGMT_CFG | 0x10, 4, 0x0800_0000);
    assert_eq!(b.mgmt_read(0x0800_0000, 4), None);
    assert_eq!(b.ecam_read(MGMT_CFG | 0x10, 4), 0x0800_0000);
}

#[test]
fn identity_registers() {
    let s = system();
    let b = bus(&s, 0);
    assert_eq!(r32(&b, reg::MAGIC), mgmt::MAGIC.into());
    assert_eq!(r32(&b, reg::VERSION), mgmt::VERSION.into());
    assert_eq!(r32(&b, reg::NUM_CELLS), 3);
    assert_eq!(r32(&b, reg::SELF), 0);
    assert_eq!(r32(&b, reg::GRANTS), 0b10);
    assert_eq!(b.mgmt_read(BAR + reg::WINDOW_IPA, 8), Some(WINDOW_IPA));
    assert_eq!(r32(&b, reg::WINDOW_IPA + 4), WINDOW_IPA >> 32);
    assert_eq!(b.mgmt_read(BAR + reg::WINDOW_SIZE, 8), Some(WINDOW));
    assert_eq!(r32(&b, reg::MAILBOX), mailbox::IDLE.into());
}

#[test]
fn a_command_runs_through_the_mailbox() {
    let s = system();
    let mut b = bus(&s, 0);
    assert_eq!(
        command(&mut b, &s, cmd::INFO, 1),
        MgmtWrite::Run(Request::Info { cell: 1 })
    );
    assert_eq!(r32(&b, reg::MAILBOX), mailbox::BUSY.into());
    // Another CPU of the manager meanwhile: refused, the first stays BUSY.
    assert_eq!(
        command(&mut b, &s, cmd::STOP, 1),
        MgmtWrite::Refused {
            command: cmd::STOP,
            cell: 1,
            status: status::BUSY
        }
    );
    assert_eq!(r32(&b, reg::MAILBOX), mailbox::BUSY.into());
    let mut info = info_from_config(&s, 1, 0).unwrap();
    assert_eq!(info.flags, mgmt::info_flags::MANAGED);
    assert_eq!(
        (info.ram_bytes, info.ram_ipa, info.cpu_mask),
        (0x100_0000, RTOS_IPA, 0b10)
    );
    info.restarts = 7;
    b.mgmt_complete(status::OK, Reply::Info(info));
    assert_eq!(r32(&b, reg::MAILBOX), mailbox::DONE.into());
    assert_eq!(r32(&b, reg::STATUS), status::OK.into());
    assert_eq!(
        r32(&b, reg::SEQ),
        1,
        "only the INFO completed: a BUSY refusal leaves the mailbox to it"
    );
    let got = CellInfo::read_from_prefix(&result(&b)).unwrap().0;
    assert_eq!(got, info);
    assert_eq!(cellboot_abi::str_field(&got.name), "rtos");
    // A byte read of the result area sees the same bytes.
    assert_eq!(b.mgmt_read(BAR + reg::RESULT, 1), Some(u64::from(b'r')));

    assert_eq!(
        command(&mut b, &s, cmd::STATS, 1),
        MgmtWrite::Run(Request::Stats { cell: 1 })
    );
    let mut st = CellStats::default();
    st.exits[mgmt::exit::DOORBELL_SENT] = 41;
    b.mgmt_complete(status::OK, Reply::Stats(st));
    assert_eq!(CellStats::read_from_prefix(&result(&b)).unwrap().0, st);
}

fn refused(b: &mut VirtualPciBus, s: &SystemConfig, code: u32, cell: u32) -> u32 {
    match command(b, s, code, cell) {
        MgmtWrite::Refused { status, command, .. } => {
            assert_eq!(command, code);
            assert_eq!(r32(b, reg::STATUS), status.into(), "STATUS shows it");
            assert_eq!(r32(b, reg::MAILBOX), mailbox::DONE.into());
            status
        }
        other => panic!("command {code} on cell {cell}: {other:?}"),
    }
}

#[test]
fn grants_decide_who_may_do_what() {
    let s = system();
    let mut b = bus(&s, 0);
    assert_eq!(refused(&mut b, &s, 99, 1), status::UNKNOWN_COMMAND);
    assert_eq!(refused(&mut b, &s, cmd::INFO, 3), status::NO_SUCH_CELL);
    assert_eq!(refused(&mut b, &s, cmd::INFO, u32::MAX), status::NO_SUCH_CELL);
    assert_eq!(refused(&mut b, &s, cmd::STOP, 0), status::SELF);
    assert_eq!(refused(&mut b, &s, cmd::STOP, 2), status::NOT_GRANTED);
    assert_eq!(refused(&mut b, &s, cmd::START, 2), status::NOT_GRANTED);
    assert_eq!(refused(&mut b, &s, cmd::STATS, 2), status::NOT_GRANTED);
    // INFO of any cell (listing), STATS of itself.
    assert_eq!(
        command(&mut b, &s, cmd::INFO, 2),
        MgmtWrite::Run(Request::Info { cell: 2 })
    );
    b.mgmt_complete(status::OK, Reply::None);
    assert_eq!(
        command(&mut b, &s, cmd::STATS, 0),
        MgmtWrite::Run(Request::Stats { cell: 0 })
    );
    b.mgmt_complete(status::OK, Reply::None);
    for (code, want) in [
        (cmd::STOP, Request::Stop { cell: 1 }),
        (cmd::START, Request::Start { cell: 1 }),
        (cmd::RESTART, Request::Restart { cell: 1 }),
        (cmd::UNLOAD, Request::Unload { cell: 1 }),
    ] {
        assert_eq!(command(&mut b, &s, code, 1), MgmtWrite::Run(want));
        b.mgmt_complete(status::OK, Reply::None);
    }
}

fn load(b: &mut VirtualPciBus, s: &SystemConfig, ipa: u64, size: u64) -> MgmtWrite {
    w(b, s, reg::ARG_IPA, 4, ipa & 0xffff_ffff);
    w(b, s, reg::ARG_IPA + 4, 4, ipa >> 32);
    w(b, s, reg::ARG_SIZE, 8, size);
    w(b, s, reg::ARG_FLAGS, 4, load_flags::FIRST.into());
    command(b, s, cmd::LOAD, 1)
}

#[test]
fn a_load_is_checked_against_the_targets_memory_and_the_window() {
    let s = system();
    let mut b = bus(&s, 0);
    let at = RTOS_IPA + 0x20_0000;
    assert_eq!(
        load(&mut b, &s, at, 0x1_0000),
        MgmtWrite::Run(Request::Load {
            cell: 1,
            ipa: at,
            pa: RTOS_PA + 0x20_0000,
            window_pa: WINDOW_PA,
            size: 0x1_0000,
            first: true,
        })
    );
    b.mgmt_complete(status::OK, Reply::None);
    let st = |w| match w {
        MgmtWrite::Refused { status, .. } => status,
        other => panic!("{other:?}"),
    };
    assert_eq!(st(load(&mut b, &s, at, 0)), status::EMPTY);
    assert_eq!(st(load(&mut b, &s, RTOS_IPA, WINDOW + 1)), status::TOO_LARGE);
    // The last byte one past the region; the target's shared and device
    // memory; the shim's (an IPA the target does not have); the manager's
    // own RAM; overflowing ranges.
    assert_eq!(
        st(load(&mut b, &s, RTOS_IPA + 0x100_0000 - 0xfff, 0x1000)),
        status::OUTSIDE_RAM
    );
    assert_eq!(st(load(&mut b, &s, SHMEM, 0x1000)), status::OUTSIDE_RAM);
    assert_eq!(st(load(&mut b, &s, 0xfe20_1000, 0x1000)), status::OUTSIDE_RAM);
    assert_eq!(st(load(&mut b, &s, 0x0, 0x1000)), status::OUTSIDE_RAM);
    assert_eq!(st(load(&mut b, &s, 0x0800_0000, 0x1000)), status::OUTSIDE_RAM);
    assert_eq!(st(load(&mut b, &s, u64::MAX - 0xfff, 0x1000)), status::OUTSIDE_RAM);
    // Only the ARG_IPA halves and whole 64-bit accesses write it.
    assert_eq!(
        w(&mut b, &s, reg::ARG_IPA + 2, 2, 0xffff),
        MgmtWrite::Ignored {
            reason: "mgmt: no register takes this access (offset/size)"
        }
    );
    assert_eq!(b.mgmt_read(BAR + reg::ARG_IPA, 8), Some(u64::MAX - 0xfff));
}

#[test]
fn a_reset_of_the_manager_empties_the_mailbox() {
    let s = system();
    let mut b = bus(&s, 0);
    assert!(matches!(command(&mut b, &s, cmd::INFO, 1), MgmtWrite::Run(_)));
    b.reset();
    assert_eq!(
        b.mgmt_read(BAR, 4),
        None,
        "BAR0 unassigned and decoding off after reset"
    );
    b.ecam_write(MGMT_CFG | 0x10, 4, BAR);
    b.ecam_write(MGMT_CFG | 0x04, 2, 0x2);
    assert_eq!(r32(&b, reg::MAILBOX), mailbox::IDLE.into());
    assert!(matches!(command(&mut b, &s, cmd::INFO, 1), MgmtWrite::Run(_)));
}

#[test]
fn a_link_on_device_31_keeps_the_function_off_the_bus() {
    let mut s = system();
    s.links[0].device = u32::from(mgmt::PCI_DEVICE);
    let mut b = bus(&s, 0);
    assert!(b.mgmt_params().is_none());
    assert_eq!(b.ecam_read(MGMT_CFG, 2), 0x110a, "the ivshmem device is there instead");
}

proptest! {
    #[test]
    fn any_access_is_answered_without_panic(off in 0u64..0x1000, size in 0u8..=9, value: u64, cell in 0u32..6) {
        let s = system();
        let mut b = bus(&s, 0);
        let _ = b.mgmt_read(BAR + off, size);
        w(&mut b, &s, reg::ARG_CELL, 4, cell.into());
        let r = b.mgmt_write(BAR + off, size, value, &s);
        prop_assert!(r.is_some());
        if let Some(MgmtWrite::Run(req)) = r {
            prop_assert_eq!(req.cell(), cell);
            prop_assert!(cell < 3);
        }
    }
}

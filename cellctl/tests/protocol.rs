//! cellctl against the shim's own model of the management function
//! (cellboot-vdev), with a small stand-in for what the shim carries out
//! (cell states, copies from the window): every command, the output
//! formats and the exit codes, refusals included.

use cellboot_abi::mgmt::{self, CellStats, exit, info_flags, status};
use cellboot_abi::{MemRegion, SystemConfig, boot_kind, cell_state, mem};
use cellboot_vdev::pci::{EcamImage, MgmtWrite, Reply, Request, VirtualPciBus, info_from_config};
use cellctl::args::Cli;
use cellctl::client::Device;
use cellctl::error::Error;
use cellctl::regs::{Regs, Window};
use clap::Parser;
use std::cell::RefCell;
use std::rc::Rc;

const BAR: u64 = 0x1000_1000;
const WINDOW: u64 = 0x1_0000;
const RTOS_IPA: u64 = 0x6100_0000;

fn system() -> SystemConfig {
    let mut s = SystemConfig::empty();
    s.num_cells = 3;
    let rw = mem::READ | mem::WRITE;
    for (i, name) in ["linux", "rtos", "spare"].iter().enumerate() {
        let c = &mut s.cells[i];
        c.name[..name.len()].copy_from_slice(name.as_bytes());
        c.cpu_mask = 1 << (i + 1) | if i == 0 { 1 } else { 0 };
        c.vpci.ecam_size = 1 << 20;
        c.vpci.mmio_base = 0x1000_0000;
        c.vpci.mmio_size = 0x1_0000;
        c.boot.kind = if i == 0 { boot_kind::LINUX } else { boot_kind::RAW };
        c.mem[0] = MemRegion {
            phys: 0x4000_0000 + 0x100_0000 * i as u64,
            virt: if i == 1 { RTOS_IPA } else { 0x4000_0000 },
            size: 0x100_0000,
            flags: rw | mem::RAM,
        };
        c.num_mem = 1;
    }
    s.cells[0].manage = 1 << 1;
    s.cells[0].mem[1] = MemRegion {
        phys: 0x6400_0000,
        virt: 0x6400_0000,
        size: WINDOW,
        flags: rw | mem::STAGING,
    };
    s.cells[0].num_mem = 2;
    s
}

/// What the shim does with the model's requests, in miniature.
struct Shim {
    sys: SystemConfig,
    bus: VirtualPciBus,
    state: [u32; 3],
    restarts: [u32; 3],
    window: Rc<RefCell<Vec<u8>>>,
    /// (cell, ipa, bytes) of every load carried out.
    loads: Vec<(u32, u64, Vec<u8>)>,
    log: Vec<String>,
}

impl Shim {
    fn new() -> Rc<RefCell<Self>> {
        let sys = system();
        let mut bus = VirtualPciBus::build_from_config(0, &sys);
        bus.attach_image(Box::leak(Box::new(EcamImage::new())), |_, _| {});
        let dev = u64::from(mgmt::PCI_DEVICE) << 15;
        bus.ecam_write(dev | 0x10, 4, BAR);
        bus.ecam_write(dev | 0x04, 2, 2);
        Rc::new(RefCell::new(Self {
            sys,
            bus,
            state: [cell_state::RUNNING; 3],
            restarts: [0; 3],
            window: Rc::new(RefCell::new(vec![0; WINDOW as usize])),
            loads: Vec::new(),
            log: Vec::new(),
        }))
    }

    fn carry_out(&mut self, r: Request) -> (u32, Reply) {
        let i = r.cell() as usize;
        let running = self.state[i] == cell_state::RUNNING;
        match r {
            Request::Info { .. } => {
                let mut info = info_from_config(&self.sys, i, 0).unwrap();
                info.state = self.state[i];
                info.restarts = self.restarts[i];
                if self.loads.iter().any(|l| l.0 as usize == i) {
                    info.flags |= info_flags::LOADED;
                    info.loaded_bytes = self.loads.iter().map(|l| l.2.len() as u64).sum();
                }
                (status::OK, Reply::Info(info))
            }
            Request::Stats { .. } => {
                let mut s = CellStats {
                    index: i as u32,
                    restarts: self.restarts[i],
                    ..CellStats::default()
                };
                // Each start makes one more console line.
                s.exits[exit::HYPERCALL] = 12 + u64::from(self.restarts[i]);
                (status::OK, Reply::Stats(s))
            }
            Request::Stop { .. } if !running => (status::NOT_RUNNING, Reply::None),
            Request::Start { .. } | Request::Load { .. } if running => (status::RUNNING, Reply::None),
            Request::Stop { .. } => {
                self.state[i] = cell_state::SHUT_DOWN;
                (status::OK, Reply::None)
            }
            Request::Start { .. } | Request::Restart { .. } => {
                self.state[i] = cell_state::RUNNING;
                self.restarts[i] += 1;
                (status::OK, Reply::None)
            }
            Request::Load { ipa, size, first, .. } => {
                if first {
                    self.loads.retain(|l| l.0 as usize != i);
                }
                let data = self.window.borrow()[..size as usize].to_vec();
                self.loads.push((i as u32, ipa, data));
                (status::OK, Reply::None)
            }
            Request::Unload { .. } => {
                self.loads.retain(|l| l.0 as usize != i);
                (status::OK, Reply::None)
            }
        }
    }
}

struct ShimRegs(Rc<RefCell<Shim>>);

impl Regs for ShimRegs {
    fn read32(&mut self, off: u64) -> u32 {
        self.0.borrow().bus.mgmt_read(BAR + off, 4).expect("BAR0 decodes") as u32
    }
    fn read64(&mut self, off: u64) -> u64 {
        self.0.borrow().bus.mgmt_read(BAR + off, 8).expect("BAR0 decodes")
    }
    fn write32(&mut self, off: u64, value: u32) {
        self.write(off, 4, value.into())
    }
    fn write64(&mut self, off: u64, value: u64) {
        self.write(off, 8, value)
    }
}

impl ShimRegs {
    fn write(&mut self, off: u64, size: u8, value: u64) {
        let mut shim = self.0.borrow_mut();
        let sys = shim.sys;
        match shim.bus.mgmt_write(BAR + off, size, value, &sys).expect("BAR0 decodes") {
            MgmtWrite::Run(r) => {
                let (st, reply) = shim.carry_out(r);
                shim.bus.mgmt_complete(st, reply);
            }
            MgmtWrite::Refused { command, cell, status } => shim.log.push(format!(
                "refused {} on {cell}: {}",
                mgmt::cmd::name(command),
                status::message(status)
            )),
            MgmtWrite::Done => {}
            MgmtWrite::Ignored { reason } => panic!("cellctl made an access the registers do not take: {reason}"),
        }
    }
}

struct ShimWindow(Rc<RefCell<Vec<u8>>>);

impl Window for ShimWindow {
    fn size(&self) -> u64 {
        self.0.borrow().len() as u64
    }
    fn fill(&mut self, data: &[u8]) {
        self.0.borrow_mut()[..data.len()].copy_from_slice(data);
    }
}

fn cellctl(shim: &Rc<RefCell<Shim>>, args: &[&str]) -> Result<String, Error> {
    let cli = Cli::try_parse_from(std::iter::once("cellctl").chain(args.iter().copied())).unwrap();
    let mut dev = Device::open(ShimRegs(shim.clone()))?;
    let window = shim.borrow().window.clone();
    let mut out = String::new();
    cellctl::run::run(
        &cli,
        &mut dev,
        &mut |_| Ok(Box::new(ShimWindow(window.clone())) as Box<dyn Window>),
        &mut out,
    )?;
    Ok(out)
}

#[test]
fn list_and_stats() {
    let shim = Shim::new();
    let out = cellctl(&shim, &["list"]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].contains("linux") && lines[1].contains("this cell") && lines[1].contains("0-1"),
        "{out}"
    );
    assert!(
        lines[2].contains("rtos") && lines[2].contains("managed") && lines[2].contains("16 MiB"),
        "{out}"
    );
    assert!(lines[3].contains("spare") && !lines[3].contains("managed"), "{out}");
    let j = cellctl(&shim, &["list", "--json"]).unwrap();
    assert_eq!(j.matches("\"name\":").count(), 3, "{j}");
    let s = cellctl(&shim, &["stats", "rtos"]).unwrap();
    assert!(
        s.lines().any(|l| l.starts_with("hypercalls") && l.ends_with(" 12")),
        "{s}"
    );
    let s = cellctl(&shim, &["stats", "1", "--json"]).unwrap();
    assert!(s.contains("\"hypercall\":12"), "{s}");
}

#[test]
fn stop_load_start_in_order() {
    let shim = Shim::new();
    let img = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(img.path(), b"rtos-demo v2 image bytes").unwrap();
    let path = img.path().to_str().unwrap();
    // Into a running cell: refused, exit code 1, and the log has it.
    let e = cellctl(&shim, &["load", "rtos", path]).unwrap_err();
    assert_eq!(
        e,
        Error::Refused {
            what: format!("load of 24 bytes at {:#x} into rtos", RTOS_IPA + 0x20_0000),
            status: status::RUNNING
        }
    );
    assert_eq!(e.exit_code(), std::process::ExitCode::from(1));
    assert_eq!(cellctl(&shim, &["stop", "rtos"]).unwrap(), "rtos: stopped\n");
    assert!(cellctl(&shim, &["list"]).unwrap().contains("stopped"));
    let out = cellctl(&shim, &["load", "rtos", path, "--start"]).unwrap();
    assert!(out.contains("loaded") && out.ends_with("rtos: started\n"), "{out}");
    let s = shim.borrow();
    assert_eq!(
        s.loads,
        [(1, RTOS_IPA + 0x20_0000, b"rtos-demo v2 image bytes".to_vec())]
    );
    assert_eq!((s.state[1], s.restarts[1]), (cell_state::RUNNING, 1));
}

#[test]
fn refusals_say_why() {
    let shim = Shim::new();
    let e = cellctl(&shim, &["stop", "spare"]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                status: status::NOT_GRANTED,
                ..
            }
        ),
        "{e}"
    );
    let e = cellctl(&shim, &["restart", "linux"]).unwrap_err();
    assert!(e.to_string().contains("cannot manage itself"), "{e}");
    let e = cellctl(&shim, &["stop", "nobody"]).unwrap_err();
    assert!(matches!(&e, Error::Usage(m) if m.contains("linux, rtos, spare")), "{e}");
    cellctl(&shim, &["stop", "rtos"]).unwrap();
    let e = cellctl(&shim, &["stop", "rtos"]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                status: status::NOT_RUNNING,
                ..
            }
        ),
        "{e}"
    );
    // Larger than the window: not copied, asked for anyway, refused.
    let big = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(big.path(), vec![7u8; WINDOW as usize + 1]).unwrap();
    let e = cellctl(&shim, &["load", "rtos", big.path().to_str().unwrap()]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                status: status::TOO_LARGE,
                ..
            }
        ),
        "{e}"
    );
    assert!(shim.borrow().window.borrow().iter().all(|&b| b == 0), "nothing copied");
    let small = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(small.path(), [1u8; 64]).unwrap();
    let e = cellctl(
        &shim,
        &["load", "rtos", small.path().to_str().unwrap(), "--ipa", "0x4000_0000"],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                status: status::OUTSIDE_RAM,
                ..
            }
        ),
        "{e}"
    );
    let log = &shim.borrow().log;
    assert!(
        log.iter().any(|l| l.contains("STOP on 2") && l.contains("not granted")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("LOAD on 1") && l.contains("larger than the staging window")),
        "{log:?}"
    );
}

#[test]
fn restart_waits_for_the_first_console_line_and_time_is_reported() {
    let shim = Shim::new();
    let out = cellctl(&shim, &["restart", "rtos", "--wait", "--time"]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("rtos: restarted, first console line after "),
        "{out}"
    );
    assert!(lines[1].starts_with("time_us="), "{out}");
    assert_eq!(shim.borrow().restarts[1], 1);
}

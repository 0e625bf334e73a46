//! The mailbox protocol (`cellboot_abi::mgmt`) over any [`Regs`]: one
//! command at a time; arguments, the command word, then status and result.

use crate::error::Error;
use crate::regs::{Regs, Window};
use cellboot_abi::mgmt::{self, CellInfo, CellStats, cmd, load_flags, mailbox, reg, status};
use cellboot_abi::str_field;
use cellboot_abi::zerocopy::FromBytes;

/// The function, checked to speak this protocol.
pub struct Device<R: Regs> {
    regs: R,
    pub num_cells: u32,
    pub self_index: u32,
    pub window_ipa: u64,
    pub window_size: u64,
}

impl<R: Regs> Device<R> {
    /// Checks MAGIC and VERSION, reads the identity registers.
    pub fn open(mut regs: R) -> Result<Self, Error> {
        let magic = regs.read32(reg::MAGIC);
        if magic != mgmt::MAGIC {
            return Err(Error::Io(format!(
                "BAR0 MAGIC reads {magic:#010x}, not {:#010x} (\"CBMG\"): not a cellboot management function",
                mgmt::MAGIC
            )));
        }
        let version = regs.read32(reg::VERSION);
        if version != mgmt::VERSION {
            return Err(Error::Io(format!(
                "protocol version {version}, this cellctl speaks {}",
                mgmt::VERSION
            )));
        }
        Ok(Self {
            num_cells: regs.read32(reg::NUM_CELLS),
            self_index: regs.read32(reg::SELF),
            window_ipa: regs.read64(reg::WINDOW_IPA),
            window_size: regs.read64(reg::WINDOW_SIZE),
            regs,
        })
    }

    /// Runs `code` on `cell`; `Refused` with the device's status.
    fn run(&mut self, code: u32, cell: u32, what: impl FnOnce() -> String) -> Result<(), Error> {
        let seq = self.regs.read32(reg::SEQ);
        self.regs.write32(reg::ARG_CELL, cell);
        self.regs.write32(reg::COMMAND, code);
        let (state, st, after) = (
            self.regs.read32(reg::MAILBOX),
            self.regs.read32(reg::STATUS),
            self.regs.read32(reg::SEQ),
        );
        if st == status::BUSY {
            return Err(Error::Refused {
                what: what(),
                status: st,
            });
        }
        if state != mailbox::DONE || after != seq.wrapping_add(1) {
            return Err(Error::Io(format!(
                "{}: the mailbox did not complete it (state {state}, sequence {seq} -> {after}): another manager at work?",
                what()
            )));
        }
        if st != status::OK {
            return Err(Error::Refused {
                what: what(),
                status: st,
            });
        }
        Ok(())
    }

    fn result<T: FromBytes>(&mut self) -> T {
        let mut buf = [0u8; mgmt::RESULT_LEN];
        for (k, chunk) in buf.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.regs.read64(reg::RESULT + 8 * k as u64).to_le_bytes());
        }
        match T::read_from_prefix(&buf) {
            Ok((t, _)) => t,
            Err(_) => unreachable!("records are checked to fit RESULT_LEN (abi)"),
        }
    }

    pub fn info(&mut self, cell: u32) -> Result<CellInfo, Error> {
        self.run(cmd::INFO, cell, || format!("info of cell {cell}"))?;
        Ok(self.result())
    }

    /// Every cell's INFO, in index order.
    pub fn list(&mut self) -> Result<Vec<CellInfo>, Error> {
        (0..self.num_cells).map(|i| self.info(i)).collect()
    }

    /// The index of the cell called `name` (or written as its index).
    pub fn resolve(&mut self, name: &str) -> Result<CellInfo, Error> {
        let cells = self.list()?;
        if let Some(c) = cells.iter().find(|c| str_field(&c.name) == name) {
            return Ok(*c);
        }
        if let Some(c) = name.parse::<u32>().ok().and_then(|i| cells.get(i as usize)) {
            return Ok(*c);
        }
        let names: Vec<&str> = cells.iter().map(|c| str_field(&c.name)).collect();
        Err(Error::Usage(format!(
            "no cell is called {name:?} (cells: {})",
            names.join(", ")
        )))
    }

    pub fn stats(&mut self, cell: &CellInfo) -> Result<CellStats, Error> {
        self.run(cmd::STATS, cell.index, || format!("stats of {}", str_field(&cell.name)))?;
        Ok(self.result())
    }

    /// STOP, START, RESTART or UNLOAD.
    pub fn control(&mut self, code: u32, cell: &CellInfo) -> Result<(), Error> {
        let name = str_field(&cell.name).to_string();
        self.run(code, cell.index, || {
            format!("{} {name}", cmd::name(code).to_lowercase())
        })
    }

    /// Writes `image` into the window and has the shim copy it to `ipa` in
    /// `cell`. An image larger than the window is not copied, but still
    /// asked for: the device refuses it (and the shim logs the attempt).
    pub fn load(
        &mut self,
        window: &mut dyn Window,
        cell: &CellInfo,
        image: &[u8],
        ipa: u64,
        first: bool,
    ) -> Result<(), Error> {
        let size = image.len() as u64;
        if size <= window.size() {
            window.fill(image);
        }
        self.regs.write64(reg::ARG_IPA, ipa);
        self.regs.write64(reg::ARG_SIZE, size);
        self.regs
            .write32(reg::ARG_FLAGS, if first { load_flags::FIRST } else { 0 });
        let name = str_field(&cell.name).to_string();
        self.run(cmd::LOAD, cell.index, || {
            format!("load of {size} bytes at {ipa:#x} into {name}")
        })
    }
}

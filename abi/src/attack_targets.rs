//! What the hostile-guest suite's attacker cell aims at: `attack.<key>=N`
//! words in its bootargs (the system file's `[cells.boot] bootargs`, the
//! cell's `/chosen/bootargs`). The attacker inmate (no_std, no heap) attacks
//! these addresses and xtask derives the shim log lines it expects from them;
//! both parse them here, so a board file cannot mean one thing to the one
//! and another to the other.
//!
//! Numbers are decimal or `0x` hex ([`parse_u64`]). Words without the
//! `attack.` prefix belong to someone else and are skipped; an `attack.` key
//! that is unknown, repeated or not a number is an error, since a typo would
//! otherwise drop an attempt without anyone noticing.

use crate::parse_u64;
use core::fmt;

/// Keys with a value every board needs.
const REQUIRED: [&str; 8] = [
    "attack.linux_ram",
    "attack.rtos_ram",
    "attack.shim",
    "attack.shmem",
    "attack.linux_irq",
    "attack.rtos_irq",
    "attack.linux_cpu",
    "attack.rtos_cpu",
];
/// Only on boards that start CPUs through a spin table.
const RELEASE: &str = "attack.release";

/// The attacker's targets, addresses as the cell sees them (IPAs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    /// RAM of the Linux cell.
    pub linux_ram: u64,
    /// RAM of the rtos-demo cell.
    pub rtos_ram: u64,
    /// An address inside the shim's own memory.
    pub shim: u64,
    /// The Linux<->rtos shared memory (a link the attacker is not in).
    pub shmem: u64,
    /// A spin-table release word (boards that start CPUs that way).
    pub release: Option<u64>,
    /// Linux's UART interrupt (INTID).
    pub linux_irq: u32,
    /// The rtos cell's ivshmem doorbell interrupt (INTID).
    pub rtos_irq: u32,
    /// MPIDR affinity of a CPU of the Linux cell.
    pub linux_cpu: u64,
    /// MPIDR affinity of the rtos cell's CPU.
    pub rtos_cpu: u64,
}

/// Why bootargs give no [`Targets`]; `'a` borrows from the bootargs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetsError<'a> {
    /// A required key is absent.
    Missing(&'static str),
    /// `key=value` where value is not a decimal or 0x-hex number that fits.
    BadValue { key: &'a str, value: &'a str },
    /// The same key twice: which one was meant?
    Repeated(&'a str),
    /// An `attack.` key this parser does not know (a typo?).
    UnknownKey(&'a str),
}

impl fmt::Display for TargetsError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TargetsError::Missing(k) => write!(f, "bootargs lack {k}=<address or number>"),
            TargetsError::BadValue { key, value } => {
                write!(
                    f,
                    "{key}={value:?} is not a decimal or 0x-hex number of the key's width"
                )
            }
            TargetsError::Repeated(k) => write!(f, "{k}= is given more than once"),
            TargetsError::UnknownKey(k) => {
                write!(f, "unknown key {k}= (known: {}, {RELEASE})", Keys)
            }
        }
    }
}

/// The known keys, comma-separated, for the error message.
struct Keys;
impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in REQUIRED.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k)?;
        }
        Ok(())
    }
}

impl Targets {
    /// The targets named in `args` (whitespace-separated words).
    pub fn parse(args: &str) -> Result<Targets, TargetsError<'_>> {
        // Each key's number and the text it came from (for a width error).
        let mut vals: [Option<(u64, &str)>; REQUIRED.len()] = [None; REQUIRED.len()];
        let mut release = None;
        for word in args.split_ascii_whitespace().filter(|w| w.starts_with("attack.")) {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let slot = match REQUIRED.iter().position(|&k| k == key) {
                Some(i) => &mut vals[i],
                None if key == RELEASE => &mut release,
                None => return Err(TargetsError::UnknownKey(key)),
            };
            if slot.is_some() {
                return Err(TargetsError::Repeated(key));
            }
            let n = parse_u64(value).ok_or(TargetsError::BadValue { key, value })?;
            *slot = Some((n, value));
        }
        let get = |i: usize| vals[i].map(|(n, _)| n).ok_or(TargetsError::Missing(REQUIRED[i]));
        let irq = |i: usize| {
            let (n, value) = vals[i].ok_or(TargetsError::Missing(REQUIRED[i]))?;
            u32::try_from(n).map_err(|_| TargetsError::BadValue {
                key: REQUIRED[i],
                value,
            })
        };
        Ok(Targets {
            linux_ram: get(0)?,
            rtos_ram: get(1)?,
            shim: get(2)?,
            shmem: get(3)?,
            release: release.map(|(n, _)| n),
            linux_irq: irq(4)?,
            rtos_irq: irq(5)?,
            linux_cpu: get(6)?,
            rtos_cpu: get(7)?,
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    const VIRT: &str = "attack.linux_ram=0x48000000 attack.rtos_ram=0x61000000 attack.shim=0x40200000 \
        attack.shmem=0x60001000 attack.linux_irq=33 attack.rtos_irq=144 attack.linux_cpu=0 attack.rtos_cpu=2";

    #[test]
    fn every_key_is_read() {
        let t = Targets::parse(VIRT).unwrap();
        assert_eq!(
            t,
            Targets {
                linux_ram: 0x4800_0000,
                rtos_ram: 0x6100_0000,
                shim: 0x4020_0000,
                shmem: 0x6000_1000,
                release: None,
                linux_irq: 33,
                rtos_irq: 144,
                linux_cpu: 0,
                rtos_cpu: 2,
            }
        );
        let pi = format!("console=ttyAMA0  attack.release=0xd8\t{VIRT} quiet");
        assert_eq!(Targets::parse(&pi).unwrap().release, Some(0xd8));
    }

    /// VIRT without `key`'s word, plus `extra` words.
    fn without(key: &str, extra: &str) -> String {
        let prefix = format!("{key}=");
        let mut words: Vec<&str> = VIRT.split(' ').filter(|w| !w.starts_with(&prefix)).collect();
        words.extend(extra.split(' ').filter(|w| !w.is_empty()));
        words.join(" ")
    }

    #[test]
    fn each_missing_key_is_named() {
        for key in REQUIRED {
            let args = without(key, "");
            let e = Targets::parse(&args).unwrap_err();
            assert_eq!(e, TargetsError::Missing(key));
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn each_bad_value_is_named() {
        for key in REQUIRED.into_iter().chain([RELEASE]) {
            for bad in ["", "0x", "zz", "0xfg", "-1", "+1", "1_000", "18446744073709551616"] {
                let args = without(key, &format!("{key}={bad}"));
                let e = Targets::parse(&args).unwrap_err();
                assert_eq!(e, TargetsError::BadValue { key, value: bad }, "{args}");
                let msg = e.to_string();
                assert!(msg.contains(&format!("{key}=\"{bad}\"")), "{msg}");
            }
        }
    }

    #[test]
    fn a_key_without_value_is_bad() {
        let args = format!("{VIRT} attack.release");
        let e = Targets::parse(&args).unwrap_err();
        assert_eq!(
            e,
            TargetsError::BadValue {
                key: "attack.release",
                value: ""
            }
        );
    }

    #[test]
    fn irq_wider_than_32_bits_is_bad() {
        let args = VIRT.replace("attack.linux_irq=33", "attack.linux_irq=0x100000000");
        let e = Targets::parse(&args).unwrap_err();
        assert_eq!(
            e,
            TargetsError::BadValue {
                key: "attack.linux_irq",
                value: "0x100000000"
            }
        );
        let args = VIRT.replace("attack.rtos_irq=144", "attack.rtos_irq=4294967295");
        assert_eq!(Targets::parse(&args).unwrap().rtos_irq, u32::MAX);
    }

    #[test]
    fn repeated_and_unknown_keys_are_refused() {
        let args = format!("{VIRT} attack.shim=0x1");
        let e = Targets::parse(&args).unwrap_err();
        assert_eq!(e, TargetsError::Repeated("attack.shim"));
        let args = format!("{VIRT} attack.relase=0xd8");
        let e = Targets::parse(&args).unwrap_err();
        assert_eq!(e, TargetsError::UnknownKey("attack.relase"));
        assert!(
            e.to_string().contains("attack.relase") && e.to_string().contains("attack.release"),
            "{e}"
        );
        // A longer key is another key, not this one with a suffix.
        let args = format!("{VIRT} attack.shimx=1");
        let e = Targets::parse(&args).unwrap_err();
        assert_eq!(e, TargetsError::UnknownKey("attack.shimx"));
        // Words that are not ours are none of our business.
        assert!(Targets::parse(&format!("{VIRT} xattack.shim=1 attack=1 root=/dev/vda")).is_ok());
    }
}

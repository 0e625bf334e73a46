//! Human tables and JSON documents.

use cellboot_abi::mgmt::{CellInfo, CellStats, exit, info_flags, reason};
use cellboot_abi::{boot_kind, cell_state, str_field};
use std::fmt::Write;

pub fn state_name(state: u32) -> String {
    match state {
        cell_state::RUNNING => "running".into(),
        cell_state::RUNNING_LOCKED => "running (locked)".into(),
        cell_state::SHUT_DOWN => "stopped".into(),
        cell_state::FAILED => "failed".into(),
        s => format!("state {s}"),
    }
}

/// The state with its reason when there is one: "failed (fatal fault)".
pub fn state_text(c: &CellInfo) -> String {
    let r = reason::name(c.reason);
    if c.state == cell_state::RUNNING || r.is_empty() {
        state_name(c.state)
    } else {
        format!("{} ({r})", state_name(c.state))
    }
}

pub fn kind_name(kind: u32) -> String {
    match kind {
        boot_kind::LINUX => "linux".into(),
        boot_kind::RAW => "raw".into(),
        boot_kind::JAILHOUSE => "jailhouse".into(),
        k => format!("kind {k}"),
    }
}

/// "0-1", "2", "0,2-3".
pub fn cpu_list(mask: u64) -> String {
    let mut out = String::new();
    let mut cpu = 0u32;
    while cpu < 64 {
        if mask >> cpu & 1 == 0 {
            cpu += 1;
            continue;
        }
        let first = cpu;
        while cpu < 64 && mask >> cpu & 1 == 1 {
            cpu += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        match cpu - 1 - first {
            0 => write!(out, "{first}"),
            _ => write!(out, "{first}-{}", cpu - 1),
        }
        .expect("writing to a String");
    }
    if out.is_empty() { "-".into() } else { out }
}

pub fn bytes_text(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    match n {
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= 1024 && n % 1024 == 0 => format!("{} KiB", n / 1024),
        n => format!("{n} B"),
    }
}

fn role(c: &CellInfo) -> &'static str {
    if c.flags & info_flags::SELF != 0 {
        "this cell"
    } else if c.flags & info_flags::MANAGED != 0 {
        "managed"
    } else {
        "-"
    }
}

/// `cellctl list`.
pub fn list_table(cells: &[CellInfo]) -> String {
    let rows: Vec<[String; 8]> = cells
        .iter()
        .map(|c| {
            let loaded = if c.flags & info_flags::LOADED != 0 {
                format!(", {} loaded", bytes_text(c.loaded_bytes))
            } else {
                String::new()
            };
            [
                c.index.to_string(),
                str_field(&c.name).to_string(),
                state_text(c),
                cpu_list(c.cpu_mask),
                bytes_text(c.ram_bytes),
                kind_name(c.boot_kind),
                c.restarts.to_string(),
                format!("{}{loaded}", role(c)),
            ]
        })
        .collect();
    table(["#", "CELL", "STATE", "CPUS", "RAM", "BOOT", "RESTARTS", "ROLE"], &rows)
}

/// `cellctl stats CELL`.
pub fn stats_table(c: &CellInfo, s: &CellStats) -> String {
    let mut out = format!(
        "cell {} (#{}): {}, {} restart(s), up {}\n",
        str_field(&c.name),
        c.index,
        state_text(c),
        s.restarts,
        uptime_text(s)
    );
    let rows: Vec<[String; 2]> = exit::NAMES
        .iter()
        .zip(s.exits)
        .map(|(n, v)| [label(n).to_string(), v.to_string()])
        .collect();
    out.push_str(&table(["COUNTER", "COUNT"], &rows));
    out
}

fn label(name: &str) -> &str {
    match name {
        "mmio" => "vPCI (ECAM, BAR0)",
        "gicd" => "GIC distributor",
        "psci" => "PSCI calls",
        "hypercall" => "hypercalls",
        "denied" => "denied accesses",
        "doorbells_sent" => "doorbells sent",
        "doorbells_received" => "doorbells received",
        "other" => "other traps",
        n => n,
    }
}

fn uptime_text(s: &CellStats) -> String {
    match s.uptime_ticks.checked_mul(1000).and_then(|t| t.checked_div(s.timer_hz)) {
        Some(ms) => format!("{}.{:03} s", ms / 1000, ms % 1000),
        None => "? s".into(),
    }
}

fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let mut width = head.map(str::len);
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            write!(l, "{c:<w$}  ", w = width[i]).expect("writing to a String");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut head.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::from('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).expect("writing to a String"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn cell_json(c: &CellInfo) -> String {
    let cpus: Vec<String> = (0..64)
        .filter(|i| c.cpu_mask >> i & 1 == 1)
        .map(|i: u32| i.to_string())
        .collect();
    format!(
        "{{\"index\":{},\"name\":{},\"state\":{},\"reason\":{},\"cpus\":[{}],\"ram_bytes\":{},\"boot_kind\":{},\"restarts\":{},\"managed\":{},\"self\":{},\"loaded_bytes\":{}}}",
        c.index,
        json_str(str_field(&c.name)),
        json_str(&state_name(c.state)),
        json_str(reason::name(c.reason)),
        cpus.join(","),
        c.ram_bytes,
        json_str(&kind_name(c.boot_kind)),
        c.restarts,
        c.flags & info_flags::MANAGED != 0,
        c.flags & info_flags::SELF != 0,
        c.loaded_bytes
    )
}

/// `cellctl list --json`: the cells, and this manager's staging window.
pub fn list_json(cells: &[CellInfo], window_ipa: u64, window_bytes: u64) -> String {
    let v: Vec<String> = cells.iter().map(cell_json).collect();
    format!(
        "{{\"cells\":[{}],\"window_ipa\":{window_ipa},\"window_bytes\":{window_bytes}}}",
        v.join(",")
    )
}

pub fn stats_json(c: &CellInfo, s: &CellStats) -> String {
    let exits: Vec<String> = exit::NAMES
        .iter()
        .zip(s.exits)
        .map(|(n, v)| format!("{}:{v}", json_str(n)))
        .collect();
    format!(
        "{{\"cell\":{},\"restarts\":{},\"uptime_ticks\":{},\"timer_hz\":{},\"exits\":{{{}}}}}",
        cell_json(c),
        s.restarts,
        s.uptime_ticks,
        s.timer_hz,
        exits.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cellboot_abi::zerocopy::FromZeros;

    fn cell(name: &str, state: u32) -> CellInfo {
        let mut c = CellInfo::new_zeroed();
        c.name[..name.len()].copy_from_slice(name.as_bytes());
        c.state = state;
        c
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(0b11), "0-1");
        assert_eq!(cpu_list(0b100), "2");
        assert_eq!(cpu_list(0b1101), "0,2-3");
        assert_eq!(cpu_list(1 << 63), "63");
        assert_eq!(cpu_list(0), "-");
    }

    #[test]
    fn list_table_columns_line_up() {
        let mut a = cell("linux", cell_state::RUNNING);
        a.cpu_mask = 0b11;
        a.ram_bytes = 384 << 20;
        a.boot_kind = boot_kind::LINUX;
        a.flags = info_flags::SELF;
        let mut b = cell("rtos", cell_state::FAILED);
        b.index = 1;
        b.reason = reason::FAULT;
        b.cpu_mask = 0b100;
        b.ram_bytes = 16 << 20;
        b.boot_kind = boot_kind::RAW;
        b.restarts = 2;
        b.flags = info_flags::MANAGED | info_flags::LOADED;
        b.loaded_bytes = 40 << 10;
        let t = list_table(&[a, b]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].contains("linux") && lines[1].contains("384 MiB") && lines[1].contains("this cell"));
        assert!(
            lines[2].contains("failed (fatal fault)") && lines[2].contains("managed, 40 KiB loaded"),
            "{t}"
        );
        let col = |l: &str| l.find("CPUS").or_else(|| l.find("0-1")).or_else(|| l.find('2'));
        assert_eq!(col(lines[0]), lines[1].find("0-1"), "{t}");
        assert_eq!(lines[0].find("CPUS"), lines[2].find(" 2 ").map(|i| i + 1), "{t}");
    }

    #[test]
    fn stats_table_and_json() {
        let mut c = cell("rtos", cell_state::RUNNING);
        c.index = 1;
        let mut s = CellStats::default();
        s.exits[exit::DOORBELL_RECEIVED] = 20;
        s.uptime_ticks = 62_500_000 * 3 / 2;
        s.timer_hz = 62_500_000;
        let t = stats_table(&c, &s);
        assert!(
            t.starts_with("cell rtos (#1): running, 0 restart(s), up 1.500 s"),
            "{t}"
        );
        assert!(
            t.lines()
                .any(|l| l.starts_with("doorbells received") && l.ends_with("20")),
            "{t}"
        );
        let j = stats_json(&c, &s);
        assert!(
            j.contains("\"doorbells_received\":20") && j.contains("\"name\":\"rtos\""),
            "{j}"
        );
        assert!(j.contains("\"state\":\"running\""), "{j}");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        let l = list_json(&[cell("x", cell_state::SHUT_DOWN)], 0x6400_0000, 8 << 20);
        assert_eq!(l.matches("\"state\":\"stopped\"").count(), 1, "{l}");
        assert!(
            l.starts_with("{\"cells\":[{") && l.ends_with("],\"window_ipa\":1677721600,\"window_bytes\":8388608}"),
            "{l}"
        );
    }
}

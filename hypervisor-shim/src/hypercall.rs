//! cellboot / Jailhouse-style hypercalls (`hvc #0x4a48`, x0 = code, x1..x2
//! arguments, result in x0).

use crate::arch::GuestFrame;
use crate::cell;
use crate::console;
use crate::guest_mem::{self, GuestRange};
use crate::state::{self, cell_rt, name};
use cellboot_abi::cell_state;
use cellboot_abi::hypercall as hc;

/// Longest DEBUG_CONSOLE_WRITE accepted in one call.
pub const MAX_WRITE: u64 = 4096;

pub fn handle(frame: &mut GuestFrame, ci: usize) {
    let code = frame.x[0];
    let r: i64 = match code {
        hc::DEBUG_CONSOLE_PUTC => {
            putc(ci, frame.x[1] as u8);
            0
        }
        hc::DEBUG_CONSOLE_WRITE => write(ci, frame.x[1], frame.x[2]),
        hc::CELL_GET_STATE => {
            if frame.x[1] as usize == ci {
                cell_rt(ci).lock().state() as i64
            } else {
                cell_info!(name(ci), "CELL_GET_STATE of cell {:#x}, not itself: E_PERM", frame.x[1]);
                hc::E_PERM
            }
        }
        hc::CELL_FAILED => {
            failed(ci);
            cell::stop(ci, cell_state::FAILED, cellboot_abi::mgmt::reason::LOADER);
            cell::park_this_cpu()
        }
        _ => {
            cell_info!(name(ci), "unknown hypercall {:#x}: E_NOSYS", code);
            hc::E_NOSYS
        }
    };
    frame.x[0] = r as u64;
}

fn putc(ci: usize, b: u8) {
    // Jailhouse's inmate library sends "\r\n"; the line ends at the '\n'.
    if b == b'\r' {
        return;
    }
    cell_rt(ci)
        .lock()
        .put_console_byte(b, |line| console::cell_line(name(ci), line));
}

/// Prints [ipa, ipa+len) of the cell's RAM, one console line per text line.
/// Out of line: its copy buffer is on the stack only for this call, not in
/// every trap's frame.
fn write(ci: usize, ipa: u64, len: u64) -> i64 {
    let c = &state::cfg().cells()[ci];
    if len > MAX_WRITE {
        cell_info!(
            name(ci),
            "DEBUG_CONSOLE_WRITE of {} bytes (max {}): E_INVAL",
            len,
            MAX_WRITE
        );
        return hc::E_INVAL;
    }
    let Some(range) = GuestRange::of_cell(c, ipa, len) else {
        cell_info!(
            name(ci),
            "DEBUG_CONSOLE_WRITE from IPA {:#x}+{:#x}, not the cell's RAM: E_INVAL",
            ipa,
            len
        );
        return hc::E_INVAL;
    };
    // The text may sit dirty in a cache (cell caches on) or only in memory
    // (caches off); EL2 reads it non-cacheable: push it to memory first.
    crate::arch::dcache_clean_inval(range.pa(), len);
    // Read byte by byte as it is printed (no copy of up to 4 KiB on the
    // EL2 stack): the guest may change the buffer meanwhile, which only
    // changes what is printed. The text ends at a NUL or the length; one
    // final newline ends the last line.
    let mut end = (0..len).find(|&i| range.byte(i) == 0).unwrap_or(len);
    if end > 0 && range.byte(end - 1) == b'\n' {
        end -= 1;
    }
    let mut start = 0;
    loop {
        let stop = (start..end).find(|&i| range.byte(i) == b'\n').unwrap_or(end);
        console::with(|u| {
            u.puts(b"[");
            u.puts(name(ci));
            u.puts(b"] ");
            for i in start..stop {
                u.put_sanitized(&[range.byte(i)]);
            }
            u.puts(b"\n");
        });
        if stop >= end {
            return 0;
        }
        start = stop + 1;
    }
}

/// Prints the loader's error report from the comm region.
fn failed(ci: usize) {
    let msg = guest_mem::comm_loader_error(ci);
    console::with(|u| {
        u.puts(b"[shim] cell ");
        u.puts(name(ci));
        u.puts(b": loader failed: ");
        for b in (0..msg.len()).map(|k| msg.byte(k)).take_while(|&b| b != 0) {
            u.put_sanitized(&[b]);
        }
        u.puts(b"\n");
    });
}

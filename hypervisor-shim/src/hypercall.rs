//! cellboot / Jailhouse-style hypercalls (`hvc #0x4a48`, x0 = code, x1..x2
//! arguments, result in x0).

use crate::arch::GuestFrame;
use crate::cell;
use crate::console;
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
                cell::rt(ci).lock().state as i64
            } else {
                info!(
                    "cell {}: CELL_GET_STATE of cell {:#x}, not itself: E_PERM",
                    cell::name(ci),
                    frame.x[1]
                );
                hc::E_PERM
            }
        }
        hc::CELL_FAILED => {
            failed(ci);
            cell::stop(ci, cell_state::FAILED);
            cell::park_this_cpu()
        }
        _ => {
            info!("cell {}: unknown hypercall {:#x}: E_NOSYS", cell::name(ci), code);
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
    let mut rt = cell::rt(ci).lock();
    if b == b'\n' || rt.line_len == rt.line.len() {
        let n = rt.line_len;
        console::cell_line(cell::name(ci), &rt.line[..n]);
        rt.line_len = 0;
        if b == b'\n' {
            return;
        }
    }
    let n = rt.line_len;
    rt.line[n] = b;
    rt.line_len += 1;
}

/// Prints [ipa, ipa+len) of the cell's RAM, one console line per text line.
fn write(ci: usize, ipa: u64, len: u64) -> i64 {
    let c = &cell::cfg().cells()[ci];
    if len > MAX_WRITE {
        info!(
            "cell {}: DEBUG_CONSOLE_WRITE of {len} bytes (max {MAX_WRITE}): E_INVAL",
            cell::name(ci)
        );
        return hc::E_INVAL;
    }
    let Some(pa) = cell::ipa_to_pa(c, ipa, len, false) else {
        info!(
            "cell {}: DEBUG_CONSOLE_WRITE from IPA {ipa:#x}+{len:#x}, not the cell's RAM: E_INVAL",
            cell::name(ci)
        );
        return hc::E_INVAL;
    };
    // The text may sit dirty in a cache (cell caches on) or only in memory
    // (caches off); EL2 reads it non-cacheable: push it to memory first.
    crate::arch::dcache_clean_inval(pa, len);
    // SAFETY: [pa, pa+len) is readable RAM of this cell (checked above); the
    // guest may change it concurrently, so it is only read as plain bytes.
    let text = unsafe { core::slice::from_raw_parts(pa as *const u8, len as usize) };
    let text = match text.iter().position(|&b| b == 0) {
        Some(n) => &text[..n],
        None => text,
    };
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    for line in text.split(|&b| b == b'\n') {
        console::cell_line(cell::name(ci), line);
    }
    0
}

/// Prints the loader's error report from the comm region.
fn failed(ci: usize) {
    cell::comm_refresh(ci);
    let info = &cell::comm_region(ci).info;
    let msg = &info.error;
    let n = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
    console::with(|u| {
        use core::fmt::Write;
        let _ = write!(u, "[shim] cell {}: loader failed: ", cell::name(ci));
        u.put_sanitized(&msg[..n]);
        let _ = u.write_str("\n");
    });
}

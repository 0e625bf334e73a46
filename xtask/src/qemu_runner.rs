//! Runs QEMU with the console piped: tees it to build/logs/<case>.log,
//! matches expected markers in order under a deadline, fails early on a
//! failure marker or on QEMU exiting, and always stops QEMU at the end
//! (raspi4b never exits on poweroff).

use crate::{cmd, paths};
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Case {
    pub name: String,
    pub qemu: Command,
    /// Substrings that must appear on the console, in this order.
    pub expect: Vec<String>,
    /// Any of these on the console fails the case at once.
    pub fail_on: Vec<String>,
    pub timeout: Duration,
}

pub struct Outcome {
    pub name: String,
    pub passed: bool,
    /// QEMU start to the last expected marker.
    pub elapsed: Duration,
    /// CPU time QEMU's threads had used by then (Linux /proc; `None`
    /// elsewhere): unlike `elapsed`, barely moved by other load on the host.
    pub cpu: Option<Duration>,
    pub detail: String,
    pub log: std::path::PathBuf,
    /// Failed only for want of a marker (timeout, or QEMU exited first);
    /// never after a failure marker showed.
    pub missed_marker: bool,
}

enum Event {
    Output(Vec<u8>),
    Closed,
}

pub fn run(mut case: Case) -> Result<Outcome> {
    std::fs::create_dir_all(paths::logs())?;
    let log_path = paths::logs().join(format!("{}.log", case.name));
    let mut log = std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let line = cmd::describe(&case.qemu);
    writeln!(log, "$ {line}")?;
    eprintln!("    [{}] $ {line}", case.name);
    let start = Instant::now();
    let mut child = case
        .qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{line}`"))?;
    let (tx, rx) = mpsc::channel();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|mut r| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = r.read(&mut buf) {
                if tx.send(Event::Output(buf[..n].to_vec())).is_err() {
                    break;
                }
            }
            let _ = tx.send(Event::Closed);
        })
    })
    .collect();
    drop(tx);

    let deadline = start + case.timeout;
    let mut text = String::new();
    let mut pos = 0; // where the next expected marker may start
    let mut next = 0; // index of the next expected marker
    let mut closed = 0;
    let mut elapsed = Duration::ZERO;
    let mut cpu = None;
    let mut missed_marker = false;
    let result: Result<(), String> = loop {
        if next == case.expect.len() {
            break Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Event::Output(bytes)) => {
                log.write_all(&bytes)?;
                text.push_str(&String::from_utf8_lossy(&bytes));
                while next < case.expect.len() {
                    match text[pos..].find(&case.expect[next]) {
                        Some(i) => {
                            pos += i + case.expect[next].len();
                            next += 1;
                            elapsed = start.elapsed();
                            cpu = cpu_time(child.id());
                        }
                        None => break,
                    }
                }
                // Once every marker is in, what follows the last one (a
                // cell's normal shutdown line, say) is not the case's business.
                let judged = if next == case.expect.len() {
                    &text[..pos]
                } else {
                    &text[..]
                };
                if let Some(bad) = case.fail_on.iter().find(|f| judged.contains(f.as_str())) {
                    break Err(format!("console shows {bad:?}"));
                }
            }
            Ok(Event::Closed) => {
                closed += 1;
                if closed == 2 {
                    missed_marker = true;
                    break Err(format!("QEMU exited before {:?}", case.expect[next]));
                }
            }
            Err(_) => {
                missed_marker = true;
                break Err(format!(
                    "timed out after {:?} waiting for {:?}",
                    case.timeout, case.expect[next]
                ));
            }
        }
    };
    // Give a guest that powers off a moment to do so, then stop QEMU either way.
    let stop_by = Instant::now() + Duration::from_secs(3);
    while Instant::now() < stop_by && matches!(child.try_wait(), Ok(None)) && result.is_ok() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let status = child.wait()?;
    // Keep what QEMU printed last; don't wait on pipes a stray child may hold.
    let drain_by = Instant::now() + Duration::from_millis(500);
    while closed < 2 {
        match rx.recv_timeout(drain_by.saturating_duration_since(Instant::now())) {
            Ok(Event::Output(b)) => log.write_all(&b)?,
            Ok(Event::Closed) => closed += 1,
            Err(_) => break,
        }
    }
    drop(readers);
    writeln!(log, "\n[xtask: QEMU {status}]")?;
    let (passed, detail) = match result {
        Ok(()) => (
            true,
            format!("all {} markers in {:.2}s", case.expect.len(), elapsed.as_secs_f64()),
        ),
        Err(why) => (false, why),
    };
    Ok(Outcome {
        name: case.name,
        passed,
        elapsed,
        cpu,
        detail,
        log: log_path,
        missed_marker,
    })
}

/// Sum of the on-CPU time of every thread of process `pid`
/// (/proc/<pid>/task/*/schedstat, first field in ns).
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

/// The last `n` lines of a log, for failure reports.
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(name: &str, script: &str, expect: &[&str], fail_on: &[&str], timeout_ms: u64) -> Outcome {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        run(Case {
            name: format!("selftest-{name}"),
            qemu: c,
            expect: expect.iter().map(|s| s.to_string()).collect(),
            fail_on: fail_on.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
        })
        .unwrap()
    }

    #[test]
    fn markers_in_order_pass() {
        let o = sh("order", "echo a; echo b; printf c", &["a", "b", "c"], &[], 5000);
        assert!(o.passed, "{}", o.detail);
    }

    #[test]
    fn markers_out_of_order_fail_when_the_program_exits() {
        let o = sh("disorder", "echo b; echo a", &["a", "b"], &[], 5000);
        assert!(!o.passed);
        assert!(o.detail.contains("exited before \"b\""), "{}", o.detail);
    }

    #[test]
    fn only_a_missing_marker_is_marked_missed() {
        assert!(sh("missed-exit", "echo one", &["one", "two"], &[], 5000).missed_marker);
        assert!(sh("missed-timeout", "echo one; sleep 5", &["one", "two"], &[], 300).missed_marker);
        let bad = sh("missed-not", "echo FAIL; sleep 5", &["one"], &["FAIL"], 5000);
        assert!(!bad.passed && !bad.missed_marker);
        assert!(!sh("missed-pass", "echo one", &["one"], &[], 5000).missed_marker);
    }

    #[test]
    fn failure_marker_fails_at_once() {
        let o = sh(
            "failmark",
            "echo CELLBOOT: FAIL x; sleep 30",
            &["done"],
            &["CELLBOOT: FAIL"],
            20_000,
        );
        assert!(!o.passed && o.detail.contains("FAIL"), "{}", o.detail);
    }

    #[test]
    fn failure_markers_count_up_to_the_last_marker_only() {
        // One write, so both lines arrive in the same chunk.
        let o = sh(
            "after",
            "printf 'done\\ncell shut down\\n'",
            &["done"],
            &["shut down"],
            5000,
        );
        assert!(o.passed, "{}", o.detail);
        let o = sh(
            "before",
            "printf 'cell shut down\\ndone\\n'",
            &["done"],
            &["shut down"],
            5000,
        );
        assert!(!o.passed && o.detail.contains("shut down"), "{}", o.detail);
    }

    #[test]
    fn a_program_that_never_exits_is_stopped_after_the_last_marker() {
        let t = Instant::now();
        let o = sh("hang", "echo ready; exec sleep 60", &["ready"], &[], 20_000);
        assert!(o.passed, "{}", o.detail);
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn timeout_names_the_missing_marker() {
        let o = sh("timeout", "echo one; exec sleep 60", &["one", "two"], &[], 500);
        assert!(
            !o.passed && o.detail.contains("timed out") && o.detail.contains("\"two\""),
            "{}",
            o.detail
        );
        assert!(std::fs::read_to_string(&o.log).unwrap().contains("one"));
    }
}

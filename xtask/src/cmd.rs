//! Running programs loudly: print the command line, fail with its status.

use anyhow::{Context, Result, bail};
use std::process::{Command, Output};

pub fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        let a = a.to_string_lossy();
        if a.contains(' ') {
            s += &format!(" '{a}'")
        } else {
            s += &format!(" {a}")
        }
    }
    s
}

/// Runs `c` with inherited stdio; an unsuccessful exit is an error.
pub fn run(c: &mut Command) -> Result<()> {
    let line = describe(c);
    eprintln!("    $ {line}");
    let status = c.status().with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}");
    }
    Ok(())
}

/// Runs `c` and returns its stdout; stderr is shown when it fails.
pub fn output(c: &mut Command) -> Result<String> {
    let line = describe(c);
    let Output { status, stdout, stderr } = c.output().with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed: {status}\n{}", String::from_utf8_lossy(&stderr));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(crate::paths::root());
    c
}

pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn step(what: &str) {
    eprintln!("==> {what}");
}

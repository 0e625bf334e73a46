//! One command line carried out against a [`Device`], writing to `out`.

use crate::args::{Cli, Command};
use crate::client::Device;
use crate::error::Error;
use crate::format;
use crate::regs::{Regs, Window};
use cellboot_abi::mgmt::{cmd, exit};

/// How long `restart --wait` waits for the cell's first console line.
const WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
use cellboot_abi::str_field;

/// Opens the staging window (only `load` needs it).
pub type OpenWindow<'a, R> = dyn FnMut(&Device<R>) -> Result<Box<dyn Window>, Error> + 'a;

pub fn run<R: Regs>(
    cli: &Cli,
    dev: &mut Device<R>,
    open_window: &mut OpenWindow<'_, R>,
    out: &mut String,
) -> Result<(), Error> {
    let t0 = std::time::Instant::now();
    command(cli, dev, open_window, out)?;
    if cli.time {
        out.push_str(&format!("time_us={}\n", t0.elapsed().as_micros()));
    }
    Ok(())
}

fn command<R: Regs>(
    cli: &Cli,
    dev: &mut Device<R>,
    open_window: &mut OpenWindow<'_, R>,
    out: &mut String,
) -> Result<(), Error> {
    let done = |out: &mut String, cell: &str, what: &str| {
        if cli.json {
            out.push_str(&format!(
                "{{\"cell\":{},\"done\":{}}}\n",
                format::json_str(cell),
                format::json_str(what)
            ));
        } else {
            out.push_str(&format!("{cell}: {what}\n"));
        }
    };
    match &cli.command {
        Command::List => {
            let cells = dev.list()?;
            out.push_str(&if cli.json {
                format::list_json(&cells, dev.window_ipa, dev.window_size) + "\n"
            } else {
                format::list_table(&cells)
            });
        }
        Command::Stats { cell } => {
            let c = dev.resolve(cell)?;
            let s = dev.stats(&c)?;
            out.push_str(&if cli.json {
                format::stats_json(&c, &s) + "\n"
            } else {
                format::stats_table(&c, &s)
            });
        }
        Command::Restart { cell, wait: true } => {
            let c = dev.resolve(cell)?;
            let before = dev.stats(&c)?.exits[exit::HYPERCALL];
            let t0 = std::time::Instant::now();
            dev.control(cmd::RESTART, &c)?;
            // Its first console line is its first hypercall since the start.
            while dev.stats(&c)?.exits[exit::HYPERCALL] == before {
                if t0.elapsed() > WAIT_LIMIT {
                    return Err(Error::Io(format!(
                        "{}: no console line {} s after the restart",
                        str_field(&c.name),
                        WAIT_LIMIT.as_secs()
                    )));
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            let us = t0.elapsed().as_micros();
            done(
                out,
                str_field(&c.name),
                &format!("restarted, first console line after {us} us"),
            );
        }
        Command::Stop { cell } | Command::Start { cell } | Command::Restart { cell, .. } | Command::Unload { cell } => {
            let (code, what) = match &cli.command {
                Command::Stop { .. } => (cmd::STOP, "stopped"),
                Command::Start { .. } => (cmd::START, "started"),
                Command::Restart { .. } => (cmd::RESTART, "restarted"),
                _ => (cmd::UNLOAD, "loaded images forgotten"),
            };
            let c = dev.resolve(cell)?;
            dev.control(code, &c)?;
            done(out, str_field(&c.name), what);
        }
        Command::Load {
            cell,
            image,
            ipa,
            start,
            add,
        } => {
            let c = dev.resolve(cell)?;
            let data =
                std::fs::read(image).map_err(|e| Error::Usage(format!("{}: cannot read: {e}", image.display())))?;
            let at = match ipa {
                Some(a) => *a,
                None => crate::image::default_ipa(&c, &data)
                    .map_err(|e| Error::Usage(format!("{}: {e}", image.display())))?,
            };
            let mut window = open_window(dev)?;
            dev.load(window.as_mut(), &c, &data, at, !add)?;
            done(
                out,
                str_field(&c.name),
                &format!("loaded {} ({} bytes) at {at:#x}", image.display(), data.len()),
            );
            if *start {
                dev.control(cmd::START, &c)?;
                done(out, str_field(&c.name), "started");
            }
        }
    }
    Ok(())
}

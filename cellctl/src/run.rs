//! One command line carried out against a [`Device`], writing to `out`.

use crate::args::{Cli, Command};
use crate::client::Device;
use crate::error::Error;
use crate::format;
use crate::regs::{Regs, Window};
use cellboot_abi::mgmt::cmd;
use cellboot_abi::str_field;

/// Opens the staging window (only `load` needs it).
pub type OpenWindow<'a, R> = dyn FnMut(&Device<R>) -> Result<Box<dyn Window>, Error> + 'a;

pub fn run<R: Regs>(
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
                format::list_json(&cells) + "\n"
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
        Command::Stop { cell } | Command::Start { cell } | Command::Restart { cell } | Command::Unload { cell } => {
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

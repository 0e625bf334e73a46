//! `cellctl`: see lib.rs and `cellctl --help`.

use cellctl::args::Cli;
use cellctl::error::Error;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = String::new();
    let r = run(&cli, &mut out);
    // What was done before a failure (`load --start`: the load) is said too.
    print!("{out}");
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cellctl: {e}");
            e.exit_code()
        }
    }
}

#[cfg(target_os = "linux")]
fn run(cli: &Cli, out: &mut String) -> Result<(), Error> {
    use cellctl::client::Device;
    use cellctl::map::{Bar0, DevMemWindow};
    use cellctl::regs::Window;
    let dev = cellctl::sysfs::find(std::path::Path::new("/sys"))?;
    let mut device = Device::open(Bar0::open(&dev)?)?;
    cellctl::run::run(
        cli,
        &mut device,
        &mut |d| Ok(Box::new(DevMemWindow::open(d.window_ipa, d.window_size)?) as Box<dyn Window>),
        out,
    )
}

#[cfg(not(target_os = "linux"))]
fn run(_: &Cli, _: &mut String) -> Result<(), Error> {
    Err(Error::Io("cellctl runs on Linux in a managing cell".into()))
}

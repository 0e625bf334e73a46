//! `xtask fetch`: everything downloaded or generated from outside the repo,
//! idempotently: the Debian arm64 kernels and busybox-static (exact package
//! names resolved at run time), the raw kernel Images, the Pi 4 DTB and the
//! QEMU virt DTB fixtures.

use crate::{cmd, paths, qemu_settings};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A Debian arm64 package to download and the files to take from it.
struct Package {
    name: String,
    version: String,
    sha256: String,
}

impl Package {
    /// The file `apt-get download` writes (epoch colon URL-encoded).
    fn deb(&self) -> PathBuf {
        paths::downloads().join(format!("{}_{}_arm64.deb", self.name, self.version.replace(':', "%3a")))
    }
}

pub fn fetch() -> Result<()> {
    provision_if_needed()?;
    let kernels = kernel_packages(&["linux-image-cloud-arm64", "linux-image-arm64"])?;
    let mut pkgs = packages(&[kernels[0].clone(), kernels[1].clone(), "busybox-static".into()])?.into_iter();
    let (cloud, generic, busybox) = (pkgs.next().unwrap(), pkgs.next().unwrap(), pkgs.next().unwrap());
    std::fs::create_dir_all(paths::downloads())?;
    for p in [&cloud, &generic, &busybox] {
        download(p)?;
    }
    let kver = |p: &Package| p.name.trim_start_matches("linux-image-").to_string();
    let (ck, gk) = (kver(&cloud), kver(&generic));
    let cloud_dir = extract(&cloud, "cloud", &[&format!("./boot/vmlinuz-{ck}")])?;
    let dtb_in_deb = format!("./usr/lib/linux-image-{gk}/broadcom/bcm2711-rpi-4-b.dtb");
    let generic_dir = extract(&generic, "generic", &[&format!("./boot/vmlinuz-{gk}"), &dtb_in_deb])?;
    extract(&busybox, "bb", &["./bin/busybox"])?;

    kernel_image(&cloud_dir.join(format!("boot/vmlinuz-{ck}")), &paths::cloud_image())?;
    kernel_image(&generic_dir.join(format!("boot/vmlinuz-{gk}")), &paths::generic_image())?;
    std::fs::create_dir_all(paths::fixtures())?;
    copy_if_changed(&generic_dir.join(&dtb_in_deb), &paths::fixtures().join("bcm2711-rpi-4-b.dtb"))?;
    dump_qemu_dtbs()?;
    cmd::step("fetch: everything in place");
    Ok(())
}

fn provision_if_needed() -> Result<()> {
    let arm64 = cmd::output(Command::new("dpkg").arg("--print-foreign-architectures")).unwrap_or_default();
    let ok = cmd::have(qemu_settings::QEMU)
        && cmd::have("dtc")
        && cmd::have("apt-get")
        && cmd::have("dpkg-deb")
        && arm64.lines().any(|l| l.trim() == "arm64");
    if !ok {
        cmd::step("fetch: tools or the arm64 package lists are missing, running .ci/provision.sh");
        cmd::run(Command::new("bash").arg(paths::root().join(".ci/provision.sh")))?;
    }
    Ok(())
}

/// `apt-cache depends <meta>:arm64` names each versioned kernel package
/// (one apt-cache call: each takes seconds).
fn kernel_packages(metas: &[&str]) -> Result<Vec<String>> {
    let args: Vec<String> = metas.iter().map(|m| format!("{m}:arm64")).collect();
    let out = cmd::output(Command::new("apt-cache").arg("depends").args(&args))?;
    let names = parse_depends(&out, metas)
        .with_context(|| format!("`apt-cache depends {}` does not name a linux-image-* package for each:\n{out}", args.join(" ")))?;
    for (m, n) in metas.iter().zip(&names) {
        cmd::step(&format!("fetch: {m} depends on {n}"));
    }
    Ok(names)
}

/// The first `linux-image-*` dependency of each meta package, in `metas` order.
fn parse_depends(out: &str, metas: &[&str]) -> Option<Vec<String>> {
    let mut found: Vec<Option<String>> = vec![None; metas.len()];
    let mut current = None;
    for line in out.lines() {
        if !line.starts_with(' ') {
            current = metas.iter().position(|m| line.trim().trim_end_matches(":arm64") == *m);
            continue;
        }
        let (Some(i), Some(dep)) = (current, line.trim().strip_prefix("Depends: ")) else { continue };
        let dep = dep.trim().trim_end_matches(":arm64");
        if dep.starts_with("linux-image-") && found[i].is_none() {
            found[i] = Some(dep.to_string());
        }
    }
    found.into_iter().collect()
}

/// Version and SHA256 of the candidate `<name>:arm64` of each package.
fn packages(names: &[String]) -> Result<Vec<Package>> {
    let args: Vec<String> = names.iter().map(|n| format!("{n}:arm64")).collect();
    let out = cmd::output(Command::new("apt-cache").args(["show", "--no-all-versions"]).args(&args))?;
    names.iter().map(|name| parse_show(&out, name)).collect()
}

/// One package's Version and SHA256 out of `apt-cache show` stanzas.
fn parse_show(out: &str, name: &str) -> Result<Package> {
    let field = |stanza: &str, f: &str| stanza.lines().find_map(|l| l.strip_prefix(f).map(|v| v.trim().to_string()));
    let stanza = out
        .split("\n\n")
        .find(|s| field(s, "Package:").as_deref() == Some(name))
        .with_context(|| format!("`apt-cache show {name}:arm64` found nothing: is the arm64 architecture added (.ci/provision.sh)?"))?;
    let get = |f: &str| field(stanza, f).with_context(|| format!("`apt-cache show {name}:arm64` has no {f} field"));
    Ok(Package { name: name.to_string(), version: get("Version:")?, sha256: get("SHA256:")? })
}

fn sha256(file: &Path) -> Result<String> {
    let out = cmd::output(Command::new("sha256sum").arg(file))?;
    Ok(out.split_whitespace().next().unwrap_or_default().to_string())
}

fn download(p: &Package) -> Result<()> {
    let deb = p.deb();
    if deb.exists() && sha256(&deb)? == p.sha256 {
        eprintln!("    have {} (sha256 ok)", paths::show(&deb));
        return Ok(());
    }
    cmd::step(&format!("fetch: downloading {}:arm64 {}", p.name, p.version));
    let _ = std::fs::remove_file(&deb);
    cmd::run(
        Command::new("apt-get")
            .args(["download", "-o", "APT::Sandbox::User=root", &format!("{}:arm64={}", p.name, p.version)])
            .current_dir(paths::downloads()),
    )?;
    let got = sha256(&deb).with_context(|| format!("apt-get download wrote no {}", paths::show(&deb)))?;
    if got != p.sha256 {
        bail!("{}: sha256 {got}, the archive says {}", paths::show(&deb), p.sha256);
    }
    Ok(())
}

/// Extracts `members` of the .deb into build/guest/<dir>; a stamp names the .deb.
fn extract(p: &Package, dir: &str, members: &[&str]) -> Result<PathBuf> {
    let out = paths::guest().join(dir);
    let stamp = out.join(".extracted");
    let want = format!("{}\n{}\n", p.deb().file_name().unwrap().to_string_lossy(), members.join("\n"));
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(out);
    }
    cmd::step(&format!("fetch: extracting {} from {}", members.join(" "), paths::show(&p.deb())));
    std::fs::create_dir_all(&out)?;
    let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" \"${@:3}\"";
    cmd::run(Command::new("bash").args(["-o", "pipefail", "-c", script, "extract"]).arg(p.deb()).arg(&out).args(members))?;
    std::fs::write(&stamp, want)?;
    Ok(out)
}

/// Copies a vmlinuz to a raw `Image` (gunzipping if needed) and checks the arm64 magic.
fn kernel_image(vmlinuz: &Path, image: &Path) -> Result<()> {
    let raw = std::fs::read(vmlinuz).with_context(|| format!("cannot read {}", vmlinuz.display()))?;
    let raw = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out)?;
        out
    } else {
        raw
    };
    if !crate::image::has_image_header(&raw) {
        bail!("{} is not an arm64 Image (no \"ARM\\x64\" magic at 0x38)", vmlinuz.display());
    }
    write_if_changed(image, &raw)
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let data = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_if_changed(to, &data)
}

/// Writes atomically (others' tests read build/fixtures while this runs).
pub fn write_if_changed(to: &Path, data: &[u8]) -> Result<()> {
    if std::fs::read(to).is_ok_and(|old| old == data) {
        eprintln!("    have {}", paths::show(to));
        return Ok(());
    }
    let tmp = to.with_extension("tmp");
    std::fs::write(&tmp, data).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, to)?;
    eprintln!("    wrote {}", paths::show(to));
    Ok(())
}

/// `-machine dumpdtb=` for boards whose DTB is QEMU's own (kept once made:
/// QEMU puts fresh random seeds in every dump).
fn dump_qemu_dtbs() -> Result<()> {
    for e in std::fs::read_dir(paths::root().join("boards"))? {
        let board = e?.file_name().to_string_lossy().into_owned();
        let q = qemu_settings::load(&board)?;
        let Some(name) = &q.fixture_dtb else { continue };
        let out = paths::fixtures().join(name);
        if out.exists() {
            eprintln!("    have {}", paths::show(&out));
            continue;
        }
        cmd::step(&format!("fetch: dumping QEMU's {board} DTB"));
        let tmp = out.with_extension("dtb.tmp");
        let mut c = q.command();
        c.args(["-machine", &format!("dumpdtb={}", tmp.display())]);
        cmd::run(&mut c)?;
        std::fs::rename(&tmp, &out)?;
        eprintln!("    wrote {}", paths::show(&out));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPENDS: &str = "linux-image-cloud-arm64:arm64
  Depends: linux-image-6.1.0-56-cloud-arm64:arm64
linux-image-arm64:arm64
  Depends: linux-image-6.1.0-56-arm64:arm64
";

    #[test]
    fn depends_names_each_kernel_in_order() {
        let got = parse_depends(DEPENDS, &["linux-image-arm64", "linux-image-cloud-arm64"]).unwrap();
        assert_eq!(got, ["linux-image-6.1.0-56-arm64", "linux-image-6.1.0-56-cloud-arm64"]);
    }

    #[test]
    fn a_meta_without_a_kernel_is_an_error() {
        let out = "linux-image-arm64:arm64\n  Depends: something-else\n";
        assert_eq!(parse_depends(out, &["linux-image-arm64"]), None);
    }

    #[test]
    fn show_picks_the_named_stanza_and_encodes_the_epoch() {
        let out = "Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nSHA256: ab12\n\nPackage: other\nVersion: 2\nSHA256: cd34\n";
        let p = parse_show(out, "busybox-static").unwrap();
        assert_eq!((p.version.as_str(), p.sha256.as_str()), ("1:1.35.0-4+deb12u1+b1", "ab12"));
        assert!(p.deb().ends_with("busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb"));
        assert!(parse_show(out, "missing").is_err());
    }
}

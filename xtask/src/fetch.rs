//! `xtask fetch`: everything downloaded or generated from outside the repo,
//! idempotently: the Debian arm64 kernels and busybox-static (exact package
//! names resolved at run time), the raw kernel Images, the Pi 4 DTB and the
//! QEMU virt DTB fixtures.

use crate::{cmd, manifest, paths, qemu_settings};
use anyhow::{Context, Result, bail};
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

/// The meta-packages whose current versioned kernel each board boots.
const CLOUD_META: &str = "linux-image-cloud-arm64";
const GENERIC_META: &str = "linux-image-arm64";
const BUSYBOX: &str = "busybox-static";
/// Where Debian's generic kernel package keeps the Pi 4 DTB, under /usr/lib/linux-image-<release>/.
const RPI4_DTB: &str = "broadcom/bcm2711-rpi-4-b.dtb";
/// The same package's Xilinx ZCU102 DTB (board `zcu102`).
const ZCU102_DTB: &str = "xilinx/zynqmp-zcu102-rev1.0.dtb";

pub fn fetch() -> Result<()> {
    provision_if_needed()?;
    std::fs::create_dir_all(paths::downloads())?;
    let resolved = match resolve().and_then(|r| download_all(&r).map(|_| r)) {
        Ok(r) => r,
        Err(e) => {
            // The local package lists name versions the archive no longer serves.
            cmd::step(&format!(
                "fetch: {e:#}\n    the apt lists may be stale: apt-get update, then resolving again"
            ));
            cmd::run(Command::new("apt-get").args(["update", "-q"]))?;
            let r = resolve()?;
            download_all(&r)?;
            r
        }
    };
    let Resolved {
        cloud,
        generic,
        busybox,
    } = resolved;
    let old = manifest::previous();
    for (role, p, was) in [
        ("cloud", &cloud, old.as_ref().map(|m| &m.cloud)),
        ("generic", &generic, old.as_ref().map(|m| &m.generic)),
        ("busybox", &busybox, old.as_ref().map(|m| &m.busybox)),
    ] {
        if let Some(was) = was.filter(|w| (&w.package, &w.version) != (&p.name, &p.version)) {
            cmd::step(&format!(
                "fetch: {role} moved from {} {} to {} {}: using the new one",
                was.package, was.version, p.name, p.version
            ));
        }
    }

    let ck = kernel_release(&cloud)?;
    let gk = kernel_release(&generic)?;
    let cloud_vmlinuz = format!("boot/vmlinuz-{ck}");
    let generic_vmlinuz = format!("boot/vmlinuz-{gk}");
    let dtb_in_deb = format!("usr/lib/linux-image-{gk}/{RPI4_DTB}");
    let zcu102_in_deb = format!("usr/lib/linux-image-{gk}/{ZCU102_DTB}");
    let cloud_dir = extract(&cloud, "cloud", &[&cloud_vmlinuz])?;
    let generic_dir = extract(&generic, "generic", &[&generic_vmlinuz, &dtb_in_deb, &zcu102_in_deb])?;
    let bb_dir = extract(&busybox, "bb", &["bin/busybox"])?;

    kernel_image(&cloud_dir.join(&cloud_vmlinuz), &paths::cloud_image())?;
    kernel_image(&generic_dir.join(&generic_vmlinuz), &paths::generic_image())?;
    std::fs::create_dir_all(paths::fixtures())?;
    let rpi4_dtb = paths::fixtures().join("bcm2711-rpi-4-b.dtb");
    copy_if_changed(&generic_dir.join(&dtb_in_deb), &rpi4_dtb)?;
    let zcu102_dtb = paths::fixtures().join("zynqmp-zcu102-rev1.0.dtb");
    copy_if_changed(&generic_dir.join(&zcu102_in_deb), &zcu102_dtb)?;
    dump_qemu_dtbs()?;

    let rel = |p: &Path| paths::show(p);
    let entry = |p: &Package, meta: Option<&str>, release: Option<&str>, files: &[(&str, &Path)]| manifest::Entry {
        meta: meta.map(str::to_string),
        package: p.name.clone(),
        version: p.version.clone(),
        sha256: p.sha256.clone(),
        deb: rel(&p.deb()),
        kernel_release: release.map(str::to_string),
        files: files.iter().map(|(k, v)| (k.to_string(), rel(v))).collect(),
    };
    let m = manifest::Manifest {
        cloud: entry(
            &cloud,
            Some(CLOUD_META),
            Some(&ck),
            &[
                ("vmlinuz", &cloud_dir.join(&cloud_vmlinuz)),
                ("image", &paths::cloud_image()),
            ],
        ),
        generic: entry(
            &generic,
            Some(GENERIC_META),
            Some(&gk),
            &[
                ("vmlinuz", &generic_dir.join(&generic_vmlinuz)),
                ("image", &paths::generic_image()),
                ("dtb", &rpi4_dtb),
                ("zcu102_dtb", &zcu102_dtb),
            ],
        ),
        busybox: entry(&busybox, None, None, &[("busybox", &bb_dir.join("bin/busybox"))]),
    };
    remove_stale_downloads(&paths::downloads(), &[cloud.deb(), generic.deb(), busybox.deb()])?;
    write_if_changed(&manifest::path(), &manifest::to_json(&m)?)?;
    cmd::step("fetch: everything in place (build/guest/manifest.json)");
    Ok(())
}

struct Resolved {
    cloud: Package,
    generic: Package,
    busybox: Package,
}

/// The versioned kernel packages the meta-packages depend on today, and
/// each package's candidate version and sha256.
fn resolve() -> Result<Resolved> {
    let kernels = kernel_packages(&[CLOUD_META, GENERIC_META])?;
    let mut pkgs = packages(&[kernels[0].clone(), kernels[1].clone(), BUSYBOX.into()])?.into_iter();
    match (pkgs.next(), pkgs.next(), pkgs.next()) {
        (Some(cloud), Some(generic), Some(busybox)) => Ok(Resolved {
            cloud,
            generic,
            busybox,
        }),
        _ => bail!("apt-cache show did not describe all three packages"),
    }
}

fn download_all(r: &Resolved) -> Result<()> {
    for p in [&r.cloud, &r.generic, &r.busybox] {
        download(p)?;
    }
    Ok(())
}

/// `uname -r` of a versioned kernel package: its name without `linux-image-`.
fn kernel_release(p: &Package) -> Result<String> {
    p.name
        .strip_prefix("linux-image-")
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .with_context(|| format!("{} is not a versioned linux-image-<release> package", p.name))
}

/// Older .debs in build/downloads: nothing may pick them up by accident.
fn remove_stale_downloads(dir: &Path, keep: &[PathBuf]) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "deb") && !keep.contains(&path) {
            eprintln!("    removing stale {}", paths::show(&path));
            std::fs::remove_file(&path)?;
        }
    }
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
    let names = parse_depends(&out, metas).with_context(|| {
        format!(
            "`apt-cache depends {}` does not name a linux-image-* package for each:\n{out}",
            args.join(" ")
        )
    })?;
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
        // `|Depends:` is the first of alternatives: the one apt would pick.
        let dep = line.trim().trim_start_matches('|').strip_prefix("Depends: ");
        let (Some(i), Some(dep)) = (current, dep) else { continue };
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
    let out = cmd::output(
        Command::new("apt-cache")
            .args(["show", "--no-all-versions"])
            .args(&args),
    )?;
    names.iter().map(|name| parse_show(&out, name)).collect()
}

/// One package's Version and SHA256 out of `apt-cache show` stanzas.
fn parse_show(out: &str, name: &str) -> Result<Package> {
    let field = |stanza: &str, f: &str| {
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(f).map(|v| v.trim().to_string()))
    };
    let stanza = out
        .split("\n\n")
        .find(|s| field(s, "Package:").as_deref() == Some(name))
        .with_context(|| {
            format!("`apt-cache show {name}:arm64` found nothing: is the arm64 architecture added (.ci/provision.sh)?")
        })?;
    let get = |f: &str| field(stanza, f).with_context(|| format!("`apt-cache show {name}:arm64` has no {f} field"));
    Ok(Package {
        name: name.to_string(),
        version: get("Version:")?,
        sha256: get("SHA256:")?,
    })
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
            .args([
                "download",
                "-o",
                "APT::Sandbox::User=root",
                &format!("{}:arm64={}", p.name, p.version),
            ])
            .current_dir(paths::downloads()),
    )?;
    let got = sha256(&deb).with_context(|| format!("apt-get download wrote no {}", paths::show(&deb)))?;
    if got != p.sha256 {
        bail!("{}: sha256 {got}, the archive says {}", paths::show(&deb), p.sha256);
    }
    Ok(())
}

/// Extracts `members` (paths inside the package, without `./`) of the .deb
/// into build/guest/<dir>; a stamp names the .deb. A different package
/// replaces the whole directory, so no file of an older version stays.
fn extract(p: &Package, dir: &str, members: &[&str]) -> Result<PathBuf> {
    let out = paths::guest().join(dir);
    let stamp = out.join(".extracted");
    let want = format!(
        "{}\n{}\n",
        p.deb().file_name().unwrap().to_string_lossy(),
        members.join("\n")
    );
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) && members.iter().all(|m| out.join(m).exists()) {
        return Ok(out);
    }
    cmd::step(&format!(
        "fetch: extracting {} from {}",
        members.join(" "),
        paths::show(&p.deb())
    ));
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    untar(&p.deb(), &out, members)?;
    std::fs::write(&stamp, want)?;
    Ok(out)
}

/// Unpacks `members` (paths inside the package, without `./`) of `deb` into `out`.
pub fn untar(deb: &Path, out: &Path, members: &[impl AsRef<str>]) -> Result<()> {
    let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" \"${@:3}\"";
    let in_tar = members.iter().map(|m| format!("./{}", m.as_ref()));
    cmd::run(
        Command::new("bash")
            .args(["-o", "pipefail", "-c", script, "extract"])
            .arg(deb)
            .arg(out)
            .args(in_tar),
    )
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
        bail!(
            "{} is not an arm64 Image (no \"ARM\\x64\" magic at 0x38)",
            vmlinuz.display()
        );
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

    /// Recorded and hand-made resolver inputs: the one place allowed to name versions.
    fn fixture(name: &str) -> String {
        let p = paths::root().join("xtask/fixtures/resolver").join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn resolve_fixture(name: &str) -> Vec<String> {
        parse_depends(&fixture(name), &[CLOUD_META, GENERIC_META]).unwrap()
    }

    fn package(name: &str) -> Package {
        Package {
            name: name.into(),
            version: "1".into(),
            sha256: String::new(),
        }
    }

    #[test]
    fn a_new_abi_number_is_followed() {
        // Whatever the recorded lists named, a bumped ABI (what a security
        // update does) gives the bumped names, in the order asked.
        let today = resolve_fixture("depends-today.txt");
        assert!(today.iter().all(|n| kernel_release(&package(n)).is_ok()), "{today:?}");
        assert!(
            today[0].ends_with("-cloud-arm64") && !today[1].ends_with("-cloud-arm64"),
            "{today:?}"
        );
        for case in ["depends-new-abi", "depends-three-digit-abi"] {
            let got = resolve_fixture(&format!("{case}.txt"));
            let want = fixture(&format!("{case}.expected"));
            let want: Vec<(&str, &str)> = want.lines().filter_map(|l| l.split_once(' ')).collect();
            assert_eq!(want.len(), 2, "{case}.expected");
            for (g, (name, release)) in got.iter().zip(&want) {
                assert_eq!(g, name, "{case}");
                assert_eq!(kernel_release(&package(g)).unwrap(), *release, "{case}");
            }
        }
    }

    #[test]
    fn stale_debs_are_removed_and_others_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (old, new, note) = (
            dir.join("k_1_arm64.deb"),
            dir.join("k_2_arm64.deb"),
            dir.join("notes.txt"),
        );
        for f in [&old, &new, &note] {
            std::fs::write(f, b"x").unwrap();
        }
        remove_stale_downloads(&dir, std::slice::from_ref(&new)).unwrap();
        let left = (old.exists(), new.exists(), note.exists());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(left, (false, true, true));
    }

    #[test]
    fn a_meta_without_a_kernel_is_an_error() {
        let out = "linux-image-arm64:arm64\n  Depends: something-else\n";
        assert_eq!(parse_depends(out, &["linux-image-arm64"]), None);
        let meta = Package {
            name: "linux-image-arm64".into(),
            version: "1".into(),
            sha256: String::new(),
        };
        assert!(kernel_release(&meta).is_err(), "a meta-package has no release");
    }

    #[test]
    fn show_picks_the_named_stanza_and_encodes_the_epoch() {
        let out = "Package: busybox-static\nVersion: 1:1.35.0-4+deb12u1+b1\nSHA256: ab12\n\nPackage: other\nVersion: 2\nSHA256: cd34\n";
        let p = parse_show(out, "busybox-static").unwrap();
        assert_eq!(
            (p.version.as_str(), p.sha256.as_str()),
            ("1:1.35.0-4+deb12u1+b1", "ab12")
        );
        assert!(p.deb().ends_with("busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb"));
        assert!(parse_show(out, "missing").is_err());
    }
}

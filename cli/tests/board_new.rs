//! `cellboot board new` regenerates the two hand-written boards from their
//! DTBs (`cargo xtask fetch` puts them in build/fixtures/). The generated
//! board.toml is compared with the hand-written one field by field; the only
//! differences allowed are the fields listed in each board's allow-list, each
//! with the reason a person chose differently. The starting linux-demo.toml
//! is compared on the fields the generator derives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use toml::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn board_new(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cellboot"))
        .current_dir(repo())
        .arg("board")
        .arg("new")
        .args(args)
        .output()
        .expect("run cellboot")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn parse(p: &Path) -> Value {
    let t = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    toml::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `section.key` -> value for every leaf of a TOML document (arrays of
/// tables as `cells[0].memory[1].phys`; plain arrays stay one value).
fn flatten(v: &Value, at: &str, out: &mut BTreeMap<String, Value>) {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        Value::Table(t) => t.iter().for_each(|(k, v)| flatten(v, &join(k), out)),
        Value::Array(a) if a.iter().all(Value::is_table) && !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                flatten(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {
            out.insert(at.to_string(), v.clone());
        }
    }
}

fn fields(p: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten(&parse(p), "", &mut out);
    out
}

/// Fields where generated and hand-written differ, as "key: generated vs written".
fn differences(generated: &Path, written: &Path, keys: Option<&[&str]>) -> Vec<String> {
    let (g, w) = (fields(generated), fields(written));
    let all: Vec<String> = match keys {
        Some(k) => k.iter().map(|s| s.to_string()).collect(),
        None => g
            .keys()
            .chain(w.keys())
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    all.into_iter()
        .filter(|k| g.get(k) != w.get(k))
        .map(|k| format!("{k}: {:?} vs {:?}", g.get(&k), w.get(&k)))
        .collect()
}

fn assert_only(diffs: &[String], allowed: &[&str], board: &str) {
    let unexpected: Vec<&String> = diffs
        .iter()
        .filter(|d| !allowed.iter().any(|a| d.starts_with(&format!("{a}: "))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{board}: generated vs hand-written differ beyond the chosen fields:\n{unexpected:#?}"
    );
}

/// linux-demo fields the generator derives from the DTB or lays out the way
/// the hand-written configs do; the rest (comm region, extra devices and
/// IRQs, kernel flavour, bootargs, vPCI template) is chosen per board.
const DEMO_FIELDS: &[&str] = &[
    "cells[0].name",
    "cells[0].cpus",
    "cells[0].loader_ipa",
    "cells[0].memory[0].phys",
    "cells[0].memory[0].size",
    "cells[0].memory[0].flags",
    "cells[0].memory[1].phys",
    "cells[0].memory[1].size",
    "cells[0].memory[1].flags",
    "cells[0].boot.kind",
    "cells[0].boot.stdout_path",
    "cells[0].boot.initrd",
    "links[0].state_size",
    "links[0].rw_size",
    "links[0].out_size",
    "links[0].peers",
    "links[0].device",
];

fn generate(dtb: &str, name: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(name);
    let mut args = vec!["--dtb", dtb, "--name", name, "-o", out.to_str().unwrap()];
    args.extend(extra);
    let o = board_new(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok: "),
        "check ran: {}",
        text(&o)
    );
    (tmp, out)
}

#[test]
fn qemu_virt_regenerates() {
    let (_tmp, out) = generate("build/fixtures/qemu-virt.dtb", "qemu-virt", &[]);
    let hand = repo().join("boards/qemu-virt");
    let diffs = differences(&out.join("board.toml"), &hand.join("board.toml"), None);
    // Chosen by a person, not stated by the DTB:
    let allowed = [
        // GICD_TYPER's line count is not in the DTB; the generator writes the
        // lower bound the used SPIs prove (96), the hand-written file QEMU's 288.
        "gic.num_irqs",
        // Jailhouse's QEMU vPCI values, kept so its inmates run unchanged;
        // the generator takes the highest free slots below 4 GiB.
        "vpci.ecam_base",
        "vpci.mmio_base",
        "vpci.irq_base",
    ];
    assert_only(&diffs, &allowed, "qemu-virt");
    assert_eq!(
        diffs.len(),
        allowed.len(),
        "each chosen field differs today: {diffs:#?}"
    );
    let demo = differences(
        &out.join("linux-demo.toml"),
        &hand.join("linux-demo.toml"),
        Some(DEMO_FIELDS),
    );
    // The hand-written demo boots Debian's cloud kernel; the generator names
    // the generic one (it has every board's drivers).
    assert!(demo.is_empty(), "qemu-virt linux-demo: {demo:#?}");
    // The PL011's only clock is a fixed clock without registers: the
    // console is the cell's one device, as in the hand-written file.
    assert_eq!(
        io_regions(&out.join("linux-demo.toml")),
        io_regions(&hand.join("linux-demo.toml"))
    );
}

#[test]
fn rpi4b_regenerates() {
    // The Pi's /memory@0 reg has size 0 (the firmware fills it in): without
    // --ram-size the command names the field and exits 1.
    let tmp = tempfile::tempdir().unwrap();
    let o = board_new(&[
        "--dtb",
        "build/fixtures/bcm2711-rpi-4-b.dtb",
        "-o",
        tmp.path().join("pi").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("board.toml: ram.size: /memory@0 reg has size 0"), "{err}");
    assert!(err.contains("1 fact to fill in"), "{err}");

    // QEMU raspi4b's 2 GiB, as the hand-written board.
    let (_tmp, out) = generate(
        "build/fixtures/bcm2711-rpi-4-b.dtb",
        "rpi4b",
        &["--ram-size", "0x8000_0000"],
    );
    let hand = repo().join("boards/rpi4b");
    let diffs = differences(&out.join("board.toml"), &hand.join("board.toml"), None);
    let allowed = [
        // Not in the DTB (GICD_TYPER): the used SPIs prove 192 lines, the
        // BCM2711's GIC-400 has 256.
        "gic.num_irqs",
        // Jailhouse's Raspberry Pi 4 vPCI windows; irq_base is the same
        // (the highest free SPIs below 192 are Jailhouse's 185..188).
        "vpci.ecam_base",
        "vpci.mmio_base",
    ];
    assert_only(&diffs, &allowed, "rpi4b");
    assert_eq!(
        diffs.len(),
        allowed.len(),
        "each chosen field differs today: {diffs:#?}"
    );
    let demo = differences(
        &out.join("linux-demo.toml"),
        &hand.join("linux-demo.toml"),
        Some(DEMO_FIELDS),
    );
    // The hand-written cell's memory[1] is the PL011 too, but its link sits
    // at 0x2100_0000 (0x2000_0000 is its Jailhouse vPCI MMIO IPA).
    assert!(demo.is_empty(), "rpi4b linux-demo: {demo:#?}");

    // The devices the console needs, found through the PL011's `clocks`
    // (cprman) and `pinctrl-0` (the GPIO block), are among the hand-written
    // cell's. The hand-written cell also has the VideoCore mailbox page and
    // its SPI (65): the firmware clocks cprman's parents come from, which no
    // phandle of the PL011 leads to (a person's choice from Linux's log).
    let (g, w) = (
        io_regions(&out.join("linux-demo.toml")),
        io_regions(&hand.join("linux-demo.toml")),
    );
    assert_eq!(
        g,
        vec![(0xfe10_1000, 0x2000), (0xfe20_0000, 0x1000), (0xfe20_1000, 0x1000)],
        "console, cprman, GPIO"
    );
    let mailbox = (0xfe00_b000, 0x1000);
    assert_eq!(w.iter().filter(|r| !g.contains(r)).collect::<Vec<_>>(), vec![&mailbox]);
    let (gi, wi) = (irqs(&out.join("linux-demo.toml")), irqs(&hand.join("linux-demo.toml")));
    assert!(
        gi.contains(&(153, 1)) && wi.contains(&(153, 1)),
        "the PL011's SPI in both"
    );
    assert!(
        wi.contains(&(65, 1)) && !gi.contains(&(65, 1)),
        "the mailbox SPI: chosen"
    );
}

/// (phys, size) of every `io` region of the first cell, sorted.
fn io_regions(p: &Path) -> Vec<(i64, i64)> {
    let v = parse(p);
    let mut out: Vec<(i64, i64)> = v["cells"][0]["memory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["flags"].as_array().unwrap().iter().any(|f| f.as_str() == Some("io")))
        .map(|r| (r["phys"].as_integer().unwrap(), r["size"].as_integer().unwrap()))
        .collect();
    out.sort();
    out
}

/// (first, count) of the first cell's IRQ ranges.
fn irqs(p: &Path) -> Vec<(i64, i64)> {
    parse(p)["cells"][0]["irqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["first"].as_integer().unwrap(), r["count"].as_integer().unwrap()))
        .collect()
}

#[test]
fn existing_files_are_kept_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("qv");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("board.toml"), "mine\n").unwrap();
    let dir = out.to_str().unwrap();
    let o = board_new(&["--dtb", "build/fixtures/qemu-virt.dtb", "-o", dir]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("board.toml: exists (--force overwrites it)"));
    assert_eq!(std::fs::read_to_string(out.join("board.toml")).unwrap(), "mine\n");
    assert!(!out.join("linux-demo.toml").exists());
    let o = board_new(&["--dtb", "build/fixtures/qemu-virt.dtb", "-o", dir, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(parse(&out.join("board.toml")).get("gic").is_some());
}

/// A small ZCU102-like tree: a console UART compatible `uart`, a GIC
/// compatible `gic` named by the bus's interrupt-parent (not the root's), CPUs
/// started by `method`.
fn small_dts(gic: &str, uart: &str, method: &str) -> String {
    format!(
        r#"/dts-v1/;
/ {{
	#address-cells = <2>; #size-cells = <2>;
	compatible = "vendor,small";
	chosen {{ stdout-path = "serial0:115200n8"; }};
	aliases {{ serial0 = "/axi/serial@ff000000"; }};
	memory@0 {{ device_type = "memory"; reg = <0 0 0 0x80000000>; }};
	psci {{ compatible = "arm,psci-0.2"; method = "smc"; }};
	cpus {{
		#address-cells = <1>; #size-cells = <0>;
		cpu@0 {{ device_type = "cpu"; reg = <0>; enable-method = "{method}"; }};
		cpu@1 {{ device_type = "cpu"; reg = <1>; enable-method = "{method}"; }};
	}};
	axi {{
		compatible = "simple-bus"; #address-cells = <2>; #size-cells = <2>; ranges;
		interrupt-parent = <&gic>;
		gic: interrupt-controller@f9010000 {{
			compatible = "{gic}"; #interrupt-cells = <3>; #address-cells = <0>; interrupt-controller;
			reg = <0 0xf9010000 0 0x10000>, <0 0xf9020000 0 0x20000>;
		}};
		serial@ff000000 {{
			compatible = "{uart}"; reg = <0 0xff000000 0 0x1000>; interrupts = <0 21 4>;
		}};
	}};
}};
"#
    )
}

fn run_dts(dts: &str) -> (tempfile::TempDir, Output) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("b.dts");
    let dtb = tmp.path().join("b.dtb");
    std::fs::write(&src, dts).unwrap();
    let st = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o"])
        .arg(&dtb)
        .arg(&src)
        .status()
        .expect("dtc");
    assert!(st.success());
    let out = tmp.path().join("small");
    let o = board_new(&["--dtb", dtb.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    (tmp, o)
}

#[test]
fn unsupported_hardware_is_named_not_guessed() {
    let (tmp, o) = run_dts(&small_dts("arm,gic-400", "ns16550a", "psci"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("board.toml: uart: no console UART the shim drives"),
        "{err}"
    );
    assert!(
        err.contains("/axi/serial@ff000000 (compatible [\"ns16550a\"])"),
        "{err}"
    );
    assert!(err.contains("1 fact to fill in"), "{err}");
    let board = std::fs::read_to_string(tmp.path().join("small/board.toml")).unwrap();
    assert!(board.contains("# FILL IN uart:"), "{board}");
    assert!(board.contains("version = 2 "), "{board}");

    let (_t, o) = run_dts(&small_dts("arm,cortex-a9-gic", "arm,pl011", "psci"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("board.toml: gic: /axi/interrupt-controller@f9010000 (the interrupt controller with an arm,*gic* compatible; / has no interrupt-parent) is compatible [\"arm,cortex-a9-gic\"]"), "{err}");

    let (_t, o) = run_dts(&small_dts("arm,gic-400", "arm,pl011", "vendor,smp"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("board.toml: cpus.start: /cpus/cpu@0 enable-method = \"vendor,smp\""),
        "{err}"
    );
}

#[test]
fn cadence_console_gets_its_driver_and_tty() {
    for compatible in ["cdns,uart-r1p12", "xlnx,xuartps"] {
        let (tmp, o) = run_dts(&small_dts("arm,gic-400", compatible, "psci"));
        assert_eq!(o.status.code(), Some(0), "{compatible}: {}", text(&o));
        let f = fields(&tmp.path().join("small/board.toml"));
        assert_eq!(f["uart.driver"].as_str(), Some("cdns"), "{compatible}");
        let demo = fields(&tmp.path().join("small/linux-demo.toml"));
        let args = demo["cells[0].boot.bootargs"].as_str().unwrap();
        assert!(args.starts_with("console=ttyPS0 "), "{compatible}: {args}");
    }
}

#[test]
fn supported_small_board_passes_check() {
    let (tmp, o) = run_dts(&small_dts("arm,gic-400", "arm,pl011", "psci"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let f = fields(&tmp.path().join("small/board.toml"));
    assert_eq!(f["uart.base"].as_integer(), Some(0xff00_0000));
    assert_eq!(f["uart.driver"].as_str(), Some("pl011"));
    assert_eq!(f["gic.gicc_base"].as_integer(), Some(0xf902_0000));
    assert_eq!(f["cpus.start"].as_str(), Some("psci-smc"));
    assert_eq!(f["gic.num_irqs"].as_integer(), Some(64));
    // INTID 53 (SPI 21) is the UART's: the INTx block avoids it.
    let irq = f["vpci.irq_base"].as_integer().unwrap();
    assert!(!(irq..irq + 4).contains(&53) && irq + 4 <= 64, "{irq}");
    // The ECAM avoids the UART page at 0xff00_0000.
    let ecam = f["vpci.ecam_base"].as_integer().unwrap();
    assert!(ecam + 0x10_0000 <= 0xff00_0000 || ecam >= 0xff00_1000, "{ecam:#x}");
}

/// The third board's DTB, from the generic kernel package `cargo xtask
/// fetch` downloads (build/guest/manifest.json names it).
fn zcu102_dtb(dir: &Path) -> PathBuf {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("build/guest/manifest.json"))
            .expect("build/guest/manifest.json: run `cargo xtask fetch`"),
    )
    .unwrap();
    let deb = repo().join(manifest["generic"]["deb"].as_str().unwrap());
    let release = manifest["generic"]["kernel_release"].as_str().unwrap();
    let member = format!("./usr/lib/linux-image-{release}/xilinx/zynqmp-zcu102-rev1.0.dtb");
    let tar = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(&deb)
        .output()
        .expect("dpkg-deb");
    assert!(tar.status.success(), "{}", deb.display());
    let mut x = Command::new("tar")
        .args(["-x", "-C"])
        .arg(dir)
        .arg(&member)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("tar");
    use std::io::Write;
    x.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    assert!(x.wait().unwrap().success(), "{member} in {}", deb.display());
    dir.join(member)
}

#[test]
fn zcu102_dtb_derives_the_board_ci_boots() {
    let tmp = tempfile::tempdir().unwrap();
    let dtb = zcu102_dtb(tmp.path());
    let out = tmp.path().join("zcu102");
    let o = board_new(&["--dtb", dtb.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("warning"), "{}", text(&o));
    let f = fields(&out.join("board.toml"));
    let int = |k: &str| f[k].as_integer().unwrap_or_else(|| panic!("{k}"));
    assert_eq!((int("ram.base"), int("ram.size")), (0, 0x8000_0000));
    // The Cadence UART serial0 (stdout-path) names, driven by the shim's
    // Cadence driver.
    assert_eq!((int("uart.base"), int("uart.size")), (0xff00_0000, 0x1000));
    assert_eq!(f["uart.driver"].as_str(), Some("cdns"));
    assert_eq!(int("gic.version"), 2);
    assert_eq!((int("gic.gicd_base"), int("gic.gicc_base")), (0xf901_0000, 0xf902_0000));
    // QEMU's and the SoC's GIC-400 implement 192 lines, the lower bound the DTB proves.
    assert_eq!(int("gic.num_irqs"), 192);
    assert_eq!(f["cpus.start"].as_str(), Some("psci-smc"));
    assert_eq!(f["cpus.mpidr"].as_array().unwrap().len(), 4);
    // What CI boots is this output, unedited: boards/zcu102/board.toml.
    let diffs = differences(&out.join("board.toml"), &repo().join("boards/zcu102/board.toml"), None);
    assert!(
        diffs.is_empty(),
        "boards/zcu102/board.toml is not what board new writes:\n{diffs:#?}"
    );
    // linux-demo.toml as generated, but for the reviewed overlay that gives
    // the console a clock without the platform firmware QEMU lacks.
    let demo = fields(&out.join("linux-demo.toml"));
    assert!(
        demo["cells[0].boot.bootargs"]
            .as_str()
            .unwrap()
            .starts_with("console=ttyPS0 earlycon"),
        "{demo:#?}"
    );
    let diffs = differences(
        &out.join("linux-demo.toml"),
        &repo().join("boards/zcu102/linux-demo.toml"),
        None,
    );
    assert_only(&diffs, &["cells[0].overlays"], "zcu102");
}

#[test]
fn console_waiting_for_a_disabled_provider_is_reported() {
    // QEMU's xlnx-zcu102 disables the platform firmware node in the DTB it
    // hands over; the console's clocks, power domain and pins are under it.
    let tmp = tempfile::tempdir().unwrap();
    let dtb = zcu102_dtb(tmp.path());
    let st = Command::new("fdtput")
        .args(["-t", "s"])
        .arg(&dtb)
        .args(["/firmware/zynqmp-firmware", "status", "disabled"])
        .status()
        .expect("fdtput");
    assert!(st.success());
    let out = tmp.path().join("zq");
    let o = board_new(&["--dtb", dtb.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for (prop, target) in [
        ("clocks", "/firmware/zynqmp-firmware/clock-controller"),
        ("power-domains", "/firmware/zynqmp-firmware"),
        ("pinctrl-0", "/firmware/zynqmp-firmware/pinctrl/uart0-default"),
    ] {
        let want = format!(
            "console /axi/serial@ff000000: {prop} -> {target}: /firmware/zynqmp-firmware is disabled in this DTB"
        );
        assert!(err.contains(&want), "{want}\n{err}");
    }
    let demo = std::fs::read_to_string(out.join("linux-demo.toml")).unwrap();
    assert!(
        demo.contains("# REVIEW: Linux will not bind the console /axi/serial@ff000000"),
        "{demo}"
    );
}

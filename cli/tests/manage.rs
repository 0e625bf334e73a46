//! `cellboot check` on management grants (`manage = [...]`) and staging
//! windows: the e2e systems pass on both boards; each broken grant is
//! refused naming file, field and value (exit 1).

mod common;

use common::*;
use serde_json::Value;

const VIRT_MANAGE: &str = "boards/qemu-virt/manage.toml";
const PI_MANAGE: &str = "boards/rpi4b/manage.toml";

fn virt_text() -> String {
    read(&repo_file(VIRT_MANAGE))
}

/// `check --json` of `text` on QEMU virt: (exit code, problems as field = value: message).
fn problems(text: &str) -> (i32, Vec<String>) {
    let c = ConfigCopy::new("qemu-virt", text);
    let o = cellboot(["check".as_ref(), c.system().as_os_str(), "--json".as_ref()]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)));
    let list = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    format!(
                        "{} = {}: {}",
                        p["field"].as_str().unwrap(),
                        p["value"].as_str().unwrap(),
                        p["message"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (o.status.code().unwrap(), list)
}

#[test]
fn the_manage_systems_pass_on_both_boards() {
    for (sys, dtb) in [(VIRT_MANAGE, VIRT_DTB), (PI_MANAGE, PI_DTB)] {
        let o = if repo_file(dtb).exists() {
            check_with_dtb(&repo_file(sys), &repo_file(dtb))
        } else {
            cellboot(["check".as_ref(), repo_file(sys).as_os_str()])
        };
        assert_exit(&o, 0);
    }
}

#[test]
fn unknown_names_and_self_grants_are_refused() {
    let t = replace_once(&virt_text(), "manage = [\"rtos\"]", "manage = [\"rtos\", \"rtos2\"]");
    let (code, p) = problems(&t);
    assert_eq!(code, 1);
    assert_eq!(p, ["cells[0].manage[1] = \"rtos2\": no cell has this name"]);
    let t = replace_once(&virt_text(), "manage = [\"rtos\"]", "manage = [\"linux\"]");
    let (code, p) = problems(&t);
    assert_eq!(code, 1);
    assert!(
        p.iter()
            .any(|m| m == "cells[0].manage[0] = \"linux\": a cell cannot be granted control of itself"),
        "{p:?}"
    );
}

#[test]
fn a_grant_needs_a_staging_window_of_the_managers_own() {
    let window = "flags = [\"read\", \"write\", \"staging\"]";
    // No window.
    let t = replace_once(&virt_text(), window, "flags = [\"read\", \"write\", \"ram\"]");
    let (code, p) = problems(&t);
    assert_eq!(code, 1);
    assert!(
        p.iter()
            .any(|m| m.starts_with("cells[0].manage = [\"rtos\"]: a cell with grants needs a staging window")),
        "{p:?}"
    );
    // A window on the rtos cell's RAM.
    let t = replace_once(&virt_text(), "phys = 0x6400_0000", "phys = 0x6100_0000");
    let (_, p) = problems(&t);
    assert!(
        p.iter()
            .any(|m| m.contains("staging window overlaps another cell's memory")),
        "{p:?}"
    );
    // A window without grants.
    let t = replace_once(&virt_text(), "manage = [\"rtos\"]", "manage = []");
    let (_, p) = problems(&t);
    assert!(
        p.iter()
            .any(|m| m
                .starts_with("cells[0].memory[3].flags = [\"read\", \"write\", \"staging\"]: only a cell with grants")),
        "{p:?}"
    );
    // Flagged shared as well.
    let t = replace_once(
        &virt_text(),
        window,
        "flags = [\"read\", \"write\", \"staging\", \"shared\"]",
    );
    let (_, p) = problems(&t);
    assert!(
        p.iter().any(|m| m.contains("not \"ram\", \"shared\" or \"io\"")),
        "{p:?}"
    );
}

#[test]
fn the_link_cannot_take_the_functions_device_number() {
    let t = replace_once(&virt_text(), "device = 0\n", "device = 31\n");
    let (code, p) = problems(&t);
    assert_eq!(code, 1);
    assert!(
        p.iter().any(|m| m.contains("device 31 on a managing cell's bus")),
        "{p:?}"
    );
}

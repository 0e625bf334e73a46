//! Loads the real qemu-virt files after editing them as TOML values.
#![allow(dead_code)]

use cellboot_config::{ConfigError, Source, System, compile_sources};
use std::path::PathBuf;
use toml::{Table, Value};

pub fn board_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../boards/qemu-virt")
}

fn read(name: &str) -> Table {
    let text = std::fs::read_to_string(board_dir().join(name)).unwrap();
    text.parse().unwrap()
}

/// Sets `path` ("cells.0.memory.1.phys") to `v`; a path ending in a new key adds it.
pub fn set(t: &mut Table, path: &str, v: Value) {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().unwrap();
    let mut cur: &mut Value = t.get_mut(keys[0]).unwrap_or_else(|| panic!("no {}", keys[0]));
    for k in &keys[1..] {
        cur = match k.parse::<usize>() {
            Ok(i) => &mut cur.as_array_mut().unwrap()[i],
            Err(_) => cur.get_mut(*k).unwrap_or_else(|| panic!("no {k} in {path}")),
        };
    }
    if keys.len() == 1 && keys[0] == last {
        t.insert(last.into(), v);
        return;
    }
    match last.parse::<usize>() {
        Ok(i) => cur.as_array_mut().unwrap()[i] = v,
        Err(_) => {
            cur.as_table_mut().unwrap().insert(last.into(), v);
        }
    }
}

pub fn int(v: u64) -> Value {
    Value::Integer(v as i64)
}

pub fn load_edited(
    board: impl FnOnce(&mut Table),
    system: impl FnOnce(&mut Table),
) -> Result<System, Vec<ConfigError>> {
    let (mut b, mut s) = (read("board.toml"), read("linux-demo.toml"));
    board(&mut b);
    system(&mut s);
    load_text(toml::to_string(&b).unwrap(), toml::to_string(&s).unwrap())
}

pub fn load_text(board: String, system: String) -> Result<System, Vec<ConfigError>> {
    compile_sources(
        &Source {
            path: board_dir().join("board.toml"),
            text: board,
        },
        &Source {
            path: board_dir().join("linux-demo.toml"),
            text: system,
        },
    )
}

pub fn errors_of(r: Result<System, Vec<ConfigError>>) -> Vec<ConfigError> {
    match r {
        Ok(_) => panic!("expected errors, the config was accepted"),
        Err(e) => e,
    }
}

/// Asserts one error names `file`, `field` and a value containing `value`.
pub fn expect(errs: &[ConfigError], file: &str, field: &str, value: &str) {
    let hit = errs
        .iter()
        .any(|e| e.file.ends_with(file) && e.field == field && e.value.contains(value));
    let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(hit, "no error for {file}: {field} = {value}; got:\n{}", all.join("\n"));
}

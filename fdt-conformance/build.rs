//! Link the system libfdt (from Debian's libfdt-dev) as the conformance oracle.
use std::path::Path;

const LIB_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBFDT_DIR");
    let mut dirs: Vec<String> = Vec::new();
    if let Ok(d) = std::env::var("LIBFDT_DIR") {
        dirs.push(d);
    }
    dirs.extend(LIB_DIRS.iter().map(|s| s.to_string()));
    let found = dirs
        .iter()
        .find(|d| Path::new(d).join("libfdt.a").exists() || Path::new(d).join("libfdt.so").exists());
    match found {
        Some(dir) => {
            println!("cargo:rustc-link-search=native={dir}");
            // Prefer the static archive: the benchmark then counts libfdt's own
            // instructions without PLT indirection, and tests need no rpath.
            if Path::new(dir).join("libfdt.a").exists() {
                println!("cargo:rustc-link-lib=static=fdt");
            } else {
                println!("cargo:rustc-link-lib=fdt");
            }
        }
        None => panic!(
            "fdt-conformance needs the C libfdt (libfdt.a or libfdt.so) in one of {dirs:?}; \
             install it with `apt-get install libfdt-dev` or set LIBFDT_DIR"
        ),
    }
}

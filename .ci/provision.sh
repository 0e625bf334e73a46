#!/usr/bin/env bash
# Installs, idempotently, every system package the build and tests need.
# Safe to run again: each step checks before it acts.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

log() { printf '[provision] %s\n' "$*" >&2; }

backports=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$backports" ]; then
    log "adding bookworm-backports (QEMU 10 has -M raspi4b; bookworm main has 7.2)"
    $SUDO tee "$backports" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    need_update=1
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "adding the arm64 architecture (guest kernel and busybox packages)"
    $SUDO dpkg --add-architecture arm64
    need_update=1
fi
if [ "${need_update:-0}" = 1 ] || [ ! -f /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-backports_InRelease ]; then
    log "apt-get update"
    $SUDO apt-get update -q >/dev/null
fi

missing=()
for p in device-tree-compiler libfdt-dev python3-libfdt valgrind cpio; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >/dev/null
fi

qemu_ok() {
    command -v qemu-system-aarch64 >/dev/null 2>&1 &&
        qemu-system-aarch64 -machine help 2>/dev/null | grep -q raspi4b &&
        qemu-system-aarch64 -machine help 2>/dev/null | grep -q xlnx-zcu102
}
if ! qemu_ok; then
    log "installing qemu-system-arm from bookworm-backports"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -t bookworm-backports qemu-system-arm >/dev/null
fi
qemu_ok || { log "qemu-system-aarch64 with raspi4b and xlnx-zcu102 is still missing"; exit 1; }

if ! python3 -c 'import dtschema' 2>/dev/null; then
    log "installing dtschema (dt-validate) from PyPI"
    python3 -m pip install -q dtschema
fi
# fdt-conformance's second C oracle: the libfdt 1.7.2 PyPI's pylibfdt bundles
# (fdt-conformance/src/libfdt_current.rs); Debian's python3-libfdt is 1.6.1.
if ! python3 -c 'import importlib.metadata as m, libfdt; assert m.version("pylibfdt").startswith("1.7.2")' 2>/dev/null; then
    log "installing pylibfdt 1.7.2 from PyPI"
    python3 -m pip install -q 'pylibfdt==1.7.2.post2'
fi
log "system packages ready"

#!/bin/busybox sh
# Run-time management from the Linux cell (boards/*/manage.toml,
# docs/management.md): after the peer test, cellctl drives the management
# PCI function against the rtos cell, and the round trip runs again against
# the rtos-demo build it loaded. Run by /init with the ivshmem device's
# sysfs path; only in the manage initramfs (xtask/src/manage.rs).
# Markers (in order):
#   CELLBOOT: cellctl list ok        (the table before it)
#   CELLBOOT: cellctl stats ok       (the table before it)
#   CELLBOOT: rtos stopped, its ivshmem state 0
#   CELLBOOT: cellctl load ok
#   CELLBOOT: cellctl start ok
#   ... the round trip markers of ivshmem-peer.sh again ...
#   CELLBOOT: manage ok
# cellboot.manage_hostile=1 (with cellboot.shim=<the shim's base>) adds
# refusals, each logged by the shim with this cell's name:
#   CELLBOOT: mgmt refused <what> (exit 1)   one per attempt
# Failures print "CELLBOOT: FAIL ..." and exit 1.

dev="$1"
say() { echo "CELLBOOT: $*"; }
die() { say "FAIL $*"; exit 1; }
rd() { devmem "$(printf '0x%x' "$1")" 32; }
cfg_read() { # offset bytes
    v=$(od -A n -t "x$2" -j "$1" -N "$2" "$dev/config" 2>/dev/null | tr -d ' \n')
    [ -n "$v" ] || return 1
    echo "0x$v"
}
HOSTILE=""
SHIM=""
BENCH=0
BENCH_IPA=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        cellboot.manage_hostile=*) HOSTILE="${arg#*=}" ;;
        cellboot.shim=*) SHIM="${arg#*=}" ;; # the shim's physical base (xtask)
        cellboot.manage_bench=*) BENCH="${arg#*=}" ;;
        cellboot.manage_bench_ipa=*) BENCH_IPA="${arg#*=}" ;; # where a window-sized image fits in rtos RAM
    esac
done

shmem=$(cfg_read $((0x58)) 8) || die "manage: ivshmem vendor capability unreadable"
bar0=$(head -n 1 "$dev/resource" | cut -d ' ' -f 1)
other=$((1 - $(rd "$bar0")))
peer_state() { echo $(($(rd $((shmem + 4 * other))))); }

cellctl list || die "cellctl list (exit $?)"
say "cellctl list ok"
cellctl stats rtos || die "cellctl stats rtos (exit $?)"
say "cellctl stats ok"
cellctl stats rtos --json | grep -q '"doorbells_received":' || die "cellctl stats --json"

# A refusal: exit code 1 and the reason; the shim logs it with our name.
refused() { # what, command...
    what="$1"
    shift
    "$@"
    rc=$?
    [ $rc -eq 1 ] || die "mgmt: $what: exit $rc, expected 1 (refused)"
    say "mgmt refused $what (exit 1)"
}
if [ "$HOSTILE" = 1 ]; then
    refused "load into a running cell" cellctl load rtos /rtos-demo-v2.bin
fi

[ "$(peer_state)" -ne 0 ] || die "rtos state already 0 before the stop"
cellctl stop rtos || die "cellctl stop rtos (exit $?)"
tries=0
while [ "$(peer_state)" -ne 0 ] && [ $tries -lt 50 ]; do
    tries=$((tries + 1))
    sleep 0.1
done
[ "$(peer_state)" -eq 0 ] || die "rtos state $(peer_state) after cellctl stop, expected 0"
cellctl list | grep -q '^1 *rtos *stopped' || die "cellctl list does not show rtos stopped: $(cellctl list)"
say "rtos stopped, its ivshmem state 0"

if [ "$HOSTILE" = 1 ]; then
    refused "load outside the target's RAM" cellctl load rtos /rtos-demo-v2.bin --ipa 0x4800_0000
    [ -n "$SHIM" ] || die "mgmt: no cellboot.shim= on the command line"
    refused "load over the shim" cellctl load rtos /rtos-demo-v2.bin --ipa "$SHIM"
    head -c $((9 * 1024 * 1024)) /dev/zero > /tmp/big.bin
    refused "image larger than the window" cellctl load rtos /tmp/big.bin
    rm -f /tmp/big.bin
fi

cellctl load rtos /rtos-demo-v2.bin || die "cellctl load rtos /rtos-demo-v2.bin (exit $?)"
say "cellctl load ok"
cellctl start rtos || die "cellctl start rtos (exit $?)"
say "cellctl start ok"
/ivshmem-peer.sh "$dev" again || die "round trip against the loaded rtos-demo"
cellctl list
cellctl stats rtos
say "manage ok"

# `cargo xtask bench --only manage` (cellboot.manage_bench=N): a
# window-sized image loaded 5 times into the stopped rtos (load
# throughput), then N restarts, each timed to the rtos cell's first
# console line (cellctl restart --wait).
median() { sort -n "$1" | sed -n "$(($(wc -l < "$1") / 2 + 1))p"; }
if [ "$BENCH" -gt 0 ]; then
    size=$(cellctl list --json | sed -n 's/.*"window_bytes":\([0-9]*\).*/\1/p')
    [ "$size" -gt 0 ] && [ -n "$BENCH_IPA" ] || die "bench: window size $size, ipa $BENCH_IPA"
    head -c "$size" /dev/zero > /tmp/big.bin
    cellctl stop rtos || die "bench: stop"
    : > /tmp/load
    for i in 1 2 3 4 5; do
        cellctl --time load rtos /tmp/big.bin --ipa "$BENCH_IPA" | sed -n 's/^time_us=//p' >> /tmp/load
    done
    say "load-bench bytes=$size n=5 median_us=$(median /tmp/load)"
    rm -f /tmp/big.bin
    cellctl unload rtos && cellctl load rtos /rtos-demo-v2.bin && cellctl start rtos || die "bench: back to v2"
    : > /tmp/restart
    i=0
    while [ $i -lt "$BENCH" ]; do
        cellctl restart rtos --wait | sed -n 's/.*first console line after \([0-9]*\) us/\1/p' >> /tmp/restart
        i=$((i + 1))
    done
    [ "$(wc -l < /tmp/restart)" -eq "$BENCH" ] || die "bench: $(wc -l < /tmp/restart) of $BENCH restarts timed"
    say "restart-bench n=$BENCH median_us=$(median /tmp/restart) max_us=$(sort -n /tmp/restart | tail -n 1)"
fi
exit 0

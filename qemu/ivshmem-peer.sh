#!/bin/busybox sh
# Linux side of the partitioned demo (boards/qemu-virt/two-cell.toml,
# hostile.toml): talks to the rtos-demo cell over the ivshmem-v2 device.
# Run by /init (qemu/init.sh) with the device's sysfs path once check_pci
# passed; only in the partition initramfs (xtask/src/partition.rs).
#
# - binds uio_pci_generic (uio.ko + uio_pci_generic.ko from the cloud
#   kernel package, in /lib/modules) so the INTx has a handler and counts in
#   /proc/interrupts; re-arms INTx through /dev/uioN after each interrupt;
# - waits for the peer's "ready" in the state table, enables INT_CONTROL;
# - round trip: request into our output section, doorbell of the peer,
#   poll the peer's output section for the answer (cellboot_inmates::proto);
# - N timed round trips (cellboot.rtt=N, default 20): median and max;
# - checks the R/W section canary init.sh wrote is intact.
# Markers (in order):
#   CELLBOOT: ivshmem driver uio_pci_generic bound (uioN, irq I)
#   CELLBOOT: ivshmem peer P ready
#   CELLBOOT: ivshmem round trip ok ...
#   CELLBOOT: ivshmem interrupts A -> B
#   CELLBOOT: rtt n=N median_us=M max_us=X (...)
#   CELLBOOT: rtt-native n=N min_us=.. median_us=.. max_us=.. (/bin/ivshmem-rtt)
#   CELLBOOT: shmem canary intact
# Failures print "CELLBOOT: FAIL ..." and exit 1.

dev="$1"
# "again" (qemu/manage.sh, after the peer was replaced): the driver is bound
# already; one round trip, the interrupt count and the canary, no timing.
AGAIN="$2"
say() { echo "CELLBOOT: $*"; }
die() { say "FAIL $*"; exit 1; }
hex() { printf '0x%x' "$1"; }
rd() { devmem "$(hex "$1")" 32; }
wr() { devmem "$(hex "$1")" 32 "$2"; }
cfg_read() { # offset bytes
    v=$(od -A n -t "x$2" -j "$1" -N "$2" "$dev/config" 2>/dev/null | tr -d ' \n')
    [ -n "$v" ] || return 1
    echo "0x$v"
}

PING=0x474e4950
PONG=0x474e4f50
STATS=0xffffffff
RTT_N=20
RTT_NATIVE_N=200
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        cellboot.rtt=*) RTT_N="${arg#*=}" ;;
        cellboot.rtt_native=*) RTT_NATIVE_N="${arg#*=}" ;;
    esac
done

# --- driver: uio_pci_generic (needs uio) ---
if [ "$AGAIN" != again ]; then
    for m in uio uio_pci_generic; do
        insmod "/lib/modules/$m.ko" || die "insmod /lib/modules/$m.ko"
    done
    echo "110a 4106" > /sys/bus/pci/drivers/uio_pci_generic/new_id 2>/dev/null
fi
tries=0
while [ ! -d "$dev/uio" ] && [ $tries -lt 50 ]; do
    tries=$((tries + 1))
    sleep 0.1
done
[ -d "$dev/uio" ] || die "uio_pci_generic did not bind ${dev##*/} (driver: $(readlink "$dev/driver"))"
uio=$(ls "$dev/uio" | head -n 1)
irq=$(cat "$dev/irq")
say "ivshmem driver uio_pci_generic bound ($uio, irq $irq)"
irq_count() { # sum over CPUs of our line in /proc/interrupts
    awk -v irq="$irq:" '$1 == irq { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print s }' /proc/interrupts
}
unmask() { printf '\001\000\000\000' > "/dev/$uio"; }

# --- the link ---
bar0=$(head -n 1 "$dev/resource" | cut -d ' ' -f 1)
id=$(($(rd "$bar0")))
peers=$(($(rd $((bar0 + 4)))))
[ "$peers" -eq 2 ] || die "ivshmem: max_peers $peers, expected 2"
other=$((1 - id))
state_size=$(cfg_read $((0x44)) 4) || die "vendor capability unreadable"
rw_size=$(cfg_read $((0x48)) 8)
out_size=$(cfg_read $((0x50)) 8)
shmem=$(cfg_read $((0x58)) 8)
mine=$((shmem + state_size + rw_size + id * out_size))
theirs=$((shmem + state_size + rw_size + other * out_size))
tries=0
while [ "$(($(rd $((shmem + 4 * other)))))" -eq 0 ] && [ $tries -lt 100 ]; do
    tries=$((tries + 1))
    sleep 0.1
done
[ "$(($(rd $((shmem + 4 * other)))))" -ne 0 ] || die "peer $other never set its state (state table $(hex "$shmem"))"
say "ivshmem peer $other ready (state $(rd $((shmem + 4 * other))))"
wr $((bar0 + 8)) 1   # INT_CONTROL: receive doorbells

SEQ=0
# round_trip A B: request, doorbell, poll for the answer; sets ANSWER, TICKS.
round_trip() {
    SEQ=$((SEQ + 1))
    wr $((mine + 8)) "$1"
    wr $((mine + 12)) "$2"
    wr $((mine + 4)) "$SEQ"
    wr "$mine" "$PING"
    wr $((bar0 + 12)) $((other << 16))
    n=0
    while [ "$(($(rd $((theirs + 4)))))" -ne "$SEQ" ]; do
        n=$((n + 1))
        [ $n -lt 2000 ] || die "round trip $SEQ: no answer in the peer's output section"
    done
    [ "$(($(rd "$theirs")))" -eq $((PONG)) ] || die "round trip $SEQ: answer magic $(rd "$theirs")"
    ANSWER=$(($(rd $((theirs + 8)))))
    TICKS=$(($(rd $((theirs + 12)))))
    unmask
}

if [ "$AGAIN" = again ]; then
    # uio_pci_generic has no irqcontrol: its handler masked INTx (command
    # register bit 10) at the first interrupt. Unmask it in config space, as
    # the kernel's uio-howto does, so this round trip's doorbell counts.
    printf '\000' | dd of="$dev/config" bs=1 seek=5 count=1 conv=notrunc 2>/dev/null ||
        die "cannot unmask INTx through $dev/config"
fi
before=$(irq_count)
round_trip 1234 5678
[ "$ANSWER" -eq $(((1234 * 3 + 5678) & 0xffffffff)) ] || die "round trip: answer $ANSWER, expected $((1234 * 3 + 5678))"
say "ivshmem round trip ok (seq $SEQ, answer $ANSWER, peer ticks $TICKS)"
tries=0
while [ "$(irq_count)" -le "${before:-0}" ] && [ $tries -lt 20 ]; do
    tries=$((tries + 1))
    sleep 0.1
done
after=$(irq_count)
[ "${after:-0}" -gt "${before:-0}" ] || die "ivshmem interrupt count did not rise (${before:-none} -> ${after:-none}, irq $irq)"
say "ivshmem interrupts ${before:-0} -> $after"

if [ "$AGAIN" = again ]; then
    RTT_N=0
    RTT_NATIVE_N=0
fi
# Microseconds from /proc/uptime (10 ms resolution) with the shell's own
# `read`: a timestamp costs no process, so it adds nothing to the interval
# (a round trip here is many devmem processes, far above 10 ms under TCG).
now_us() { # sets NOW (no subshell)
    read -r up _ < /proc/uptime
    NOW=$((${up%.*} * 1000000 + (1${up#*.} - 100) * 10000))
}
: > /tmp/rtt
i=0
while [ $i -lt "$RTT_N" ]; do
    now_us
    t0=$NOW
    round_trip $i $((i + 1))
    now_us
    t1=$NOW
    [ "$ANSWER" -eq $((i * 3 + i + 1)) ] || die "round trip $SEQ: answer $ANSWER"
    echo $((t1 - t0)) >> /tmp/rtt
    i=$((i + 1))
done
if [ "$RTT_N" -gt 0 ]; then
    sort -n /tmp/rtt > /tmp/rtt.sorted
    median=$(sed -n "$((RTT_N / 2 + 1))p" /tmp/rtt.sorted)
    max=$(tail -n 1 /tmp/rtt.sorted)
    say "rtt n=$RTT_N median_us=$median max_us=$max (busybox devmem per register access, /proc/uptime 10 ms, TCG)"
fi
# The same round trip from a program (inmates/src/bin/ivshmem-rtt.rs):
# CNTVCT timestamps, no process per register access.
if [ "$RTT_NATIVE_N" -gt 0 ]; then
    /bin/ivshmem-rtt "$bar0" "$(hex "$shmem")" "$state_size" "$rw_size" "$out_size" "$id" "$RTT_NATIVE_N" ||
        die "ivshmem-rtt failed"
fi
round_trip 0 "$STATS"

for i in 0 1 2 3; do
    got=$(rd $((shmem + state_size + i * 4)))
    [ "$((got))" -eq $((0xce11b000 + i)) ] || die "shmem canary $i is $got"
done
say "shmem canary intact"
exit 0

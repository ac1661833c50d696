#!/usr/bin/env bash
# A/B of one workload on the cleancache mount and libfuse's passthrough_ll,
# back to back in alternating order, ROUNDS times; one line per run. Smaller
# and quicker than fio_compare.sh, for looking at one of its measurements.
#   rand   cold random 4 KiB reads of BACKING/rand for 4 s (IOPS); a fresh
#          cleancache mount each round, page caches dropped before each run
#   cpu    40,000 random 4 KiB reads of BACKING/rand (same offsets on both
#          sides): IOPS, the FUSE server's CPU time per read (utime+stime) and
#          the rescheduling IPIs per read (/proc/interrupts RES, all CPUs: a
#          wake-up aimed at a busy vCPU needs one, an idle-polling one not)
#   untar  tar -xf WORK/include.tar + sync into each mount (seconds)
# Usage: bench/fuse/ab_pair.sh BUILD_DIR rand|cpu|untar ROUNDS [BACKING] [WORK]
# BACKING defaults to fio_compare.sh's (/var/tmp/cc-fuse-bench/backing), which
# also makes rand and include.tar. Env: SPEC (zcache:capacity=2G), MOUNT_ARGS.
set -euo pipefail
BUILD=$(realpath "${1:?usage: ab_pair.sh BUILD_DIR rand|cpu|untar ROUNDS [BACKING] [WORK]}")
MODE=${2:?mode}
ROUNDS=${3:?rounds}
BACKING=${4:-/var/tmp/cc-fuse-bench/backing}
WORK=${5:-/var/tmp/cc-fuse-ab}
CLEANCACHE=$BUILD/src/cli/cleancache
PASSTHROUGH=$BUILD/bench/fuse/passthrough_ll
[[ $(id -u) == 0 ]] || { echo "needs root (drop_caches, FUSE mounts)" >&2; exit 2; }
case $MODE in
  rand | cpu) [[ -f $BACKING/rand ]] || { echo "no $BACKING/rand (run fio_compare.sh once)" >&2; exit 2; } ;;
  untar) [[ -f /var/tmp/cc-fuse-bench/include.tar ]] || { echo "no include.tar (run fio_compare.sh once)" >&2; exit 2; } ;;
  *) echo "unknown mode '$MODE' (rand, cpu, untar)" >&2; exit 2 ;;
esac
PT=$WORK/mnt-passthrough CC=$WORK/mnt-cleancache
mkdir -p "$PT" "$CC"
cleanup() {
  fusermount3 -u "$PT" 2>/dev/null || true
  "$CLEANCACHE" umount "$CC" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
"$PASSTHROUGH" -o source="$BACKING" "$PT"
pt_pid=$(pgrep -n -f "passthrough_ll -o source=$BACKING")
mount_cc() {
  "$CLEANCACHE" umount "$CC" 2>/dev/null || true
  # shellcheck disable=SC2086
  "$CLEANCACHE" mount "$BACKING" "$CC" --backend "${SPEC:-zcache:capacity=2G}" ${MOUNT_ARGS:-}
  cc_pid=$("$CLEANCACHE" stats "$CC" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["mount"]["pid"])')
}
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# The VM's disk is cached by its host: warm that cache (O_DIRECT, the guest's
# stays cold) so both sides read from it, as fio_compare.sh does.
warm() { dd if="$BACKING/rand" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null || true; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
resched_ipis() { awk '/^ *RES:/ {n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; ++i) n += $i; print n}' /proc/interrupts; }
fio_rand() {  # dir, extra fio args...
  local dir=$1; shift
  fio --name=job --filename="$dir/rand" --rw=randread --bs=4k --ioengine=psync --minimal --invalidate=0 "$@" |
    awk -F';' '{print $8}'
}
for ((i = 1; i <= ROUNDS; i++)); do
  mount_cc
  sides=(pt cc); ((i % 2 == 0)) && sides=(cc pt)
  for side in "${sides[@]}"; do
    dir=$PT pid=$pt_pid; [[ $side == cc ]] && dir=$CC pid=$cc_pid
    case $MODE in
      rand)
        drop; warm
        echo "round $i $side iops $(fio_rand "$dir" --time_based --runtime=4)" ;;
      cpu)
        drop; warm
        t0=$(cpu_ticks "$pid") r0=$(resched_ipis)
        iops=$(fio_rand "$dir" --number_ios=40000)
        t1=$(cpu_ticks "$pid") r1=$(resched_ipis)
        echo "round $i $side iops $iops server_cpu_us_per_read $(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
          'BEGIN {printf "%.1f", t / hz * 1e6 / 40000}') resched_ipis_per_read $(awk -v r=$((r1 - r0)) \
          'BEGIN {printf "%.3f", r / 40000}')" ;;
      untar)
        rm -rf "$dir/untar"; mkdir "$dir/untar"; drop
        start=$(date +%s.%N); tar -C "$dir/untar" -xf /var/tmp/cc-fuse-bench/include.tar; sync; end=$(date +%s.%N)
        rm -rf "$dir/untar"
        echo "round $i $side seconds $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')" ;;
    esac
  done
done

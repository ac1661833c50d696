#!/usr/bin/env bash
# A/B of two builds' cleancache mounts on one workload, back to back in
# alternating order, ROUNDS times; prints each run, then per build the median
# and min-max, and the ratio of medians B/A. For checking that a change does
# not cost the mount anything (the machines are noisy: compare within a run).
#   untar  tar -xf of /usr/include (a tar made once) + sync into the mount (s)
#   open   20,000 x (open, read 4 KiB, close) over 200 small files the kernel
#          has cached: microseconds per open (each open reaches the mount)
#   rand   random 4 KiB reads of a 256 MiB file through the mount for 4 s,
#          page caches dropped first (IOPS)
#   hits   the same file read once at 100 MB/s (every page put), caches
#          dropped, then O_DIRECT random 4 KiB reads for 4 s: the hit path,
#          each read a FUSE round trip served from cleancache (IOPS)
# Usage: bench/fuse/ab_builds.sh BUILD_A BUILD_B untar|open|rand|hits ROUNDS
# BUILD_B may be BUILD_A, to compare options. Env: WORK
# (/var/tmp/cc-fuse-ab-builds), MOUNT_ARGS (extra mount options for both),
# MOUNT_ARGS_A and MOUNT_ARGS_B (for one side).
set -euo pipefail
shopt -s inherit_errexit  # a failed mount inside $(run ...) stops the run
A=$(realpath "${1:?usage: ab_builds.sh BUILD_A BUILD_B untar|open|rand|hits ROUNDS}")
B=$(realpath "${2:?build B}")
MODE=${3:?mode}
ROUNDS=${4:?rounds}
WORK=${WORK:-/var/tmp/cc-fuse-ab-builds}
[[ $(id -u) == 0 ]] || { echo "needs root (drop_caches, FUSE mounts)" >&2; exit 2; }
case $MODE in untar | open | rand | hits) ;; *) echo "unknown mode '$MODE' (untar, open, rand, hits)" >&2; exit 2 ;; esac
for build in "$A" "$B"; do
  [[ -x $build/src/cli/cleancache ]] || { echo "no $build/src/cli/cleancache" >&2; exit 2; }
done
BACKING=$WORK/backing MNT=$WORK/mnt
mkdir -p "$BACKING" "$MNT"
cleanup() { "$A/src/cli/cleancache" umount "$MNT" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
[[ -f $WORK/include.tar ]] || tar -C /usr -cf "$WORK/include.tar" include
if [[ ! -f $BACKING/rand ]]; then
  head -c 256M /dev/urandom > "$BACKING/rand"
fi
if [[ ! -d $BACKING/small ]]; then
  mkdir "$BACKING/small"
  for i in $(seq 200); do head -c 8192 /dev/urandom > "$BACKING/small/$i"; done
fi
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
run() {  # build, its extra options -> one figure
  local cli=$1/src/cli/cleancache
  # shellcheck disable=SC2086
  "$cli" mount "$BACKING" "$MNT" ${MOUNT_ARGS:-} $2
  case $MODE in
    untar)
      drop
      local start end
      start=$(date +%s.%N)
      tar -C "$MNT" -xf "$WORK/include.tar"
      sync
      end=$(date +%s.%N)
      awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}'
      rm -rf "$BACKING/include"
      ;;
    open)
      python3 - "$MNT/small" <<'EOF'
import os, sys, time
d = sys.argv[1]
names = [os.path.join(d, str(i)) for i in range(1, 201)]
for n in names:  # warm the kernel's caches
    with open(n, "rb") as f: f.read(4096)
t = time.perf_counter()
for i in range(20000):
    fd = os.open(names[i % 200], os.O_RDONLY)
    os.read(fd, 4096)
    os.close(fd)
print(f"{(time.perf_counter() - t) / 20000 * 1e6:.2f}")
EOF
      ;;
    rand)
      drop
      fio --name=job --filename="$MNT/rand" --rw=randread --bs=4k --ioengine=psync --minimal --invalidate=0 \
        --time_based --runtime=4 | awk -F';' '{print $8}'
      ;;
    hits)
      drop
      fio --name=fill --filename="$MNT/rand" --rw=read --bs=1M --ioengine=psync --rate=100m --minimal >/dev/null
      drop
      fio --name=job --filename="$MNT/rand" --rw=randread --bs=4k --ioengine=psync --direct=1 --minimal \
        --time_based --runtime=4 | awk -F';' '{print $8}'
      ;;
  esac
  "$cli" umount "$MNT"
}
declare -A R
for ((i = 1; i <= ROUNDS; i++)); do
  order=(A B); ((i % 2 == 0)) && order=(B A)
  for side in "${order[@]}"; do
    build=$A args=${MOUNT_ARGS_A:-}
    [[ $side == B ]] && build=$B args=${MOUNT_ARGS_B:-}
    v=$(run "$build" "$args")
    R[$side]+="$v "
    echo "round $i $side $MODE $v"
  done
done
stats() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", m, v[1], v[NR]}'; }
read -r ma mina maxa <<< "$(stats "${R[A]}")"
read -r mb minb maxb <<< "$(stats "${R[B]}")"
echo "A $A: median $ma (min $mina, max $maxa)"
echo "B $B: median $mb (min $minb, max $maxb)"
awk -v a="$ma" -v b="$mb" -v m="$MODE" 'BEGIN {printf "%s: B/A = %.3f\n", m, b / a}'

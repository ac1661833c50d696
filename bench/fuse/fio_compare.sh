#!/usr/bin/env bash
# cleancache mount vs libfuse's passthrough_ll, in one run (root, fio, a disk
# under WORK). Prints one line per measurement and the ratios the issue asks:
#   1. cold sequential read 1 MiB blocks     (page caches dropped)  ratio cleancache/passthrough
#   2. cold random 4 KiB reads               (page caches dropped)  ratio cleancache/passthrough
#   3. random 4 KiB re-reads after the primary dropped them: cleancache mount
#      (O_DIRECT through FUSE, so the kernel page cache - the primary - is
#      bypassed and every read reaches the mount, where cleancache serves it)
#      vs the same reads on the backing disk with its page cache dropped
#      (O_DIRECT on the backing file)                                ratio cleancache/disk
#   4. metadata: untar of /usr/include (tar made once beforehand)    ratio of seconds
# Usage: bench/fuse/fio_compare.sh BUILD_DIR [WORK_DIR]
# Env: SEQ_SIZE (1G), RAND_SIZE (512M), RUNTIME (15 s per random job), REPEAT (3: medians).
set -euo pipefail
BUILD=$(realpath "${1:?usage: fio_compare.sh BUILD_DIR [WORK_DIR]}")
WORK=${2:-/var/tmp/cc-fuse-bench}
SEQ_SIZE=${SEQ_SIZE:-1G}
RAND_SIZE=${RAND_SIZE:-512M}
RUNTIME=${RUNTIME:-15}
REPEAT=${REPEAT:-3}
CLEANCACHE=$BUILD/src/cli/cleancache
PASSTHROUGH=$BUILD/bench/fuse/passthrough_ll
for tool in "$CLEANCACHE" "$PASSTHROUGH"; do
  [[ -x $tool ]] || { echo "missing $tool (build targets cleancache_cli and passthrough_ll)" >&2; exit 2; }
done
command -v fio >/dev/null || { echo "fio is not installed (apt-get install fio)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (drop_caches, FUSE mounts)" >&2; exit 2; }

BACKING=$WORK/backing PT=$WORK/mnt-passthrough CC=$WORK/mnt-cleancache
cleanup() {
  fusermount3 -u "$PT" 2>/dev/null || true
  "$CLEANCACHE" umount "$CC" 2>/dev/null || fusermount3 -u -z "$CC" 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p "$BACKING" "$PT" "$CC"
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# Data: written once with fio (random, half-compressible buffers).
for f in seq:$SEQ_SIZE rand:$RAND_SIZE; do
  name=${f%%:*} size=${f#*:}
  if [[ ! -f $BACKING/$name || $(stat -c %s "$BACKING/$name") != $(numfmt --from=iec "$size") ]]; then
    fio --name=prep --filename="$BACKING/$name" --rw=write --bs=1M --size="$size" \
        --buffer_compress_percentage=50 --refill_buffers --minimal >/dev/null
  fi
done
[[ -f $WORK/include.tar ]] || tar -C /usr -cf "$WORK/include.tar" include
sleep 1  # files settle (cleancache does not cache files changed in the last 30 ms)

"$PASSTHROUGH" -o source="$BACKING" "$PT"

# fio terse output: field 7 = read KiB/s, field 8 = read IOPS.
fio_read() {  # dir file rw bs direct runtime
  local args=(--name=job --filename="$1/$2" --rw="$3" --bs="$4" --direct="$5" --ioengine=psync --minimal
              --invalidate=0)
  [[ $6 != 0 ]] && args+=(--time_based --runtime="$6")
  fio "${args[@]}" | awk -F';' '{print $7, $8}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A R
for ((i = 1; i <= REPEAT; i++)); do
  # A fresh mount each round: "cold" must mean cleancache is empty too.
  "$CLEANCACHE" umount "$CC" 2>/dev/null || true
  "$CLEANCACHE" mount "$BACKING" "$CC" --backend "zcache:capacity=2G"
  for side in pt cc; do
    dir=$PT; [[ $side == cc ]] && dir=$CC
    drop; R[seq_$side]+="$(fio_read "$dir" seq read 1M 0 0 | cut -d' ' -f1) "
    drop; R[rand_$side]+="$(fio_read "$dir" rand randread 4k 0 "$RUNTIME" | cut -d' ' -f2) "
  done
  # Re-reads: populate cleancache with one full read, drop the primary, then
  # random 4 KiB O_DIRECT reads through the mount vs. from the disk.
  cat "$CC/rand" >/dev/null
  drop; R[reread_cc]+="$(fio_read "$CC" rand randread 4k 1 "$RUNTIME" | cut -d' ' -f2) "
  drop; R[reread_disk]+="$(fio_read "$BACKING" rand randread 4k 1 "$RUNTIME" | cut -d' ' -f2) "
  for side in pt cc; do
    dir=$PT; [[ $side == cc ]] && dir=$CC
    rm -rf "$dir/untar"; mkdir "$dir/untar"; drop
    start=$(date +%s.%N); tar -C "$dir/untar" -xf "$WORK/include.tar"; sync; end=$(date +%s.%N)
    R[untar_$side]+="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}') "
    rm -rf "$dir/untar"
  done
done
"$CLEANCACHE" stats "$CC"

m() { echo "${R[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
printf '%-44s %12s %12s %8s\n' "measurement (median of $REPEAT)" cleancache baseline ratio
printf '%-44s %12s %12s %8s\n' "cold sequential read KiB/s (vs passthrough)" "$(m seq_cc)" "$(m seq_pt)" "$(ratio "$(m seq_cc)" "$(m seq_pt)")"
printf '%-44s %12s %12s %8s\n' "cold random 4K read IOPS (vs passthrough)" "$(m rand_cc)" "$(m rand_pt)" "$(ratio "$(m rand_cc)" "$(m rand_pt)")"
printf '%-44s %12s %12s %8s\n' "4K re-read IOPS from cleancache (vs disk)" "$(m reread_cc)" "$(m reread_disk)" "$(ratio "$(m reread_cc)" "$(m reread_disk)")"
printf '%-44s %12s %12s %8s\n' "untar /usr/include seconds (vs passthrough)" "$(m untar_cc)" "$(m untar_pt)" "$(ratio "$(m untar_cc)" "$(m untar_pt)")"

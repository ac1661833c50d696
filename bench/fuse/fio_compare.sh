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
# The VM's disk is cached by its host: whichever side reads a file first
# warms it for the other (measured: the second reader of the 1 GiB file was
# 2x faster, whichever it was). Each measurement of a file is therefore
# preceded by an O_DIRECT read of it on the backing (the guest's cache stays
# cold), so both sides read from the same warm host cache.
warm() { dd if="$BACKING/$1" of=/dev/null bs=1M iflag=direct status=none; }

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
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A R
# The backing disk of a VM is noisy (its host caches it), so each round
# measures both sides back to back, in alternating order, and the ratios
# reported are the medians of the per-round ratios: drift and the order
# effect (the second reader of a file finds the host's cache warmer) cancel.
for ((i = 1; i <= REPEAT; i++)); do
  # A fresh mount each round: "cold" must mean cleancache is empty too.
  "$CLEANCACHE" umount "$CC" 2>/dev/null || true
  "$CLEANCACHE" mount "$BACKING" "$CC" --backend "zcache:capacity=2G"
  sides=(pt cc); ((i % 2 == 0)) && sides=(cc pt)
  for side in "${sides[@]}"; do
    dir=$PT; [[ $side == cc ]] && dir=$CC
    drop; warm seq; R[seq_$side]+="$(fio_read "$dir" seq read 1M 0 0 | cut -d' ' -f1) "
  done
  for side in "${sides[@]}"; do
    dir=$PT; [[ $side == cc ]] && dir=$CC
    drop; warm rand; R[rand_$side]+="$(fio_read "$dir" rand randread 4k 0 "$RUNTIME" | cut -d' ' -f2) "
  done
  # Re-reads: populate cleancache with one full read, drop the primary, then
  # random 4 KiB O_DIRECT reads through the mount vs. from the disk.
  cat "$CC/rand" >/dev/null
  for side in "${sides[@]}"; do
    if [[ $side == cc ]]; then
      drop; R[reread_cc]+="$(fio_read "$CC" rand randread 4k 1 "$RUNTIME" | cut -d' ' -f2) "
    else
      drop; warm rand; R[reread_disk]+="$(fio_read "$BACKING" rand randread 4k 1 "$RUNTIME" | cut -d' ' -f2) "
    fi
  done
  for side in "${sides[@]}"; do
    dir=$PT; [[ $side == cc ]] && dir=$CC
    rm -rf "$dir/untar"; mkdir "$dir/untar"; drop
    start=$(date +%s.%N); tar -C "$dir/untar" -xf "$WORK/include.tar"; sync; end=$(date +%s.%N)
    R[untar_$side]+="$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}') "
    rm -rf "$dir/untar"
  done
done
"$CLEANCACHE" stats "$CC"

m() { echo "${R[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
# Median over the rounds of cleancache/baseline measured in the same round.
paired() {
  paste <(echo "${R[$1]}" | tr ' ' '\n' | grep -v '^$') <(echo "${R[$2]}" | tr ' ' '\n' | grep -v '^$') |
    awk '{printf "%.3f\n", $1 / $2}' | median
}
samples() { echo "${R[$1]}" | xargs; }
printf '%-44s %12s %12s %8s\n' "measurement (median of $REPEAT rounds)" cleancache baseline ratio
row() { printf '%-44s %12s %12s %8s\n' "$1" "$(m "$2")" "$(m "$3")" "$(paired "$2" "$3")"; }
row "cold sequential read KiB/s (vs passthrough)" seq_cc seq_pt
row "cold random 4K read IOPS (vs passthrough)" rand_cc rand_pt
row "4K re-read IOPS from cleancache (vs disk)" reread_cc reread_disk
row "untar /usr/include seconds (vs passthrough)" untar_cc untar_pt
echo "ratio = median of the per-round ratios (each round measures both sides back to back)."
echo "samples per round:"
for k in seq_cc seq_pt rand_cc rand_pt reread_cc reread_disk untar_cc untar_pt; do printf '  %-12s %s\n' "$k" "$(samples "$k")"; done

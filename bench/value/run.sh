#!/usr/bin/env bash
# The headline benchmark: at an equal memory budget, does a workload run
# faster through cleancache than on the kernel page cache alone?
#
# Everything is set up here and torn down on exit (also on failure):
#   - the data: DATA_SIZE bytes of this machine's own files (a tar stream of
#     /usr: ELF, text, Python, data), cached under WORK between runs;
#   - an ext4 image on a loop device with direct I/O (no second copy in this
#     machine's page cache), its reads throttled to IOPS per second (cgroup v1
#     blkio.throttle.read_iops_device or v2 io.max riops);
#   - per run, a fresh memory cgroup limited to the budget (v1
#     memory.limit_in_bytes or v2 memory.max) holding fio AND the FUSE server,
#     so every copy of a page is charged to the same budget.
# Configurations (CONFIGS): direct (fio on the ext4 file), passthrough
# (libfuse's passthrough_ll), and cleancache mounts, named in MOUNTS.
# Workloads (WORKLOADS): zipf (4 KiB random reads, Zipf 0.8), uniform, scan
# (a 1 MiB sequential scan of a file twice the data set, beside 4 KiB random
# reads of a hot set of HOT_SIZE), fits (uniform over FITS_SIZE of data).
# Each run: the data file is read once sequentially (caches full), WARMUP
# seconds of the workload, then RUNTIME seconds measured. Reported per run:
# IOPS, backing reads per 1000 requests, hit ratio, where the budget went, OOM
# kills, and (round 1) a checksum of the whole file read through the path
# under test. Rounds alternate the configuration order; the summary gives
# medians of the per-round ratios to direct, with their min-max spread.
#
# Usage: bench/value/run.sh [BUILD_DIR]            (root; default BUILD_DIR=build)
# Env (defaults): BUDGETS (512M) IOPS (2000) DATA_SIZE (1G) FITS_SIZE (256M)
#   WORKLOADS ("zipf uniform scan fits") CONFIGS ("direct passthrough default")
#   ROUNDS (3) WARMUP (60) RUNTIME (30) HOT_SIZE (64M) PREREAD_RATE (64m: bytes/s of the first pass)
#   WORK (/var/tmp/cc-value)
#   OUT (bench/value/results/<date>)   MOUNTS: extra mount configurations,
#   "name=cleancache mount options;name=options" (e.g. "lz4=--backend zcache:codec=lz4").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-$here/../../build}")
BUDGETS=${BUDGETS:-512M}
IOPS=${IOPS:-2000}
DATA_SIZE=${DATA_SIZE:-1G}
FITS_SIZE=${FITS_SIZE:-256M}
HOT_SIZE=${HOT_SIZE:-64M}
WORKLOADS=${WORKLOADS:-zipf uniform scan fits}
CONFIGS=${CONFIGS:-direct passthrough default}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-60}
RUNTIME=${RUNTIME:-30}
WORK=${WORK:-/var/tmp/cc-value}
OUT=${OUT:-$here/results/$(date -u +%Y%m%d-%H%M%S)}
PREREAD_RATE=${PREREAD_RATE:-64m}
HIT_LATENCY_US=${HIT_LATENCY_US:-300}  # scan workload: a hot read faster than this did not wait for the disk
CLEANCACHE=$BUILD/src/cli/cleancache
PASSTHROUGH=$BUILD/bench/fuse/passthrough_ll

die() { echo "bench/value: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "needs root (loop device, cgroups, FUSE mounts, drop_caches)"
for tool in fio jq losetup mkfs.ext4 fincore; do command -v $tool >/dev/null || die "$tool is missing (scripts/deps)"; done
[[ -x $CLEANCACHE ]] || die "missing $CLEANCACHE (scripts/build)"
declare -A MOUNT_ARGS=([default]="")
IFS=';' read -ra extra <<< "${MOUNTS:-}"
for m in "${extra[@]}"; do [[ -n $m ]] && MOUNT_ARGS[${m%%=*}]=${m#*=}; done
for c in $CONFIGS; do
  [[ $c == direct || $c == passthrough || -n ${MOUNT_ARGS[$c]+x} ]] || die "unknown configuration '$c' (add it to MOUNTS)"
  [[ $c == passthrough && ! -x $PASSTHROUGH ]] && die "missing $PASSTHROUGH (libfuse3-dev's examples)"
done
bytes() { numfmt --from=iec "$1"; }

# --- cgroups: v1 (memory + blkio hierarchies) or v2 (unified) -------------
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  CG_VERSION=2 CG_ROOT=/sys/fs/cgroup
  grep -qw memory $CG_ROOT/cgroup.subtree_control || echo +memory > $CG_ROOT/cgroup.subtree_control
  grep -qw io $CG_ROOT/cgroup.subtree_control || echo +io > $CG_ROOT/cgroup.subtree_control
else
  CG_VERSION=1 CG_MEM=/sys/fs/cgroup/memory CG_BLKIO=/sys/fs/cgroup/blkio
  [[ -d $CG_MEM && -d $CG_BLKIO ]] || die "no cgroup v1 memory and blkio hierarchies, and no cgroup v2"
fi
CG_NAME=cc-value-$$
cg_dirs() { if [[ $CG_VERSION == 2 ]]; then echo "$CG_ROOT/$CG_NAME"; else echo "$CG_MEM/$CG_NAME $CG_BLKIO/$CG_NAME"; fi; }
cg_remove() {
  local d
  for d in $(cg_dirs); do
    [[ -d $d ]] || continue
    for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
  done
}
cg_create() {  # budget_bytes iops device(maj:min)
  cg_remove
  if [[ $CG_VERSION == 2 ]]; then
    mkdir "$CG_ROOT/$CG_NAME"
    echo "$1" > "$CG_ROOT/$CG_NAME/memory.max"
    echo 0 > "$CG_ROOT/$CG_NAME/memory.swap.max" 2>/dev/null || true
    echo "$3 riops=$2" > "$CG_ROOT/$CG_NAME/io.max"
  else
    mkdir "$CG_MEM/$CG_NAME" "$CG_BLKIO/$CG_NAME"
    echo "$1" > "$CG_MEM/$CG_NAME/memory.limit_in_bytes"
    echo "$3 $2" > "$CG_BLKIO/$CG_NAME/blkio.throttle.read_iops_device"
  fi
}
# Runs a command inside the cgroups.
in_cg() {
  local procs=()
  for d in $(cg_dirs); do procs+=("$d/cgroup.procs"); done
  sh -c 'for p in "$@"; do [ "$p" = -- ] && break; echo $$ > "$p"; done; while [ "$1" != -- ]; do shift; done; shift; exec "$@"' \
    sh "${procs[@]}" -- "$@"
}
cg_mem_dir() { if [[ $CG_VERSION == 2 ]]; then echo "$CG_ROOT/$CG_NAME"; else echo "$CG_MEM/$CG_NAME"; fi; }
cg_usage() { if [[ $CG_VERSION == 2 ]]; then cat "$(cg_mem_dir)/memory.current"; else cat "$(cg_mem_dir)/memory.usage_in_bytes"; fi; }
cg_ooms() {
  if [[ $CG_VERSION == 2 ]]; then awk '$1 == "oom_kill" {print $2}' "$(cg_mem_dir)/memory.events"
  else awk '$1 == "oom_kill" {print $2}' "$(cg_mem_dir)/memory.oom_control"; fi
}

# --- state and cleanup ------------------------------------------------------
LOOP="" EXT4=$WORK/ext4 MNT=$WORK/mnt
# From the mount table, not stat: a FUSE mount whose server was killed (an
# OOM kill in a run) answers stat with ENOTCONN, and `mountpoint` says no.
mounted() { findmnt -rn --mountpoint "$1" > /dev/null; }
cleanup() {
  set +e
  if mounted "$MNT"; then "$CLEANCACHE" umount "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT"; fi
  cg_remove
  mountpoint -q "$EXT4" && umount "$EXT4"
  [[ -n $LOOP ]] && losetup -d "$LOOP"
  rm -f "$WORK/disk.img"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK" "$EXT4" "$MNT" "$OUT"

# --- data: this machine's files ---------------------------------------------
make_corpus() {  # file size
  [[ -f $1 && $(stat -c %s "$1") == $(bytes "$2") ]] && return
  echo "bench/value: building $1 ($2 of /usr's files)" >&2
  (set +o pipefail; tar -C / --sort=name -cf - usr 2>/dev/null | head -c "$(bytes "$2")" > "$1.tmp")
  [[ $(stat -c %s "$1.tmp") == $(bytes "$2") ]] || die "/usr holds less than $2"
  mv "$1.tmp" "$1"
}
has_workload() { [[ " $WORKLOADS " == *" $1 "* ]]; }
make_corpus "$WORK/data" "$DATA_SIZE"
has_workload fits && make_corpus "$WORK/fits" "$FITS_SIZE"
data_bytes=$(bytes "$DATA_SIZE")
image_bytes=$((data_bytes * 4 + (512 << 20)))  # data, the fits file, the 2x scan file, slack
truncate -s "$image_bytes" "$WORK/disk.img"
mkfs.ext4 -q -F "$WORK/disk.img"
LOOP=$(losetup --direct-io=on -f --show "$WORK/disk.img")
DEV=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
mount "$LOOP" "$EXT4"
mkdir -p "$EXT4/d"
cp "$WORK/data" "$EXT4/d/data"
has_workload fits && cp "$WORK/fits" "$EXT4/d/fits"
has_workload scan && cat "$WORK/data" "$WORK/data" > "$EXT4/d/scan"
sync
declare -A SUM
for f in data fits; do [[ -f $EXT4/d/$f ]] && SUM[$f]=$(sha256sum < "$EXT4/d/$f" | cut -d' ' -f1); done
sleep 1  # files settle: cleancache does not cache a file changed in the last 30 ms

loop_reads() { awk '{print $1}' "/sys/block/$(basename "$LOOP")/stat"; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
mount_stats() { [[ $1 == direct || $1 == passthrough ]] && echo '{}' || "$CLEANCACHE" stats "$MNT" --json; }
# Resident bytes of a file in the page cache (fincore: mincore of a mapping).
resident() { fincore -bno RES "$1" 2>/dev/null | head -n1 || echo 0; }

start_config() {  # config -> echoes the directory the workload reads
  case $1 in
    direct) echo "$EXT4/d" ;;
    passthrough) in_cg "$PASSTHROUGH" -o source="$EXT4/d" "$MNT" >&2; echo "$MNT" ;;
    *) # shellcheck disable=SC2086
       in_cg "$CLEANCACHE" mount "$EXT4/d" "$MNT" ${MOUNT_ARGS[$1]} >&2; echo "$MNT" ;;
  esac
}
stop_config() {
  mounted "$MNT" || return 0
  if [[ $1 == passthrough ]]; then fusermount3 -u "$MNT"; else "$CLEANCACHE" umount "$MNT" 2>/dev/null; fi ||
    fusermount3 -u -z "$MNT"  # its server is gone (killed)
}

# fio job options of a workload; $1 = dir, $2 = workload, $3 = seconds.
fio_jobs() {
  # --norandommap: independent uniform picks. fio's default random map reads
  # every block once per pass, in random order: a loop, the worst case for
  # any cache smaller than the data (measured through the mount at 79% of the
  # data in cleancache: 57% misses with the map, 21% without).
  local common=(--ioengine=psync --invalidate=0 --time_based --runtime="$3" --norandommap)
  case $2 in
    zipf) echo "${common[*]} --name=w --filename=$1/data --rw=randread --bs=4k --random_distribution=zipf:0.8" ;;
    uniform) echo "${common[*]} --name=w --filename=$1/data --rw=randread --bs=4k" ;;
    fits) echo "${common[*]} --name=w --filename=$1/fits --rw=randread --bs=4k" ;;
    scan) echo "${common[*]} --name=w --filename=$1/data --rw=randread --bs=4k --size=$HOT_SIZE --name=scan --filename=$1/scan --rw=read --bs=1M" ;;
  esac
}
data_file() { case $1 in fits) echo fits ;; scan) echo data ;; *) echo data ;; esac; }

CSV=$OUT/runs.csv
echo "round,budget,iops_limit,workload,config,iops,backing_reads_per_1000,hit_ratio,hot_hit_ratio,scan_mib_s,fuse_cache_mib,backing_cache_mib,cleancache_mib,rest_mib,usage_mib,oom_kills,verified" > "$CSV"

one_run() {  # round budget iops workload config
  local round=$1 budget=$2 iops=$3 workload=$4 config=$5
  drop
  cg_create "$(bytes "$budget")" "$iops" "$DEV"
  local dir file json before after s0 s1
  dir=$(start_config "$config")
  file=$(data_file "$workload")
  # Caches full: one sequential pass over the file at PREREAD_RATE (a
  # backing this slow lets the mount's idle-time puts keep up; faster, they
  # are dropped and only the warm-up's misses fill cleancache), then the
  # workload warms.
  in_cg fio --name=fill --filename="$dir/$file" --rw=read --bs=128k --ioengine=psync --invalidate=0 \
    --rate="$PREREAD_RATE" --output-format=terse >/dev/null
  # shellcheck disable=SC2046
  in_cg fio $(fio_jobs "$dir" "$workload" "$WARMUP") --output-format=terse >/dev/null
  before=$(loop_reads); s0=$(mount_stats "$config")
  # shellcheck disable=SC2046
  # (fio prints a banner line per extra job before its JSON)
  json=$(in_cg fio $(fio_jobs "$dir" "$workload" "$RUNTIME") --output-format=json+ | sed -n '/^{/,$p')
  after=$(loop_reads); s1=$(mount_stats "$config")
  local usage fuse_cache backing_cache cc_mem
  usage=$(cg_usage)
  fuse_cache=0
  [[ $config != direct ]] && fuse_cache=$(resident "$MNT/$file")
  backing_cache=$(resident "$EXT4/d/$file")
  cc_mem=$(jq -r '.cleancache.memory_used_bytes // 0' <<< "$s1")
  local verified=-
  if [[ $round == 1 ]]; then
    verified=no
    [[ $(in_cg sha256sum < "$dir/$file" | cut -d' ' -f1) == "${SUM[$file]}" ]] && verified=yes
  fi
  local ooms; ooms=$(cg_ooms)
  if [[ -n ${SHOW_STATS:-} && $config != direct && $config != passthrough ]]; then
    echo "--- cleancache stats $MNT ($workload, $config), after the measured run:" >&2
    "$CLEANCACHE" stats "$MNT" >&2
  fi
  stop_config "$config"
  cg_remove
  # Requests and hit figures of the random-read job ("w"); the scan job's
  # bandwidth; backing reads per 1000 random requests (the scan's reads are
  # counted too: they are what the budget has to absorb).
  local ios iops_measured hot scan_bw
  ios=$(jq '[.jobs[] | select(.jobname == "w") | .read.total_ios] | add' <<< "$json")
  iops_measured=$(jq '[.jobs[] | select(.jobname == "w") | .read.iops] | add' <<< "$json")
  scan_bw=$(jq '[.jobs[] | select(.jobname == "scan") | .read.bw_bytes] | add // 0 | . / 1048576' <<< "$json")
  hot=$(jq --argjson t $((HIT_LATENCY_US * 1000)) '[.jobs[] | select(.jobname == "w") | .read.clat_ns.bins // {} | to_entries[]]
        | (map(select((.key | tonumber) < $t) | .value) | add // 0) / (map(.value) | add // 1)' <<< "$json")
  local reads=$((after - before))
  awk -v r="$round" -v b="$budget" -v l="$iops" -v w="$workload" -v c="$config" -v iops="$iops_measured" \
      -v ios="$ios" -v reads="$reads" -v hot="$hot" -v scan="$scan_bw" -v fc="$fuse_cache" -v bc="$backing_cache" \
      -v cc="$cc_mem" -v u="$usage" -v o="${ooms:-0}" -v v="$verified" 'BEGIN {
        M = 1048576; per = ios > 0 ? 1000 * reads / ios : 0; hit = w == "scan" ? "" : sprintf("%.3f", 1 - per / 1000)
        printf "%s,%s,%s,%s,%s,%.0f,%.1f,%s,%.3f,%.0f,%.1f,%.1f,%.1f,%.1f,%.1f,%s,%s\n", r, b, l, w, c, iops, per, hit, hot, scan,
               fc / M, bc / M, cc / M, (u - fc - bc - cc) / M, u / M, o, v }' | tee -a "$CSV"
  [[ $config == direct || $config == passthrough ]] || jq -c '{schema_version, summary, reads, cleancache, background_puts, memory}' <<< "$s1" > "$OUT/stats-$round-$budget-$iops-$workload-$config.json"
}

echo "bench/value: cgroup v$CG_VERSION, loop $LOOP ($DEV), results in $OUT" >&2
head -n1 "$CSV"
for ((round = 1; round <= ROUNDS; round++)); do
  order=($CONFIGS)
  if ((round % 2 == 0)); then mapfile -t order < <(printf '%s\n' "${order[@]}" | tac); fi
  for budget in $BUDGETS; do
    for iops in $IOPS; do
      for workload in $WORKLOADS; do
        for config in "${order[@]}"; do one_run "$round" "$budget" "$iops" "$workload" "$config"; done
      done
    done
  done
done
bash "$here/summarize.sh" "$CSV" | tee "$OUT/summary.txt"

#!/usr/bin/env bash
# How long an access that does not reach the mount (a stat served from the
# kernel's attribute cache) still sees the old file after a change made
# behind the mount's back (docs/FUSE.md, "Coherency"). ROUNDS times: stat the
# file through the mount (attributes cached), append one byte to it in the
# backing, then stat through the mount in a loop until the new size shows;
# prints the median, 90th percentile and maximum of that window in
# microseconds, and the same for an open after the change (which must see it
# at once: 0 stale opens).
# Usage: bench/fuse/watch_window.sh BUILD_DIR [ROUNDS] (default 500)
# Env: WORK (/var/tmp/cc-fuse-watch), MOUNT_ARGS (extra mount options),
# PAUSE_MS (10: quiet time before each change; the watcher handles a change
# after a quiet spell at once, and batches changes that stream in, 1 ms).
set -euo pipefail
BUILD=$(realpath "${1:?usage: watch_window.sh BUILD_DIR [ROUNDS]}")
ROUNDS=${2:-500}
WORK=${WORK:-/var/tmp/cc-fuse-watch}
CLI=$BUILD/src/cli/cleancache
[[ $(id -u) == 0 ]] || { echo "needs root (the filesystem watcher, FUSE mounts)" >&2; exit 2; }
mkdir -p "$WORK/backing" "$WORK/mnt"
cleanup() { "$CLI" umount "$WORK/mnt" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
# shellcheck disable=SC2086
"$CLI" mount "$WORK/backing" "$WORK/mnt" ${MOUNT_ARGS:-}
python3 - "$WORK/backing/f" "$WORK/mnt/f" "$ROUNDS" "${PAUSE_MS:-10}" <<'EOF'
import os, statistics, sys, time
backing, mounted, rounds, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000
with open(backing, "wb") as f: f.write(b"x")
time.sleep(0.1)
windows, stale_opens = [], 0
for _ in range(rounds):
    size = os.stat(mounted).st_size  # cached by the kernel from here on
    time.sleep(pause)
    with open(backing, "ab") as f: f.write(b"y")
    changed = time.perf_counter()
    while os.stat(mounted).st_size == size:
        pass
    windows.append((time.perf_counter() - changed) * 1e6)
    with open(backing, "ab") as f: f.write(b"z")
    with open(mounted, "rb") as f:  # an open right after the change
        if len(f.read()) != size + 2: stale_opens += 1
windows.sort()
print(f"stat window after a change behind the mount's back ({rounds} rounds, {pause * 1000:.0f} ms apart): "
      f"median {statistics.median(windows):.0f} us, p90 {windows[int(0.9 * len(windows))]:.0f} us, "
      f"max {windows[-1]:.0f} us")
print(f"opens right after a change that read stale data: {stale_opens} of {rounds}")
EOF
"$CLI" stats "$WORK/mnt" --json | jq '.watch' || true

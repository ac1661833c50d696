#!/bin/sh
# Builds the daemon's frame-parser fuzz target with Debian's clang (libFuzzer,
# ASan, UBSan) and runs it for a bounded time on a copy of the seed corpus.
# Usage: tests/daemon/run_frame_fuzz.sh [SECONDS] [BUILD_DIR]   (default 60 s)
# Needs clang-14 and libclang-rt-14-dev (see scripts/deps). Exit status is
# non-zero if the fuzzer finds a crash or a property violation.
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz}
mkdir -p "$build"
clang=$(command -v clang++-14 || command -v clang++)
"$clang" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I "$root/include/core" -I "$root/src" -I "$here" \
  "$here/frame_fuzz.cc" "$root/src/tmem/protocol.cc" -o "$build/daemon_frame_fuzz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/frame_corpus/"* "$work/"
cd "$build"
./daemon_frame_fuzz -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 "$work"

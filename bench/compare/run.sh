#!/bin/sh
# Builds (if needed) and runs `compare` as root, writes docs/compare.csv and
# docs/compare.png, and prints the table and the target ratios.
# Usage: bench/compare/run.sh [compare options...]   (see: compare --help)
# Environment: BUILD_DIR (default build-compare), CSV, PNG.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-compare}
csv=${CSV:-$root/docs/compare.csv}
png=${PNG:-$root/docs/compare.png}

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: zram needs root; re-running under sudo" >&2
  exec sudo BUILD_DIR="$build" CSV="$csv" PNG="$png" "$0" "$@"
fi
bash "$root/scripts/deps" main bench  # RocksDB, gnuplot, Google Benchmark
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCLEANCACHE_COMPONENTS="shim;spec;zcache;corpus"
fi
cmake --build "$build" --target cleancache_compare -j2
binary="$build/bench/compare/compare"
if [ ! -x "$binary" ]; then
  echo "run.sh: $binary was not built (RocksDB missing? see the cmake output)" >&2
  exit 2
fi

mkdir -p "$(dirname "$csv")" "$(dirname "$png")"
echo "command: $binary --csv $csv $*"
status=0
"$binary" --csv "$csv" "$@" || status=$?
[ -f "$csv" ] || exit "$status"

# One line per contestant: figures of the machine corpus, then the synthetic mix.
data=$(mktemp)
trap 'rm -f "$data"' EXIT
awk -F, 'NR > 1 {
    if (!($2 in seen)) { seen[$2] = ++n; name[n] = $2 }
    fig[$2, $1] = $5 " " $6 " " $8 " " $10
  }
  END {
    for (i = 1; i <= n; i++) {
      m = fig[name[i], "machine"]; s = fig[name[i], "synthetic"]
      if (m == "") m = "n/a n/a n/a n/a"
      if (s == "") s = "n/a n/a n/a n/a"
      print name[i], m, s
    }
  }' "$csv" > "$data"
gnuplot -e "datafile='$data'; outfile='$png'; title_text='cleancache compare, $(date -u '+%Y-%m-%d %H:%M UTC'), one run: $*'" \
  "$here/plot.gp"
echo "wrote $csv and $png"
exit "$status"

#!/usr/bin/env bash
# Builds and runs bench/zcache_bench: raw LZ4 vs zcache put/get, 1 and 2
# threads, on the machine-files corpus, all in ONE run; prints the ratios the
# project targets (put >= 90% of raw LZ4 compress, get >= 85% of raw LZ4
# decompress, real memory per page <= 1.03 x compressed + 32 B, 2 threads
# >= 1.7 x one thread). Extra arguments go to the benchmark, e.g.
#   bench/run_core_bench.sh --pages=16384 --spec=zcache:capacity=512M
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps main bench  # Google Benchmark
BUILD_TARGETS=zcache_bench bash scripts/build >&2
# Three repetitions, interleaved at random so that a burst of load elsewhere
# on the machine does not land on one benchmark only; ratios use the medians.
exec build/bench/zcache_bench --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true "$@"

#!/usr/bin/env bash
# A/B of zcache_bench builds on a noisy machine: runs each binary in turn,
# ROUNDS times (alternating, so drift hits both), and prints the target
# ratios of every run on one line.
#   bench/ab_core_bench.sh /tmp/zcache_bench.before build/bench/zcache_bench
# Env: ROUNDS (3). Extra benchmark flags: BENCH_FLAGS.
set -euo pipefail
(($# >= 1)) || { echo "usage: $0 ZCACHE_BENCH [ZCACHE_BENCH...]" >&2; exit 2; }
for ((i = 1; i <= ${ROUNDS:-3}; i++)); do
  for bench in "$@"; do
    out=$("$bench" --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
      --benchmark_report_aggregates_only=true ${BENCH_FLAGS:-} 2>&1)
    ratio() { grep -F "$1" <<<"$out" | sed -E 's/.*  ([0-9.]+)  \(target.*/\1/'; }
    echo "$bench cold=$(ratio 'put (cold fill)') full=$(ratio 'put (at capacity)') get=$(ratio 'get / raw')" \
      "put2T=$(ratio 'zcache_put 2 threads') full2T=$(ratio 'zcache_put_at_capacity 2') get2T=$(ratio 'zcache_get 2 threads')"
  done
done

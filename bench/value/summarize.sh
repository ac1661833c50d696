#!/usr/bin/env bash
# Summary of a bench/value run: per (budget, backing IOPS, workload,
# configuration), the median over rounds of each figure with its min-max
# spread, and the median of the per-round ratios to `direct` (each round
# measures every configuration back to back). Writes summary.csv and
# summary.png beside runs.csv (the chart needs gnuplot).
#   bench/value/summarize.sh RESULTS/runs.csv
set -euo pipefail
CSV=${1:?usage: summarize.sh RUNS_CSV}
OUT=$(dirname "$CSV")

awk -F, '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function lo(list,   n, a, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
  function hi(list,   n, a, i, m) { n = split(list, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
  NR == 1 { next }
  {
    g = $2 "," $3 "," $4; k = g "," $5
    if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
    iops[k] = iops[k] " " $6; reads[k] = reads[k] " " $7; hit[k] = hit[k] " " $8; hot[k] = hot[k] " " $9
    fc[k] = fc[k] " " $11; bc[k] = bc[k] " " $12; cc[k] = cc[k] " " $13; rest[k] = rest[k] " " $14
    ooms[k] += $16; if ($17 == "no") bad[k]++; if ($17 == "yes") good[k]++
    r_iops[g "," $1 "," $5] = $6; r_reads[g "," $1 "," $5] = $7; rounds[k] = rounds[k] " " $1
  }
  END {
    print "budget,iops_limit,workload,config,rounds,iops,iops_min,iops_max,x_direct,x_direct_min,x_direct_max,reads_per_1000,reads_vs_direct,hit_ratio,hot_hit_ratio,fuse_cache_mib,backing_cache_mib,cleancache_mib,rest_mib,oom_kills,verified"
    for (i = 1; i <= nk; i++) {
      k = keys[i]; split(k, p, ","); g = p[1] "," p[2] "," p[3]
      n = split(rounds[k], rs, " "); xs = ""; rr = ""
      for (j = 1; j <= n; j++) {
        d = g "," rs[j] ",direct"
        if ((d in r_iops) && r_iops[d] > 0) xs = xs " " r_iops[g "," rs[j] "," p[4]] / r_iops[d]
        if ((d in r_reads) && r_reads[d] > 0) rr = rr " " r_reads[g "," rs[j] "," p[4]] / r_reads[d]
      }
      v = bad[k] ? "FAILED" : (good[k] ? "yes" : "-")
      printf "%s,%d,%.0f,%.0f,%.0f,%s,%s,%s,%.1f,%s,%s,%s,%.0f,%.0f,%.0f,%.0f,%d,%s\n", k, n, median(iops[k]), lo(iops[k]), hi(iops[k]),
        xs == "" ? "" : sprintf("%.2f", median(xs)), xs == "" ? "" : sprintf("%.2f", lo(xs)), xs == "" ? "" : sprintf("%.2f", hi(xs)),
        median(reads[k]), rr == "" ? "" : sprintf("%.2f", median(rr)), hit[k] ~ /[0-9]/ ? median(hit[k]) : "", median(hot[k]),
        median(fc[k]), median(bc[k]), median(cc[k]), median(rest[k]), ooms[k], v
    }
  }' "$CSV" > "$OUT/summary.csv"

column -s, -t < "$OUT/summary.csv"
echo "x_direct: median of the per-round IOPS ratios to direct (min-max across rounds); reads_vs_direct: the same for"
echo "backing reads per request; memory columns: MiB at the end of the measured run (medians)."

if command -v gnuplot >/dev/null; then
  # One bar per configuration and workload/budget: IOPS as a multiple of direct.
  awk -F, 'NR > 1 && $9 != "" {print $3 "/" $1 "/" $2 "," $4 "," $9 "," $10 "," $11}' "$OUT/summary.csv" > "$OUT/chart.dat"
  gnuplot <<EOF 2>/dev/null || echo "(no chart: gnuplot failed)"
set terminal pngcairo size 1100,520 noenhanced
set output "$OUT/summary.png"
set datafile separator ","
set title "Equal memory: IOPS as a multiple of the kernel page cache alone (direct), medians with min-max"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.7 border -1
set ylabel "x direct"
set yrange [0:*]
set grid ytics
set xtics rotate by -20
set key top left
configs = system("cut -d, -f2 '$OUT/chart.dat' | awk '!s[\$0]++' | tr '\n' ' '")
plot for [c in configs] "< grep ',".c.",' '$OUT/chart.dat'" using 3:4:5:xtic(1) title c
EOF
fi

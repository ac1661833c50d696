# Chart of a `compare` run. Input: `datafile`, one line per contestant
# (written by run.sh from the CSV): name, then put MB/s, get MB/s, density and
# Zipf hit ratio for the machine corpus, then the same for the synthetic mix
# ("n/a" where a figure does not apply). Output: `outfile` (PNG).
set terminal pngcairo size 1400,900 font "sans,10"
set output outfile
set datafile missing "n/a"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -30 noenhanced
# Same x range in every panel, whatever figures are missing.
stats datafile using 0 nooutput
set xrange [-0.6:STATS_records - 0.4]
set multiplot layout 2,2 title title_text noenhanced

set title "put (MB/s, log scale)"
set logscale y
set yrange [10:*]
plot datafile using 2:xtic(1) title "machine" lc rgb "#4477aa", '' using 6 title "synthetic" lc rgb "#ee7733"

set title "get (MB/s, log scale)"
plot datafile using 3:xtic(1) title "machine" lc rgb "#4477aa", '' using 7 title "synthetic" lc rgb "#ee7733"
unset logscale y

set title "density: original bytes / real memory"
set key top right
set yrange [0:*]
plot datafile using 4:xtic(1) title "machine" lc rgb "#4477aa", '' using 8 title "synthetic" lc rgb "#ee7733"

set title "Zipf hit ratio at equal real memory (bounded caches only)"
set yrange [0:1.25]
plot datafile using 5:xtic(1) title "machine" lc rgb "#4477aa", '' using 9 title "synthetic" lc rgb "#ee7733"

unset multiplot

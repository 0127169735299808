#!/usr/bin/env bash
# usage: docs/plots/make-redis-curves.sh BUILD_DIR [CURVE_OUTPUT [SPREAD_OUTPUT]]
# The Redis provider's cost curve over client threads from `bench-lock-redis --curve` (client
# threads and redis-server on one CPU) and `--curve --spread` (the server on the other CPU), or
# from saved runs of them, into docs/plots/redis-curve.png: pairs/s for each thread on its own
# name, all threads on one name, and raw hiredis with one connection per thread. Needs gnuplot.
# The figures are noisy on shared machines: compare series of the same run only.
set -euo pipefail
build=$(realpath "$1")
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench="$build/tests/bench/lock-redis/bench-lock-redis"
if [ $# -ge 2 ]; then cp "$2" "$tmp/one.txt"; else taskset -c 1 "$bench" --curve --ms 1000 > "$tmp/one.txt"; fi
if [ $# -ge 3 ]; then cp "$3" "$tmp/spread.txt"; else taskset -c 1 "$bench" --curve --spread --ms 1000 > "$tmp/spread.txt"; fi
cd "$tmp"
for f in one spread; do
  for s in own-names one-name raw-own-conn; do
    awk -F'\t' -v s="$s" '$1=="curve" && $2==s { print $3, $4 }' "$f.txt" > "$f-$s.dat"
  done
done
gnuplot <<GP
set terminal pngcairo size 800,480 noenhanced
set grid
set key outside right center
set logscale x 2
set xtics (1, 2, 4, 8, 16)
set xrange [0.8:20]
set xlabel "client threads on one provider"
set ylabel "acquire+release pairs/s"
set yrange [0:*]
set output "$out/redis-curve.png"
set title "Redis provider: pairs/s over client threads (2 vCPU, shared machine)"
plot "one-own-names.dat" using 1:2 with linespoints lc 1 title "one CPU: own names", \
     "one-one-name.dat" using 1:2 with linespoints lc 2 title "one CPU: one name, wait", \
     "one-raw-own-conn.dat" using 1:2 with linespoints lc 3 title "one CPU: raw hiredis", \
     "spread-own-names.dat" using 1:2 with linespoints lc 1 dt 2 title "server apart: own names", \
     "spread-one-name.dat" using 1:2 with linespoints lc 2 dt 2 title "server apart: one name", \
     "spread-raw-own-conn.dat" using 1:2 with linespoints lc 3 dt 2 title "server apart: raw hiredis"
GP

#!/usr/bin/env bash
# usage: docs/plots/make-ring-curves.sh BUILD_DIR [CURVES_TSV]
# Ring cost curves from `bench-ring --curves` (run pinned, as the bench says), or from a saved
# run of it (CURVES_TSV), into docs/plots/:
#   ring-curve-lookup.png  ns per lookup (single and batched) over nodes, native and ketama
#   ring-curve-memory.png  bytes per node over nodes
#   ring-curve-change.png  add_many build, and one add and one remove, over nodes
# Needs gnuplot. The figures are noisy on shared machines: the ratio columns of the TSV (lookup
# against bare XXH3 in the same run) are the ones to compare.
set -euo pipefail
build=$(realpath "$1")
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -ge 2 ]; then
  cp "$2" "$tmp/curves.tsv"
else
  taskset -c 1 "$build/tests/bench/ring/bench-ring" --curves 0.2 > "$tmp/curves.tsv"
fi
cd "$tmp"
awk -F'\t' '$1=="native" && $2==1024' curves.tsv > native1024.dat
awk -F'\t' '$1=="native" && $2==160' curves.tsv > native160.dat
awk -F'\t' '$1=="ketama"' curves.tsv > ketama.dat
gnuplot <<GP
set terminal pngcairo size 800,480 noenhanced
set grid
set key top left
set logscale x
set xlabel "nodes"

set output "$out/ring-curve-lookup.png"
set title "ring lookup cost over ring size (16k keys, pinned, thread CPU clock)"
set ylabel "ns per key"
set logscale y
# Headroom above ketama's curve for the key.
set yrange [1:20000]
plot "native1024.dat" using 3:4 with linespoints title "native, 1024 vnodes: of_ring_lookup", \
     "" using 3:7 with linespoints title "native, 1024 vnodes: of_ring_lookup_batch (64)", \
     "native160.dat" using 3:4 with linespoints title "native, 160 vnodes: of_ring_lookup", \
     "" using 3:7 with linespoints title "native, 160 vnodes: batch", \
     "ketama.dat" using 3:4 with linespoints title "ketama: of_ring_lookup", \
     "native1024.dat" using 3:5 with lines dashtype 2 title "bare XXH3 of the same keys"

set output "$out/ring-curve-memory.png"
set title "ring memory per node (of_ring_memory_usage / nodes)"
set ylabel "bytes per node"
set autoscale y
unset logscale y
set yrange [0:*]
plot "native1024.dat" using 3:9 with linespoints title "native, 1024 vnodes", \
     "native160.dat" using 3:9 with linespoints title "native, 160 vnodes", \
     "ketama.dat" using 3:9 with linespoints title "ketama (160 points per server)"

set output "$out/ring-curve-change.png"
set title "ring changes: one of_ring_add_many build, one add, one remove"
set ylabel "ms"
set logscale y
set yrange [*:*]
plot "native1024.dat" using 3:10 with linespoints title "native 1024: add_many build", \
     "" using 3:11 with linespoints title "native 1024: one add", \
     "" using 3:12 with linespoints title "native 1024: one remove", \
     "native160.dat" using 3:10 with linespoints title "native 160: add_many build", \
     "" using 3:11 with linespoints title "native 160: one add", \
     "ketama.dat" using 3:10 with linespoints title "ketama: add_many build", \
     "" using 3:11 with linespoints title "ketama: one add (rebuilds all)"
GP

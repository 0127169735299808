#!/usr/bin/env bash
# usage: docs/plots/make-plots.sh BUILD_DIR
# Regenerates the PNG plots in docs/plots/ from benchmark and tool output of a build:
#   bisect-speedup.png  bench-bisect ratios vs std::lower_bound by array size
#   ring-balance.png    busiest/mean node load vs virtual nodes (100 nodes, 200k keys; ring-route)
#   ring-movement.png   share of keys that move when one node joins N nodes: native vs ketama
# Needs gnuplot and python3. Figures are noisy on shared machines: rerun before comparing.
set -euo pipefail
build=$(realpath "$1")
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rr="$build/tools/ring-route"

python3 -c 'import random; r=random.Random(1); print("\n".join("key-%d-%x" % (i, r.getrandbits(40)) for i in range(200000)))' > "$tmp/keys"
seq 1 100 | sed 's/^/node-/' > "$tmp/nodes100"

# --- bisect speed-ups (median of rounds, same-run baseline) ---
taskset -c 1 "$build/tests/bench/bisect/bench-bisect" --rounds 3 --sizes 1024,65536,1048576,16777216 \
  | python3 -c '
import re, sys
for line in sys.stdin:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 5 or not re.match(r"^\d+[KM]$", cells[0]):
        continue
    ratios = [re.search(r"\(\s*([\d.]+)x\)", c).group(1) for c in cells[2:5]]
    print(cells[0], *ratios)' > "$tmp/bisect.dat"

# --- ring balance vs virtual nodes ---
for v in 16 32 64 128 256 512 1024 2048; do
  "$rr" --vnodes "$v" --nodes "$tmp/nodes100" --stats < "$tmp/keys" \
    | awk -v v="$v" -F'\t' '{ n++; s += $4; if ($4 > m) m = $4 } END { printf "%d %.4f\n", v, m / (s / n) }'
done > "$tmp/balance.dat"

# --- keys moved when one node joins N nodes ---
for n in 10 20 30 40 50 60 70 80 90 99; do
  seq 1 "$n" | sed 's/^/10.0.0./' > "$tmp/old"
  { cat "$tmp/old"; echo "10.0.1.1"; } > "$tmp/new"
  native=$("$rr" --diff "$tmp/old" "$tmp/new" < "$tmp/keys" | awk -F'\t' '$1=="keys"{print $2/$3}')
  ketama=$("$rr" --ketama --diff "$tmp/old" "$tmp/new" < "$tmp/keys" | awk -F'\t' '$1=="keys"{print $2/$3}')
  echo "$n $native $ketama $(python3 -c "print(1/($n+1))")"
done > "$tmp/movement.dat"

cd "$tmp"
gnuplot <<GP
set terminal pngcairo size 800,480 noenhanced
set grid
set key top left

set output "$out/bisect-speedup.png"
set title "bisect: speed-up over std::lower_bound (g++ -O2), same run"
set ylabel "times faster"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8
set yrange [0:*]
plot "bisect.dat" using 2:xtic(1) title "mutable", "" using 3 title "frozen (S+ tree)", "" using 4 title "frozen, batches of 16"

set output "$out/ring-balance.png"
set title "ring balance: busiest / mean load, 100 equal nodes, 200k keys"
set style data linespoints
set logscale x 2
set xlabel "virtual nodes per node"
set ylabel "busiest / mean"
set yrange [1:*]
plot "balance.dat" using 1:2 title "native ring", 1.10 with lines dashtype 2 title "target 1.10"

set output "$out/ring-movement.png"
unset logscale x
set title "keys moved when one node joins N equal nodes"
set xlabel "N (nodes before the join)"
set ylabel "share of keys moved"
set yrange [0:*]
set key top right
plot "movement.dat" using 1:2 title "native ring", "" using 1:3 title "ketama (libmemcached rules)", "" using 1:4 with lines dashtype 2 title "ideal 1/(N+1)"
GP
echo "wrote $out/bisect-speedup.png $out/ring-balance.png $out/ring-movement.png"
cat "$tmp/bisect.dat" "$tmp/balance.dat" "$tmp/movement.dat"

#!/usr/bin/env bash
# usage: check-demo.sh DEMO — runs the demo and checks the lines its fixed seeds make exact, each
# lock part's summary line, that every section opens with a line saying what it shows, and that
# the tour ends with where to go next, naming only paths that exist in this source tree.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
out=$("$1") || { echo "demo exited with $?"; printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
fail=0
expect() {
  if ! printf '%s\n' "$out" | grep -qxF -- "$1"; then
    echo "missing line: $1"; fail=1
  fi
}
expect '  add cache-f: 1680 of 10000 keys moved (16.8%, ideal 16.7%), all to cache-f: yes'
expect '  pin user:1 to cache-e -> cache-e'
expect '  bisect_left([1, 2, 4, 4, 8], 4)  = 2'
expect '  bisect_right([1, 2, 4, 4, 8], 4) = 4'
expect '  insort_left(a, 3) -> [1, 2, 3, 4, 4, 8] at 2'
expect '  insort into a full array        -> OF_ERR_NOSPACE'
expect '  second acquire of a held lock (wait 0) -> OF_ERR_BUSY'
expect 'local: 4 threads, 4000 acquisitions, fences strictly increasing: yes'
if ! printf '%s\n' "$out" | grep -qxE 'redis: (2 processes, 200 acquisitions, fences strictly increasing: yes|skipped \(.*\))'; then
  echo "missing the redis summary line"; fail=1
fi

# The sections, in order; each but the last is followed by its explanation (an unindented line
# that is neither a header nor a summary), and the last one is where to go next.
sections=$(printf '%s\n' "$out" | sed -n 's/^== //p' | cut -d' ' -f1-2)
want_sections=$'ring: consistent\nbisect: Python\'s\nlocks: in-process\nlocks: Redis\nnext (paths'
if [ "$sections" != "$want_sections" ]; then
  printf 'sections:\n%s\nexpected:\n%s\n' "$sections" "$want_sections"; fail=1
fi
unexplained=$(printf '%s\n' "$out" | awk '
  prev ~ /^== / && prev !~ /^== next/ && ($0 ~ /^ / || $0 ~ /^== / || $0 ~ /^[a-z]+: /) { print prev }
  { prev = $0 }
  END { if (prev ~ /^== /) print prev }')
if [ -n "$unexplained" ]; then
  printf 'a section that does not say what it shows:\n%s\n' "$unexplained"; fail=1
fi
next=$(printf '%s\n' "$out" | sed -n '/^== next/,$p' | tail -n +2)
if [ "$(printf '%s\n' "$next" | grep -c '^  [a-z]')" -lt 5 ]; then
  echo "the 'next' section lists fewer than 5 places to go"; fail=1
fi
# Every docs/, examples/ or scripts/ path the demo names must exist.
for p in $(printf '%s\n' "$out" | grep -oE '(docs|examples|scripts)/[A-Za-z0-9._/-]*' | sort -u); do
  [ -e "$src/$p" ] || { echo "the demo names $p, which does not exist"; fail=1; }
done
exit $fail

#!/usr/bin/env bash
# usage: check-demo.sh DEMO — runs the demo and checks the lines its fixed seeds make exact, and
# each lock part's summary line.
set -u
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
exit $fail

#!/usr/bin/env bash
# usage: check-exports.sh LIBRARY.so — fails if any defined dynamic symbol does not start with of_.
set -eu
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
count=$(printf '%s\n' "$syms" | grep -c '^of_' || true)
bad=$(printf '%s\n' "$syms" | grep -v '^of_' | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "symbols exported without the of_ prefix:"
  printf '  %s\n' $bad
  exit 1
fi
if [ "$count" -eq 0 ]; then
  echo "no of_* symbols exported at all: is the export macro broken?"
  exit 1
fi
echo "$count exported symbols, all of_*"

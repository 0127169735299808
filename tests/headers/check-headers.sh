#!/usr/bin/env bash
# usage: check-headers.sh CC CXX SRC_INCLUDE BUILD_INCLUDE HEADER...
# Compiles a translation unit that includes only one public header, for each header, as strict
# C99 and as C++11. Prints one TAP-style line per check; exits non-zero on any failure.
set -u
cc=$1 cxx=$2 src_inc=$3 build_inc=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for h in "$@"; do
  name=$(basename "$h")
  printf '#include <openfault/%s>\n#include <openfault/%s>\nint main(void) { return 0; }\n' "$name" "$name" > "$tmp/t.c"
  cp "$tmp/t.c" "$tmp/t.cpp"
  n=$((n + 1))
  if "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -I"$src_inc" -I"$build_inc" -c "$tmp/t.c" -o "$tmp/t.o"; then
    echo "ok $n - $name as C99"
  else
    echo "not ok $n - $name as C99"; fail=1
  fi
  n=$((n + 1))
  if "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -I"$src_inc" -I"$build_inc" -c "$tmp/t.cpp" -o "$tmp/t.o"; then
    echo "ok $n - $name as C++11"
  else
    echo "not ok $n - $name as C++11"; fail=1
  fi
done
echo "checked $n compilations"
exit $fail

#!/usr/bin/env bash
# usage: check-subproject.sh SOURCE_ROOT CC consumer.c
# Uses this source tree as a meson subproject (subprojects/openfault, a symlink) of a small parent
# project (meson-parent/meson.build, which docs/consuming.md quotes) that takes
# dependency('openfault') shared and static and builds consumer.c each way. The parent must get
# only the library's few targets and none of our tests, and both programs must build and run.
set -eu
src=$1 cc=$2 prog=$3
parent=$(mktemp -d)
trap 'rm -rf "$parent"' EXIT
mkdir "$parent/subprojects"
ln -s "$(cd "$src" && pwd)" "$parent/subprojects/openfault"
cp "$prog" "$parent/app.c"
cp "$(dirname "$0")/meson-parent/meson.build" "$parent/meson.build"
log=$parent/log
# --force-fallback-for: use the subproject even where an openfault.pc is installed.
if ! CC=$cc meson setup "$parent/build" "$parent" --force-fallback-for=openfault -Dwerror=true \
     >"$log" 2>&1; then
  cat "$log"; echo "meson setup of the parent project failed"; exit 1
fi
grep -q "Dependency openfault found: YES .*(overridden)" "$log" || {
  cat "$log"; echo "dependency('openfault') did not come from meson.override_dependency"; exit 1; }

tests=$(meson introspect --tests "$parent/build" |
        python3 -c 'import json, sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
echo "tests the parent registers: $tests"
[ "$tests" = "app app-static" ] || {
  echo "the subproject registered tests in the parent project"; exit 1; }
ours=$(meson introspect --targets "$parent/build" |
       python3 -c 'import json, sys; print(" ".join(sorted(t["name"] + ":" + t["type"].replace(" ", "-") for t in json.load(sys.stdin) if t["subproject"] == "openfault")))')
echo "targets from the subproject: $ours"
n=$(wc -w <<<"$ours")
[ "$n" -le 3 ] || { echo "the subproject adds $n targets (the library needs 3)"; exit 1; }

if ! meson compile -C "$parent/build" >>"$log" 2>&1 || ! meson test -C "$parent/build" >>"$log" 2>&1; then
  cat "$log"; cat "$parent/build/meson-logs/testlog.txt" 2>/dev/null; echo "parent build or tests failed"; exit 1
fi
"$parent/build/app"
ldd "$parent/build/app" | grep -q "libopenfault\.so.* => $parent/build/subprojects/openfault/" || {
  ldd "$parent/build/app"; echo "app does not use the subproject's library"; exit 1; }
"$parent/build/app-static"
if ldd "$parent/build/app-static" | grep -q 'libopenfault\.so'; then
  echo "app-static still needs libopenfault.so"; exit 1
fi
echo "consumer-meson-subproject: shared and static OK"

#!/usr/bin/env bash
# usage: check-subproject.sh SOURCE_ROOT CC consumer.c
# Uses this source tree as a meson subproject (subprojects/openfault, a symlink) of a small parent
# project whose meson.build takes dependency('openfault') shared and static. The parent must get
# only the library's few targets and none of our tests, and both programs must build and run.
set -eu
src=$1 cc=$2 prog=$3
parent=$(mktemp -d)
trap 'rm -rf "$parent"' EXIT
mkdir "$parent/subprojects"
ln -s "$(cd "$src" && pwd)" "$parent/subprojects/openfault"
cp "$prog" "$parent/consumer.c"
cat >"$parent/meson.build" <<'MESON'
project('parent', 'c', default_options: ['c_std=c11', 'warning_level=3'])
openfault = dependency('openfault')
openfault_static = dependency('openfault', static: true)
test('parent-shared', executable('consumer-shared', 'consumer.c', dependencies: openfault))
test('parent-static', executable('consumer-static', 'consumer.c', dependencies: openfault_static))
MESON
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
[ "$tests" = "parent-shared parent-static" ] || {
  echo "the subproject registered tests in the parent project"; exit 1; }
ours=$(meson introspect --targets "$parent/build" |
       python3 -c 'import json, sys; print(" ".join(sorted(t["name"] + ":" + t["type"].replace(" ", "-") for t in json.load(sys.stdin) if t["subproject"] == "openfault")))')
echo "targets from the subproject: $ours"
n=$(wc -w <<<"$ours")
[ "$n" -le 3 ] || { echo "the subproject adds $n targets (the library needs 3)"; exit 1; }

if ! meson compile -C "$parent/build" >>"$log" 2>&1 || ! meson test -C "$parent/build" >>"$log" 2>&1; then
  cat "$log"; cat "$parent/build/meson-logs/testlog.txt" 2>/dev/null; echo "parent build or tests failed"; exit 1
fi
"$parent/build/consumer-shared"
ldd "$parent/build/consumer-shared" | grep -q "libopenfault\.so.* => $parent/build/subprojects/openfault/" || {
  ldd "$parent/build/consumer-shared"; echo "consumer-shared does not use the subproject's library"; exit 1; }
"$parent/build/consumer-static"
if ldd "$parent/build/consumer-static" | grep -q 'libopenfault\.so'; then
  echo "consumer-static still needs libopenfault.so"; exit 1
fi
echo "consumer-meson-subproject: shared and static OK"

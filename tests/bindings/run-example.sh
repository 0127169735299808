#!/usr/bin/env bash
# Build (when needed) and run one language binding example against the fresh library, and check
# what it prints.
#   run-example.sh node|rust|go SOURCE_ROOT BUILD_ROOT WORK_DIR
# SOURCE_ROOT: the project's source root; BUILD_ROOT: the build dir holding libopenfault.so and
# include/openfault/version.h; WORK_DIR: a scratch dir of this test inside the build dir.
set -euo pipefail
lang=$1 src=$2 build=$3 work=$4
mkdir -p "$work"
out="$work/output.txt"
lib="$build/libopenfault.so"

case "$lang" in
node)
    # koffi 2.x ships prebuilt binaries; installing it is part of the test (no skip on failure).
    if [ ! -f "$work/node_modules/koffi/package.json" ]; then
        npm install --prefix "$work" --no-audit --no-fund --no-save --loglevel=error koffi@2 \
            || { echo "npm install koffi failed" >&2; exit 1; }
    fi
    NODE_PATH="$work/node_modules" OPENFAULT_LIBRARY="$lib" \
        node "$src/bindings/node/openfault_example.js" | tee "$out"
    ;;
rust)
    rustc --edition 2021 -O "$src/bindings/rust/openfault_example.rs" -o "$work/example" \
        -L "$build" -l openfault -C "link-args=-Wl,-rpath,$build"
    "$work/example" | tee "$out"
    ;;
go)
    export GOCACHE="$work/gocache" GOPATH="$work/gopath" GOFLAGS=-mod=mod GOPROXY=off
    export CGO_ENABLED=1
    export CGO_CFLAGS="-I$src/include -I$build/include"
    export CGO_LDFLAGS="-L$build -Wl,-rpath,$build"
    (cd "$src/bindings/go" && go build -o "$work/example" .)
    "$work/example" | tee "$out"
    ;;
*)
    echo "usage: $0 node|rust|go SOURCE_ROOT BUILD_ROOT WORK_DIR" >&2
    exit 2
    ;;
esac

# The examples print their routes and one summary line; both must be there and right.
grep -q "^libopenfault [0-9]" "$out" || { echo "no version line" >&2; exit 1; }
grep -q "^$lang: 3 acquisitions, fences strictly increasing: yes\$" "$out" \
    || { echo "no (or a failed) fence summary line" >&2; exit 1; }
routes=$(grep -c -- ' -> cache-[abc]$' "$out" || true)
[ "$routes" -eq 3 ] || { echo "expected 3 ring routes, got $routes" >&2; exit 1; }
# Every binding must route exactly as the library does through another binding.
if [ -n "${PYTHON3:-}" ]; then
    want=$(OPENFAULT_LIBRARY="$lib" PYTHONPATH="$src/bindings/python" "$PYTHON3" -c '
import openfault
ring = openfault.Ring(["cache-a", "cache-b", "cache-c"], vnodes=256)
for key in ("user:1", "user:2", "user:3"):
    print("%s -> %s" % (key, ring.get(key)))')
    got=$(grep -- ' -> cache-[abc]$' "$out")
    [ "$got" = "$want" ] || { printf 'routes differ from the Python binding:\n%s\n' "$want" >&2; exit 1; }
fi
echo "ok: $lang example"

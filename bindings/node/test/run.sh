#!/usr/bin/env bash
# Run the Node package's tests (node --test) against the fresh library.
#   run.sh SOURCE_ROOT WORK_DIR [redis]
# koffi is installed into WORK_DIR (inside the build dir), never into the repository, and the
# repository must have the same `git status` afterwards as before (no file left behind).
# With "redis", only the Redis tests run, and $REDIS_SERVER must name a redis-server binary.
set -euo pipefail
src=$1 work=$2 mode=${3:-}
pkg="$src/bindings/node"
mkdir -p "$work"

git_state() {
    if command -v git >/dev/null 2>&1 && git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$src" status --porcelain --untracked-files=all
    else
        echo "(not a git work tree)"
    fi
}
before=$(git_state)

# The koffi range the package declares; installing it is part of the test (no skip on failure).
# Two tests may start at once: the install is serialized on a lock file.
koffi_spec=$(node -p "require('$pkg/package.json').dependencies.koffi")
(
    flock 9
    if [ ! -f "$work/node_modules/koffi/package.json" ]; then
        npm install --prefix "$work" --no-audit --no-fund --no-save --no-package-lock \
            --loglevel=error "koffi@$koffi_spec" \
            || { echo "npm install koffi@$koffi_spec failed" >&2; exit 1; }
    fi
) 9>"$work/.install.lock"

export NODE_PATH="$work/node_modules"
: "${OPENFAULT_LIBRARY:?OPENFAULT_LIBRARY must point at the library under test}"

files=()
if [ "$mode" = redis ]; then
    [ -n "${REDIS_SERVER:-}" ] || { echo "REDIS_SERVER is not set" >&2; exit 1; }
    files=("$pkg/test/redis.test.js")
else
    for f in "$pkg"/test/*.test.js; do
        [ "$(basename "$f")" = redis.test.js ] || files+=("$f")
    done
fi
status=0
(cd "$work" && node --test "${files[@]}") || status=$?

after=$(git_state)
if [ "$before" != "$after" ]; then
    echo "the tests changed the repository's git status:" >&2
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
    exit 1
fi
exit $status

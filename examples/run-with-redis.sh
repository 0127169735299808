#!/usr/bin/env bash
# Runs PROGRAM [ARGS...] with the URL of a private redis-server appended as its last argument.
# The server listens only on a unix socket in a temporary directory and is stopped by its PID.
set -euo pipefail
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
command -v redis-server >/dev/null || { echo "redis-server is not on PATH" >&2; exit 1; }
redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no \
  --dir "$dir" >"$dir/redis.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [ -S "$dir/redis.sock" ] && break
  sleep 0.05
done
[ -S "$dir/redis.sock" ] || { cat "$dir/redis.log" >&2; exit 1; }
"$@" "unix://$dir/redis.sock"

#!/usr/bin/env bash
# Runs PROGRAM [ARGS...] with the URL of a private one-member etcd appended as its last argument.
# etcd listens on free loopback ports, keeps its data in a temporary directory and is stopped by
# its PID.
set -euo pipefail
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
command -v etcd >/dev/null || { echo "etcd is not on PATH (apt-get install etcd-server)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
client=$(free_port) peer=$(free_port)
etcd --name ex --data-dir "$dir/data" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "ex=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$client/health', timeout=1)" \
    2>/dev/null && break
  sleep 0.05
done
"$@" "etcd://127.0.0.1:$client/example/"

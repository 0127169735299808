#!/bin/bash
# The provider's exposition checked by the tools users point at it: promtool (Prometheus text
# format and naming lint) and a JSON parser. Usage: check-metrics.sh TEST-EXE PROMTOOL PYTHON3
set -u
exe=$1 promtool=$2 python=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$exe" --dump prometheus >"$tmp/m.prom" || { echo "dump prometheus failed"; exit 1; }
"$exe" --dump json >"$tmp/m.json" || { echo "dump json failed"; exit 1; }
grep -q '^myapp_lock_acquisitions_total{' "$tmp/m.prom" || { echo "no samples"; exit 1; }
# promtool prints lint problems and exits non-zero on any of them.
out=$("$promtool" check metrics <"$tmp/m.prom" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "promtool check metrics: rc $rc"; echo "$out"; exit 1
fi
"$python" - "$tmp/m.json" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
fams = {f["name"]: f for f in doc["metrics"]}
assert fams["myapp_lock_acquisitions_total"]["type"] == "counter"
assert fams["myapp_lock_acquisitions_total"]["samples"][0]["value"] == 3
assert fams["myapp_lock_acquisitions_total"]["samples"][0]["labels"] == {
    "provider": "local", "service": 'x "q"\\\n'}
h = fams["myapp_lock_wait_seconds"]
assert h["type"] == "histogram"
b = [s for s in h["samples"] if s["name"].endswith("_bucket")]
assert b[-1]["labels"]["le"] == "+Inf" and b[-1]["value"] == 2
PY
echo "ok: promtool and json"

#!/bin/bash
# The ring's exposition checked by the tools users point at it: promtool (Prometheus text format
# and naming lint) and a JSON parser. Usage: check-metrics.sh TEST-EXE PROMTOOL PYTHON3
set -u
exe=$1 promtool=$2 python=$3
[ -x "$promtool" ] || { echo "promtool not found: skipped"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$exe" --dump prometheus >"$tmp/m.prom" || { echo "dump prometheus failed"; exit 1; }
"$exe" --dump json >"$tmp/m.json" || { echo "dump json failed"; exit 1; }
grep -q '^myapp_ring_nodes{' "$tmp/m.prom" || { echo "no samples"; exit 1; }
# promtool prints lint problems and exits non-zero on any of them.
out=$("$promtool" check metrics <"$tmp/m.prom" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "promtool check metrics: rc $rc"; echo "$out"; exit 1
fi
"$python" - "$tmp/m.json" "$tmp/m.prom" <<'PY' || exit 1
import json, sys
doc = json.load(open(sys.argv[1]))
fams = {f["name"]: f for f in doc["metrics"]}
svc = 'x "q"\\\n'
assert fams["myapp_ring_nodes"]["type"] == "gauge"
assert fams["myapp_ring_nodes"]["samples"][0] == {
    "name": "myapp_ring_nodes", "labels": {"service": svc}, "value": 9}
ch = fams["myapp_ring_membership_changes_total"]
assert ch["type"] == "counter"
assert {s["labels"]["change"]: s["value"] for s in ch["samples"]} == {
    "add": 10, "remove": 1, "weight": 1}
info = fams["myapp_ring_info"]["samples"][0]["labels"]
assert info["algorithm"] == "native" and len(info["fingerprint"]) == 16
moved = fams["myapp_ring_last_change_moved_share"]["samples"][0]["value"]
assert 0 < moved < 1
# The JSON holds the same samples as the text, value for value.
text = {}
for line in open(sys.argv[2]):
    if not line.startswith("#"):
        name, value = line.rsplit(" ", 1)
        text[name.split("{")[0], name] = float(value)
n = sum(len(f["samples"]) for f in doc["metrics"])
assert n == len(text), (n, len(text))
vals = sorted(float(s["value"]) for f in doc["metrics"] for s in f["samples"])
assert vals == sorted(text.values())
PY
echo "ok: promtool and json"

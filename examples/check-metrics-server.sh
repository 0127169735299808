#!/bin/bash
# metrics-server as a scraper sees it: start it on a kernel-chosen loopback port, scrape /metrics
# with curl, check the text with promtool, do work through /work and see the figures move, then
# stop it by its PID (SIGTERM) and expect a clean exit; then a second one with a short idle
# timeout, whose every client slot is held by connections that send nothing.
#   check-metrics-server.sh SERVER CURL PROMTOOL     (exit 77 = skipped: a tool is missing)
set -u
server=$1 curl=$2 promtool=$3
[ -x "$curl" ] && [ -x "$promtool" ] || { echo "curl or promtool missing: skipped"; exit 77; }
tmp=$(mktemp -d) || exit 1
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

start_server() { # start_server NAME ARGS...: output in $tmp/NAME.out and .err; sets pid, port, url
    local name=$1
    shift
    "$server" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    port=
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || fail "$name server exited: $(cat "$tmp/$name.err")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "$name server printed no port"
    url=http://127.0.0.1:$port
}
stop_server() { # stop_server NAME: SIGTERM by PID, then a clean exit expected
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    pid=
    [ $rc -eq 0 ] || fail "$1 server: exit status $rc after SIGTERM: $(cat "$tmp/$1.err")"
}
get() { "$curl" -sS --max-time 10 "$@"; }

start_server main 0

get -o "$tmp/m1" -w '%{http_code} %{content_type}\n' "$url/metrics" >"$tmp/h1" || fail "scrape"
[ "$(cat "$tmp/h1")" = "200 text/plain; version=0.0.4" ] || fail "headers: $(cat "$tmp/h1")"
out=$("$promtool" check metrics <"$tmp/m1" 2>&1) || fail "promtool: $out"
[ -z "$out" ] || fail "promtool lint: $out"
echo "ok: /metrics passes promtool check metrics"

value() { # value FILE SAMPLE-PREFIX: the value of the first sample line starting so
    awk -v p="$2" 'index($0, p) == 1 { print $NF; exit }' "$1"
}
acq='openfault_lock_acquisitions_total{provider="local",service="metrics-server"}'
add='openfault_ring_membership_changes_total{service="metrics-server",change="add"}'
gen='openfault_ring_generation{service="metrics-server"}'
nodes='openfault_ring_nodes{service="metrics-server"}'
[ "$(value "$tmp/m1" "$acq")" = 0 ] || fail "acquisitions before work: $(value "$tmp/m1" "$acq")"
[ "$(value "$tmp/m1" "$add")" = 3 ] || fail "adds before work"
[ "$(value "$tmp/m1" "$nodes")" = 3 ] || fail "nodes before work"

for i in 1 2 3; do
    [ "$(get "$url/work")" = ok ] || fail "/work $i"
done
get -o "$tmp/m2" "$url/metrics" || fail "second scrape"
"$promtool" check metrics <"$tmp/m2" >/dev/null 2>&1 || fail "promtool on the second scrape"
[ "$(value "$tmp/m2" "$acq")" = 3 ] || fail "acquisitions after 3 units: $(value "$tmp/m2" "$acq")"
[ "$(value "$tmp/m2" "$add")" = 5 ] || fail "adds after 3 units: $(value "$tmp/m2" "$add")"
[ "$(value "$tmp/m2" "$gen")" = 4 ] || fail "generation after 3 units: $(value "$tmp/m2" "$gen")"
[ "$(value "$tmp/m2" "$nodes")" = 4 ] || fail "nodes after 3 units"
echo "ok: /work moves the lock and ring figures"

code=$(get -o /dev/null -w '%{http_code}' "$url/nope")
[ "$code" = 404 ] || fail "unknown path answered $code"
code=$(get -o /dev/null -w '%{http_code}' -X POST "$url/metrics")
[ "$code" = 405 ] || fail "POST answered $code"
echo "ok: 404 and 405"

stop_server main
grep -q '^stopped after 3 units of work$' "$tmp/main.out" || fail "no clean stop: $(cat "$tmp/main.out")"
echo "ok: stopped by SIGTERM"

# Idle connections: a second server that gives a client 300 ms to send its request. Sixteen
# connections that send nothing fill every client slot; without the idle timeout the scrape
# behind them would wait for ever (here: curl's 10 s), with it the idle ones get 408 and the
# scrape is served.
start_server idle 0 300
idle=()
for i in $(seq 1 16); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "idle connection $i"
    idle+=("$fd")
done
code=$(get -o /dev/null -w '%{http_code}' "$url/metrics") || fail "scrape behind 16 idle connections"
[ "$code" = 200 ] || fail "scrape behind 16 idle connections answered $code"
IFS= read -r -t 10 line <&"${idle[0]}" || fail "no answer to an idle connection"
[ "$line" = $'HTTP/1.0 408 Request Timeout\r' ] || fail "idle connection answered: $line"
for fd in "${idle[@]}"; do exec {fd}>&-; done
echo "ok: idle connections get 408 and free their slots"
"$server" 0 0 >/dev/null 2>"$tmp/bad.err" && fail "IDLE_MS 0 accepted"
grep -q usage "$tmp/bad.err" || fail "no usage for IDLE_MS 0"
stop_server idle
echo "ok: bad IDLE_MS refused; second server stopped"

#!/usr/bin/env bash
# usage: test-oflock.sh OFLOCK — checks oflock's exit codes, environment and signal handling with
# the --dir (lease file) backend in a private temp dir. No timing assertions: every wait is
# bounded by `timeout` so nothing hangs.
set -u
oflock=$1
[ -x "$oflock" ] || { echo "not executable: $oflock"; exit 1; }
tmp=$(mktemp -d)
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
d=$tmp/locks
mkdir "$d"
fail=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "FAIL - $1: expected $2, got $3"; fail=1; fi
}
run() { timeout 60 "$oflock" "$@"; }
# wait until FILE exists (a background oflock's child has started)
await() { for _ in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

run --help > "$tmp/help"; check "--help exits 0" 0 $?
grep -q -- '--nonblock' "$tmp/help"; check "--help text mentions --nonblock" 0 $?

# Child exit status and environment.
run --dir "$d" job -- true; check "child exit 0" 0 $?
run --dir "$d" job -- sh -c 'exit 3'; check "child exit 3 passed through" 3 $?
run --dir "$d" job -- sh -c 'kill -USR1 $$'; check "child killed by USR1 -> 128+10" 138 $?
run --dir "$d" job -- sh -c 'echo "$OF_LOCK_NAME $OF_FENCE"' > "$tmp/env1"
run --dir "$d" job -- sh -c 'echo "$OF_LOCK_NAME $OF_FENCE"' > "$tmp/env2"
read -r n1 f1 < "$tmp/env1"; read -r n2 f2 < "$tmp/env2"
check "OF_LOCK_NAME set" "job job" "$n1 $n2"
if [[ $f1 =~ ^[0-9]+$ && $f2 =~ ^[0-9]+$ ]] && (( f2 > f1 )); then
  echo "ok - OF_FENCE increases across runs ($f1 < $f2)"
else
  echo "FAIL - OF_FENCE not increasing: '$f1' then '$f2'"; fail=1
fi

# Shell-like exec failures.
run --dir "$d" job -- /nonexistent/cmd 2> "$tmp/err"; check "missing command -> 127" 127 $?
grep -q 'nonexistent' "$tmp/err"; check "missing command is named on stderr" 0 $?
printf 'data\n' > "$tmp/noexec"; chmod 644 "$tmp/noexec"
run --dir "$d" job -- "$tmp/noexec" 2>/dev/null; check "non-executable command -> 126" 126 $?

# Usage errors.
run 2>/dev/null; check "no arguments -> 64" 64 $?
run --dir "$d" job 2>/dev/null; check "no command -> 64" 64 $?
run --dir "$d" --ttl 5x job -- true 2>/dev/null; check "bad duration -> 64" 64 $?
run --dir "$d" --wait 1 --nonblock job -- true 2>/dev/null; check "--wait with --nonblock -> 64" 64 $?
run --redis redis://a --redis redis://b job -- true 2>/dev/null; check "two --redis -> 64" 64 $?
run --dir "$d" --on-lost NOPE job -- true 2>/dev/null; check "bad signal -> 64" 64 $?
run --dir "$d" --bogus job -- true 2>/dev/null; check "unknown option -> 64" 64 $?
(unset OFLOCK_REDIS_URL; run job -- true 2>/dev/null); check "no backend -> 64" 64 $?
run --dir "$tmp/missing-dir" job -- true 2>/dev/null; check "unusable --dir -> 69" 69 $?

# Busy: a background holder.
timeout 60 "$oflock" --dir "$d" held -- sh -c ": > '$tmp/held-up'; exec sleep 60" &
holder=$!; bg+=("$holder")
await "$tmp/held-up"; check "holder started" 0 $?
run --dir "$d" --nonblock held -- true 2>/dev/null; check "busy with --nonblock -> 1" 1 $?
run --dir "$d" -n -E 7 held -- true 2>/dev/null; check "busy with -E 7 -> 7" 7 $?
run --dir "$d" --wait 300ms held -- true 2>/dev/null; check "--wait 300ms times out -> 1" 1 $?
run --dir "$d" --wait 0.2 held -- true 2>/dev/null; check "--wait 0.2 times out -> 1" 1 $?
run --dir "$d" -n other -- true; check "another name is free" 0 $?

# Signal forwarding: TERM to oflock reaches the child, which dies of it; the lock is released.
kill -TERM "$holder"
wait "$holder"; check "TERM forwarded -> 143" 143 $?
run --dir "$d" -n held -- true; check "released after the child died" 0 $?

# INT forwarding.
timeout 60 "$oflock" --dir "$d" int -- sh -c "trap 'exit 42' INT; : > '$tmp/int-up'; while :; do sleep 0.05; done" &
p=$!; bg+=("$p")
await "$tmp/int-up"; check "INT child started" 0 $?
kill -INT "$p"
wait "$p"; check "INT forwarded, child's exit status 42" 42 $?

# Lock loss: remove the lease file under a running child; the next renewal fails, the child
# gets TERM and oflock exits 75.
timeout 60 "$oflock" --dir "$d" --ttl 0.6 lossy -- sh -c ": > '$tmp/lossy-up'; exec sleep 60" 2> "$tmp/lost-err" &
p=$!; bg+=("$p")
await "$tmp/lossy-up"; check "lossy child started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "lock lost -> 75" 75 $?
grep -q 'lock lost' "$tmp/lost-err"; check "loss reported on stderr" 0 $?

# Loss with a child that ignores TERM: KILL follows after --kill-after.
timeout 60 "$oflock" --dir "$d" --ttl 0.6 --kill-after 0.3 stubborn -- \
  sh -c "trap '' TERM; : > '$tmp/stubborn-up'; exec sleep 60" 2>/dev/null &
p=$!; bg+=("$p")
await "$tmp/stubborn-up"; check "stubborn child started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "stubborn child killed after loss -> 75" 75 $?

# Redis, only when redis-server is installed (the suite must not depend on it): a private
# server on a unix socket in the temp dir, no persistence.
if command -v redis-server > /dev/null; then
  sock=$tmp/redis.sock
  redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no --dir "$tmp" \
    > "$tmp/redis.log" 2>&1 &
  rpid=$!; bg+=("$rpid")
  await "$sock"; check "redis-server started" 0 $?
  url="unix://$sock"
  run --redis "$url" rjob -- sh -c 'exit 4'; check "redis: child exit 4" 4 $?
  printf '%s\n' "$url" > "$tmp/url"
  run --redis "@$tmp/url" rjob -- sh -c 'echo "$OF_FENCE"' > "$tmp/rf1"
  OFLOCK_REDIS_URL=$url run rjob -- sh -c 'echo "$OF_FENCE"' > "$tmp/rf2"
  read -r r1 < "$tmp/rf1"; read -r r2 < "$tmp/rf2"
  if [[ $r1 =~ ^[0-9]+$ && $r2 =~ ^[0-9]+$ ]] && (( r2 > r1 )); then
    echo "ok - redis: @FILE and \$OFLOCK_REDIS_URL work, fences increase ($r1 < $r2)"
  else
    echo "FAIL - redis: fences '$r1' then '$r2'"; fail=1
  fi
  timeout 60 "$oflock" --redis "$url" rheld -- sh -c ": > '$tmp/rheld-up'; exec sleep 60" &
  p=$!; bg+=("$p")
  await "$tmp/rheld-up"; check "redis: holder started" 0 $?
  run --redis "$url" -n rheld -- true 2>/dev/null; check "redis: busy -> 1" 1 $?
  kill -TERM "$p"; wait "$p"; check "redis: TERM forwarded -> 143" 143 $?
  kill "$rpid"; wait "$rpid" 2>/dev/null
  run --redis "$url" -n rjob -- true 2>/dev/null; check "redis: server gone -> 69" 69 $?
  run --redis "$url" rjob -- true 2>/dev/null; check "redis: server gone, waiting forever -> 69" 69 $?
else
  echo "ok - redis part not run: redis-server is not installed"
fi

exit $fail

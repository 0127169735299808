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
  for f in "$tmp"/*.pids; do [ -e "$f" ] && for p in $(pids "$f"); do kill -9 "$p" 2>/dev/null; done; done
  rm -rf "$tmp"
}
trap cleanup EXIT
d=$tmp/locks
mkdir "$d"
fail=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "FAIL - $1: expected $2, got $3"; fail=1; fi
}
run() { timeout -k 10 60 "$oflock" "$@"; }
# wait until FILE exists (a background oflock's child has started)
await() { for _ in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
# the process PID has ended (a zombie counts as ended: nobody may reap orphans here)
dead() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$s" ] || [ "$s" = Z ]; }
# wait until every PID has ended (bound: 30 s)
gone() {
  for _ in $(seq 600); do
    local all=0; for q in "$@"; do dead "$q" || all=1; done
    [ $all = 0 ] && return 0; sleep 0.05
  done
  return 1
}
# the pids listed in FILE (one per line) joined by spaces, for `gone` and cleanup
pids() { tr '\n' ' ' < "$1"; }

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
# A TTL too short to renew is refused, naming the smallest that works (100ms: a renewal starts at
# a third of it and must land before the lease ends, less the engine's margins).
run --dir "$d" --ttl 1ms job -- true 2> "$tmp/err"; check "--ttl 1ms -> 64" 64 $?
grep -q '100ms' "$tmp/err"; check "--ttl 1ms names the smallest TTL" 0 $?
run --dir "$d" --ttl 99ms job -- true 2>/dev/null; check "--ttl 99ms -> 64" 64 $?
run --dir "$d" --ttl 0.099 job -- true 2>/dev/null; check "--ttl 0.099 -> 64" 64 $?
run --dir "$d" --ttl 100ms job -- true 2>/dev/null; rc=$?
[ "$rc" != 64 ]; check "--ttl 100ms accepted (exit $rc)" 0 $?
run --dir "$d" --ttl 1s job -- true; check "--ttl 1s runs true -> 0" 0 $?
run --dir "$d" --bogus job -- true 2>/dev/null; check "unknown option -> 64" 64 $?
(unset OFLOCK_REDIS_URL; run job -- true 2>/dev/null); check "no backend -> 64" 64 $?
run --dir "$tmp/missing-dir" job -- true 2>/dev/null; check "unusable --dir -> 69" 69 $?

# Busy: a background holder.
timeout -k 10 60 "$oflock" --dir "$d" held -- sh -c ": > '$tmp/held-up'; exec sleep 60" &
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
timeout -k 10 60 "$oflock" --dir "$d" int -- sh -c "trap 'exit 42' INT; : > '$tmp/int-up'; while :; do sleep 0.05; done" &
p=$!; bg+=("$p")
await "$tmp/int-up"; check "INT child started" 0 $?
kill -INT "$p"
wait "$p"; check "INT forwarded, child's exit status 42" 42 $?

# Lock loss: remove the lease file under a running child; the next renewal fails, the child
# gets TERM and oflock exits 75.
timeout -k 10 60 "$oflock" --dir "$d" --ttl 0.6 lossy -- sh -c ": > '$tmp/lossy-up'; exec sleep 60" 2> "$tmp/lost-err" &
p=$!; bg+=("$p")
await "$tmp/lossy-up"; check "lossy child started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "lock lost -> 75" 75 $?
grep -q 'lock lost' "$tmp/lost-err"; check "loss reported on stderr" 0 $?

# Loss with a child that ignores TERM: KILL follows after --kill-after.
timeout -k 10 60 "$oflock" --dir "$d" --ttl 0.6 --kill-after 0.3 stubborn -- \
  sh -c "trap '' TERM; : > '$tmp/stubborn-up'; exec sleep 60" 2>/dev/null &
p=$!; bg+=("$p")
await "$tmp/stubborn-up"; check "stubborn child started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "stubborn child killed after loss -> 75" 75 $?

# The whole process group, not only COMMAND's pid. Each job writes its shell's pid, its parent's
# (oflock's: signals go to oflock itself, not to `timeout`, whose own group signal would reach
# COMMAND anyway) and its background children's pids.
job='echo $$ > "$1.pids"; echo $PPID > "$1.oflock"; sleep 300 & echo $! >> "$1.pids"; sleep 300 & echo $! >> "$1.pids"; : > "$1.up"; wait'
timeout -k 10 60 "$oflock" --dir "$d" grp -- sh -c "$job" sh "$tmp/grp" &
p=$!; bg+=("$p")
await "$tmp/grp.up"; check "group job started" 0 $?
kill -TERM "$(cat "$tmp/grp.oflock")"
wait "$p"; check "TERM to oflock, shell died of it -> 143" 143 $?
gone $(pids "$tmp/grp.pids"); check "TERM reached the whole group (children gone)" 0 $?

timeout -k 10 60 "$oflock" --dir "$d" --ttl 0.6 grplost -- sh -c "$job" sh "$tmp/grplost" 2>/dev/null &
p=$!; bg+=("$p")
await "$tmp/grplost.up"; check "lossy group job started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "group job: lock lost -> 75" 75 $?
gone $(pids "$tmp/grplost.pids"); check "loss: --on-lost reached the whole group" 0 $?

# --kill-after follows a forwarded TERM too (a job that ignores TERM no longer keeps oflock
# waiting for ever).
start=$SECONDS
timeout -k 5 30 "$oflock" --dir "$d" --kill-after 0.3 deaf -- \
  sh -c "trap '' TERM; echo \$\$ > '$tmp/deaf.pids'; echo \$PPID > '$tmp/deaf.oflock'; : > '$tmp/deaf.up'; while :; do sleep 0.1; done" &
p=$!; bg+=("$p")
await "$tmp/deaf.up"; check "TERM-ignoring job started" 0 $?
kill -TERM "$(cat "$tmp/deaf.oflock")"
wait "$p"; check "forwarded TERM ignored: KILL after --kill-after -> 137" 137 $?
(( SECONDS - start < 30 )); check "forwarded TERM ignored: ended before the 30 s bound" 0 $?

# A leftover that ignores TERM while the shell dies of it: KILL reaches it after --kill-after.
timeout -k 5 30 "$oflock" --dir "$d" --kill-after 0.3 left -- \
  sh -c "(trap '' TERM; exec sleep 300) & echo \$! > '$tmp/left.pids'; echo \$PPID > '$tmp/left.oflock'; : > '$tmp/left.up'; wait" &
p=$!; bg+=("$p")
await "$tmp/left.up"; check "job with a TERM-ignoring child started" 0 $?
kill -TERM "$(cat "$tmp/left.oflock")"
wait "$p"; check "shell died of TERM -> 143" 143 $?
gone $(pids "$tmp/left.pids"); check "TERM-ignoring leftover killed" 0 $?

# A leftover of a job that ended on its own keeps the lock held until it ends.
timeout -k 10 60 "$oflock" --dir "$d" tail -- sh -c "sleep 3 & echo \$! > '$tmp/tail.pids'; : > '$tmp/tail.up'; exit 5" 2> "$tmp/tail.err" &
p=$!; bg+=("$p")
await "$tmp/tail.up"; check "job leaving a child started" 0 $?
run --dir "$d" -n tail -- true 2>/dev/null; check "lock held while the leftover runs" 1 $?
wait "$p"; check "job's own status once the leftover ended -> 5" 5 $?
dead "$(cat "$tmp/tail.pids")"; check "leftover ended before oflock" 0 $?
grep -q 'stays held' "$tmp/tail.err"; check "leftover reported on stderr" 0 $?

# HUP, USR1 and the like no longer end oflock with the job still running.
timeout -k 10 60 "$oflock" --dir "$d" hup -- sh -c "$job" sh "$tmp/hup" &
p=$!; bg+=("$p")
await "$tmp/hup.up"; check "HUP job started" 0 $?
kill -HUP "$(cat "$tmp/hup.oflock")"
wait "$p"; check "HUP forwarded, shell died of it -> 129" 129 $?
gone $(pids "$tmp/hup.pids"); check "HUP reached the whole group" 0 $?
run --dir "$d" -n hup -- true; check "lock released after HUP" 0 $?
timeout -k 10 60 "$oflock" --dir "$d" usr1 -- \
  sh -c "trap ': > \"$tmp/usr1.got\"' USR1; echo \$\$ > '$tmp/usr1.pids'; echo \$PPID > '$tmp/usr1.oflock'; : > '$tmp/usr1.up'; while [ ! -e '$tmp/usr1.got' ]; do sleep 0.05; done; exit 7" 2>/dev/null &
p=$!; bg+=("$p")
await "$tmp/usr1.up"; check "USR1 job started" 0 $?
kill -USR1 "$(cat "$tmp/usr1.oflock")"
wait "$p"; check "USR1 forwarded to a job that handles it; its exit 7" 7 $?

# oflock killed with KILL: the job dies with it (leader by PR_SET_PDEATHSIG, the rest of the group
# by the watchdog). The lease, which nobody can release now, lasts until its TTL: meanwhile a
# --nonblock is busy, afterwards it runs, and the old job is gone by then.
timeout -k 10 60 "$oflock" --dir "$d" --ttl 5s k9 -- sh -c "$job" sh "$tmp/k9" &
p=$!; bg+=("$p")
await "$tmp/k9.up"; check "job for KILL started" 0 $?
kill -KILL "$(cat "$tmp/k9.oflock")"
run --dir "$d" -n k9 -- true 2>/dev/null; check "lease of a KILLed oflock lasts until its TTL" 1 $?
wait "$p" 2>/dev/null
gone $(pids "$tmp/k9.pids"); check "oflock KILLed: the whole group is gone" 0 $?
for _ in $(seq 300); do run --dir "$d" -n k9 -- true 2>/dev/null && break; sleep 0.1; done
run --dir "$d" -n k9 -- true; check "lease free after its TTL" 0 $?

# Without the watchdog (killed first), the group leader still dies with oflock.
timeout -k 10 60 "$oflock" --dir "$d" k9b -- sh -c "$job" sh "$tmp/k9b" &
p=$!; bg+=("$p")
await "$tmp/k9b.up"; check "job for KILL without watchdog started" 0 $?
ofl=$(cat "$tmp/k9b.oflock"); leader=$(head -n1 "$tmp/k9b.pids")
for q in $(pgrep -P "$ofl"); do [ "$q" != "$leader" ] && kill -KILL "$q"; done
kill -KILL "$ofl"
wait "$p" 2>/dev/null
gone "$leader"; check "oflock KILLed without watchdog: group leader gone (PDEATHSIG)" 0 $?
for q in $(pids "$tmp/k9b.pids"); do kill -9 "$q" 2>/dev/null; done

# Nothing runs under a lease that has already ended. A flock(1) on the lease file stalls the
# provider's acquire step for longer than the TTL: the lease it then grants is over. (--on-lost
# none: a COMMAND started all the same must not be killed before it leaves its mark.)
d2=$tmp/locks2; mkdir "$d2"
run --dir "$d2" slow -- sh -c "ls '$d2' | grep lease > '$tmp/slow.file'"
lf=$d2/$(cat "$tmp/slow.file")
flock "$lf" sh -c ": > '$tmp/slow.up'; sleep 3" &
fl=$!; bg+=("$fl")
await "$tmp/slow.up"; check "lease file flocked" 0 $?
# The library itself refuses a grant that arrives after its lease ended (outcome unknown: 69, the
# cause printed); oflock's own check (75) catches a lease that ends between the grant and the
# start of COMMAND.
run --dir "$d2" --ttl 200ms --on-lost none slow -- sh -c ": > '$tmp/slow.ran'" 2> "$tmp/slow.err"
check "lease ended on arrival -> 69" 69 $?
[ ! -e "$tmp/slow.ran" ]; check "COMMAND not started under an ended lease" 0 $?
grep -q 'after its lease ended' "$tmp/slow.err"; check "ended lease reported on stderr" 0 $?
wait "$fl"
run --dir "$d2" -n slow -- true; check "ended lease released" 0 $?

# In the foreground of a terminal (script(1) gives a pty), COMMAND has the terminal: it reads
# stdin (no SIGTTIN in its new group) and gets ^C itself.
if command -v script > /dev/null; then
  (sleep 1; printf 'hello\n') | timeout 30 script -qec "$oflock --dir '$d' tty -- sh -c 'read x; echo \"got:\$x\"'" /dev/null > "$tmp/tty.out"
  grep -q 'got:hello' "$tmp/tty.out"; check "terminal: COMMAND reads stdin" 0 $?
  (sleep 1; printf '\003'; sleep 2) | timeout 30 script -qec "$oflock --dir '$d' tty -- sh -c 'sleep 100'; echo \"rc=\$?\"" /dev/null > "$tmp/tty2.out"
  grep -q 'rc=130' "$tmp/tty2.out"; check "terminal: ^C ends COMMAND -> 130" 0 $?
else
  echo "ok - terminal part not run: script(1) is not installed"
fi

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
  timeout -k 10 60 "$oflock" --redis "$url" rheld -- sh -c ": > '$tmp/rheld-up'; exec sleep 60" &
  p=$!; bg+=("$p")
  await "$tmp/rheld-up"; check "redis: holder started" 0 $?
  run --redis "$url" -n rheld -- true 2>/dev/null; check "redis: busy -> 1" 1 $?
  kill -TERM "$p"; wait "$p"; check "redis: TERM forwarded -> 143" 143 $?
  # Redis goes away while oflock waits for a holder: "unavailable" (69) with the cause, not
  # "timed out" (the busy code).
  timeout -k 10 60 "$oflock" --redis "$url" rwait -- sh -c ": > '$tmp/rwait-up'; exec sleep 60" 2>/dev/null &
  p=$!; bg+=("$p")
  await "$tmp/rwait-up"; check "redis: holder for the waiter started" 0 $?
  timeout -k 10 60 "$oflock" --redis "$url" --wait 3s rwait -- true 2> "$tmp/rwait.err" &
  w=$!; bg+=("$w")
  sleep 0.5 # let it reach the wait (if not, it sees the server gone at once: also 69)
  kill "$rpid"; wait "$rpid" 2>/dev/null
  wait "$w"; check "redis: server gone during --wait -> 69" 69 $?
  # Depending on the moment of the kill, the waiter's next attempt finds no server (unavailable,
  # a failed connect) or its request in flight loses the connection (outcome unknown); never
  # "timed out", which would blame a holder.
  grep -qiE 'unavailable|outcome unknown' "$tmp/rwait.err"; check "redis: the waiter says the backend failed" 0 $?
  grep -qiE 'connect|closed|reset|reply' "$tmp/rwait.err"; check "redis: the waiter prints the cause" 0 $?
  ! grep -qi 'timed out' "$tmp/rwait.err"; check "redis: the waiter does not blame a holder" 0 $?
  kill -TERM "$p"; wait "$p" 2>/dev/null
  run --redis "$url" -n rjob -- true 2>/dev/null; check "redis: server gone -> 69" 69 $?
  run --redis "$url" rjob -- true 2>/dev/null; check "redis: server gone, waiting forever -> 69" 69 $?
else
  echo "ok - redis part not run: redis-server is not installed"
fi
# A closed port: unavailable (69) with the cause, with --wait and with --nonblock.
run --redis redis://127.0.0.1:1 --wait 1s rjob -- true 2> "$tmp/closed.err"; check "closed port, --wait 1s -> 69" 69 $?
grep -q 'refused' "$tmp/closed.err"; check "closed port: cause printed" 0 $?
run --redis redis://127.0.0.1:1 -n rjob -- true 2>/dev/null; check "closed port, --nonblock -> 69" 69 $?

exit $fail

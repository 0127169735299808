#!/usr/bin/env bash
# usage: test-oflock.sh OFLOCK — checks oflock's exit codes, environment and signal handling with
# the --dir (lease file) backend in a private temp dir, then with private redis-servers (one, and
# three for Redlock, on unix sockets) and a private one-member etcd on free loopback ports when
# they are installed, each stopped by its PID. No timing assertions: every wait is bounded by
# `timeout` so nothing hangs.
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

# Descriptors. COMMAND must see exactly what oflock's caller gave it: the test shell's own
# descriptors (whatever the harness passes) plus fd 7, passed on purpose, and none of oflock's
# (its connections, pipes, a library's sockets). `ls /proc/self/fd` lists them (and ls's own
# directory descriptor, the lowest free number either way).
fds_cmd='ls /proc/self/fd | sort -n | tr "\n" " "'
fds_base=$(timeout 60 sh -c "$fds_cmd" 7</dev/null)
fdcheck() { # fdcheck LABEL OFLOCK-ARGS... : COMMAND's descriptors are the caller's
  local label=$1; shift
  local got; got=$(run "$@" fdjob -- sh -c "$fds_cmd" 7</dev/null)
  check "$label: COMMAND sees only the caller's descriptors" "$fds_base" "$got"
}
# oflock's own sockets (COMMAND's parent's), listed by COMMAND as "INODE FLAGS KIND": FLAGS the
# octal open flags of /proc/PID/fdinfo, KIND tcp or other.
cat > "$tmp/socks.sh" <<'SH'
p=$PPID
tcp=" $(awk 'NR > 1 { printf "%s ", $10 }' /proc/$p/net/tcp /proc/$p/net/tcp6 2>/dev/null)"
for f in /proc/$p/fd/*; do
  l=$(readlink "$f") || continue
  case $l in socket:*) ;; *) continue ;; esac
  ino=${l//[!0-9]/}
  fl=$(awk '/^flags:/ { print $2 }' "/proc/$p/fdinfo/${f##*/}")
  case $tcp in *" $ino "*) k=tcp ;; *) k=other ;; esac
  echo "$ino $fl $k"
done
SH
# sockcheck LABEL KIND OFLOCK-ARGS... : oflock's sockets of KIND (tcp, or all) are close-on-exec
# in the library itself (there are some), whatever oflock then does for COMMAND.
sockcheck() {
  local label=$1 kind=$2; shift 2
  run "$@" sockjob -- bash "$tmp/socks.sh" > "$tmp/socks.out"
  local n=0 bad=0 ino fl k
  while read -r ino fl k; do
    [ "$kind" = all ] || [ "$k" = "$kind" ] || continue
    n=$((n + 1)); (( 8#$fl & 8#2000000 )) || bad=$((bad + 1))
  done < "$tmp/socks.out"
  (( n > 0 )); check "$label: oflock holds $kind sockets to look at" 0 $?
  check "$label: the library's sockets are close-on-exec" 0 "$bad"
}

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
# Redlock takes an odd number of servers, 3 to 15: refused before anything connects.
run --redis redis://a --redis redis://b job -- true 2> "$tmp/err"; check "two --redis -> 64" 64 $?
grep -q 'odd number' "$tmp/err"; check "two --redis: the reason is printed" 0 $?
run --redis redis://a:1 --redis redis://b:1 --redis redis://c:1 --redis redis://d:1 job -- true 2>/dev/null
check "four --redis -> 64" 64 $?
r16=(); for i in $(seq 16); do r16+=(--redis "redis://h$i"); done
run "${r16[@]}" job -- true 2>/dev/null; check "sixteen --redis -> 64" 64 $?
OFLOCK_REDIS_URL=redis://a,redis://b run job -- true 2> "$tmp/err"; check "\$OFLOCK_REDIS_URL with two items -> 64" 64 $?
grep -q '%2C' "$tmp/err"; check "two items in \$OFLOCK_REDIS_URL: says how to write a ',' in a URL" 0 $?
OFLOCK_REDIS_URL=redis://a,,redis://b run job -- true 2>/dev/null; check "\$OFLOCK_REDIS_URL with an empty item -> 64" 64 $?
# One backend only.
run --redis redis://a --dir "$d" job -- true 2>/dev/null; check "--redis with --dir -> 64" 64 $?
run --etcd etcd://127.0.0.1:1/x --dir "$d" job -- true 2>/dev/null; check "--etcd with --dir -> 64" 64 $?
run --etcd etcd://127.0.0.1:1/x --redis redis://a job -- true 2>/dev/null; check "--etcd with --redis -> 64" 64 $?
run --etcd etcd://127.0.0.1:1/x --etcd etcd://127.0.0.1:2/x job -- true 2>/dev/null; check "two --etcd -> 64" 64 $?
OFLOCK_REDIS_URL=redis://a OFLOCK_ETCD_URL=etcd://127.0.0.1:1/x run job -- true 2>/dev/null
check "both \$OFLOCK_REDIS_URL and \$OFLOCK_ETCD_URL -> 64" 64 $?
run --redis "@$tmp/no-such-file" job -- true 2>/dev/null; check "unreadable --redis @FILE -> 64" 64 $?
printf '# nothing\n\n' > "$tmp/empty-urls"
run --redis "@$tmp/empty-urls" job -- true 2>/dev/null; check "--redis @FILE without a URL -> 64" 64 $?
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
(unset OFLOCK_REDIS_URL OFLOCK_ETCD_URL; run job -- true 2>/dev/null); check "no backend -> 64" 64 $?
run --dir "$tmp/missing-dir" job -- true 2>/dev/null; check "unusable --dir -> 69" 69 $?

# Descriptors with --dir.
case " $fds_base " in *" 7 "*) r=0 ;; *) r=1 ;; esac; check "fd 7 reaches a plain COMMAND" 0 $r
fdcheck "--dir" --dir "$d"

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

# --verbose: one stderr line per lock event. Without it a run that goes well prints nothing.
run --dir "$d" --ttl 0.3 quiet -- sleep 0.5 2> "$tmp/quiet.err"; check "without -v: runs" 0 $?
check "without -v: nothing on stderr" "" "$(cat "$tmp/quiet.err")"
run -v --dir "$d" --ttl 0.3 verb -- sh -c 'sleep 0.5; echo "$OF_FENCE"' > "$tmp/verb.out" 2> "$tmp/verb.err"
check "-v: runs" 0 $?
read -r vf < "$tmp/verb.out"
grep -qE "^oflock: verb: acquired, fence $vf, [0-9]+ ms left \(until [0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z\)\$" "$tmp/verb.err"
check "-v: the acquire names the fence, the lease left and its end" 0 $?
grep -qE '^oflock: verb: renewed, [0-9]+ ms left \(until ' "$tmp/verb.err"; check "-v: renewals are printed" 0 $?
tail -n 1 "$tmp/verb.err" | grep -qx 'oflock: verb: released: OF_OK'; check "-v: the release comes last" 0 $?
# A loss: the renewal's failure with its cause, the loss, the signals sent, the release.
timeout -k 10 60 "$oflock" --verbose --dir "$d" --ttl 0.6 --kill-after 0.3 vlost -- \
  sh -c "trap '' TERM; : > '$tmp/vlost-up'; exec sleep 60" 2> "$tmp/vlost.err" &
p=$!; bg+=("$p")
await "$tmp/vlost-up"; check "-v: lossy child started" 0 $?
rm -f "$d"/*.lease
wait "$p"; check "-v: lock lost -> 75" 75 $?
grep -qE '^oflock: vlost: renewal failed: OF_ERR_NOT_OWNER \(.+\); the lease is given up' "$tmp/vlost.err"
check "-v: the renewal failure and its cause" 0 $?
grep -qE '^oflock: vlost: lease lost: OF_ERR_NOT_OWNER \(.+\)$' "$tmp/vlost.err"; check "-v: the loss and its cause" 0 $?
grep -qE "^oflock: sent TERM to COMMAND's process group [0-9]+ \(the lease was lost\)" "$tmp/vlost.err"
check "-v: the TERM sent on the loss" 0 $?
grep -qE "^oflock: sent KILL to COMMAND's process group [0-9]+ \(--kill-after passed\)" "$tmp/vlost.err"
check "-v: the KILL after --kill-after" 0 $?
grep -qx 'oflock: vlost: released: OF_ERR_LOST (release of a lock already marked lost)' "$tmp/vlost.err"
check "-v: the release of the lost lock" 0 $?

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
  fdcheck "redis" --redis "$url"
  sockcheck "redis" all --redis "$url"
  timeout -k 10 60 "$oflock" --redis "$url" rheld -- sh -c ": > '$tmp/rheld-up'; exec sleep 60" &
  p=$!; bg+=("$p")
  await "$tmp/rheld-up"; check "redis: holder started" 0 $?
  run --redis "$url" -n rheld -- true 2>/dev/null; check "redis: busy -> 1" 1 $?
  run -v --redis "$url" -n rheld -- true 2> "$tmp/rbusy.err"; check "redis -v: busy -> 1" 1 $?
  head -n 1 "$tmp/rbusy.err" | grep -qE '^oflock: rheld: not acquired: OF_ERR_BUSY \(held by another owner'
  check "redis -v: the failed acquire comes first, with its cause" 0 $?
  grep -q '^oflock: rheld: held by another owner' "$tmp/rbusy.err"; check "redis -v: then the usual message" 0 $?
  kill -TERM "$p"; wait "$p"; check "redis: TERM forwarded -> 143" 143 $?
  # --verbose on Redis: a server of its own stops under a held lock. Each renewal failure is
  # printed with its cause, then the loss when the lease runs out, and COMMAND gets TERM.
  vsock=$tmp/redis-v.sock
  redis-server --port 0 --unixsocket "$vsock" --save '' --appendonly no --dir "$tmp" \
    > "$tmp/redis-v.log" 2>&1 &
  vpid=$!; bg+=("$vpid")
  await "$vsock"; check "redis -v: its server started" 0 $?
  timeout -k 10 60 "$oflock" -v --redis "unix://$vsock" --ttl 1s rverb -- \
    sh -c ": > '$tmp/rverb-up'; exec sleep 60" 2> "$tmp/rverb.err" &
  p=$!; bg+=("$p")
  await "$tmp/rverb-up"; check "redis -v: holder started" 0 $?
  grep -qE '^oflock: rverb: acquired, fence [0-9]+, [0-9]+ ms left' "$tmp/rverb.err"; check "redis -v: acquired" 0 $?
  kill "$vpid"; wait "$vpid" 2>/dev/null
  wait "$p"; check "redis -v: server stopped under the lock -> 75" 75 $?
  # The renewal in flight when the server went away may end as "no reply" (UNKNOWN, the lease
  # given up at once); the ones after it find nothing to connect to (UNAVAILABLE, retried).
  grep -qE '^oflock: rverb: renewal failed: OF_ERR_(UNAVAILABLE|UNKNOWN) \(.*(connect|closed|reset|reply|EOF|refused|No such file).*\)' "$tmp/rverb.err"
  check "redis -v: a renewal failure with its cause" 0 $?
  grep -qE '^oflock: rverb: lease lost: OF_ERR_(LOST|UNKNOWN) \(.+\)$' "$tmp/rverb.err"; check "redis -v: the loss" 0 $?
  grep -qE "^oflock: sent TERM to COMMAND's process group [0-9]+ \(the lease was lost\)" "$tmp/rverb.err"
  check "redis -v: the TERM sent on the loss" 0 $?
  grep -qE '^oflock: rverb: released: OF_ERR_LOST' "$tmp/rverb.err"; check "redis -v: the release" 0 $?
  grep -qE '^oflock: rverb: cleanup queued \(release not sent' "$tmp/rverb.err"
  check "redis -v: the release that could not be sent is queued for cleanup" 0 $?
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

  # Redlock: three private servers on unix sockets.
  rl=(); rlpid=()
  for i in 1 2 3; do
    redis-server --port 0 --unixsocket "$tmp/rl$i.sock" --save '' --appendonly no --dir "$tmp" \
      > "$tmp/rl$i.log" 2>&1 &
    rlpid+=($!); bg+=($!)
    rl+=(--redis "unix://$tmp/rl$i.sock")
  done
  for i in 1 2 3; do await "$tmp/rl$i.sock" || break; done; check "redlock: 3 redis-servers started" 0 $?
  run "${rl[@]}" lj -- sh -c 'exit 4'; check "redlock: child exit 4" 4 $?
  # The three ways to name the servers: --redis three times, @FILE with one URL per line (blank
  # and # lines skipped), $OFLOCK_REDIS_URL as a comma list. Fences increase across them.
  run "${rl[@]}" lj -- sh -c 'echo "$OF_FENCE"' > "$tmp/lf1"
  printf '# the lock servers\nunix://%s/rl1.sock\n\n  unix://%s/rl2.sock\t\nunix://%s/rl3.sock\n' \
    "$tmp" "$tmp" "$tmp" > "$tmp/rl.urls"
  run --redis "@$tmp/rl.urls" lj -- sh -c 'echo "$OF_FENCE"' > "$tmp/lf2"
  OFLOCK_REDIS_URL="unix://$tmp/rl1.sock,unix://$tmp/rl2.sock,unix://$tmp/rl3.sock" \
    run lj -- sh -c 'echo "$OF_FENCE"' > "$tmp/lf3"
  # @FILE and plain URLs mix: one from a file, two on the command line.
  printf 'unix://%s/rl1.sock\n' "$tmp" > "$tmp/rl1.url"
  run --redis "@$tmp/rl1.url" "${rl[@]:2}" lj -- sh -c 'echo "$OF_FENCE"' > "$tmp/lf4"
  read -r l1 < "$tmp/lf1"; read -r l2 < "$tmp/lf2"; read -r l3 < "$tmp/lf3"; read -r l4 < "$tmp/lf4"
  if [[ $l1 =~ ^[0-9]+$ && $l2 =~ ^[0-9]+$ && $l3 =~ ^[0-9]+$ && $l4 =~ ^[0-9]+$ ]] &&
     (( l1 < l2 && l2 < l3 && l3 < l4 )); then
    echo "ok - redlock: --redis x3, @FILE, \$OFLOCK_REDIS_URL list and a mix work, fences increase ($l1 < $l2 < $l3 < $l4)"
  else
    echo "FAIL - redlock: fences '$l1' '$l2' '$l3' '$l4'"; fail=1
  fi
  # The smallest TTL over 3 servers at the default 100 ms + 100 ms per-server timeouts: 400ms
  # (a renewal must also wait out one dead server's connect + command timeout); a server's own
  # larger timeouts in its URL raise it.
  run "${rl[@]}" --ttl 390ms lj -- true 2> "$tmp/err"; check "redlock: --ttl 390ms -> 64" 64 $?
  grep -q '400ms' "$tmp/err"; check "redlock: --ttl 390ms names the smallest TTL, 400ms" 0 $?
  run "${rl[@]}" --ttl 400ms lj -- true; check "redlock: --ttl 400ms runs" 0 $?
  run --redis "unix://$tmp/rl1.sock?connect_timeout_ms=1000" "${rl[@]:2}" --ttl 1s lj -- true 2> "$tmp/err"
  check "redlock: a 1000 ms connect timeout in a URL refuses --ttl 1s -> 64" 64 $?
  grep -q '1770ms' "$tmp/err"; check "redlock: ... and names 1770ms" 0 $?
  fdcheck "redlock" "${rl[@]}"
  sockcheck "redlock" all "${rl[@]}"
  # Busy, and a held lock stays held for everyone while one server is down.
  timeout -k 10 60 "$oflock" "${rl[@]}" lheld -- sh -c ": > '$tmp/lheld-up'; exec sleep 60" &
  p=$!; bg+=("$p")
  await "$tmp/lheld-up"; check "redlock: holder started" 0 $?
  run "${rl[@]}" -n lheld -- true 2>/dev/null; check "redlock: busy -> 1" 1 $?
  kill "${rlpid[2]}"; wait "${rlpid[2]}" 2>/dev/null
  run "${rl[@]}" -n lheld -- true 2>/dev/null; check "redlock, one server down: still busy -> 1" 1 $?
  run "${rl[@]}" -n lfree -- sh -c 'echo "$OF_FENCE"' > "$tmp/lf5"; check "redlock, one server down: runs -> 0" 0 $?
  grep -qE '^[0-9]+$' "$tmp/lf5"; check "redlock, one server down: COMMAND got a fence" 0 $?
  kill -TERM "$p"; wait "$p"; check "redlock: holder's TERM forwarded, one server down -> 143" 143 $?
  run "${rl[@]}" -n lheld -- true; check "redlock, one server down: released lock is free" 0 $?
  # A majority down: unavailable, not busy.
  kill "${rlpid[1]}"; wait "${rlpid[1]}" 2>/dev/null
  run "${rl[@]}" -n lheld -- true 2> "$tmp/err"; check "redlock, two of three down -> 69" 69 $?
  grep -qi 'unavailable' "$tmp/err"; check "redlock, two of three down: says unavailable" 0 $?
  kill "${rlpid[0]}"; wait "${rlpid[0]}" 2>/dev/null
else
  echo "ok - redis part not run: redis-server is not installed"
fi

# etcd. Without etcd support in the library, --etcd says so and exits 69.
if ! grep -q -- '--etcd yes' "$tmp/help"; then
  run --etcd etcd://127.0.0.1:1/x job -- true 2> "$tmp/err"; check "etcd not built: --etcd -> 69" 69 $?
  grep -q 'no etcd support' "$tmp/err"; check "etcd not built: says so" 0 $?
else
  # No server: unavailable (69), with the cause.
  run --etcd etcd://127.0.0.1:1/x -n ejob -- true 2> "$tmp/err"; check "etcd, no server -> 69" 69 $?
  grep -qi 'connect' "$tmp/err"; check "etcd, no server: the cause is printed" 0 $?
  run --etcd 'etcd://127.0.0.1:1/x?bogus=1' ejob -- true 2>/dev/null; check "etcd, bad URL -> 64" 64 $?
  printf 'etcd://127.0.0.1:1/a\netcd://127.0.0.1:2/b\n' > "$tmp/two-etcd"
  run --etcd "@$tmp/two-etcd" ejob -- true 2>/dev/null; check "etcd, @FILE with two URLs -> 64" 64 $?
  # The smallest TTL is 1s: etcd leases are whole seconds.
  run --etcd etcd://127.0.0.1:1/x --ttl 999ms ejob -- true 2> "$tmp/err"; check "etcd: --ttl 999ms -> 64" 64 $?
  grep -q '1000ms' "$tmp/err"; check "etcd: --ttl 999ms names the smallest TTL" 0 $?
  if command -v etcd > /dev/null && command -v python3 > /dev/null; then
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    ec=$(free_port); ep=$(free_port)
    etcd --name of --data-dir "$tmp/etcd" --unsafe-no-fsync \
      --listen-client-urls "http://127.0.0.1:$ec" --advertise-client-urls "http://127.0.0.1:$ec" \
      --listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" \
      --initial-cluster "of=http://127.0.0.1:$ep" > "$tmp/etcd.log" 2>&1 &
    epid=$!; bg+=("$epid")
    up=1
    for _ in $(seq 300); do
      python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$ec/health', timeout=1)" \
        2>/dev/null && { up=0; break; }
      sleep 0.1
    done
    check "etcd started" 0 $up
    eu="etcd://127.0.0.1:$ec/oflock-test/"
    run --etcd "$eu" ejob -- sh -c 'exit 4'; check "etcd: child exit 4" 4 $?
    run --etcd "$eu" ejob -- sh -c 'echo "$OF_FENCE"' > "$tmp/ef1"
    printf '# the cluster\n%s\n' "$eu" > "$tmp/etcd.url"
    run --etcd "@$tmp/etcd.url" ejob -- sh -c 'echo "$OF_FENCE"' > "$tmp/ef2"
    (unset OFLOCK_REDIS_URL; OFLOCK_ETCD_URL=$eu run ejob -- sh -c 'echo "$OF_FENCE"') > "$tmp/ef3"
    read -r e1 < "$tmp/ef1"; read -r e2 < "$tmp/ef2"; read -r e3 < "$tmp/ef3"
    if [[ $e1 =~ ^[0-9]+$ && $e2 =~ ^[0-9]+$ && $e3 =~ ^[0-9]+$ ]] && (( e1 < e2 && e2 < e3 )); then
      echo "ok - etcd: --etcd, @FILE and \$OFLOCK_ETCD_URL work, fences increase ($e1 < $e2 < $e3)"
    else
      echo "FAIL - etcd: fences '$e1' '$e2' '$e3'"; fail=1
    fi
    run --etcd "$eu" --ttl 1s ejob -- true; check "etcd: --ttl 1s runs" 0 $?
    fdcheck "etcd" --etcd "$eu"
    sockcheck "etcd" tcp --etcd "$eu"
    timeout -k 10 60 "$oflock" --etcd "$eu" eheld -- sh -c ": > '$tmp/eheld-up'; exec sleep 60" &
    p=$!; bg+=("$p")
    await "$tmp/eheld-up"; check "etcd: holder started" 0 $?
    run --etcd "$eu" -n eheld -- true 2>/dev/null; check "etcd: busy -> 1" 1 $?
    run --etcd "$eu" --wait 300ms eheld -- true 2>/dev/null; check "etcd: --wait 300ms times out -> 1" 1 $?
    kill -TERM "$p"; wait "$p"; check "etcd: TERM forwarded -> 143" 143 $?
    run --etcd "$eu" -n eheld -- sh -c 'echo "$OF_FENCE"' > "$tmp/ef4"; check "etcd: released lock is free" 0 $?
    read -r e4 < "$tmp/ef4"
    [[ $e4 =~ ^[0-9]+$ ]] && (( e4 > e3 )); check "etcd: the next owner's fence is larger ($e3 < $e4)" 0 $?
    kill "$epid"; wait "$epid" 2>/dev/null
    run --etcd "$eu" -n ejob -- true 2> "$tmp/err"; check "etcd: server gone -> 69" 69 $?
  else
    echo "ok - etcd server part not run: etcd or python3 is not installed"
  fi
fi
# A closed port: unavailable (69) with the cause, with --wait and with --nonblock.
run --redis redis://127.0.0.1:1 --wait 1s rjob -- true 2> "$tmp/closed.err"; check "closed port, --wait 1s -> 69" 69 $?
grep -q 'refused' "$tmp/closed.err"; check "closed port: cause printed" 0 $?
run --redis redis://127.0.0.1:1 -n rjob -- true 2>/dev/null; check "closed port, --nonblock -> 69" 69 $?

exit $fail

#!/usr/bin/env bash
# The std `answer` under a UDP flood on 127.0.0.1: 100k datagrams of random bytes and 100k
# requests it refuses (REGISTER, SUBSCRIBE, MESSAGE, FOO, BYE for no dialog, OPTIONS), sent
# at the same time by two `flood` processes, while SIPp places one ordinary call. Checks that
# the answer is still alive and the call succeeded; prints the answer's peak RSS (VmHWM),
# its summary and the flood rates.
#
#   scripts/flood.sh            (COUNT=N per flood, SEED=N)
#
# CI runs it; it takes a few seconds and everything in it is bounded by a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

count=${COUNT:-100000}
seed=${SEED:-1}

command -v sipp >/dev/null 2>&1 || { echo "flood: sipp is missing (scripts/interop.sh installs it)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sipwire-flood.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "flood: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release -q -p sipwire-std --example answer --example flood
target_dir=${CARGO_TARGET_DIR:-$repo/target}
cp "$target_dir/release/examples/answer" "$work/answer-std"
cp "$target_dir/release/examples/flood" "$work/flood"

# Started directly rather than under `timeout`, so that $! is the answer itself and
# /proc/$apid/status is its memory; a watchdog stands in for the timeout.
port=$((20000 + RANDOM % 30000))
for try in 1 2 3 4 5; do
    "$work/answer-std" --bind "127.0.0.1:$port" >"$work/answer.out" 2>"$work/answer.err" &
    apid=$!
    pids+=("$apid")
    for i in $(seq 100); do
        grep -q '^listening ' "$work/answer.out" && break 2
        kill -0 "$apid" 2>/dev/null || break
        sleep 0.05
    done
    kill -TERM "$apid" 2>/dev/null || true
    wait "$apid" 2>/dev/null || true
    port=$((port + 1))
done
grep -q '^listening ' "$work/answer.out" || { echo "flood: answer did not start" >&2; cat "$work/answer.err" >&2; exit 1; }
(sleep 60; kill -TERM "$apid" 2>/dev/null) &
pids+=("$!")
echo "answer: $(head -1 "$work/answer.out"), VmHWM before $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$apid/status")"

flood() {
    timeout -k 5 30 "$work/flood" --target "127.0.0.1:$port" --mode "$1" --count "$count" --seed "$seed"
}
ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
t0=$(date +%s%N)
flood random >"$work/random.out" 2>&1 &
fr=$!
flood unwanted >"$work/unwanted.out" 2>&1 &
fu=$!
pids+=("$fr" "$fu")

# The call starts while both floods run, and -d 200 keeps it open past the first few
# hundred thousand datagrams. SIPp retransmits what the flood makes the kernel drop, as it
# would over any lossy path; the call itself is not retried.
sleep 0.05
call_start=$(ms)
sipp_rc=0
(cd "$work" && timeout -k 5 30 sipp -sn uac -t u1 -i 127.0.0.1 "127.0.0.1:$port" -m 1 -d 200 \
    -nostdin -timeout 20s -timeout_error -trace_stat -stf stat.csv \
    -trace_screen -screen_file screen.log >sipp.out 2>&1) || sipp_rc=$?
call_end=$(ms)

fail=0
wait "$fr" || { echo "flood random: exit $?" >&2; fail=1; }
wait "$fu" || { echo "flood unwanted: exit $?" >&2; fail=1; }
printf 'flood random:   %s\n' "$(cat "$work/random.out")"
printf 'flood unwanted: %s\n' "$(cat "$work/unwanted.out")"

ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i; next } { v = $c } END { print v + 0 }' "$work/stat.csv" 2>/dev/null || echo 0)
retrans=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "Retransmissions(C)") c = i; next } { v = $c } END { print v + 0 }' "$work/stat.csv" 2>/dev/null || echo 0)
echo "sipp call during the flood: rc=$sipp_rc successful=$ok retransmissions=$retrans, SIPp ran from +${call_start} ms to +${call_end} ms (the floods started at +0)"
[ "$sipp_rc" -eq 0 ] && [ "$ok" -eq 1 ] || { echo "flood: the call did not succeed" >&2; fail=1; }

if kill -0 "$apid" 2>/dev/null; then
    echo "answer: alive, VmHWM $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$apid/status"), VmRSS $(awk '/^VmRSS/ { print $2, $3 }' "/proc/$apid/status")"
    kill -TERM "$apid"
    arc=0
    wait "$apid" || arc=$?
    echo "answer: exit $arc, $(grep '^summary:' "$work/answer.out" || echo 'no summary')"
    [ "$arc" -eq 0 ] || fail=1
    grep -q '^summary: calls=1 answered=1 ' "$work/answer.out" || { echo "flood: the answer did not count one answered call" >&2; fail=1; }
else
    echo "flood: the answer died" >&2
    tail -5 "$work/answer.err" >&2
    fail=1
fi
echo "flood: ${SECONDS}s, $([ "$fail" -eq 0 ] && echo PASS || echo FAIL)"
exit "$fail"

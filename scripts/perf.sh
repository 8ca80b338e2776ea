#!/usr/bin/env bash
# CPU time per call of the `answer` examples under SIPp, against SIPp's own `-sn uas` doing
# the same job, and the highest call rate the std answer takes with no failed call.
#
#   scripts/perf.sh                    both adapters (RATE, CALLS and STEP_S override the load)
#   ADAPTERS=std scripts/perf.sh
#
# Run by hand, not in CI: the numbers depend on the machine and on what else runs on it.
# CPU time is read from /proc/<pid>/task/*/schedstat (first field: ns on CPU), summed over
# the process's threads; without schedstat, utime+stime from /proc/<pid>/stat. SIPp, the
# load generator, runs on the same host and competes for the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

adapters=${ADAPTERS:-std tokio}
rate=${RATE:-500}
calls=${CALLS:-5000}
step_s=${STEP_S:-3}
steps=${STEPS:-500 1000 2000 4000 8000}

command -v sipp >/dev/null 2>&1 || { echo "perf: sipp is missing (apt-get install sip-tester)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sipwire-perf.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

target_dir=${CARGO_TARGET_DIR:-$repo/target}
for a in $adapters std; do
    [ -x "$work/answer-$a" ] && continue
    cargo build --release -q -p "sipwire-$a" --example answer
    cp "$target_dir/release/examples/answer" "$work/answer-$a"
done

clk_tck=$(getconf CLK_TCK)

# cpu_ns PID: nanoseconds on CPU so far, all threads.
cpu_ns() {
    local pid=$1 total=0 f v
    if [ -r "/proc/$pid/schedstat" ]; then
        for f in /proc/"$pid"/task/*/schedstat; do
            read -r v _ <"$f" 2>/dev/null || continue
            total=$((total + v))
        done
        echo "$total"
    else
        # Fields 14 and 15 after the ")" that closes the command name.
        awk -v hz="$clk_tck" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000000000 / hz }' "/proc/$pid/stat"
    fi
}

port=$((20000 + RANDOM % 30000))

# wait_listening FILE PID: waits for answer's "listening" line.
wait_listening() {
    local i
    for i in $(seq 100); do
        grep -q '^listening ' "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    echo "perf: the server did not start" >&2
    cat "$1" "$1.err" >&2 || true
    return 1
}

# load PORT OUT_PREFIX RATE CALLS: the SIPp uac load; prints its command; sets load_rc.
load() {
    local cmd=(sipp -sn uac -t u1 -i 127.0.0.1 "127.0.0.1:$1" -r "$3" -m "$4" -nostdin
        -timeout "$(($4 / $3 + 30))s" -timeout_error -max_recv_loops 10000 -max_sched_loops 10000
        -trace_stat -stf "$2.stat.csv")
    echo "  \$ ${cmd[*]}"
    load_rc=0
    "${cmd[@]}" >"$2.sipp.out" 2>&1 || load_rc=$?
}

# sipp_stat FILE COLUMN: a cumulative counter from the last line of SIPp's -trace_stat file.
sipp_stat() {
    [ -s "$1" ] || { echo 0; return; }
    awk -F';' -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next }
        { v = $c } END { print v + 0 }' "$1"
}

declare -A us_per_call
echo "== CPU per call: sipp -sn uac at $rate calls/s, $calls calls, UDP"
for server in $(printf 'answer-%s ' $adapters) sipp-uas; do
    port=$((port + 2))
    out="$work/run-$server"
    if [ "$server" = sipp-uas ]; then
        cmd=(sipp -sn uas -t u1 -i 127.0.0.1 -p "$port" -nostdin -max_recv_loops 10000 -max_sched_loops 10000)
        echo "  \$ ${cmd[*]} &"
        "${cmd[@]}" >"$out" 2>"$out.err" &
        spid=$!
        pids+=("$spid")
        sleep 1
    else
        cmd=("$work/$server" --bind "127.0.0.1:$port" --quiet)
        echo "  \$ ${cmd[*]} &"
        "${cmd[@]}" >"$out" 2>"$out.err" &
        spid=$!
        pids+=("$spid")
        wait_listening "$out" "$spid"
    fi
    before=$(cpu_ns "$spid")
    load "$port" "$out" "$rate" "$calls"
    after=$(cpu_ns "$spid")
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    ok=$(sipp_stat "$out.stat.csv" 'SuccessfulCall(C)')
    failed=$(sipp_stat "$out.stat.csv" 'FailedCall(C)')
    us=$(awk -v d=$((after - before)) -v n="$ok" 'BEGIN { if (n > 0) printf "%.1f", d / n / 1000; else print "nan" }')
    us_per_call[$server]=$us
    printf '  %-13s %8s us CPU/call  (%s ms CPU, sipp ok=%s failed=%s rc=%s)\n' \
        "$server" "$us" $(((after - before) / 1000000)) "$ok" "$failed" "$load_rc"
    [ "$server" = sipp-uas ] || grep '^summary:' "$out" | sed 's/^/                /' || true
done
for a in $adapters; do
    awk -v a="${us_per_call[answer-$a]}" -v b="${us_per_call[sipp-uas]}" -v n="answer-$a" \
        'BEGIN { if (b > 0) printf "  %s / sipp-uas = %.2f\n", n, a / b }'
done

echo
echo "== Highest rate with no failed call: answer-std, UDP, ${step_s}s per step"
port=$((port + 2))
out="$work/max"
"$work/answer-std" --bind "127.0.0.1:$port" --quiet >"$out" 2>"$out.err" &
spid=$!
pids+=("$spid")
echo "  \$ $work/answer-std --bind 127.0.0.1:$port --quiet &"
wait_listening "$out" "$spid"
best=0
for r in $steps; do
    before=$(cpu_ns "$spid")
    t0=$(date +%s%N)
    load "$port" "$out.$r" "$r" $((r * step_s))
    busy=$(awk -v c=$(($(cpu_ns "$spid") - before)) -v t=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.0f", 100 * c / t }')
    ok=$(sipp_stat "$out.$r.stat.csv" 'SuccessfulCall(C)')
    failed=$(sipp_stat "$out.$r.stat.csv" 'FailedCall(C)')
    achieved=$(sipp_stat "$out.$r.stat.csv" 'CallRate(C)')
    printf '  %5s calls/s: ok=%s failed=%s rc=%s, SIPp achieved %s calls/s, answer CPU %s%%\n' \
        "$r" "$ok" "$failed" "$load_rc" "$achieved" "$busy"
    if [ "$failed" -ne 0 ] || [ "$load_rc" -ne 0 ]; then
        # Which of SIPp's failure counters moved says whether SIPp or the answer gave out.
        awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
            { for (i in h) v[i] = $i }
            END { for (i in h) if (h[i] ~ /^Failed.*\(C\)$/ && h[i] != "FailedCall(C)" && v[i] + 0 > 0) printf "          %s=%s\n", h[i], v[i] }' \
            "$out.$r.stat.csv"
        break
    fi
    best=$r
done
kill -TERM "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
grep '^summary:' "$out" | sed 's/^/  /' || true
echo "  highest rate with 0 failed calls: $best calls/s (of: $steps)"
echo "perf: ${SECONDS}s"

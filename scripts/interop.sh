#!/usr/bin/env bash
# SIPp against the `answer` examples of sipwire-std and sipwire-tokio, over UDP and TCP on
# 127.0.0.1: plain calls, plain calls with 10 % loss (UDP), CANCEL, 100rel and 486.
#
#   scripts/interop.sh                 both adapters
#   ADAPTERS=std scripts/interop.sh    one of them
#   KEEP=1 scripts/interop.sh          keep the work directory (SIPp logs, answer output)
#
# One line per run, a table at the end; exits non-zero if any run failed. Every SIPp run
# has a global -timeout and every answer a `timeout` around it, so nothing can hang.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

adapters=${ADAPTERS:-std tokio}

if ! command -v sipp >/dev/null 2>&1; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "interop: sipp is missing and neither root nor sudo is available" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y sip-tester \
        || { "${sudo[@]}" apt-get update && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y sip-tester; }
fi
sipp -v 2>&1 | grep -m1 SIPp || true

work=$(mktemp -d "${TMPDIR:-/tmp}/sipwire-interop.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    if [ -n "${KEEP:-}" ]; then echo "interop: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both examples build to target/release/examples/answer: build one, copy it, build the next.
target_dir=${CARGO_TARGET_DIR:-$repo/target}
for a in $adapters; do
    cargo build --release -q -p "sipwire-$a" --example answer
    cp "$target_dir/release/examples/answer" "$work/answer-$a"
done

# A fresh port per run from a random base, so parallel jobs on one host rarely meet; a
# port that turns out to be taken is skipped (see start_answer).
next_port=$((20000 + RANDOM % 30000))

# start_answer ADAPTER TRANSPORT LIMIT_S OUT ARGS... : starts answer in the background,
# waits for its "listening" line; sets apid and port.
start_answer() {
    local adapter=$1 transport=$2 limit=$3 out=$4 try i
    shift 4
    for try in 1 2 3 4 5; do
        port=$next_port
        next_port=$((next_port + 1))
        timeout -k 5 "$limit" "$work/answer-$adapter" --bind "127.0.0.1:$port" \
            --transport "$transport" "$@" >"$out" 2>"$out.err" &
        apid=$!
        pids+=("$apid")
        for i in $(seq 100); do
            grep -q '^listening ' "$out" && return 0
            kill -0 "$apid" 2>/dev/null || break
            sleep 0.05
        done
        kill -TERM "$apid" 2>/dev/null || true
        wait "$apid" 2>/dev/null || true
    done
    echo "interop: answer-$adapter did not start listening on a $transport port" >&2
    cat "$out.err" >&2
    return 1
}

# sipp_stat FILE COLUMN: a cumulative counter from the last line of SIPp's -trace_stat file.
sipp_stat() {
    [ -s "$1" ] || { echo 0; return; }
    awk -F';' -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next }
        { v = $c } END { print v + 0 }' "$1"
}

# summary_field FILE KEY: KEY=N from answer's summary line, or "?" if there is none.
summary_field() {
    local v
    v=$(grep '^summary:' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p")
    echo "${v:-?}"
}

# completed_vs_answered DIR: sets completed (calls SIPp got a 200 for its BYE), abandoned
# (the rest) and missing (completed calls the answer did not report answered).
completed_vs_answered() {
    awk -F'\t' '$4 == "R" && $6 ~ /BYE/ && $7 ~ /^SIP\/2\.0 200/ { print $5 }' "$1/short.csv" 2>/dev/null \
        | sort -u >"$1/completed.txt"
    awk '$1 == "call" && $3 == "answered" { print $2 }' "$1/answer.out" | sort -u >"$1/answered.txt"
    completed=$(wc -l <"$1/completed.txt")
    missing=$(comm -23 "$1/completed.txt" "$1/answered.txt" | wc -l)
    abandoned=$(($(sipp_stat "$1/stat.csv" 'OutgoingCall(C)') - completed))
}

results=()
failures=0

# run ADAPTER TRANSPORT CASE SIPP_TIMEOUT_S CHECKS -- ANSWER_ARGS... -- SIPP_ARGS...
# CHECKS is a space-separated list of KEY=N the answer's summary must show, besides two
# special ones: "retrans486=0" reads SIPp's final screen (the 486 line's Retrans column);
# "completed=answered" says every call SIPp saw a 200 for its BYE was reported answered,
# from SIPp's -trace_shortmsg file and the answer's per-call lines.
run() {
    local adapter=$1 transport=$2 case=$3 sipp_timeout=$4 checks=$5
    shift 5
    [ "$1" = -- ] && shift
    local answer_args=()
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do answer_args+=("$1"); shift; done
    shift
    local sipp_args=("$@")

    local dir="$work/$adapter-$transport-$case"
    mkdir -p "$dir"
    local t0=$SECONDS
    start_answer "$adapter" "$transport" $((sipp_timeout + 60)) "$dir/answer.out" \
        "${answer_args[@]}"

    local sipp_transport=u1
    [ "$transport" = tcp ] && sipp_transport=t1
    local rc=0
    (cd "$dir" && timeout -k 5 $((sipp_timeout + 15)) sipp "${sipp_args[@]}" -t "$sipp_transport" \
        -i 127.0.0.1 "127.0.0.1:$port" -nostdin \
        -timeout "${sipp_timeout}s" -timeout_error \
        -trace_stat -stf stat.csv -trace_screen -screen_file screen.log \
        -trace_err -error_file errors.log >sipp.out 2>&1) || rc=$?

    # The answer exits by itself after --max-calls (plus its 4 s UDP linger); if calls went
    # missing it never would, so after a grace period SIGTERM asks it for its summary. With
    # loss that is expected (see the uac-lost run below), and the grace is shorter.
    local grace=20 stopped=""
    case " $checks " in *" completed=answered "*) grace=12 ;; esac
    grace=$((SECONDS + grace))
    while kill -0 "$apid" 2>/dev/null && [ "$SECONDS" -lt "$grace" ]; do sleep 0.1; done
    if kill -0 "$apid" 2>/dev/null; then
        stopped=" (stopped by SIGTERM)"
        kill -TERM "$apid" 2>/dev/null || true
    fi
    local arc=0
    wait "$apid" || arc=$?

    local ok failed retrans
    ok=$(sipp_stat "$dir/stat.csv" 'SuccessfulCall(C)')
    failed=$(sipp_stat "$dir/stat.csv" 'FailedCall(C)')
    retrans=$(sipp_stat "$dir/stat.csv" 'Retransmissions(C)')
    local summary
    summary=$(grep '^summary:' "$dir/answer.out" | tail -1 || true)

    local verdict=PASS why=()
    [ "$rc" -eq 0 ] || why+=("sipp exit $rc")
    [ "$failed" -eq 0 ] || why+=("sipp failed=$failed")
    [ "$arc" -eq 0 ] || why+=("answer exit $arc")
    [ -n "$summary" ] || why+=("no summary")
    local check key want got
    for check in $checks; do
        key=${check%%=*}
        want=${check#*=}
        if [ "$key" = retrans486 ]; then
            got=$(awk '$1 == "486" && $2 ~ /^<-/ { n = ($3 ~ /^[0-9]+$/) ? $4 : $5 } END { print n + 0 }' "$dir/screen.log" 2>/dev/null || echo '?')
        elif [ "$key" = completed ]; then
            completed_vs_answered "$dir"
            [ "$missing" -eq 0 ] && got=answered || got="$missing not answered"
        else
            got=$(summary_field "$dir/answer.out" "$key")
        fi
        [ "$got" = "$want" ] || why+=("$key=$got, want $want")
    done
    [ "${#why[@]}" -eq 0 ] || verdict=FAIL

    local extra=""
    case " $checks " in
        *" completed=answered "*) extra=" | sipp completed=$completed abandoned=$abandoned" ;;
    esac
    printf '%-5s %-3s %-8s sipp ok=%s failed=%s retrans=%s rc=%s | %s%s%s | %ss %s\n' \
        "$adapter" "$transport" "$case" "$ok" "$failed" "$retrans" "$rc" \
        "${summary:-no summary}" "$stopped" "$extra" $((SECONDS - t0)) "$verdict"
    if [ "$verdict" = FAIL ]; then
        failures=$((failures + 1))
        printf '      why: %s\n' "$(IFS=';'; echo "${why[*]}")"
        printf '      sipp: %s\n' "sipp ${sipp_args[*]} -t $sipp_transport -i 127.0.0.1 127.0.0.1:$port"
        [ -s "$dir/errors.log" ] && grep -v '^$' "$dir/errors.log" | tail -5 | sed 's/^/      sipp error: /'
        [ -s "$dir/answer.out.err" ] && tail -5 "$dir/answer.out.err" | sed 's/^/      answer stderr: /'
    fi
    results+=("$(printf '%-5s %-3s %-8s %-42s %s' "$adapter" "$transport" "$case" "$checks" "$verdict")")
}

sc=scripts/sipp
for adapter in $adapters; do
    for transport in udp tcp; do
        # Built-in uac: INVITE, 100, 180, 200, ACK, BYE, 200.
        run "$adapter" "$transport" uac 60 "answered=1000 failed=0" \
            -- --max-calls 1000 --quiet \
            -- -sn uac -m 1000 -r 200
        # -lost is UDP only: inside a TCP stream nothing can be lost, and over a reliable
        # transport neither side retransmits (RFC 3261 §17), so there is nothing to test.
        #
        # SIPp drops 10 % of what it sends and receives, and both sides' retransmissions
        # recover the calls, but not all of them: SIPp 3.6.1 abandons some 0.5-1 % of the
        # calls after a lost ACK or 200 (it never sends the ACK or the BYE, yet counts the
        # call successful), and so does it against its own `-sn uas`. The answer then
        # retransmits its 200 for 64*T1, gives up and sends a BYE nobody answers, which
        # takes ~64 s. So this run does not wait for --max-calls: it checks that every call
        # SIPp completed (a 200 for its BYE) is one the answer reported answered, and then
        # stops the answer with SIGTERM. The per-call lines are needed, hence no --quiet.
        if [ "$transport" = udp ]; then
            run "$adapter" "$transport" uac-lost 90 "completed=answered" \
                -- --max-calls 1000 \
                -- -sn uac -m 1000 -r 200 -lost 10 -trace_shortmsg -shortmessage_file short.csv
        fi
        run "$adapter" "$transport" cancel 30 "cancelled=20" \
            -- --ring-ms 2000 --max-calls 20 --quiet \
            -- -sf "$repo/$sc/cancel.xml" -m 20 -r 20
        run "$adapter" "$transport" rel100 30 "answered=50" \
            -- --max-calls 50 --quiet \
            -- -sf "$repo/$sc/rel100.xml" -m 50 -r 50
        # A session: re-INVITE, UPDATE and INFO inside each call, all answered.
        run "$adapter" "$transport" session 30 "answered=50 requests=150 failed=0" \
            -- --max-calls 50 --quiet \
            -- -sf "$repo/$sc/session.xml" -m 50 -r 50
        run "$adapter" "$transport" reject 30 "rejected=50 retransmissions=0 retrans486=0" \
            -- --reject 486 --max-calls 50 --quiet \
            -- -sf "$repo/$sc/reject.xml" -m 50 -r 50
    done
done

echo
echo "adapter/transport/case  checks (besides sipp exit 0, sipp failed=0, answer exit 0)"
printf '%s\n' "${results[@]}"
echo "interop: ${#results[@]} runs, $failures failed, ${SECONDS}s"
[ "$failures" -eq 0 ]

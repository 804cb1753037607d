#!/usr/bin/env bash
# Connect-time replay (dump_established_flows, dump_unknown_flows).
#
# flowsensed replays a capture from a FIFO that the test feeds in two
# parts (tests/lib/gen_held_flows_pcap.py: tests/pcap/mixed.pcap plus 600
# DNS and 12 Unknown UDP flows, all still open after part one).  After
# part one the replay stands still: a client connected from the start
# has the truth (flows with a `flow` record and no `flow_purge`).  Late
# clients connect then, and tests/lib/check_established.py checks that
# each gets exactly one "established": true record per active flow, equal
# to the early client's record with the latest flow_status counters,
# before any live record, filtered by its subscription and by
# dump_unknown_flows; then part two runs (new flows, expiries) and every
# live flow record must say "established": false.  A worker killed during
# the pause takes its flows out of the store.  A slow late client whose
# replay overlaps the purges gets, per flow, its replayed record then its
# purge, or nothing.  Client queues are
# 256 KiB, far less than the ~600 replayed records (~500 KB): the replay must wait
# for the queue to drain rather than overflow it (no client is dropped).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq mkfifo
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup
WORKERS=2
MAX_FLOWS=5000
python3 "$ROOT/tests/lib/gen_held_flows_pcap.py" "$PCAP" "$TMP/part1" "$TMP/part2" 600 12 \
    || fail "cannot generate the capture"

# wait_stable FILE: until FILE has lines and has not grown for 1.5 s (60 s at most).
wait_stable() {
    local prev=-1 same=0 n i
    for ((i = 0; i < 600; i++)); do
        n=$( { wc -l <"$1"; } 2>/dev/null || echo 0)
        if ((n > 0 && n == prev)); then
            ((++same >= 15)) && return 0
        else
            same=0
            prev=$n
        fi
        sleep 0.1
    done
    return 1
}

# run_case NAME "LATE_SUBSCRIPTION..." FLOWSENSED_ARGS...: one paused
# replay; late client k sends subscription k ("-" for none); streams in
# $TMP/NAME/{early,late-K}.ndjson, the early one cut at the pause in
# early.cut.
run_case() {
    local name=$1 subs=$2 dir=$TMP/$1 ep sub k=0 pids=()
    shift 2
    mkdir "$dir" && mkfifo "$dir/fifo" || fail "$name: cannot make $dir/fifo"
    ep="unix:$dir/s.sock"
    { cat "$TMP/part1"; wait_until 120 test -e "$dir/go"; cat "$TMP/part2"; } >"$dir/fifo" &
    track_pid $!
    FS_ERR=$dir/err FS_OUT=$dir/out fs_start -r "$dir/fifo" -w "$WORKERS" --max-flows "$MAX_FLOWS" \
        --max-detection-pkts 4 --client-queue 262144 --listen "$ep" --wait-for-client "$@"
    start_reader "$dir/early.ndjson" "$ep" --timeout 180
    pids+=("$READER_PID")
    wait_stable "$dir/early.ndjson" || fail "$name: the early client's stream never settled"
    cp "$dir/early.ndjson" "$dir/early.cut"
    [[ -z ${BEFORE_LATE:-} ]] || "$BEFORE_LATE"
    for sub in $subs; do
        k=$((k + 1))
        if [[ $sub == - ]]; then
            start_reader "$dir/late-$k.ndjson" "$ep" --timeout 180 ${LATE_ARGS:-}
        else
            start_reader "$dir/late-$k.ndjson" "$ep" --timeout 180 --send "$sub"
        fi
        pids+=("$READER_PID")
    done
    if [[ -n ${GO_AT_CONNECT:-} ]]; then
        # the capture resumes while the late client is replayed to
        wait_until 30 has_lines "$dir/late-1.ndjson" 3 || fail "$name: the late client got nothing"
    else
        for ((k = 1; k <= $(wc -w <<<"$subs"); k++)); do
            wait_stable "$dir/late-$k.ndjson" || fail "$name: late client $k's stream never settled"
        done
        # (agent_status comes every update_interval of wall time)
        cmp -s <(grep -v '"type":"agent_status"' "$dir/early.ndjson") \
            <(grep -v '"type":"agent_status"' "$dir/early.cut") \
            || fail "$name: the early stream grew while the replay was paused"
    fi
    touch "$dir/go"
    fs_wait 120 || fail "$name: flowsensed did not exit"
    [[ $FS_RC == 0 ]] || fail "$name: flowsensed exited $FS_RC"
    assert_no_leftovers
    for k in "${pids[@]}"; do
        wait "$k" || fail "$name: a client's stream did not end cleanly (stream_reader exit $?)"
    done
    jq -e -s '[.[] | select(.type == "agent_status")] | last
              | .clients.dropped_slow == 0 and .established_flows.stored == 0' \
        "$dir/early.ndjson" >/dev/null \
        || fail "$name: a client was dropped, or flows stayed stored after the end"
}

has_lines() { (($( { wc -l <"$1"; } 2>/dev/null || echo 0) >= $2)); }

check() {
    local out
    out=$(python3 "$ROOT/tests/lib/check_established.py" "$@") || { echo "$out"; fail "${*: -1}"; }
    say "$out"
}

LIMIT=$((MAX_FLOWS * WORKERS))
TLS='{"subscribe":{"types":["flow","flow_purge"],"protocols":["TLS"]}}'
NOFLOW='{"subscribe":{"types":["flow_purge","agent_status"]}}'

# 1. From the configuration file; Unknown flows left out (the default).
printf '[socket]\ndump_established_flows = yes\n' >"$TMP/replay.conf"
run_case config "- $TLS $NOFLOW" -c "$TMP/replay.conf"
D=$TMP/config
check "$D/early.cut" "$D/late-1.ndjson" --limit "$LIMIT"
check "$D/early.cut" "$D/late-2.ndjson" --limit "$LIMIT" --protocol TLS
check "$D/early.cut" "$D/late-3.ndjson" --limit "$LIMIT" --no-flows
jq -e -s 'any(.[]; .type == "flow" and .established)' "$D/late-2.ndjson" >/dev/null || fail "no TLS flow was active at the pause: the TLS case tests nothing"
jq -e -s '[.[] | select(.type == "flow" and .established == false)] | length > 0' \
    "$D/late-1.ndjson" >/dev/null || fail "the late client got no live flow record after the pause"
# The replay is bigger than the whole queue bound: it was paced by the client.
bytes=$(jq -c 'select(.type == "flow" and .established)' "$D/late-1.ndjson" | wc -c)
((bytes > 262144)) || fail "the replay was only $bytes bytes: it never had to wait for the queue"
jq -e -s '[.[] | select(.type == "agent_status")] | last
          | .established_flows.replayed > 600 and .clients.dropped_slow == 0' \
    "$D/late-1.ndjson" >/dev/null || fail "agent_status does not count the replayed records"

# 2. From the command line, Unknown flows included.
run_case cli "-" --dump-established-flows --dump-unknown-flows=yes
D=$TMP/cli
check "$D/early.cut" "$D/late-1.ndjson" --limit "$LIMIT" --unknown
jq -e -s 'any(.[]; .type == "flow" and .established and .flow.detected_protocol == 0)' \
    "$D/late-1.ndjson" >/dev/null || fail "no Unknown flow was replayed: dump_unknown_flows tests nothing"

# 3. A worker dies during the pause: its flows leave the store (it sends
#    no purge for them), the late client gets the other worker's.
kill_a_worker() {
    local victim
    victim=$(children_named "$FS_PID" flowsense-worker | head -n 1)
    [[ -n $victim ]] || fail "no flowsense-worker to kill"
    kill_and_time_restart KILL "$victim" flowsense-worker 20 || fail "the killed worker was not restarted"
    sleep 1 # flowsensed tells the broker on its control channel
}
BEFORE_LATE=kill_a_worker run_case death "-" --dump-established-flows --dump-unknown-flows
check "$TMP/death/early.cut" "$TMP/death/late-1.ndjson" --unknown --lost

# 4. The capture resumes as the late client connects, and it reads slowly:
#    flows are purged while it is replayed to.  A flow replayed before its
#    purge gets both records in order; one purged first gets neither.
GO_AT_CONNECT=1 LATE_ARGS="--rate 250" run_case paced "-" --dump-established-flows --dump-unknown-flows
check "$TMP/paced/early.cut" "$TMP/paced/late-1.ndjson" --unknown --paced "$TMP/paced/early.ndjson"

# 5. Off (the default): no replay, an empty store.
run_case off "-"
check "$TMP/off/early.cut" "$TMP/off/late-1.ndjson" --off
say "ok"

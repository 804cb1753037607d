#!/usr/bin/env bash
# Live on lo (of a network namespace of its own), two workers holding open HTTP connections between them: kill
# -9 one worker, then kill -SYS the other (any signal, as a seccomp
# violation would kill it).  Each must be replaced within 1 s (measured
# from the kill until the new process runs flowsense-worker), the connected
# client keeps its connection and goes on receiving records, and
# agent_status counts each death: capture.worker_restarts,
# capture.worker_deaths by signal, and capture.flows_lost grows by exactly
# the flows the dead worker last reported.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq curl
fs_setup
netns_setup

HELD=8
start_http_server
HOLD_PORT=$(free_tcp_port)
# Only this test's traffic: other programs may use lo meanwhile.
live_start 2 --update-interval 1 -f "tcp port $HOLD_PORT or tcp port $HTTP_PORT"
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status \
    || fail "no agent_status within 10 s of connecting: $(cat "$TMP/records.ndjson.err")"

"${NS_EXEC[@]}" python3 "$ROOT/tests/lib/hold_http.py" --port "$HOLD_PORT" --connections "$HELD" \
    >"$TMP/hold.port" 2>"$TMP/hold.err" &
track_pid $!
wait_until 10 [ -s "$TMP/hold.port" ] || fail "hold_http.py did not start: $(cat "$TMP/hold.err")"

last_status() { jq -c 'select(.type == "agent_status")' "$TMP/records.ndjson" 2>/dev/null | tail -n 1; }
worker_flows() { last_status | jq -c '{flows, workers: [.workers[] | {worker, pid, flows}]}'; }
# Both workers report every second: together they hold every connection.
held_reported() { [[ $(last_status | jq '[.workers[].flows] | add') == "$HELD" ]]; }
wait_until 10 held_reported || fail "the workers do not report $HELD held flows: $(worker_flows)"
say "held connections reported: $(worker_flows)"
status=$(last_status)
read -r victim victim_flows < <(jq -r '.workers | sort_by(.flows) | .[1] | "\(.pid) \(.flows)"' <<<"$status")
read -r other other_flows < <(jq -r '.workers | sort_by(.flows) | .[0] | "\(.pid) \(.flows)"' <<<"$status")
for pid in "$victim" "$other"; do
    children_named "$FS_PID" flowsense-worker | grep -qx "$pid" \
        || fail "agent_status names pid $pid, which is not a worker of flowsensed $FS_PID"
done

# counted LOST RESTARTS SIGNAL N: the last agent_status counts LOST flows
# lost, RESTARTS worker restarts and N deaths by SIGNAL.
counted() {
    local s
    s=$(last_status)
    [[ $(jq .capture.flows_lost <<<"$s") == "$1" && $(jq .capture.worker_restarts <<<"$s") == "$2" &&
       $(jq ".capture.worker_deaths.$3" <<<"$s") == "$4" ]]
}
# gone PID FLOWS: PID's statistics left agent_status, whose total is FLOWS.
gone() {
    local s
    s=$(last_status)
    [[ $(jq .flows <<<"$s") == "$2" ]] &&
        jq -e --argjson p "$1" '[.workers[].pid] | index($p) == null' <<<"$s" >/dev/null
}

# 1. SIGKILL of the worker holding more of the connections.
kill_and_time_restart KILL "$victim" flowsense-worker 5 || {
    ps -o pid,ppid,stat,args --ppid "$FS_PID"
    fail "no new worker within 5 s of killing $victim (children above)"
}
say "worker $victim (holding $victim_flows flows) killed; $RESTART_PID runs in its place after $RESTART_MS ms"
((RESTART_MS < 1000)) || fail "the new worker took $RESTART_MS ms to start, more than 1 s"
wait_until 5 counted "$victim_flows" 1 SIGKILL 1 \
    || fail "agent_status does not count $victim_flows flows lost and 1 SIGKILL: $(last_status | jq -c .capture)"
wait_until 5 gone "$victim" $((HELD - victim_flows)) \
    || fail "the dead worker's statistics are still in agent_status: $(worker_flows)"
fs_exited && fail "flowsensed exited after a worker died"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended when a worker died: $(cat "$TMP/records.ndjson.err")"
wait_until 10 is_sandboxed "$RESTART_PID" || { show_privileges "$RESTART_PID"; fail "the new worker $RESTART_PID holds privileges"; }

# 2. SIGSYS, as a seccomp violation sends it, of the other original worker.
kill_and_time_restart SYS "$other" flowsense-worker 5 || fail "no new worker within 5 s of SIGSYS to $other"
say "worker $other (holding $other_flows flows) killed by SIGSYS; $RESTART_PID runs in its place after $RESTART_MS ms"
((RESTART_MS < 1000)) || fail "the new worker took $RESTART_MS ms to start, more than 1 s"
wait_until 5 counted $((victim_flows + other_flows)) 2 SIGSYS 1 \
    || fail "agent_status does not count $((victim_flows + other_flows)) flows lost, 2 restarts and 1 SIGSYS: $(last_status | jq -c .capture)"
counted $((victim_flows + other_flows)) 2 SIGKILL 1 || fail "the SIGKILL count changed: $(last_status | jq -c .capture)"
wait_until 5 gone "$other" 0 || fail "the second dead worker's statistics are still in agent_status: $(worker_flows)"
say "counted: $(last_status | jq -c '.capture | {worker_restarts, flows_lost, worker_deaths}')"

# 3. The stream goes on through the new workers.
lines=$(wc -l <"$TMP/records.ndjson")
statuses=$(count_type "$TMP/records.ndjson" agent_status)
flows_before=$(flows_on_port "$TMP/records.ndjson" "$HTTP_PORT" | wc -l)
more_flows() { (($(flows_on_port "$TMP/records.ndjson" "$HTTP_PORT" | wc -l) > flows_before)); }
# Several connections (all on one worker: flows are steered by address).
http_get 6
wait_until 25 more_flows || fail "no flow record for new traffic within 25 s after the restarts (records before: $lines, now: $(wc -l <"$TMP/records.ndjson"))"
wait_until 5 has_type "$TMP/records.ndjson" agent_status $((statuses + 2)) \
    || fail "no periodic agent_status (every 1 s) within 5 s after the restarts"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended: $(cat "$TMP/records.ndjson.err")"
say "after the restarts the client received $(($(wc -l <"$TMP/records.ndjson") - lines)) more records"

fs_finish 10 TERM
# Flows of the killed workers are never purged: that is expected.
python3 "$ROOT/tests/lib/check_records.py" --hello --allow-unpurged --min-flows 1 \
    --interface lo "$TMP/records.ndjson" || fail "the stream breaks the contract"
say "ok: workers $victim and $other replaced within 1 s each, $((victim_flows + other_flows)) flows counted lost, client kept its stream"

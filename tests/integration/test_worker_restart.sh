#!/usr/bin/env bash
# Live on lo: kill -9 one worker.  flowsensed must start a new one within
# 3 s, and a connected client keeps its connection and goes on receiving
# records (the broker and the other worker are untouched).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq curl
fs_setup

start_http_server
live_start 2 --update-interval 1
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status \
    || fail "no agent_status within 10 s of connecting: $(cat "$TMP/records.ndjson.err")"

before=$(children_named "$FS_PID" flowsense-worker | sort)
victim=$(head -n 1 <<<"$before")
say "workers: $(echo $before); killing $victim with SIGKILL"
kill -KILL "$victim" || fail "cannot kill worker $victim"

replaced() {
    local now
    now=$(children_named "$FS_PID" flowsense-worker | sort)
    [[ $(wc -l <<<"$now") == 2 ]] && ! grep -qx "$victim" <<<"$now"
}
wait_until 3 replaced || {
    ps -o pid,ppid,stat,args --ppid "$FS_PID"
    fail "no new worker within 3 s of killing $victim (children above)"
}
after=$(children_named "$FS_PID" flowsense-worker | sort)
newpid=$(comm -13 <(echo "$before") <(echo "$after"))
say "workers now: $(echo $after) (new: $newpid)"
fs_exited && fail "flowsensed exited after a worker died"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended when a worker died: $(cat "$TMP/records.ndjson.err")"
wait_until 10 is_sandboxed "$newpid" || { show_privileges "$newpid"; fail "the new worker $newpid holds privileges"; }

lines=$(wc -l <"$TMP/records.ndjson")
statuses=$(count_type "$TMP/records.ndjson" agent_status)
flows_before=$(flows_on_port "$TMP/records.ndjson" "$HTTP_PORT" | wc -l)
more_flows() { (($(flows_on_port "$TMP/records.ndjson" "$HTTP_PORT" | wc -l) > flows_before)); }
# Several connections, so both workers (by the steering hash) get some.
http_get 6
wait_until 25 more_flows || fail "no flow record for new traffic within 25 s after the restart (records before: $lines, now: $(wc -l <"$TMP/records.ndjson"))"
wait_until 5 has_type "$TMP/records.ndjson" agent_status $((statuses + 2)) \
    || fail "no periodic agent_status (every 1 s) within 5 s after the restart"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended: $(cat "$TMP/records.ndjson.err")"
say "after the restart the client received $(($(wc -l <"$TMP/records.ndjson") - lines)) more records"
jq -c 'select(.type == "agent_status") | {flows, capture, workers: (.workers | length)}' \
    "$TMP/records.ndjson" 2>/dev/null | tail -n 1 | sed "s/^/$TEST_NAME: last agent_status: /"
restarts=$(jq -r 'select(.type == "agent_status") | .capture.worker_restarts // empty' \
    "$TMP/records.ndjson" 2>/dev/null | tail -n 1)
[[ -n $restarts ]] || fail "agent_status carries no capture.worker_restarts counter"
((restarts >= 1)) || fail "agent_status reports capture.worker_restarts $restarts after a restart"

fs_finish 10 TERM
# Flows of the killed worker are never purged: that is expected.
python3 "$ROOT/tests/lib/check_records.py" --hello --allow-unpurged --min-flows 1 \
    --interface lo "$TMP/records.ndjson" || fail "the stream breaks the contract"
say "ok: worker $victim replaced by $newpid, client kept its stream"

#!/usr/bin/env bash
# Live on lo (of a network namespace of its own): kill -9 the broker.  flowsensed must start a new one within
# 1 s on the same listening socket, the workers must stay up, and a client
# that reconnects gets agent_hello, agent_status and records for new traffic.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq curl
fs_setup
netns_setup

start_http_server
live_start 1 --update-interval 1
start_reader "$TMP/first.ndjson" "unix:$LIVE_SOCK" --timeout 60
wait_until 10 has_type "$TMP/first.ndjson" agent_status \
    || fail "no agent_status within 10 s of connecting: $(cat "$TMP/first.ndjson.err")"

workers_before=$(children_named "$FS_PID" flowsense-worker | sort)
victim=$(children_named "$FS_PID" flowsense-broker)
[[ -n $victim ]] || fail "no broker process under flowsensed $FS_PID"
say "broker $victim, workers $(echo $workers_before); killing the broker with SIGKILL"
kill_and_time_restart KILL "$victim" flowsense-broker 5 || fail "no new broker within 5 s of killing $victim"
newpid=$RESTART_PID
say "new broker $newpid after $RESTART_MS ms"
((RESTART_MS < 1000)) || fail "the new broker took $RESTART_MS ms to start, more than 1 s"
fs_exited && fail "flowsensed exited after the broker died"
[[ $(children_named "$FS_PID" flowsense-worker | sort) == "$workers_before" ]] \
    || fail "the workers changed when the broker died"
wait_until 10 is_sandboxed "$newpid" || { show_privileges "$newpid"; fail "the new broker $newpid holds privileges"; }
# The first client's connection belonged to the dead broker: it ends.
wait_until 10 fs_reader_done || fail "the old client's connection outlived its broker"

start_reader "$TMP/second.ndjson" "unix:$LIVE_SOCK" --timeout 60
wait_until 10 has_type "$TMP/second.ndjson" agent_status \
    || fail "the restarted broker sent no agent_hello/agent_status on the same socket: $(cat "$TMP/second.ndjson.err")"
[[ $(head -n 1 "$TMP/second.ndjson" | jq -r .type) == agent_hello ]] \
    || fail "the first record from the restarted broker is not agent_hello"
http_get 3
wait_until 20 has_flow_on_port "$TMP/second.ndjson" "$HTTP_PORT" \
    || fail "no flow record for new traffic through the restarted broker within 20 s"
# flowsensed reports its counters every second; statuses come every second.
restart_reported() {
    local n
    n=$(jq -r 'select(.type == "agent_status") | .capture.broker_restarts // 0' \
        "$TMP/second.ndjson" | tail -n 1)
    ((${n:-0} >= 1))
}
wait_until 5 restart_reported \
    || fail "no agent_status reports the broker restart (capture.broker_restarts) within 5 s"

fs_finish 10 TERM
say "ok: broker $victim replaced by $newpid on the same socket, workers untouched"

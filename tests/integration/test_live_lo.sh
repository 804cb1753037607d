#!/usr/bin/env bash
# Live capture on lo (of a network namespace of its own) with two workers: the process picture, the privileges
# each child holds (none), a flow record for real loopback HTTP traffic, and
# an orderly SIGTERM shutdown that purges open flows as "terminated".
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq curl
fs_setup
netns_setup

start_http_server
live_start 2

workers=$(children_named "$FS_PID" flowsense-worker)
broker=$(children_named "$FS_PID" flowsense-broker)
capture=$(children_named "$FS_PID" flowsensed)
[[ $(wc -w <<<"$capture") == 1 ]] || fail "flowsensed $FS_PID has $(wc -w <<<"$capture") capture processes (want 1)"
say "flowsensed $FS_PID, capture $capture, workers $(echo $workers), broker $broker"
# Every process that touches packets or clients: no capability in any set,
# no_new_privs, not root, and a seccomp filter (Seccomp: 2 = filter mode).
for pid in $capture $workers $broker; do
    # Children drop privileges right after exec; allow them that moment.
    if ! wait_until 10 is_sandboxed "$pid"; then
        show_privileges "$pid"
        fail "$(proc_name "$pid") (pid $pid) still holds privileges: want CapEff/CapPrm/CapBnd/CapAmb 0, NoNewPrivs 1, no uid 0"
    fi
    wait_until 10 [ "$(status_field "$pid" Seccomp)" = 2 ] \
        || fail "$(proc_name "$pid") (pid $pid) has no seccomp filter: $(show_privileges "$pid")"
    say "$(proc_name "$pid"): $(show_privileges "$pid")"
done
# The supervisor: started as root, it holds nothing now (it could keep at
# most CAP_NET_RAW), no_new_privs, and no filter (policy/README.md says why).
eff=$(( 16#$(status_field "$FS_PID" CapEff) )) prm=$(( 16#$(status_field "$FS_PID" CapPrm) ))
net_raw=$(( 1 << 13 ))
(( (eff | prm) & ~net_raw )) && fail "flowsensed holds capabilities beyond CAP_NET_RAW: $(show_privileges "$FS_PID")"
[[ $(status_field "$FS_PID" NoNewPrivs) == 1 ]] || fail "flowsensed runs without no_new_privs: $(show_privileges "$FS_PID")"
say "flowsensed itself: $(show_privileges "$FS_PID")"

start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status \
    || fail "no agent_hello + agent_status within 10 s of connecting: $(cat "$TMP/records.ndjson.err")"

http_get 3
"${NS_EXEC[@]}" python3 "$ROOT/tests/lib/hold_http.py" flowsense-held.test >"$TMP/hold.port" 2>"$TMP/hold.err" &
track_pid $!
wait_until 10 [ -s "$TMP/hold.port" ] || fail "hold_http.py did not start: $(cat "$TMP/hold.err")"
HOLD_PORT=$(cat "$TMP/hold.port")

wait_until 20 has_flow_on_port "$TMP/records.ndjson" "$HTTP_PORT" \
    || fail "no flow record for the curl traffic to 127.0.0.1:$HTTP_PORT within 20 s"
http_flow=$(flows_on_port "$TMP/records.ndjson" "$HTTP_PORT" | head -n 1)
say "curl flow: $(jq -c '.flow | {detected_protocol_name, detected_application_name, host_server_name, http}' <<<"$http_flow")"
[[ $(jq -r .flow.detected_protocol_name <<<"$http_flow") == HTTP ]] \
    || fail "the curl flow is not detected as HTTP: $http_flow"
# Let the worker see the held connection before stopping.
sleep 1

fs_finish 10 TERM

held=$(flows_on_port "$TMP/records.ndjson" "$HOLD_PORT" | head -n 1)
[[ -n $held ]] || fail "no flow record for the held connection on port $HOLD_PORT"
digest=$(jq -r .flow.digest <<<"$held")
reason=$(jq -r --arg d "$digest" 'select(.type == "flow_purge" and .flow.digest == $d) | .reason' \
    "$TMP/records.ndjson")
[[ $reason == terminated ]] \
    || fail "the held connection ($digest) was purged with reason '${reason:-<none>}', expected terminated"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 2 --interface lo \
    "$TMP/records.ndjson" || fail "the live stream breaks the contract"
say "ok: HTTP flow seen, held flow purged as terminated, clean exit"

#!/usr/bin/env bash
# Hostile client commands against a live broker (on lo): an empty line,
# invalid JSON, unknown keys, wrong value types, binary garbage, a line
# over 4 KiB, a second line, and a partial line left hanging (slow-loris)
# each get exactly one error record after agent_hello and agent_status,
# then the connection is closed (the sensor runs in a network namespace of
# its own, the clients reach it through its UNIX socket); the broker survives every one, keeps
# serving a well-behaved client, and counts them in agent_status.clients.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq
CAT=$BUILD_DIR/bin/flowsense-cat
[[ -x $CAT ]] || skip "$CAT is not built (run make)"
fs_setup
netns_setup
# Only traffic nobody sends: the records must not depend on what else runs on lo.
live_start 1 -f "udp port 9"
ep=unix:$LIVE_SOCK
wait_until 10 test -S "$LIVE_SOCK" || fail "no socket at $LIVE_SOCK"

# hostile NAME EXPECTED_MESSAGE_PART ARGS...: the client's records must be
# hello, status, any live records that came before its line was read,
# then one error (message containing the part) as the last, then a close.
refused=0
hostile() {
    local name=$1 part=$2 out=$TMP/$1.ndjson rc=0; shift 2
    python3 "$ROOT/tests/lib/command_client.py" "$ep" --timeout 15 "$@" >"$out" 2>"$out.err" || rc=$?
    [[ $rc == 0 ]] || { cat "$out" "$out.err"; fail "$name: the broker did not close the connection (exit $rc)"; }
    local types
    types=$(jq -r .type "$out" | tr '\n' ' ')
    [[ $types == "agent_hello agent_status "*"error " &&
       $(grep -o error <<<"$types" | wc -l) == 1 ]] \
        || { head -c 2000 "$out"; fail "$name: records were '${types:0:200}', expected hello, status, ..., one error last"; }
    local msg
    msg=$(jq -r 'select(.type == "error") | .message' "$out")
    [[ ${msg,,} == *"${part,,}"* ]] || fail "$name: error message '$msg' does not mention '$part'"
    kill -0 "$FS_PID" 2>/dev/null || fail "$name: flowsensed is gone"
    [[ $(children_named "$FS_PID" flowsense-broker | wc -l) == 1 ]] || fail "$name: no broker"
    refused=$((refused + 1))
    say "$name: refused with \"$msg\""
}

broker_before=$(children_named "$FS_PID" flowsense-broker)
hostile empty-line "empty" --text '\n'
hostile invalid-json "not valid JSON" --text '{subscribe:}\n'
hostile unknown-command "unsubscribe" --text '{"unsubscribe":{}}\n'
hostile unknown-key "colour" --text '{"subscribe":{"colour":["red"]}}\n'
hostile wrong-type "array of strings" --text '{"subscribe":{"types":"flow"}}\n'
hostile wrong-element "array of strings" --text '{"subscribe":{"protocols":[1,2]}}\n'
hostile unknown-type "flw" --text '{"subscribe":{"types":["flw"]}}\n'
hostile not-an-object "object" --text '[1,2,3]\n'
hostile binary "binary" --hex "$(head -c 512 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/00/')"
hostile huge-line "longer than 4096" --repeat-byte 0x61:1000000
hostile second-line "only one command" --text '{"subscribe":{}}\n{"subscribe":{}}\n'
start=${EPOCHREALTIME//[.,]/}
hostile slow-loris "5 s" --text '{"subscribe":{"types":'
elapsed=$(((${EPOCHREALTIME//[.,]/} - start) / 1000))
((elapsed >= 4500 && elapsed < 12000)) || fail "slow-loris: cut off after $elapsed ms, expected about 5000"
say "slow-loris cut off after $elapsed ms"

[[ $(children_named "$FS_PID" flowsense-broker) == "$broker_before" ]] \
    || fail "the broker was restarted during the hostile commands"
grep -E 'seccomp|ERROR: AddressSanitizer|runtime error' "$FS_LAST_ERR" && fail "the broker trapped (above)"

# A well-behaved subscriber is still served, and sees the counters.
"$CAT" --type agent_status --count 2 "$ep" >"$TMP/after.ndjson" 2>"$TMP/after.err" \
    || { cat "$TMP/after.err"; fail "flowsense-cat failed after the hostile clients"; }
jq -e --argjson r "$refused" '.type != "agent_status" or
    (.clients.rejected_commands == $r and .clients.command_timeouts == 1)' \
    "$TMP/after.ndjson" >/dev/null || { jq -c .clients "$TMP/after.ndjson"; fail "agent_status.clients does not count $refused refused commands, 1 timeout"; }
say "counters: $(jq -c 'select(.type == "agent_status") | .clients' "$TMP/after.ndjson")"
fs_finish 20 TERM
say "ok: $refused hostile commands refused, broker alive throughout"

#!/usr/bin/env bash
# Interoperability with jq: `flowsensed -r FILE --stdout | jq` works as a
# pipeline, and the counts jq computes agree with the stream: every flow
# has one purge with the same digest (a flow's detection_updated record
# being a second record of the same flow), and a socket client of the same
# replay sees as many records of each flow type.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

set -o pipefail
# shellcheck disable=SC2046
timeout 120 "$FLOWSENSED" -r "$PCAP" --stdout $(user_args) 2>"$TMP/err" \
    | jq -s -c 'group_by(.type) | map({(.[0].type): length}) | add' >"$TMP/counts.json" \
    || { cat "$TMP/err"; fail "the pipeline flowsensed --stdout | jq failed"; }
say "jq counts: $(cat "$TMP/counts.json")"
records=$(jq '.flow // 0' "$TMP/counts.json")
# shellcheck disable=SC2046
updates=$(timeout 120 "$FLOWSENSED" -r "$PCAP" --stdout $(user_args) 2>/dev/null \
    | jq -s '[.[] | select(.type == "flow" and .flow.detection_updated)] | length')
flows=$((records - updates))
((flows >= 5)) || fail "jq counted $flows flows"
[[ $(jq '.flow_purge // 0' "$TMP/counts.json") == "$flows" ]] || fail "flows and purges differ"
[[ $(jq '.agent_hello' "$TMP/counts.json") == 1 ]] || fail "not one agent_hello"
# shellcheck disable=SC2046
timeout 120 "$FLOWSENSED" -r "$PCAP" --stdout $(user_args) 2>/dev/null \
    | jq -r 'select((.type == "flow" and (.flow.detection_updated | not)) or .type == "flow_purge") | .flow.digest' | sort | uniq -c \
    | awk '$1 != 2 { bad++ } END { exit bad > 0 }' || fail "a digest does not have exactly one flow and one purge"

ep=unix:$TMP/s.sock
fs_start -r "$PCAP" --listen "$ep" --wait-for-client
start_reader "$TMP/socket.ndjson" "$ep" --timeout 120
fs_finish 120
for t in flow flow_purge flow_status; do
    [[ $(count_type "$TMP/socket.ndjson" "$t") == $(jq --arg t "$t" '.[$t] // 0' "$TMP/counts.json") ]] \
        || fail "$t: the socket client and jq on --stdout count differently"
done
say "ok: $flows flows, each purged once; socket and stdout agree"

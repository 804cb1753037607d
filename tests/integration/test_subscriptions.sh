#!/usr/bin/env bash
# Subscriptions on a replay of tests/pcap/mixed.pcap (plus the shared
# corpus's quic.pcap, for application names and a second interface, when
# present): for each subscription, a subscribed client gets exactly the
# records an unsubscribed client's stream, filtered with jq by the
# documented rules, holds.  Replays are deterministic, so the truth and
# each subscribed stream come from runs of their own.  flow_status and
# flow_purge are selected by the names of their flow's last `flow` record
# before them (joined on digest); the shared teams.pcap, replayed with
# --update-interval 1, gives long TLS/STUN flows with statuses and
# detection updates that rename the application.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
INPUTS=(-r "$PCAP")
[[ -f $SHARED_PCAP/quic.pcap ]] && INPUTS+=(-r "$SHARED_PCAP/quic.pcap")
fs_setup

# replay OUT [SUBSCRIPTION]: one replay, one client, its records in OUT.
replay() {
    local out=$1 sub=${2:-} ep="unix:$TMP/$(basename "$1").sock"
    fs_start "${INPUTS[@]}" --listen "$ep" --wait-for-client
    if [[ -n $sub ]]; then
        start_reader "$out" "$ep" --timeout 120 --send "$sub"
    else
        start_reader "$out" "$ep" --timeout 120
    fi
    fs_finish 120
}

# Flow records in a canonical order (workers interleave differently).
canon() { jq -c -S 'select(.type | startswith("agent_") | not)' "$1" | LC_ALL=C sort; }

ALL=$TMP/all.ndjson
replay "$ALL"
has_type "$ALL" flow 5 || fail "the unsubscribed stream holds too few flows"

# Name rule of subscription.h: the whole name, a part between dots, or a
# tail after a dot, case-insensitive.
JQ_RULES='
def parts: ascii_downcase | split(".") as $p
    | [range(0; $p | length) as $i | ($p[$i], ($p[$i:] | join(".")))];
def name_in($names): . as $n | ($n | parts) as $p | any($names[]; ascii_downcase as $x | $p | index([$x]));
# The non-agent records in stream order, each with _p and _a: the
# protocol and application of the last flow record of its digest so far.
def joined: foreach (inputs | select(.type | startswith("agent_") | not)) as $r ({};
    if $r.type == "flow" then
        .[$r.flow.digest] = [$r.flow.detected_protocol_name, $r.flow.detected_application_name]
    else . end;
    $r + {_p: (.[$r.flow.digest][0] // "<no flow record>"),
          _a: (.[$r.flow.digest][1] // "<no flow record>")});
'
n=0
# check NAME SUBSCRIPTION JQ_SELECT: JQ_SELECT says which non-agent records
# of the full stream the subscriber must get.
check() {
    local name=$1 sub=$2 sel=$3 out=$TMP/$1.ndjson
    replay "$out" "$sub"
    [[ $(jq -r .type "$out" | head -n 2 | tr '\n' ' ') == "agent_hello agent_status " ]] \
        || fail "$name: the stream does not start with agent_hello, agent_status"
    canon "$out" >"$out.got"
    jq -n -c -S "$JQ_RULES joined | select($sel) | del(._p, ._a)" "$ALL" \
        | LC_ALL=C sort >"$out.want"
    if ! cmp -s "$out.got" "$out.want"; then
        diff "$out.want" "$out.got" | head -n 10
        fail "$name: the subscriber's records differ from the filtered full stream (diff: want, got)"
    fi
    [[ -s $out.want ]] || fail "$name: nothing matched; the case tests nothing"
    n=$((n + 1))
    say "$name: $(wc -l <"$out.got") records, as jq selects"
}

check types '{"subscribe":{"types":["flow","flow_purge"]}}' \
    '.type == "flow" or .type == "flow_purge"'
# agent_status left out of types: only the greeting's status arrives.
[[ $(count_type "$TMP/types.ndjson" agent_status) == 1 ]] \
    || fail "types without agent_status: $(count_type "$TMP/types.ndjson" agent_status) agent_status records, expected the greeting's only"
check protocols '{"subscribe":{"types":["flow","agent_status"],"protocols":["tls","QUIC"]}}' \
    '.type == "flow" and (.flow.detected_protocol_name | name_in(["tls","QUIC"]))'
(($(count_type "$TMP/protocols.ndjson" agent_status) >= 2)) \
    || fail "agent_status listed in types, yet only the greeting's arrived"
jq -e -s '[.[] | select(.type == "agent_status")] | last | .clients.subscribed == 1' \
    "$TMP/protocols.ndjson" >/dev/null || fail "the last agent_status does not count the subscription"
check interface '{"subscribe":{"interfaces":["mixed.pcap"]}}' '.interface == "mixed.pcap"'
check dns-purges '{"subscribe":{"types":["flow","flow_purge"],"protocols":["dns"]}}' \
    '(.type == "flow" or .type == "flow_purge") and (._p | name_in(["dns"]))'
# Not every purge: a protocols filter leaves out those of other flows.
(($(count_type "$TMP/dns-purges.ndjson" flow_purge) < $(count_type "$ALL" flow_purge))) \
    || fail "dns-purges: every flow_purge arrived, whatever its flow's protocol"
if [[ ${#INPUTS[@]} -gt 2 ]]; then
    check applications '{"subscribe":{"types":["flow"],"applications":["GOOGLE","124.youtube"]}}' \
        '.type == "flow" and (.flow.detected_application_name | name_in(["GOOGLE","124.youtube"]))'
    check quic-interface '{"subscribe":{"types":["flow"],"interfaces":["quic.pcap"],"protocols":["quic"]}}' \
        '.type == "flow" and .interface == "quic.pcap" and (.flow.detected_protocol_name | name_in(["quic"]))'
else
    say "the shared quic.pcap is missing: application names not covered"
fi

# The route of flow_status and flow_purge never shows: their JSON keys
# are netifyd's.
status_keys() {
    jq -e -s 'all(.[] | select(.type == "flow_status"); keys == ["flow", "interface", "internal", "type"])
        and all(.[] | select(.type == "flow_purge"); keys == ["flow", "interface", "internal", "reason", "type"])
        and all(.[] | select(.type == "flow_status" or .type == "flow_purge");
                .flow | keys == ["detection_packets", "digest", "last_seen_at", "local_bytes",
                    "local_packets", "other_bytes", "other_packets", "total_bytes", "total_packets"])' \
        "$1" >/dev/null || fail "$1: a flow_status or flow_purge has keys netifyd's has not"
}
status_keys "$ALL"

if [[ -f $SHARED_PCAP/teams.pcap ]]; then
    INPUTS=(-r "$SHARED_PCAP/teams.pcap" --update-interval 1)
    ALL=$TMP/teams-all.ndjson
    replay "$ALL"
    status_keys "$ALL"
    has_type "$ALL" flow_status 20 || fail "teams.pcap: too few flow_status records to test"
    renamed=$(jq -n -r '[inputs | select(.type == "flow")] | group_by(.flow.digest)
        | map(select(map(.flow.detected_application_name) | unique | length > 1)) | length' "$ALL")
    ((renamed > 0)) || say "teams.pcap: no detection update renames an application"
    ALL_TYPES='"types":["flow","flow_status","flow_purge"]'
    IS_FLOW='(.type == "flow" or .type == "flow_status" or .type == "flow_purge")'
    check status-protocols "{\"subscribe\":{$ALL_TYPES,\"protocols\":[\"STUN\",\"dns\"]}}" \
        "$IS_FLOW and (._p | name_in([\"STUN\",\"dns\"]))"
    check status-applications "{\"subscribe\":{$ALL_TYPES,\"applications\":[\"teams\"]}}" \
        "$IS_FLOW and (._a | name_in([\"teams\"]))"
    check status-only '{"subscribe":{"types":["flow_status"],"protocols":["TLS"],"applications":["microsoft"]}}' \
        '.type == "flow_status" and (._p | name_in(["TLS"])) and (._a | name_in(["microsoft"]))'
    status_keys "$TMP/status-applications.ndjson"
    for name in status-protocols status-applications; do
        got=$(count_type "$TMP/$name.ndjson" flow_status)
        ((got > 0 && got < $(count_type "$ALL" flow_status))) \
            || fail "$name: $got flow_status records of $(count_type "$ALL" flow_status): not a selection"
    done
    say "teams.pcap: $renamed flow(s) renamed by a detection update"
else
    say "the shared teams.pcap is missing: flow_status routing not covered"
fi
say "ok: $n subscriptions, each exactly the matching records"

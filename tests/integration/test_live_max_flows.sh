#!/usr/bin/env bash
# max_flows reached in live capture, then recovery.  On lo of a network
# namespace of its own, one worker with --max-flows 16 and an idle flow
# timeout of 2 s:
#   - 100 new UDP flows at once (one datagram each, distinct source ports):
#     the table takes 16, refuses the other 84, counted in flows_refused;
#   - once those 16 expire (agent_status: flows back to 0, their purges
#     sent), 10 new flows are all accepted: flows_total grows by 10,
#     flows_refused stays as it was, and each has a flow record and a
#     purge in the client's stream.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture"
require_cmd python3 jq
fs_setup
netns_setup
MAX=16

live_start 1 --update-interval 1 --max-flows "$MAX" --ttl-idle-flow 2
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status || fail "no agent_status within 10 s"

# send_flows N PORT: N UDP datagrams to 127.0.0.1:PORT, each from its own
# source port (a new flow), with a receiver bound there.  The source ports
# are bound explicitly (20000 + 1000 * (PORT % 100) + i, in the namespace's
# own port space): an ephemeral port freed by one socket may come back for
# a later one, and two datagrams would then be one flow.
send_flows() {
    in_netns python3 - "$1" "$2" <<'PY' || fail "cannot send the flows"
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", port))
first = 20000 + (port % 100) * 1000
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", first + i))
    s.sendto(b"flowsense max_flows test %d" % i, ("127.0.0.1", port))
    s.close()
PY
}
last_worker() { jq -c 'select(.type == "agent_status") | .workers[0] | {flows, flows_total, flows_refused, packets}' "$TMP/records.ndjson" | tail -n 1; }
w() { last_worker | jq ".$1"; }

base_total=$(w flows_total) base_packets=$(w packets)
send_flows 100 40001
seen() { (($(w packets) >= base_packets + 100)); }
wait_until 10 seen || fail "the worker did not see the 100 datagrams: $(last_worker)"
full=$(last_worker)
say "after 100 flows: $full"
(($(jq .flows_total <<<"$full") - base_total == MAX)) || fail "the table took $(($(jq .flows_total <<<"$full") - base_total)) flows, expected $MAX"
(($(jq .flows_refused <<<"$full") == 100 - MAX)) || fail "flows_refused is $(jq .flows_refused <<<"$full"), expected $((100 - MAX))"

expired() { (($(w flows) == 0)); }
wait_until 20 expired || fail "the flows did not expire: $(last_worker)"
send_flows 10 40002
seen_again() { (($(w flows_total) >= base_total + MAX + 10)); }
wait_until 10 seen_again || fail "new flows were not accepted after expiry: $(last_worker)"
after=$(last_worker)
say "after expiry and 10 new flows: $after"
(($(jq .flows_refused <<<"$after") == 100 - MAX)) || fail "flows were refused after recovery: $after"
wait_until 20 expired || fail "the new flows did not expire: $(last_worker)"
fs_finish 20 TERM

# purges_of PORT: purges of the flows on PORT (a purge names its flow by digest).
purges_of() {
    jq -s -r --argjson p "$1" '[.[] | select(.type == "flow" and .flow.other_port == $p or .type == "flow" and .flow.local_port == $p) | .flow.digest] as $d
        | [.[] | select(.type == "flow_purge" and (.flow.digest as $x | $d | index([$x])))] | length' "$TMP/records.ndjson"
}
new_flows=$(flows_on_port "$TMP/records.ndjson" 40002 | wc -l)
new_purges=$(purges_of 40002)
old_purges=$(purges_of 40001)
say "records: port 40001 $old_purges purges; port 40002 $new_flows flow records, $new_purges purges"
((old_purges == MAX)) || fail "$old_purges purges of the first flows, expected $MAX"
((new_flows == 10 && new_purges == 10)) || fail "the 10 flows after recovery: $new_flows flow records, $new_purges purges"
say "ok: $MAX flows taken and $((100 - MAX)) refused while full; after expiry 10 new flows all accepted and reported"

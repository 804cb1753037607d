#!/usr/bin/env bash
# Live on lo (of a network namespace of its own): nothing waits for a client.  A client that never reads is
# disconnected as soon as its queue is full and counted in agent_status,
# while a reading client on the same socket gets a flow record for every
# flow the workers saw.  Traffic: tcpreplay of generated DNS flows on lo.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq tcpreplay
fs_setup
netns_setup
FLOWS=10000

python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/dns.pcap" "$FLOWS" || fail "cannot generate the capture"
fs_start -i lo -w 2 --listen "unix:$TMP/s.sock" --update-interval 1 --client-queue 4194304
start_slow_clients "unix:$TMP/s.sock" "$TMP/good.ndjson"
wait_until 10 grep -qs '"type":"agent_status"' "$TMP/good.ndjson.raw" \
    || fail "the reading client got no agent_status within 10 s"

in_netns tcpreplay -q -i lo --pps 10000 "$TMP/dns.pcap" >"$TMP/tcpreplay.out" 2>&1 || fail "tcpreplay failed: $(tail -n 3 "$TMP/tcpreplay.out")"
dropped() { grep -qs '"dropped_slow":[1-9]' "$TMP/good.ndjson.raw"; }
wait_until 20 dropped || fail "no agent_status reports the stalled client as dropped within 20 s"

kill -TERM "$FS_PID"
fs_wait 20 || fail "flowsensed did not exit within 20 s of SIGTERM"
[[ $FS_RC == 0 ]] || fail "flowsensed exited $FS_RC after SIGTERM"
assert_no_leftovers
finish_slow_clients

final=$(jq -c 'select(.type == "agent_status")' "$TMP/good.ndjson" | tail -n 1)
seen=$(jq '[.workers[].flows_total] | add' <<<"$final")
good_flows=$(count_flows "$TMP/good.ndjson")
say "workers saw $seen flows; the reading client got $good_flows flow records; final clients: $(jq -c .clients <<<"$final")"
((seen >= FLOWS * 9 / 10)) || fail "the workers saw only $seen of $FLOWS generated flows"
((good_flows == seen)) || fail "the reading client got $good_flows flow records for $seen flows"
(($(jq .clients.dropped_slow <<<"$final") >= 1)) || fail "the final agent_status does not count the dropped client"
slow_bytes=$(jq -r .slow_bytes "$TMP/summary.json")
good_bytes=$(wc -c <"$TMP/good.ndjson.raw")
((slow_bytes >= 0 && slow_bytes < good_bytes / 2)) \
    || fail "the stalled client was not cut off: it received $slow_bytes bytes (the reading one $good_bytes)"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows "$seen" --interface lo \
    "$TMP/good.ndjson" || fail "the reading client's stream breaks the contract"
say "ok: stalled client cut off after $slow_bytes bytes, reading client complete"

#!/usr/bin/env bash
# Live on lo (of a network namespace of its own) with the broker stopped (SIGSTOP; dead or restarting looks the
# same to the others): nothing waits for it.  The workers' event channels
# fill, then each worker waits at most 200 ms, drops its events and counts
# them (events_dropped), and goes on tracking flows; capture goes on
# reading, and with small rings (1 MiB) no packet is lost on them, which
# workers blocked on the broker would have caused.  Once the broker
# continues, the stream and the counters resume.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq tcpreplay
fs_setup
netns_setup

# 40000 DNS flows make about 25 MB of events, more than the two channels hold.
FLOWS=40000
python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/dns.pcap" "$FLOWS" || fail "cannot generate the capture"
live_start 2 --update-interval 1 --ring-size 1048576 --client-queue 67108864 -f "udp and host 10.0.0.53"
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status || fail "no agent_status within 10 s"

broker=$(children_named "$FS_PID" flowsense-broker)
[[ -n $broker ]] || fail "no broker under flowsensed $FS_PID"
kill -STOP "$broker" || fail "cannot stop the broker $broker"
say "stopped the broker $broker; replaying $((2 * FLOWS)) packets on lo"
in_netns tcpreplay -q -i lo --pps 20000 "$TMP/dns.pcap" >"$TMP/tcpreplay.out" 2>&1 \
    || { kill -CONT "$broker"; fail "tcpreplay failed: $(tail -n 3 "$TMP/tcpreplay.out")"; }
kill -CONT "$broker"
fs_exited && fail "flowsensed exited while the broker was stopped"

last_status() { jq -c 'select(.type == "agent_status")' "$TMP/records.ndjson" 2>/dev/null | tail -n 1; }
# The workers report every second of packet time (ticks keep it moving).
all_seen() { (($(last_status | jq '[.workers[].flows_total] | add // 0') >= FLOWS * 9 / 10)); }
wait_until 20 all_seen || fail "the workers did not report the replayed flows after the broker continued: $(last_status | jq -c '[.workers[] | {flows_total, events_dropped}]')"
final=$(last_status)
say "capture: $(jq -c '.capture | {packets, ring_drops, pcap_drop}' <<<"$final"), workers: $(jq -c '[.workers[] | {flows_total, events_dropped}]' <<<"$final")"
(($(jq '[.workers[].events_dropped] | add' <<<"$final") > 0)) \
    || fail "no worker counts dropped events, yet the channels could not hold them all"
(($(jq '[.capture.ring_drops[]] | add' <<<"$final") == 0)) \
    || fail "packets were dropped on the rings: a worker waited on the stopped broker"
(($(jq '.capture.packets' <<<"$final") >= 2 * FLOWS * 9 / 10)) \
    || fail "capture did not keep reading while the broker was stopped"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended: $(cat "$TMP/records.ndjson.err")"

fs_finish 20 TERM
python3 "$ROOT/tests/lib/check_records.py" --hello --allow-unpurged --joined-late --min-flows 1 \
    --interface lo "$TMP/records.ndjson" || fail "the stream breaks the contract"
say "ok: with the broker stopped, workers dropped and counted events, capture and rings lost nothing"

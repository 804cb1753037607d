#!/usr/bin/env bash
# Live on lo (of a network namespace of its own) with one worker stopped (SIGSTOP): capture never waits for it.
# Its ring fills and its packets are dropped and counted per worker in
# agent_status, the other worker loses nothing, and once the worker
# continues the sensor stops cleanly.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq tcpreplay
fs_setup
netns_setup

python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/dns.pcap" 10000 || fail "cannot generate the capture"
live_start 2 --update-interval 1 --ring-size 65536
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status || fail "no agent_status within 10 s"

victim=$(children_named "$FS_PID" flowsense-worker | head -n 1)
kill -STOP "$victim" || fail "cannot stop worker $victim"
say "stopped worker $victim; replaying 20000 packets on lo"
in_netns tcpreplay -q -i lo --pps 20000 "$TMP/dns.pcap" >"$TMP/tcpreplay.out" 2>&1 \
    || { kill -CONT "$victim"; fail "tcpreplay failed: $(tail -n 3 "$TMP/tcpreplay.out")"; }

last_capture() { jq -c 'select(.type == "agent_status") | .capture' "$TMP/records.ndjson" | tail -n 1; }
drops_seen() { (($(last_capture | jq '[.ring_drops[]? ] | add // 0') > 0)); }
wait_until 10 drops_seen || { kill -CONT "$victim"; fail "no ring drops reported while a worker was stopped: $(last_capture)"; }
# The first status with drops may be from the middle of the replay (one
# comes every second, and capture may lag behind tcpreplay on a loaded
# machine): wait, the worker still stopped, for one that covers it all.
read_all() { (($(last_capture | jq '.packets + ([.ring_drops[]] | add)') >= 10000)); }
wait_until 10 read_all
capture=$(last_capture)
kill -CONT "$victim"
say "capture while the worker was stopped: $(jq -c '{packets, ring_drops}' <<<"$capture")"
fs_exited && fail "flowsensed exited while a worker was stopped"
# Only the stopped worker's ring overflowed.
[[ $(jq '[.ring_drops[] | select(. > 0)] | length' <<<"$capture") == 1 ]] \
    || fail "drops on more than one ring, or none: $(jq -c .ring_drops <<<"$capture")"
# capture.packets counts what reached a ring; the drops come on top.
(($(jq '.packets + ([.ring_drops[]] | add)' <<<"$capture") >= 10000)) \
    || fail "capture stopped reading while a worker was stopped: $(jq -c . <<<"$capture")"

fs_finish 20 TERM
final=$(jq -c 'select(.type == "agent_status")' "$TMP/records.ndjson" | tail -n 1)
say "final: capture $(jq -c '.capture | {packets, ring_drops}' <<<"$final"), workers $(jq -c '[.workers[] | {packets, flows_total}]' <<<"$final")"
# Every packet put on a ring reached its worker; the rest were counted.
queued=$(jq '.capture.packets' <<<"$final")
dropped=$(jq '[.capture.ring_drops[]] | add' <<<"$final")
handled=$(jq '[.workers[].packets] | add' <<<"$final")
((queued == handled)) || fail "capture queued $queued packets, the workers handled $handled"
((dropped > 0)) || fail "the final agent_status lost the ring drops"
say "ok: $dropped packets dropped and counted on the stopped worker's ring, none elsewhere; all $queued queued packets handled"

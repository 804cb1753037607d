#!/usr/bin/env bash
# A replay survives kill -9 of a worker and of the broker.  A replay is
# lossless, so it runs at the pace of its client: a slow client (2000
# records/s, 1 MiB client queue, 64 KiB rings) keeps it mid-way, events
# queued in the channels and packets in the rings, while a worker is
# killed, then the broker.
#   - the worker is replaced within 1 s, the client keeps its connection
#     and goes on receiving records;
#   - the broker is replaced within 1 s and holds the replay (no client);
#     the client reconnects to the same socket and gets the rest;
#   - the replay ends on its own (exit 0, nothing left behind), the second
#     stream is valid, and its final agent_status has every packet of the
#     capture and counts both deaths and the flows lost.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

# 60000 DNS flows make about 50 MB of events: far more than the channels
# (8 MiB per worker), rings and client queue hold.
FLOWS=60000
python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/dns.pcap" "$FLOWS" || fail "gen_dns_pcap.py"
SOCK=$TMP/s.sock
fs_start -r "$TMP/dns.pcap" -w 2 --ring-size 65536 --client-queue 1048576 \
    --listen "unix:$SOCK" --wait-for-client
start_reader "$TMP/first.ndjson" "unix:$SOCK" --rate 2000 --timeout 120
FIRST_READER=$READER_PID
wait_until 20 has_type "$TMP/first.ndjson" flow 1000 \
    || fail "the slow client got no 1000 flow records within 20 s: $(cat "$TMP/first.ndjson.err")"

# 1. kill -9 of a worker, mid-way.
victim=$(children_named "$FS_PID" flowsense-worker | head -n 1)
[[ -n $victim ]] || fail "no worker under flowsensed $FS_PID"
victim_index=$(tr '\0' '\n' <"/proc/$victim/cmdline" | sed -n 's/^--id=//p')
[[ -n $victim_index ]] || fail "no --id in the command line of worker $victim"
kill_and_time_restart KILL "$victim" flowsense-worker 5 || fail "no new worker within 5 s of killing $victim"
say "worker $victim_index (pid $victim) killed; $RESTART_PID runs in its place after $RESTART_MS ms"
new_worker=$RESTART_PID
((RESTART_MS < 1000)) || fail "the new worker took $RESTART_MS ms to start, more than 1 s"
fs_exited && fail "flowsensed exited after a worker died"
seen=$(wc -l <"$TMP/first.ndjson")
more_records() { (($(wc -l <"$TMP/first.ndjson") >= seen + 2000)); }
wait_until 20 more_records || fail "the client received no 2000 more records after the worker died"
kill -0 "$FIRST_READER" 2>/dev/null \
    || fail "the client was disconnected when a worker died: $(cat "$TMP/first.ndjson.err")"

# 2. kill -9 of the broker, mid-way: the first client's connection ends.
broker=$(children_named "$FS_PID" flowsense-broker)
[[ -n $broker ]] || fail "no broker under flowsensed $FS_PID"
kill_and_time_restart KILL "$broker" flowsense-broker 5 || fail "no new broker within 5 s of killing $broker"
say "broker $broker killed; $RESTART_PID runs in its place after $RESTART_MS ms"
((RESTART_MS < 1000)) || fail "the new broker took $RESTART_MS ms to start, more than 1 s"
wait_until 10 eval '! kill -0 $FIRST_READER 2>/dev/null' || fail "the first client's connection outlived its broker"
wait "$FIRST_READER"
say "first client, at the broker's death: $(tail -n 1 "$TMP/first.ndjson.err")"
# Unread, the replay would end within a second: the new broker holds it.
sleep 2
fs_exited && fail "the replay went on with no client after the broker restart"

# 3. The client reconnects and reads the rest at full speed.
start_reader "$TMP/second.ndjson" "unix:$SOCK" --timeout 120
fs_finish 120
# The status sent on reconnecting shows the capture where the broker's
# death had stopped it: the replay was mid-way.
held_at=$(jq -c 'select(.type == "agent_status") | .capture.packets' "$TMP/second.ndjson" | head -n 1)
say "the new broker held the replay at packet $held_at of $((2 * FLOWS))"
((held_at > 0 && held_at < 2 * FLOWS)) || fail "the replay was not mid-way while the broker was away"
final_status=$(jq -c 'select(.type == "agent_status")' "$TMP/second.ndjson" | tail -n 1)
final=$(jq -c .capture <<<"$final_status")
lost=$(jq .flows_lost <<<"$final")
# The killed worker's successor had packets to handle: the replay was
# mid-way on that ring too.
successor=$(jq -c --argjson i "$victim_index" '.workers[] | select(.worker == $i)' <<<"$final_status")
say "worker $victim_index's successor at the end: $(jq -c '{pid, packets, flows_total}' <<<"$successor")"
[[ $(jq .pid <<<"$successor") == "$new_worker" ]] || fail "the final statistics of worker $victim_index are not from pid $new_worker: $successor"
(($(jq .packets <<<"$successor") > 0)) || fail "the new worker handled no packet: the kill was not mid-replay"
# The first stream ends where its broker died; the killed worker's flows
# have no purge, and its successor may meet some of them again.
python3 "$ROOT/tests/lib/check_records.py" --hello --allow-unpurged --allow-reopened \
    --min-flows 1000 --internal "$TMP/first.ndjson" \
    || fail "the stream before the broker restart breaks the contract"
# The second one joined mid-stream (purges of flows it never saw), and it
# starts with what the killed worker had queued: flows without a purge, at
# most as many as flowsensed counted lost.  Like the first, it may show one
# of those flows again right after, from the successor: the dead worker's
# last record was a flow's first packet, the successor's first is its next.
checked=$(python3 "$ROOT/tests/lib/check_records.py" --hello --joined-late --allow-unpurged --allow-reopened \
    --min-flows 1 --internal "$TMP/second.ndjson") \
    || fail "the stream after the broker restart breaks the contract: $checked"
say "second stream: $checked"
unpurged=$(sed -n 's/.*; unpurged=\([0-9]*\)$/\1/p' <<<"$checked")
[[ -n $unpurged ]] || fail "check_records did not report the unpurged flows: $checked"
((unpurged <= lost)) || fail "$unpurged flows of the second stream lack a purge, but only $lost were lost"
say "final capture counters: $(jq -c '{packets, worker_restarts, broker_restarts, flows_lost, worker_deaths}' <<<"$final")"
[[ $(jq .packets <<<"$final") == $((2 * FLOWS)) ]] \
    || fail "the replay did not take every packet of the capture ($((2 * FLOWS))): $final"
[[ $(jq .worker_restarts <<<"$final") == 1 && $(jq .broker_restarts <<<"$final") == 1 ]] \
    || fail "restarts not counted once each: $final"
[[ $(jq -c .worker_deaths <<<"$final") == '{"SIGKILL":1}' ]] || fail "worker_deaths is not {\"SIGKILL\":1}: $final"
((lost > 0)) || fail "the killed worker held flows, but flows_lost is 0: $final"
say "ok: worker and broker killed mid-replay, both back within 1 s, the replay ended whole"

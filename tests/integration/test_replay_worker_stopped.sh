#!/usr/bin/env bash
# A worker stopped (SIGSTOP) during a replay: replay is lossless, so the
# capture process waits for the stopped worker's ring instead of dropping.
# While it is stopped the replay does not finish and no ring drop is
# counted; after SIGCONT the replay completes, exits 0, and its stream
# (normalized and sorted, tests/lib/records.py) is identical to that of an
# undisturbed run of the same capture; the final agent_status shows no
# ring drop, no lost or dropped event, and no worker restart.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
PACKETS=${REPLAY_STOP_PACKETS:-200000}
RECORDS=$ROOT/tests/lib/records.py

"$GEN" -o "$TMP/big.pcap" -n "$PACKETS" "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"

FS_OUT=$TMP/ref.ndjson FS_ERR=$TMP/ref.err fs_run 120 -r "$TMP/big.pcap" -w 2 --stdout
[[ $FS_RC == 0 ]] || fail "the undisturbed replay exited $FS_RC"

# The disturbed run reads the same bytes from a FIFO (named like the file,
# so the records' interface is the same) fed in two parts: the second
# only once a worker is stopped, so the stop lands mid-replay however
# fast the machine is.
size=$(stat -c %s "$TMP/big.pcap")
head -c $((size / 5)) "$TMP/big.pcap" >"$TMP/part1"
tail -c +$((size / 5 + 1)) "$TMP/big.pcap" >"$TMP/part2"
mkdir "$TMP/fifo" && mkfifo "$TMP/fifo/big.pcap" || fail "cannot make a FIFO"
{ cat "$TMP/part1"; wait_until 60 test -e "$TMP/go"; cat "$TMP/part2"; } >"$TMP/fifo/big.pcap" &
track_pid $!
FS_OUT=$TMP/run.ndjson FS_ERR=$TMP/run.err fs_start -r "$TMP/fifo/big.pcap" -w 2 --stdout
capture_started() { fs_exited || { [[ -n $(children_named "$FS_PID" flowsensed) ]] && picture_complete 2; }; }
wait_until 20 capture_started && ! fs_exited || fail "flowsensed did not start its children"
victim=$(children_named "$FS_PID" flowsense-worker | head -n 1)
kill -STOP "$victim" || fail "cannot stop worker $victim"
touch "$TMP/go"
say "stopped worker $victim for 5 s"
sleep 5
stopped_exited=0
fs_exited && stopped_exited=1
# The capture process is blocked on the full ring: it has used no CPU
# to speak of during a second of the stop.
CAPTURE=$(children_named "$FS_PID" flowsensed)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
t0=$(ticks "$CAPTURE"); sleep 1; t1=$(ticks "$CAPTURE")
kill -CONT "$victim"
((stopped_exited == 0)) || fail "the replay ended while a worker was stopped (it cannot have handled every packet)"
((t1 - t0 <= 20)) || fail "the capture process spun while waiting ($((t1 - t0)) ticks in 1 s)"
say "capture process used $((t1 - t0)) ticks in 1 s of the stop"
fs_wait 120 || fail "the replay did not finish after SIGCONT"
[[ $FS_RC == 0 ]] || fail "the replay exited $FS_RC after the stop"
assert_no_leftovers

final=$(jq -c 'select(.type == "agent_status")' "$TMP/run.ndjson" | tail -n 1)
ref_final=$(jq -c 'select(.type == "agent_status")' "$TMP/ref.ndjson" | tail -n 1)
queued=$(jq '.capture.packets' <<<"$ref_final")
say "final: $(jq -c '.capture | {packets, ring_drops, events_dropped, worker_restarts, flows_lost}' <<<"$final"), workers' events_dropped $(jq -c '[.workers[].events_dropped]' <<<"$final")"
[[ $(jq -c '[.capture.events_dropped, .capture.worker_restarts, .capture.broker_restarts, .capture.flows_lost, .events.dropped, ([.workers[].events_dropped] | add)]' <<<"$final") == '[0,0,0,0,0,0]' ]] \
    || fail "something was lost or restarted: $(jq -c '{capture, events}' <<<"$final")"
(($(jq '[.capture.ring_drops[]?] | add // 0' <<<"$final") == 0)) || fail "ring drops in a replay: $(jq -c .capture <<<"$final")"
(($(jq '.capture.packets' <<<"$final") == queued)) || fail "capture queued $(jq .capture.packets <<<"$final") packets, $queued undisturbed"
(($(jq '[.workers[].packets] | add' <<<"$final") == queued)) || fail "the workers handled $(jq '[.workers[].packets] | add' <<<"$final") of $queued packets"

# events.received also counts the workers' periodic statistics, sent by
# wall clock: a run that took 6 s longer has a few more.
comparable() { python3 "$RECORDS" sorted "$1" | jq -c 'if .type == "agent_status" then del(.events.received) else . end'; }
comparable "$TMP/ref.ndjson" >"$TMP/ref.sorted" || fail "the reference stream does not parse"
comparable "$TMP/run.ndjson" >"$TMP/run.sorted" || fail "the disturbed stream does not parse"
if ! cmp -s "$TMP/ref.sorted" "$TMP/run.sorted"; then
    diff "$TMP/ref.sorted" "$TMP/run.sorted" | head -n 20
    fail "the stream of the disturbed replay differs from the undisturbed one (above)"
fi
flows=$(count_flows "$TMP/run.ndjson")
((flows >= 1000)) || fail "only $flows flows: the capture is too small"
say "ok: replay waited for the stopped worker, then gave the same $(wc -l <"$TMP/run.sorted") records ($flows flows) as an undisturbed run, no drop"

#!/usr/bin/env bash
# At the end of a replay flowsensed waits for its children as long as
# they make progress, not for a fixed time (capture/supervisor_loop.c):
#  1. a client that reads slowly makes the workers' and the broker's
#     shutdown last many times the no-progress limit (shortened here with
#     FLOWSENSE_STALL_MS); nothing is killed, and the client gets exactly
#     the records of a --stdout run of the same capture;
#  2. a broker stopped (SIGSTOP) once the workers have finished is killed
#     after the no-progress limit, with a log line saying so.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup
FLOWS=${SHUTDOWN_FLOWS:-6000}
STALL_MS=1500
RATE=1500 # records per second the slow client reads
export FLOWSENSE_STALL_MS=$STALL_MS

python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/many.pcap" "$FLOWS" \
    || fail "cannot generate the capture"
FS_OUT=$TMP/ref.ndjson FS_ERR=$TMP/ref.err fs_run 120 -r "$TMP/many.pcap" --stdout -w 2 \
    || fail "reference --stdout run did not finish within 120 s"
[[ $FS_RC == 0 ]] || fail "reference --stdout run exited $FS_RC"
# Records of a replay are deterministic but for agent_status; workers
# interleave differently.
canon() { jq -c -S 'select(.type | startswith("agent_") | not)' "$1" | LC_ALL=C sort; }
canon "$TMP/ref.ndjson" >"$TMP/ref.canon"
records=$(wc -l <"$TMP/ref.canon")
((records >= FLOWS)) || fail "the reference run has $records records for $FLOWS flows"

# 1. A slow reader: the shutdown outlasts the limit many times over.
SOCK=$TMP/slow.sock
FS_ERR=$TMP/slow.err fs_start -d -r "$TMP/many.pcap" --listen "unix:$SOCK" --wait-for-client -w 2 \
    --client-queue $((1024 * 1024))
start_reader "$TMP/slow.ndjson" "unix:$SOCK" --timeout 120 --rate "$RATE"
fs_finish 120
canon "$TMP/slow.ndjson" >"$TMP/slow.canon"
if ! cmp -s "$TMP/ref.canon" "$TMP/slow.canon"; then
    diff "$TMP/ref.canon" "$TMP/slow.canon" | head -n 4
    fail "the slow client got $(wc -l <"$TMP/slow.canon") records, the --stdout run $records (diff: want, got)"
fi
! grep -i 'killing\|closing them' "$TMP/slow.err" || fail "a child or a client was cut off while progressing"
workers_s=$(sed -n 's/.*workers finished \([0-9.]*\) s after shutdown began.*/\1/p' "$TMP/slow.err")
broker_s=$(sed -n 's/.*broker finished \([0-9.]*\) s after shutdown began.*/\1/p' "$TMP/slow.err")
[[ -n $workers_s && -n $broker_s ]] || fail "flowsensed did not log how long the shutdown took"
shutdown_ms=$(awk -v w="$workers_s" -v b="$broker_s" 'BEGIN { printf "%d", (w + b) * 1000 }')
((shutdown_ms > 3 * STALL_MS)) \
    || fail "the shutdown took $shutdown_ms ms, not over 3 x $STALL_MS ms: the test shows nothing"
say "slow client: all $records records; shutdown took ${workers_s} s (workers) + ${broker_s} s (broker), the no-progress limit is $STALL_MS ms"

# 2. A broker stopped once the workers are done is killed after the limit.
SOCK=$TMP/stuck.sock
FS_ERR=$TMP/stuck.err fs_start -r "$TMP/many.pcap" --listen "unix:$SOCK" --wait-for-client -w 2 \
    --client-queue $((1024 * 1024))
wait_until 20 picture_complete 2 && ! fs_exited || fail "flowsensed did not start its children"
BROKER=$(children_named "$FS_PID" flowsense-broker)
start_reader "$TMP/stuck.ndjson" "unix:$SOCK" --timeout 120 --rate "$RATE"
workers_gone() { [[ -z $(children_named "$FS_PID" flowsense-worker) ]]; }
wait_until 60 workers_gone || fail "the workers did not finish"
kill -STOP "$BROKER" || fail "cannot stop the broker"
stopped=${EPOCHREALTIME//[.,]/}
fs_wait 60 || fail "flowsensed did not end within 60 s of its broker being stopped"
waited_ms=$(((${EPOCHREALTIME//[.,]/} - stopped) / 1000))
assert_no_leftovers
got=$(jq -c 'select(.type | startswith("agent_") | not)' "$TMP/stuck.ndjson" | wc -l)
((got < records)) || fail "the client got all $records records: the broker was not stopped in time"
grep -q "broker made no progress for $STALL_MS ms (.*): killing" "$TMP/stuck.err" \
    || fail "no log line says the stuck broker was killed: $(tail -n 3 "$TMP/stuck.err")"
((waited_ms >= STALL_MS && waited_ms < STALL_MS + 5000)) \
    || fail "the stuck broker was killed $waited_ms ms after it stopped, the limit is $STALL_MS ms"
say "ok: stuck broker killed $waited_ms ms after it stopped (limit $STALL_MS ms; flowsensed exit $FS_RC), its client had $got of $records records; flowsensed: $(grep -o 'broker made no progress.*' "$TMP/stuck.err")"

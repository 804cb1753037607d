#!/usr/bin/env bash
# Many clients, bounded memory: a replay served to CLIENT_MAX (256)
# clients at once over a UNIX and a TCP listener.  One reference client
# (stream_reader.py), 254 readers (tests/lib/many_clients.py) and one
# client that never reads.  Every reader must get exactly the reference's
# records; the never-reading one is dropped and counted; clients over the
# limit are refused at once (error record, close) and counted; the
# broker's peak RSS stays under the documented bound, clients x twice the
# queue bound (a queue may pass its bound by one event's records, and its
# buffer grows by doubling) + a margin; the replay ends with exit 0 and
# nothing left running.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
PACKETS=${MANY_CLIENTS_PACKETS:-200000}
CLIENT_MAX=256
READERS=$((CLIENT_MAX - 2)) # besides the reference and the never-reading client
OVER=8
QUEUE_KB=1024
MARGIN_KB=$((64 * 1024)) # the broker's own needs: code, buffers, poll set

"$GEN" -o "$TMP/big.pcap" -n "$PACKETS" "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
SOCK=$TMP/m.sock
PORT=$(free_tcp_port)
fs_start -r "$TMP/big.pcap" -w 2 --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$PORT" \
    --wait-for-client --client-queue $((QUEUE_KB * 1024))
capture_started() { [[ -n $(children_named "$FS_PID" flowsensed) ]] && picture_complete 2; }
wait_until 20 capture_started && ! fs_exited || fail "flowsensed did not start its children"
BROKER=$(children_named "$FS_PID" flowsense-broker)
CAPTURE=$(children_named "$FS_PID" flowsensed)
# The replay starts with the first client; the capture process is held
# stopped until all are in, so every client sees the stream from its
# first record.
kill -STOP "$CAPTURE" || fail "cannot stop the capture process"

start_reader "$TMP/ref.ndjson" "unix:$SOCK" --timeout 120 --quiet
wait_until 10 has_type "$TMP/ref.ndjson" agent_status || fail "the reference client got no greeting"

# The broker's high-water mark, sampled while it runs.
(while [[ -r /proc/$BROKER/status ]]; do
    awk '$1 == "VmHWM:" { print $2 }' "/proc/$BROKER/status" >"$TMP/hwm.new" 2>/dev/null \
        && [[ -s $TMP/hwm.new ]] && mv "$TMP/hwm.new" "$TMP/hwm"
    sleep 0.2
done) &
track_pid $!

start=${EPOCHREALTIME//[.,]/}
python3 "$ROOT/tests/lib/many_clients.py" --unix "$SOCK" --tcp "127.0.0.1:$PORT" \
    --readers "$READERS" --over "$OVER" --resume "$CAPTURE" --timeout 90 \
    >"$TMP/summary.json" 2>"$TMP/many.err" &
MANY_PID=$!
track_pid "$MANY_PID"
fs_finish 120
many_rc=0
wait "$MANY_PID" || many_rc=$?
secs=$(((${EPOCHREALTIME//[.,]/} - start) / 1000000))
cat "$TMP/many.err"
S=$TMP/summary.json
jq -c 'del(.final_status)' "$S" | sed "s/^/$TEST_NAME: clients: /"
[[ $many_rc == 0 ]] || fail "the readers did not all get one same complete stream (above)"

# Every reader got exactly the reference client's records.
python3 "$ROOT/tests/lib/many_clients.py" --digest-ndjson "$TMP/ref.ndjson" >"$TMP/ref.digest" \
    || fail "the reference stream does not parse"
want=$(jq -c -S . "$TMP/ref.digest")
got=$(jq -c -S '.distinct_streams[0] | del(.clients)' "$S")
[[ $got == "$want" ]] || fail "the readers' stream $got differs from the reference's $want"
flows=$(jq '.counts.flow // 0' "$TMP/ref.digest")
records=$(jq '[.counts[]] | add' "$TMP/ref.digest")
((flows >= 1000)) || fail "only $flows flow records: the capture is too small for a load test"

# The never-reading client was cut off; the limit refused the rest.
read -r never_bytes never_end < <(jq -r '.never_reader | "\(.bytes) \(.end)"' "$S")
stream_bytes=$(wc -c <"$TMP/ref.ndjson")
[[ $never_end == eof || $never_end == reset ]] || fail "the never-reading client was not disconnected ($never_end)"
((never_bytes < stream_bytes / 2)) \
    || fail "the never-reading client got $never_bytes bytes of a $stream_bytes-byte stream: not dropped"
bad=$(jq '[.refused[] | select(.end != "eof" or (.message // "" | startswith("too many clients") | not))] | length' "$S")
[[ $(jq '.refused | length' "$S") == "$OVER" && $bad == 0 ]] \
    || fail "not every client over the limit got the error record and end of file: $(jq -c .refused "$S")"

# The final agent_status, the same for every reader, counts all of it.
[[ $(jq .distinct_final_status "$S") == 1 ]] || fail "the readers' last agent_status differ"
F=$(jq -c .final_status "$S")
c() { jq ".clients.$1" <<<"$F"; }
(($(c dropped_slow) >= 1)) || fail "clients.dropped_slow is $(c dropped_slow) in the final agent_status"
(($(c refused) == OVER)) || fail "clients.refused is $(c refused), want $OVER"
(($(c accepted) == CLIENT_MAX)) || fail "clients.accepted is $(c accepted), want $CLIENT_MAX"
# Before the final status is queued: every reader and the reference got
# all the other records.
(($(c records_sent) >= (READERS + 1) * (records - 1))) \
    || fail "clients.records_sent $(c records_sent) < $((READERS + 1)) streams of $((records - 1)) records"
(($(c bytes_sent) >= (READERS + 1) * stream_bytes)) \
    || fail "clients.bytes_sent $(c bytes_sent) < $((READERS + 1)) streams of $stream_bytes bytes"

# Bounded memory: the broker's part of maxrss_kb, and its VmHWM.
broker_kb=$(jq '.maxrss_kb - .capture.maxrss_kb - ([.workers[].maxrss_kb] | add // 0)' <<<"$F")
hwm_kb=$(cat "$TMP/hwm" 2>/dev/null || echo 0)
budget_kb=$((CLIENT_MAX * 2 * QUEUE_KB + MARGIN_KB))
((hwm_kb > 0)) || fail "the broker's VmHWM was never read"
# Under ASan, its shadow memory and quarantine add up to 1 GiB to the budget.
if ldd "$BUILD_DIR/bin/flowsense-broker" 2>/dev/null | grep -q libasan; then
    budget_kb=$((budget_kb + 1024 * 1024))
fi
((broker_kb <= budget_kb && hwm_kb <= budget_kb)) \
    || fail "broker peak RSS $broker_kb kB (VmHWM $hwm_kb kB) over $budget_kb kB ($CLIENT_MAX x 2 x $QUEUE_KB kB + $MARGIN_KB kB)"
say "ok: $((READERS + 1)) readers got the same $records records ($flows flows, $stream_bytes bytes each), never-reader dropped after $never_bytes bytes, $OVER refused; records_sent $(c records_sent), bytes_sent $(c bytes_sent); broker peak RSS $broker_kb kB (VmHWM $hwm_kb kB, budget $budget_kb kB); $secs s"

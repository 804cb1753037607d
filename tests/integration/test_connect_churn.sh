#!/usr/bin/env bash
# A client that connects and disconnects in a tight loop
# (tests/lib/connect_churn.py: CHURN_COUNT connects, 5000 by default,
# alternately over a UNIX and a TCP listener; a third close at once, a
# third after reading a little, a third after half a subscription line)
# while a normal client reads a replay.  The churn runs twice: once with
# the replay held (the capture process stopped), to measure the broker
# before and after, and once during the replay (and past its end).  Then:
#   - the normal client got a whole stream: every flow record has its
#     purge, as many flows as the workers' flows_total, no event dropped;
#   - clients.accepted in the final agent_status counts every connect;
#   - no descriptor leak: the broker has as many open fds after the first
#     churn as before it;
#   - the log has no line per reset connection;
#   - memory flat: the broker's VmRSS after the first churn is no more than
#     before + 2 MiB (ASan build: + 264 MiB, its quarantine) (the poll set and client slots are sized once; a
#     freed client's buffers go back to malloc).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
COUNT=${CHURN_COUNT:-5000}
RSS_MARGIN_KB=2048
# ASan keeps freed memory in quarantine (256 MiB by default) before reuse.
[[ $BUILD_DIR == *asan* ]] && RSS_MARGIN_KB=$(((256 + 8) * 1024))

"$GEN" -o "$TMP/big.pcap" -n 100000 "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
SOCK=$TMP/c.sock
PORT=$(free_tcp_port)
fs_start -r "$TMP/big.pcap" -w 2 --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$PORT" --wait-for-client
capture_started() { [[ -n $(children_named "$FS_PID" flowsensed) ]] && picture_complete 2; }
wait_until 20 capture_started && ! fs_exited || fail "flowsensed did not start its children"
BROKER=$(children_named "$FS_PID" flowsense-broker)
CAPTURE=$(children_named "$FS_PID" flowsensed)
kill -STOP "$CAPTURE" || fail "cannot stop the capture process"
start_reader "$TMP/ref.ndjson" "unix:$SOCK" --timeout 180 --quiet
wait_until 10 has_type "$TMP/ref.ndjson" agent_status || { kill -CONT "$CAPTURE"; fail "the normal client got no greeting"; }

nfds() { find "/proc/$BROKER/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss() { status_field "$BROKER" VmRSS; }
churn() {
    python3 "$ROOT/tests/lib/connect_churn.py" --unix "$SOCK" --tcp "127.0.0.1:$PORT" --count "$COUNT" \
        >"$TMP/churn$1.json" 2>"$TMP/churn$1.err" || { kill -CONT "$CAPTURE"; cat "$TMP/churn$1.err"; fail "connect_churn.py failed"; }
    say "churn $1: $(cat "$TMP/churn$1.json")"
}
fds0=$(nfds) rss0=$(rss)
start=${EPOCHREALTIME//[.,]/}
churn 1
(($(jq .connects "$TMP/churn1.json") == COUNT)) || { kill -CONT "$CAPTURE"; fail "churn 1: not every connect succeeded"; }
ms=$(((${EPOCHREALTIME//[.,]/} - start) / 1000))
# Closed clients are reaped on the broker's next poll round.
settled() { (($(nfds) <= fds0)); }
wait_until 5 settled
fds1=$(nfds) rss1=$(rss)
say "broker: $fds0 fds, VmRSS $rss0 kB before $COUNT connects (${ms} ms); $fds1 fds, VmRSS $rss1 kB after"
kill -0 "$BROKER" 2>/dev/null || { kill -CONT "$CAPTURE"; fail "the broker died during the churn"; }
((fds1 == fds0)) || { kill -CONT "$CAPTURE"; ls -l "/proc/$BROKER/fd"; fail "descriptor leak: $fds0 fds before, $fds1 after"; }
((rss1 <= rss0 + RSS_MARGIN_KB)) || { kill -CONT "$CAPTURE"; fail "the broker grew from $rss0 to $rss1 kB"; }

# The second churn runs during the replay, and on past its end (its
# connects fail once flowsensed has exited; until then none may fail).
kill -CONT "$CAPTURE"
churn 2
during=$(jq .connects "$TMP/churn2.json")
if (($(jq .failures "$TMP/churn2.json") > 0)); then
    fs_exited || fail "churn 2: connects failed while flowsensed still ran"
fi
((during >= 100)) || fail "only $during connects during the replay: it tests little"
fs_finish 120

out=$TMP/ref.ndjson
final=$(jq -c 'select(.type == "agent_status")' "$out" | tail -n 1)
flows=$(count_flows "$out")
purges=$(count_type "$out" flow_purge)
total=$(jq '[.workers[].flows_total] | add' <<<"$final")
accepted=$(jq '.clients.accepted' <<<"$final")
say "normal client: $flows flows, $purges purges; final agent_status: flows_total $total, clients $(jq -c .clients <<<"$final")"
((flows >= 1000)) || fail "only $flows flows: the capture is too small"
((flows == purges && flows == total)) || fail "the normal client's stream is not whole: $flows flows, $purges purges, flows_total $total"
[[ $(jq -c '[.capture.events_dropped, .events.dropped, ([.workers[].events_dropped] | add), .clients.dropped_slow]' <<<"$final") == '[0,0,0,0]' ]] \
    || fail "something was dropped: $(jq -c '{capture: .capture.events_dropped, events, clients}' <<<"$final")"
# The final status counts the first churn and the normal client, and
# at most every connect of the second.
((accepted >= COUNT + 1 && accepted <= COUNT + 1 + during)) \
    || fail "clients.accepted is $accepted, expected $((COUNT + 1)) to $((COUNT + 1 + during))"
# A client's reset is its way out, not the broker's problem: no line per
# connection (a churning client must not flood the log).
warnings=$(grep -c -E 'warning: .*client' "$FS_LAST_ERR")
say "warnings about clients in flowsensed's log: $warnings"
((warnings <= 2)) || { grep -E 'warning: .*client' "$FS_LAST_ERR" | head -n 5; fail "$warnings warnings about clients for $((COUNT + during)) connects"; }
say "ok: $((COUNT + during)) connects and disconnects, no fd leak, broker RSS +$((rss1 - rss0)) kB, the normal client's stream whole"

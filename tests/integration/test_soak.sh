#!/usr/bin/env bash
# Soak: SOAK_SECONDS (default 60; `make soak` runs 180) of live traffic.
# tcpreplay --loop replays a mixed capture (gen_bench_pcap over tests/pcap)
# at SOAK_PPS (default 2000) packets/s into a veth pair; flowsensed (2
# workers) captures its end inside a network namespace of its own.  While
# it runs:
#   - one client keeps up for the whole run (stream_reader.py);
#   - other clients come and go: flowsense-cat and stream_reader.py with a
#     different subscription each, 1 to 3 s each, in a loop;
#   - RssAnon (private memory; VmRSS also counts the shared rings' pages
#     as they are first touched) of every flowsense process is sampled
#     every second.
# It fails on:
#   - memory growth after warm-up (the first third of the run, at least
#     20 s: the flow tables fill to their steady state, with idle timeouts
#     of 5 s and 10 s (TCP) so it comes early): per process, the slope of
#     RssAnon over the second half of the run must be below SOAK_SLOPE KiB/s
#     (default 8: under 0.5 MiB a minute; a leak of 100 bytes per flow at
#     this rate (about 150 new flows/s) gives 15 KiB/s), and its peak after warm-up
#     no more than the warm-up's peak + SOAK_GROWTH_KB (default 4096: the
#     broker's client queues and malloc's arenas move by that much);
#   - any process restart (worker_restarts / broker_restarts in agent_status,
#     or a PID that changed);
#   - any record lost by the client that kept up: every flow record has its
#     purge, as many flows as the workers' flows_total, no event dropped,
#     and the client was never dropped as slow.
# Packets the kernel or the rings drop at this rate are reported, not
# failed on (they lose packets, not records).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "a veth pair in a network namespace"
require_cmd python3 jq tcpreplay
GEN=$BUILD_DIR/tools/gen_bench_pcap
CAT=$BUILD_DIR/bin/flowsense-cat
[[ -x $GEN && -x $CAT ]] || skip "gen_bench_pcap or flowsense-cat is not built (run make)"
fs_setup
netns_setup --veth
SECS=${SOAK_SECONDS:-60}
PPS=${SOAK_PPS:-2000}
SLOPE=${SOAK_SLOPE:-8}
GROWTH_KB=${SOAK_GROWTH_KB:-4096}
WARMUP=$((SECS / 3 > 20 ? SECS / 3 : 20))
((SECS >= 40)) || fail "SOAK_SECONDS=$SECS: at least 40 (20 s of warm-up, then enough to measure)"

"$GEN" -o "$TMP/soak.pcap" -n 20000 "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
packets=$(python3 -c 'import sys,struct
d=open(sys.argv[1],"rb").read(); o=24; n=0
while o + 16 <= len(d):
    o += 16 + struct.unpack_from("<I", d, o + 8)[0]; n += 1
print(n)' "$TMP/soak.pcap")
loops=$((SECS * PPS / packets + 1))
say "$SECS s: $packets packets x $loops loops at $PPS pps on $NETNS_HOST_IF -> $NETNS_IF ($FS_NETNS)"

# IPv6 off on both ends: the kernel sends nothing of its own (router
# solicitations, MLD), so every flow is tcpreplay's and starts after the
# client that keeps up is in.
echo 1 >"/proc/sys/net/ipv6/conf/$NETNS_HOST_IF/disable_ipv6" || fail "cannot disable IPv6 on $NETNS_HOST_IF"
in_netns sysctl -qw "net.ipv6.conf.$NETNS_IF.disable_ipv6=1" || fail "cannot disable IPv6 on $NETNS_IF"
SOCK=$TMP/soak.sock
fs_start -i "$NETNS_IF" -w 2 --update-interval 1 --ttl-idle-flow 5 --ttl-idle-tcp-flow 10 --listen "unix:$SOCK"
wait_until 20 picture_complete 2 && ! fs_exited || fail "flowsensed did not start its children"
wait_until 10 test -S "$SOCK" || fail "no socket $SOCK"
start_reader "$TMP/keeper.ndjson" "unix:$SOCK" --timeout $((SECS + 120)) --quiet
KEEPER=$READER_PID
wait_until 10 has_type "$TMP/keeper.ndjson" agent_status || fail "the client that keeps up got no greeting"

# roles: "ROLE PID" of each flowsense process.
roles() {
    local pid w=0
    echo "supervisor $FS_PID"
    for pid in $(ps -o pid= --ppid "$FS_PID"); do
        case $(proc_name "$pid") in
        flowsensed) echo "capture $pid" ;;
        flowsense-broker) echo "broker $pid" ;;
        flowsense-worker) echo "worker$w $pid"; w=$((w + 1)) ;;
        esac
    done
}
roles >"$TMP/roles.start"
(($(wc -l <"$TMP/roles.start") == 5)) || fail "expected 5 processes, got: $(tr '\n' ' ' <"$TMP/roles.start")"

t0=${EPOCHREALTIME//[.,]/}
elapsed() { echo $(((${EPOCHREALTIME//[.,]/} - t0) / 1000000)); }
(
    while ! fs_exited; do
        t=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
        while read -r role pid; do
            # RssAnon: the process's private memory, where a leak would
            # show.  VmRSS also counts the pages of the shared rings as they
            # are first touched, which grows to the ring size and stops.
            rss=$(status_field "$pid" RssAnon) && [[ -n $rss ]] && echo "$((t / 1000)).$(printf %03d $((t % 1000))) $role $pid $rss $(status_field "$pid" VmRSS)"
        done <"$TMP/roles.start"
        sleep 1
    done >"$TMP/rss.samples"
) &
track_pid $!

tcpreplay -q -i "$NETNS_HOST_IF" --pps "$PPS" --loop "$loops" "$TMP/soak.pcap" >"$TMP/tcpreplay.out" 2>&1 &
REPLAY=$!
track_pid "$REPLAY"

# Clients that come and go until the end.
SUBS=('{"subscribe":{"types":["flow","flow_purge"]}}'
      '{"subscribe":{"types":["flow"],"protocols":["dns","tls"]}}'
      '{"subscribe":{"types":["agent_status"]}}'
      '{"subscribe":{"protocols":["http"]}}')
CAT_ARGS=("--type flow" "--type flow_purge --type flow_status" "--protocol dns" "")
(
    i=0
    while (($(elapsed) < SECS)) && ! fs_exited; do
        d=$((1 + i % 3))
        if ((i % 2)); then
            # shellcheck disable=SC2086
            timeout "$d" "$CAT" ${CAT_ARGS[i % 4]} "unix:$SOCK" >/dev/null 2>>"$TMP/churn.err"
        else
            timeout "$d" python3 "$READER" --send "${SUBS[i % 4]}" --quiet "unix:$SOCK" >/dev/null 2>>"$TMP/churn.err"
        fi
        i=$((i + 1))
        echo "$i" >"$TMP/churn.count"
    done
) &
CHURN=$!
track_pid "$CHURN"

while (($(elapsed) < SECS)); do
    fs_exited && fail "flowsensed exited during the soak"
    kill -0 "$KEEPER" 2>/dev/null || fail "the client that keeps up lost its stream"
    sleep 1
done
kill "$REPLAY" 2>/dev/null
wait "$REPLAY" 2>/dev/null
wait "$CHURN" 2>/dev/null
roles >"$TMP/roles.end"
cmp -s "$TMP/roles.start" "$TMP/roles.end" \
    || fail "processes changed: $(tr '\n' ' ' <"$TMP/roles.start") -> $(tr '\n' ' ' <"$TMP/roles.end")"
sleep 2
fs_finish 60 TERM

say "clients that came and went: $(cat "$TMP/churn.count" 2>/dev/null || echo 0)"
out=$TMP/keeper.ndjson
final=$(jq -c 'select(.type == "agent_status")' "$out" | tail -n 1)
flows=$(count_flows "$out") purges=$(count_type "$out" flow_purge)
total=$(jq '[.workers[].flows_total] | add' <<<"$final")
say "keeper: $(wc -l <"$out") records, $flows flows, $purges purges; final: flows_total $total, capture $(jq -c '.capture | {packets, pcap_drop, ring_drops, events_dropped, worker_restarts, broker_restarts}' <<<"$final"), clients $(jq -c '.clients | {accepted, refused, dropped_slow}' <<<"$final")"
[[ $(jq -c '[.capture.worker_restarts, .capture.broker_restarts]' <<<"$final") == '[0,0]' ]] || fail "a process restarted"
[[ $(jq -c '[.capture.events_dropped, .events.dropped, ([.workers[].events_dropped] | add), .clients.dropped_slow]' <<<"$final") == '[0,0,0,0]' ]] \
    || fail "records were dropped: $(jq -c '{capture: .capture.events_dropped, events, clients}' <<<"$final")"
((flows > 0 && flows == purges && flows == total)) || fail "the keeper's stream is not whole: $flows flows, $purges purges, flows_total $total"
unmatched=$(jq -s '([.[] | select(.type == "flow") | .flow.digest] | unique) - ([.[] | select(.type == "flow_purge") | .flow.digest] | unique) | length' "$out")
((unmatched == 0)) || fail "$unmatched flows have no purge"
(($(jq .clients.accepted <<<"$final") >= SECS / 4)) || fail "too few clients came and went: $(jq -c .clients <<<"$final")"

python3 "$ROOT/tests/lib/soak_rss.py" "$TMP/rss.samples" "$WARMUP" "$SLOPE" "$GROWTH_KB" >"$TMP/rss.verdict"
rc=$?
sed "s/^/$TEST_NAME: /" "$TMP/rss.verdict" | sed '$d'
tail -n 1 "$TMP/rss.verdict" >"${SOAK_SUMMARY:-/dev/null}"
((rc == 0)) || fail "memory grew beyond the bound (slope < $SLOPE KiB/s, peak <= warm-up peak + $GROWTH_KB kB)"
say "ok: $SECS s, $flows flows all purged, no restart, no drop of records; RSS flat (bounds: slope < $SLOPE KiB/s, peak <= warm-up peak + $GROWTH_KB kB)"

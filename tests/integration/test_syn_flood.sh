#!/usr/bin/env bash
# A SYN flood of 2 M distinct flows (tests/lib/gen_syn_flood.py) replayed
# with 2 workers and --max-flows 100000 (per worker):
#   - the flow table bound holds: each worker opens exactly 100000 flows and
#     refuses every other one, counted in flows_refused (each flow is one
#     SYN, so a worker refuses its packets less 100000);
#   - memory is flat: the peak VmRSS of every flowsense process, sampled
#     from /proc every 0.1 s, is no more than with a flood of 220 k SYNs
#     (which just fills both tables) + 10 % + 8 MiB (the capture process:
#     its rings + 16 MiB), and a worker stays under 24 MiB + 1.5 KiB per
#     flow of its table (ASan build: x3);
#   - the stream is whole: every flow record has its purge.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

SYNS=${SYN_FLOOD_SYNS:-2000000}
SMALL=220000
MAX_FLOWS=100000
WORKERS=2
RING_KB=$((4 * 1024)) # --ring-size, per worker
SCALE=1
[[ $BUILD_DIR == *asan* ]] && SCALE=3

# sample_rss OUT: every 0.1 s, "NAME PID VmRSS_kB" of each process in the
# session of the flowsensed of fs_start, until it is empty.
sample_rss() {
    local pid rss name
    while kill -0 "$FS_PID" 2>/dev/null || ! session_empty "$FS_PID"; do
        for pid in $(session_pids "$FS_PID"); do
            rss=$(status_field "$pid" VmRSS) || continue
            [[ -n $rss ]] || continue
            name=$(proc_name "$pid")
            # A process that ended between the two reads has no name left.
            [[ -n $name ]] || continue
            # The capture process is a fork of flowsensed: tell it apart.
            [[ $name == flowsensed && $pid != "$FS_PID" ]] && name=capture
            echo "$name $pid $rss"
        done
        sleep 0.1
    done >"$1"
}

# peaks FILE: "NAME PEAK_kB" per process kind (the largest of its processes).
peaks() { awk '{ if ($3 > m[$1]) m[$1] = $3 } END { for (k in m) print k, m[k] }' "$1" | sort; }

# flood N: replays a flood of N SYNs; the stream goes to $TMP/flood-N.out,
# the RSS samples to $TMP/rss-N.txt.
flood() {
    local n=$1 t0 t1
    python3 "$ROOT/tests/lib/gen_syn_flood.py" "$TMP/flood.pcap" "$n" || fail "gen_syn_flood.py"
    t0=${EPOCHREALTIME//[.,]/}
    FS_OUT=$TMP/flood-$n.out FS_ERR=$TMP/flood-$n.err \
        fs_start -r "$TMP/flood.pcap" --stdout -w "$WORKERS" --max-flows "$MAX_FLOWS" \
        --ring-size $((RING_KB * 1024))
    sample_rss "$TMP/rss-$n.txt" &
    local sampler=$!
    track_pid "$sampler"
    fs_wait 90 || fail "the replay of $n SYNs did not end within 90 s"
    wait "$sampler"
    t1=${EPOCHREALTIME//[.,]/}
    [[ $FS_RC == 0 ]] || fail "the replay of $n SYNs exited $FS_RC"
    assert_no_leftovers
    rm -f "$TMP/flood.pcap"
    say "$n SYNs replayed in $(((t1 - t0) / 1000)) ms; peak VmRSS (kB): $(peaks "$TMP/rss-$n.txt" | paste -sd ' ')"
}

flood "$SMALL"
flood "$SYNS"
OUT=$TMP/flood-$SYNS.out

# 1. The table bound, and what was refused.
final=$(jq -c 'select(.type == "agent_status")' "$OUT" | tail -n 1)
[[ $(jq .capture.packets <<<"$final") == "$SYNS" ]] || fail "the capture did not take all $SYNS SYNs: $(jq -c .capture <<<"$final")"
for ((i = 0; i < WORKERS; i++)); do
    w=$(jq -c --argjson i "$i" '.workers[] | select(.worker == $i) | {packets, flows_total, flows_refused, maxrss_kb}' <<<"$final")
    say "worker $i: $w"
    packets=$(jq .packets <<<"$w")
    ((packets > MAX_FLOWS)) || fail "worker $i got $packets SYNs, not enough to fill its table"
    [[ $(jq .flows_total <<<"$w") == "$MAX_FLOWS" ]] || fail "worker $i opened $(jq .flows_total <<<"$w") flows, not --max-flows $MAX_FLOWS"
    [[ $(jq .flows_refused <<<"$w") == $((packets - MAX_FLOWS)) ]] \
        || fail "worker $i refused $(jq .flows_refused <<<"$w") flows, expected $((packets - MAX_FLOWS)) (its SYNs less its table)"
done
refused=$(jq '[.workers[].flows_refused] | add' <<<"$final")
[[ $refused == $((SYNS - WORKERS * MAX_FLOWS)) ]] || fail "$refused flows refused in all, expected $((SYNS - WORKERS * MAX_FLOWS))"

# 2. Memory: the big flood needs no more than the small one.
limit_worker=$(((24 * 1024 + MAX_FLOWS * 3 / 2) * SCALE))
while read -r name peak; do
    if [[ $name == capture ]]; then
        # It maps the rings (shared memory): their pages count once touched,
        # and the small flood is over too soon to be sampled.
        bound=$((WORKERS * RING_KB + 16384))
        say "capture: peak VmRSS $peak kB with $SYNS SYNs (bound: its rings, $((WORKERS * RING_KB)) kB, + 16 MiB)"
    else
        small=$(peaks "$TMP/rss-$SMALL.txt" | awk -v n="$name" '$1 == n { print $2 }')
        [[ -n $small ]] || fail "no $name was sampled during the small flood"
        bound=$((small * 110 / 100 + 8192))
        say "$name: peak VmRSS $peak kB with $SYNS SYNs, $small kB with $SMALL (bound $bound kB)"
    fi
    ((peak <= bound)) || fail "$name grew with the flood: $peak kB > $bound kB"
    if [[ $name == flowsense-worker ]]; then
        ((peak <= limit_worker)) || fail "a worker peaked at $peak kB, over $limit_worker kB for $MAX_FLOWS flows"
    fi
done < <(peaks "$TMP/rss-$SYNS.txt")
[[ $(peaks "$TMP/rss-$SYNS.txt" | wc -l) == 4 ]] \
    || fail "not every kind of process was sampled: $(peaks "$TMP/rss-$SYNS.txt" | paste -sd ' ')"

# 3. The stream: one flow and one purge per flow in the tables.
summary=$(python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows $((WORKERS * MAX_FLOWS)) "$OUT") \
    || fail "the stream breaks the contract: $summary"
say "stream: $summary"
flows=$(count_type "$OUT" flow)
[[ $flows == $((WORKERS * MAX_FLOWS)) ]] || fail "$flows flow records, expected $((WORKERS * MAX_FLOWS))"
say "ok: $SYNS SYNs, $((WORKERS * MAX_FLOWS)) flows tracked, $refused refused and counted, memory flat"

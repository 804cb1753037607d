# shellcheck shell=bash
# The live part of `make bench`, sourced by bench.sh (it uses its say,
# die, record, $tmp, $running, $PCAP, $FLOWSENSED and $PYTHON):
#
#  5. zero-drop rate: a veth pair, one end in a network namespace made for
#     this run; `tcpreplay --pps=R --limit=N` of the bench capture into the
#     namespace's end while flowsensed (default workers, --stdout to a
#     file) or ndpiReader captures on the other end, one fresh process per
#     step, at rates doubling from BENCH_LIVE_START_PPS until a step drops,
#     then bisected.  A flowsense step passes when its workers counted
#     every packet tcpreplay sent and no counter shows a drop (libpcap's
#     pcap_drop and pcap_ifdrop, the ring drops, the oversized drops, the
#     workers' and broker's events_dropped) and the kernel's backlog
#     dropped nothing (/proc/net/softnet_stat and the veth's transmit
#     drops, which no capture sees).  A step that drops is tried once more
#     (BENCH_LIVE_TRIES).
#     ndpiReader 4.2 prints no drop counter: its step passes when its
#     "packets total" equals the packets sent.  Then flowsense once more at
#     twice its zero-drop rate, with every drop counter and the packets no
#     counter explains.  tcpreplay --topspeed with no capture running is
#     the ceiling.
#  6. latency: flowsensed with a UNIX socket and one client
#     (live_latency.py) at 15 % of flowsense's zero-drop rate: the client's
#     wall clock when a flow record arrives minus the record's
#     first_update_at (the detecting packet's kernel receive time, cut to
#     the ms: figures are upper bounds, at most 1 ms high); best p99 of
#     BENCH_LIVE_LATENCY_RUNS runs, as the other figures keep the best run
#     (on a shared machine the tail is other jobs' CPU time).
#
# Sets live_status ("ok", "skipped: why" or "failed: why") and records one
# {"tool":"live", ...} measurement.

BENCH_LIVE=${BENCH_LIVE:-1}
if [[ $BENCH_QUICK == 1 ]]; then
    BENCH_LIVE_PACKETS=${BENCH_LIVE_PACKETS:-100000}
    BENCH_LIVE_BISECT=${BENCH_LIVE_BISECT:-1}
    BENCH_LIVE_LATENCY_SECONDS=${BENCH_LIVE_LATENCY_SECONDS:-4}
    BENCH_LIVE_LATENCY_RUNS=${BENCH_LIVE_LATENCY_RUNS:-1}
fi
BENCH_LIVE_PACKETS=${BENCH_LIVE_PACKETS:-300000}
BENCH_LIVE_START_PPS=${BENCH_LIVE_START_PPS:-12500}
BENCH_LIVE_BISECT=${BENCH_LIVE_BISECT:-3}
BENCH_LIVE_STEP_SECONDS=${BENCH_LIVE_STEP_SECONDS:-4}
BENCH_LIVE_TRIES=${BENCH_LIVE_TRIES:-2}
BENCH_LIVE_LATENCY_SECONDS=${BENCH_LIVE_LATENCY_SECONDS:-8}
BENCH_LIVE_LATENCY_RUNS=${BENCH_LIVE_LATENCY_RUNS:-3}
LIVE_LATENCY_CLIENT=$here/live_latency.py
LIVE_NS=
LIVE_IF=
LIVE_PEER=
live_status=ok
live_steps=$tmp/live-steps.ndjson
live_offloads=default # the capture end's segmentation/receive offloads

# Why this machine cannot run the live part, or nothing.
live_cannot() {
    [[ $BENCH_LIVE == 1 ]] || { echo "BENCH_LIVE=$BENCH_LIVE"; return; }
    [[ $EUID == 0 ]] || { echo "not root (a network namespace and a veth pair need CAP_NET_ADMIN)"; return; }
    local c
    for c in ip tcpreplay; do
        command -v "$c" >/dev/null 2>&1 || { echo "$c is not installed (make deps)"; return; }
    done
    [[ -x $FLOWSENSED ]] || { echo "$FLOWSENSED is not built"; return; }
    [[ -r /proc/net/softnet_stat ]] || { echo "no /proc/net/softnet_stat"; return; }
}

# The namespace and the veth pair, named after this shell's PID (unique
# while it runs); the EXIT trap deletes the namespace, which takes the
# pair with it.  IPv6 is off on both ends so that the kernel sends nothing
# of its own (no router solicitation, no MLD): every packet is tcpreplay's.
live_setup() {
    LIVE_NS=flowsense-bench-$$
    LIVE_IF=fsb$$h
    LIVE_PEER=fsb$$p
    ip netns add "$LIVE_NS" 2>"$tmp/live-setup.err" || { LIVE_NS=; return 1; }
    ip link add "$LIVE_IF" type veth peer name "$LIVE_PEER" netns "$LIVE_NS" \
        2>>"$tmp/live-setup.err" || return 1
    echo 1 >"/proc/sys/net/ipv6/conf/$LIVE_IF/disable_ipv6" 2>>"$tmp/live-setup.err" || return 1
    ip netns exec "$LIVE_NS" sysctl -qw "net.ipv6.conf.$LIVE_PEER.disable_ipv6=1" \
        2>>"$tmp/live-setup.err" || return 1
    ip link set "$LIVE_IF" up 2>>"$tmp/live-setup.err" &&
        ip netns exec "$LIVE_NS" ip link set "$LIVE_PEER" up 2>>"$tmp/live-setup.err"
}

# shellcheck disable=SC2317  # called by bench.sh's cleanup
live_cleanup() {
    [[ -n $LIVE_NS ]] && ip netns del "$LIVE_NS" 2>/dev/null
    [[ -n $LIVE_IF ]] && ip link del "$LIVE_IF" 2>/dev/null
    LIVE_NS=
}

# Packets the kernel dropped on its per-CPU input queues (veth's receive
# path goes through them before any packet socket sees a packet).
softnet_drops() {
    local _p d _r s=0
    while read -r _p d _r; do
        s=$((s + 16#$d))
    done </proc/net/softnet_stat
    echo "$s"
}

# Packets the namespace's end could not hand to ours (veth counts them as
# its transmit drops: our end down, or its input queue full).
veth_drops() {
    ip -n "$LIVE_NS" -s -j link show "$LIVE_PEER" | jq '.[0].stats64.tx.dropped // 0'
}

# Both kernel drop counts as "softnet veth".
kernel_drops() { echo "$(softnet_drops) $(veth_drops)"; }

# replay PPS PACKETS: tcpreplay in the namespace (PPS "top": --topspeed);
# sets sent, sent_seconds, sent_pps, send_failed.
replay() {
    local pps=$1 n=$2 speed line
    if [[ $pps == top ]]; then speed=--topspeed; else speed=--pps=$pps; fi
    timeout -k 5 $((n / 1000 + 60)) ip netns exec "$LIVE_NS" \
        tcpreplay "$speed" --limit="$n" -i "$LIVE_PEER" "$PCAP" >"$tmp/replay.out" 2>&1 &
    running+=("$!")
    wait "$!"
    running=("${running[@]:0:${#running[@]}-1}")
    line=$(grep -m1 'Actual:' "$tmp/replay.out")
    if [[ ! $line =~ Actual:\ ([0-9]+)\ packets.*sent\ in\ ([0-9.]+)\ seconds ]]; then
        say "tcpreplay printed no 'Actual:' line:"
        tail -n 5 "$tmp/replay.out" >&2
        return 1
    fi
    sent=${BASH_REMATCH[1]}
    sent_seconds=${BASH_REMATCH[2]}
    sent_pps=$(grep -m1 -o 'Mbps, [0-9.]* pps' "$tmp/replay.out" | awk '{ printf "%.0f", $2 }')
    [[ $sent_pps =~ ^[0-9]+$ ]] || sent_pps=null
    send_failed=$(awk '/Failed packets:/ { print $3 }' "$tmp/replay.out")
    [[ $send_failed =~ ^[0-9]+$ ]] || send_failed=null
}

# Packets of a step: BENCH_LIVE_STEP_SECONDS worth, at most BENCH_LIVE_PACKETS.
step_packets() {
    local n=$BENCH_LIVE_PACKETS
    [[ $1 != top && $(($1 * BENCH_LIVE_STEP_SECONDS)) -lt $n ]] && n=$(($1 * BENCH_LIVE_STEP_SECONDS))
    echo "$n"
}

last_status() { grep '"type":"agent_status"' "$1" | tail -n 1; }

# live_flowsense_step PPS: one flowsensed, one replay; appends the step to
# $live_steps and sets pass (true/false).
live_flowsense_step() {
    local pps=$1 n out=$tmp/live-fs.out pid waited=0 before after vbefore vafter status prev="" drain_t0
    n=$(step_packets "$pps")
    pass=false
    "$FLOWSENSED" -i "$LIVE_IF" --stdout -u nobody --update-interval 1 >"$out" 2>"$out.err" &
    pid=$!
    running+=("$pid")
    # Up once the broker has sent its first agent_status.
    until grep -qs '"type":"agent_status"' "$out"; do
        sleep 0.1
        waited=$((waited + 1))
        if [[ $waited -gt 100 ]] || ! kill -0 "$pid" 2>/dev/null; then
            say "flowsensed -i $LIVE_IF did not start:"
            tail -n 5 "$out.err" >&2
            kill -TERM "$pid" 2>/dev/null
            wait "$pid"
            running=("${running[@]:0:${#running[@]}-1}")
            return 1
        fi
    done
    read -r before vbefore <<<"$(kernel_drops)"
    replay "$pps" "$n" || { kill -TERM "$pid"; wait "$pid"; running=("${running[@]:0:${#running[@]}-1}"); return 1; }
    # Drained when the workers counted every packet sent, or when two
    # agent_status records a second apart show the same count.
    drain_t0=$EPOCHREALTIME
    for _ in $(seq 1 60); do
        sleep 0.5
        status=$(last_status "$out" | jq -c '[.capture.packets, ([.workers[]?.packets] | add // 0)]')
        [[ $(jq '.[1]' <<<"$status") -ge $sent ]] && break
        [[ $status == "$prev" ]] && break
        prev=$status
    done
    local drain_seconds
    drain_seconds=$(seconds_since "$drain_t0")
    read -r after vafter <<<"$(kernel_drops)"
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    running=("${running[@]:0:${#running[@]}-1}")
    [[ $rc == 0 ]] || { say "flowsensed -i $LIVE_IF exited with status $rc"; tail -n 5 "$out.err" >&2; return 1; }
    last_status "$out" | jq -c --arg pps "$pps" --argjson sent "$sent" --argjson secs "$sent_seconds" \
        --argjson sent_pps "$sent_pps" --argjson failed "$send_failed" \
        --argjson backlog $((after - before)) --argjson veth $((vafter - vbefore)) \
        --argjson drain "$drain_seconds" --arg offloads "$live_offloads" '
        .capture as $c
        | ([.workers[]?.packets] | add // 0) as $counted
        | { pcap_drop: $c.pcap_drop, pcap_ifdrop: $c.pcap_ifdrop,
            ring_drops: ($c.ring_drops | add // 0), oversized_drops: $c.oversized_drops,
            dns_hint_drops: $c.dns_hint_drops,
            worker_events_dropped: ([.workers[]?.events_dropped] | add // 0),
            events_dropped: .events.dropped, capture_events_dropped: $c.events_dropped,
            kernel_backlog_drops: $backlog, veth_drops: $veth } as $d
        | { tool: "flowsense", pps_requested: ($pps | tonumber? // "topspeed"), packets_sent: $sent, send_seconds: $secs,
            pps_sent: $sent_pps, send_failed: $failed, pcap_recv: $c.pcap_recv,
            capture_packets: $c.packets, packets_counted: $counted, workers: (.workers | length),
            drops: $d, drops_counted: ($d | [.pcap_drop, .pcap_ifdrop, .ring_drops, .oversized_drops] | add),
            drain_seconds: $drain, offloads: $offloads }
        | .unaccounted = (.packets_sent - .packets_counted - .drops_counted)
        | .pass = (.packets_counted == .packets_sent and ($d | [.[]] | add) == 0)' \
        >>"$live_steps" || return 1
    pass=$(tail -n 1 "$live_steps" | jq -r .pass)
    say "live: flowsense at $pps pps (offloads $live_offloads): sent $sent, counted $(tail -n 1 "$live_steps" | jq -c '[.packets_counted, .drops]'): $([[ $pass == true ]] && echo pass || echo DROPS)"
}

# CPU ticks a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# live_ndpi_step PPS: as live_flowsense_step for ndpiReader, which is
# stopped by SIGINT once it has been idle for a second (all read).
live_ndpi_step() {
    local pps=$1 n out=$tmp/live-ndpi.out pid before after vbefore vafter t prev=-1 total
    n=$(step_packets "$pps")
    pass=false
    ndpiReader -i "$LIVE_IF" >"$out" 2>"$out.err" &
    pid=$!
    running+=("$pid")
    sleep 1
    kill -0 "$pid" 2>/dev/null || {
        say "ndpiReader -i $LIVE_IF did not start:"
        tail -n 5 "$out.err" >&2
        wait "$pid"
        running=("${running[@]:0:${#running[@]}-1}")
        return 1
    }
    read -r before vbefore <<<"$(kernel_drops)"
    replay "$pps" "$n" || { kill -INT "$pid"; wait "$pid"; running=("${running[@]:0:${#running[@]}-1}"); return 1; }
    local drain_t0=$EPOCHREALTIME
    for _ in $(seq 1 60); do
        sleep 0.5
        t=$(cpu_ticks "$pid")
        [[ $t == "$prev" ]] && break
        prev=$t
    done
    local drain_seconds
    drain_seconds=$(seconds_since "$drain_t0")
    read -r after vafter <<<"$(kernel_drops)"
    kill -INT "$pid"
    wait "$pid"
    running=("${running[@]:0:${#running[@]}-1}")
    total=$(awk '/IP packets:/ { print $5 }' "$out")
    [[ $total =~ ^[0-9]+$ ]] || { say "ndpiReader printed no packet total"; tail -n 5 "$out.err" >&2; return 1; }
    jq -cn --arg pps "$pps" --argjson sent "$sent" --argjson secs "$sent_seconds" \
        --argjson sent_pps "$sent_pps" --argjson failed "$send_failed" --argjson total "$total" \
        --argjson backlog $((after - before)) --argjson veth $((vafter - vbefore)) \
        --argjson drain "$drain_seconds" --arg offloads "$live_offloads" '
        { tool: "ndpireader", offloads: $offloads, pps_requested: ($pps | tonumber? // "topspeed"), packets_sent: $sent, send_seconds: $secs,
          pps_sent: $sent_pps, send_failed: $failed, packets_counted: $total,
          drops: { kernel_backlog_drops: $backlog, veth_drops: $veth }, drain_seconds: $drain,
          unaccounted: ($sent - $total) }
        | .pass = (.packets_counted == .packets_sent and $backlog == 0 and $veth == 0)' >>"$live_steps" || return 1
    pass=$(tail -n 1 "$live_steps" | jq -r .pass)
    say "live: ndpiReader at $pps pps: sent $sent, counted $total: $([[ $pass == true ]] && echo pass || echo DROPS)"
}

# live_try TOOL PPS: the step, tried again when it dropped (up to
# BENCH_LIVE_TRIES times; the machine is shared, and the other figures keep
# their best run too); sets pass.
live_try() {
    local try
    for ((try = 1; try <= BENCH_LIVE_TRIES; try++)); do
        "live_${1}_step" "$2" || return 1
        [[ $pass == true ]] && return 0
    done
    return 0
}

# live_search TOOL: doubles the rate from BENCH_LIVE_START_PPS until a
# step drops (or the rate passes tcpreplay's ceiling), then bisects;
# sets live_found to the highest passing rate (0: none).
live_search() {
    local tool=$1 r=$BENCH_LIVE_START_PPS good=0 bad=0 i mid
    live_found=0
    while :; do
        if [[ $r -gt $live_ceiling ]]; then
            live_try "$tool" top || return 1
            if [[ $pass == true ]]; then
                live_found=$(tail -n 1 "$live_steps" | jq -r '.pps_sent')
                return 0
            fi
            bad=$live_ceiling
            break
        fi
        live_try "$tool" "$r" || return 1
        if [[ $pass == true ]]; then good=$r; r=$((r * 2)); else bad=$r; break; fi
    done
    for ((i = 0; i < BENCH_LIVE_BISECT; i++)); do
        mid=$(((good + bad) / 2 / 500 * 500))
        [[ $mid -gt $good && $mid -lt $bad ]] || break
        live_try "$tool" "$mid" || return 1
        if [[ $pass == true ]]; then good=$mid; else bad=$mid; fi
    done
    live_found=$good
}

# stop_pids PID...: ends processes this script started, and forgets them.
stop_pids() {
    kill -TERM "$@" 2>/dev/null
    wait "$@" 2>/dev/null
    running=()
}

# live_latency_run PPS: flowsensed with a socket and the timing client.
live_latency_run() {
    local pps=$1 n sock=$tmp/live.sock out=$tmp/live-lat.out pid cpid waited=0
    n=$((pps * BENCH_LIVE_LATENCY_SECONDS))
    rm -f "$sock" "$tmp/lat.json" "$tmp/lat.ready"
    "$FLOWSENSED" -i "$LIVE_IF" --listen "unix:$sock" -u nobody --update-interval 1 >"$out" 2>"$out.err" &
    pid=$!
    running+=("$pid")
    "$PYTHON" "$LIVE_LATENCY_CLIENT" --socket "$sock" --out "$tmp/lat.json" --ready "$tmp/lat.ready" \
        2>"$tmp/lat.err" &
    cpid=$!
    running+=("$cpid")
    until [[ -e $tmp/lat.ready ]]; do
        sleep 0.1
        waited=$((waited + 1))
        if [[ $waited -gt 200 ]] || ! kill -0 "$cpid" 2>/dev/null; then
            say "the latency client could not connect:"
            tail -n 5 "$out.err" "$tmp/lat.err" >&2
            stop_pids "$pid" "$cpid"
            return 1
        fi
    done
    sleep 1 # the connect-time records go first
    replay "$pps" "$n" || { stop_pids "$pid" "$cpid"; return 1; }
    sleep 2
    kill -TERM "$pid"
    wait "$pid"
    wait "$cpid" || { say "the latency client failed:"; tail -n 5 "$tmp/lat.err" >&2; running=(); return 1; }
    running=()
    jq -c --argjson pps "$pps" --argjson sent "$sent" --argjson sent_pps "$sent_pps" \
        --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
        .last_agent_status as $s
        | { pps_requested: $pps, pps_sent: $sent_pps, packets_sent: $sent,
            packets_counted: ([$s.workers[]?.packets] | add // 0),
            drops_counted: ($s.capture | [.pcap_drop, .pcap_ifdrop, (.ring_drops | add // 0), .oversized_drops] | add),
            events_dropped: $s.events.dropped, clients_dropped_slow: $s.clients.dropped_slow,
            flow_records: .flow_records, at_purge: .at_purge,
            by_packet: .by_packet, by_packet_guessed: .by_packet_guessed, stream_error,
            load: $load }' "$tmp/lat.json" >>"$tmp/live-latency.ndjson"
}

# The capture end's offload features as ethtool shows them (libpcap sizes
# each slot of its live ring for the largest packet the interface can
# hand it: the snap length when segmentation or receive offload is on,
# the MTU otherwise).
offload_features() {
    command -v ethtool >/dev/null 2>&1 || { echo null; return; }
    ethtool -k "$LIVE_IF" 2>/dev/null |
        awk -F': ' '/^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):/ {
                printf "%s\"%s\":\"%s\"", n++ ? "," : "{", $1, $2 } END { print n ? "}" : "null" }'
}

live_main() {
    : >"$live_steps"
    local why
    why=$(live_cannot)
    if [[ -n $why ]]; then
        live_status="skipped: $why"
        say "live: skipped: $why"
        record tool='"live"' status="$(jq -n --arg s "$live_status" '$s')"
        return 0
    fi
    if ! live_setup; then
        live_status="skipped: cannot create a namespace and a veth pair: $(tr '\n' ' ' <"$tmp/live-setup.err")"
        say "live: $live_status"
        live_cleanup
        record tool='"live"' status="$(jq -n --arg s "$live_status" '$s')"
        return 0
    fi
    local t0=$EPOCHREALTIME fs_rate nd_rate=null twice lat_rate load features off_rate=null
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    features=$(offload_features)
    say "live: veth $LIVE_IF <-> $LIVE_NS/$LIVE_PEER; offloads $features; load $load"
    replay top "$BENCH_LIVE_PACKETS" || { live_status="failed: tcpreplay"; live_cleanup; return 0; }
    live_ceiling=$sent_pps
    local ceiling_json
    ceiling_json=$(jq -cn --argjson s "$sent" --argjson secs "$sent_seconds" --argjson pps "$sent_pps" \
        '{packets_sent: $s, send_seconds: $secs, pps: $pps}')
    say "live: tcpreplay --topspeed: $live_ceiling pps"
    if ! live_search flowsense; then
        live_status="failed: a flowsense live step failed"
        flowsense_failed=1
        live_cleanup
        record tool='"live"' status="$(jq -n --arg s "$live_status" '$s')"
        return 0
    fi
    fs_rate=$live_found
    if [[ $baseline_failed == 0 ]]; then
        if live_search ndpi; then nd_rate=$live_found; else say "live: an ndpiReader step failed"; fi
    fi
    # Twice flowsense's zero-drop rate (tcpreplay's ceiling at most).
    twice=$((fs_rate * 2))
    [[ $fs_rate -gt 0 && $twice -le $live_ceiling ]] || twice=top
    local twice_json=null
    live_flowsense_step "$twice" && twice_json=$(tail -n 1 "$live_steps")
    # Latency at 15 % of the zero-drop rate.
    lat_rate=$((fs_rate * 15 / 100))
    [[ $lat_rate -ge 1000 ]] || lat_rate=1000
    : >"$tmp/live-latency.ndjson"
    for _ in $(seq 1 "$BENCH_LIVE_LATENCY_RUNS"); do
        live_latency_run "$lat_rate" || say "live: a latency run failed"
    done
    jq -cs 'if length == 0 then null else
        (map(select(.by_packet.count > 0)) | min_by(.by_packet.p99_ms) // null)
        + {runs: length, p99_ms_all: map(.by_packet.p99_ms)} end' \
        "$tmp/live-latency.ndjson" >"$tmp/live-latency.json"
    # flowsense again with the offloads off, as capture guides advise.
    if [[ $features != null ]] &&
        ethtool -K "$LIVE_IF" gro off gso off tso off >/dev/null 2>"$tmp/ethtool.err"; then
        live_offloads=off
        sleep 2 # the link settles (a feature change may reset it)
        if live_search flowsense; then off_rate=$live_found; else say "live: a flowsense step failed"; fi
    else
        say "live: cannot turn the offloads off: $(cat "$tmp/ethtool.err" 2>/dev/null)"
    fi
    live_cleanup
    record tool='"live"' status='"ok"' load_before="$(jq -cn --arg l "$load" '$l')" \
        load_after="$(jq -cn --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" '$l')" \
        packets_per_step="$BENCH_LIVE_PACKETS" seconds_per_step="$BENCH_LIVE_STEP_SECONDS" \
        offloads="$features" ceiling="$ceiling_json" \
        flowsense_zero_drop_pps="$fs_rate" ndpireader_zero_drop_pps="$nd_rate" \
        flowsense_offloads_off_zero_drop_pps="$off_rate" \
        flowsense_at_twice="$twice_json" latency="$(cat "$tmp/live-latency.json")" \
        steps="$(jq -cs . "$live_steps")" seconds="$(seconds_since "$t0")"
}

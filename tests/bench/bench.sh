#!/usr/bin/env bash
# `make bench`: the figures of issue 5, each measured against its baseline
# in the same run (runs interleaved, so a noisy neighbour hurts every tool
# alike), then a table and a last line `BENCH {json}` for machines.
#
#  1. throughput: packets/s and peak memory of flowsense (default worker
#     count and 1, 2, 4 workers), of ndpiReader (same nDPI, one thread) and
#     of a bare libpcap read loop, on a capture of many short flows made by
#     build/tools/gen_bench_pcap out of tests/pcap/* and ../shared/pcap/*;
#  2. transport: `flowsensed --count-only` (capture -> ring -> a worker
#     that only counts) against the bare read loop, both timed over their
#     loops only (flowsensed from all workers ready to all rings drained);
#     the read loop is also run reading the file the way flowsensed does
#     (1 MiB stdio buffer, no stdio lock), for reference;
#  3. long flows: the same tools on a capture of bulk HTTP downloads
#     (build/tools/gen_synth_pcap bulk), where most packets come after
#     detection;
#  4. memory: a capture of BENCH_MEM_FLOWS DNS flows that all stay open
#     to the end (gen_synth_pcap dns); the sum of RSS (and of PSS) of all
#     flowsense processes, sampled during the replay, per flow held at the
#     end (its flow_purge records with reason "terminated"), against
#     ndpiReader's peak RSS per flow on the same file;
#  5. live zero-drop rate and 6. detection latency on a veth pair in a
#     network namespace made for the run (tcpreplay --pps into it):
#     tests/bench/live.sh says how.
#
# Captures live in $BUILD/bench and are made again when their generator,
# inputs or size change.  tests/bench/tree_memory.py runs each flowsensed
# and samples the memory of all its processes.
#
# Environment (all optional):
#   BENCH_QUICK=1          smaller captures, 2 runs (under a minute; start-up
#                          weighs more, so the ratios move more)
#   BENCH_PACKETS=1000000  least packets in the many-short-flows capture
#   BENCH_PCAP=FILE        measure this capture instead of generating one
#   BENCH_WORKERS="default 1 2 4"  flowsense worker counts ("default" = no
#                          -w, flowsensed's own choice)
#   BENCH_TRANSPORT_WORKERS="default 2"  worker counts of the transport runs
#   BENCH_MEM_FLOWS=1000000  flows of the memory capture (0: skip it)
#   BENCH_BULK="64 5000"   long-flow capture: flows, packets per flow
#   BENCH_RUNS=3           runs of each tool; the fastest counts (the
#                          machine is shared), the largest memory peak counts
#   BENCH_TIMEOUT=180      seconds one run may take before it is stopped
#   BENCH_PSS=1            also sample PSS of the flowsense processes
#   BENCH_LIVE=1           the live part (0: skip it; it is skipped, saying
#                          why, without root, ip or tcpreplay)
#   BENCH_LIVE_PACKETS=300000  most packets tcpreplay sends per step
#   BENCH_LIVE_START_PPS=12500  first rate of the search; it doubles
#   BENCH_LIVE_BISECT=3    bisection steps after the first rate that drops
#   BENCH_LIVE_STEP_SECONDS=4  a slow step sends this long at most
#   BENCH_LIVE_TRIES=2     tries of a step before it counts as dropping
#   BENCH_LIVE_LATENCY_SECONDS=8  length of the latency run
#   BUILD=build            build directory
#
# Exit status: 0 when every tool was measured; 1 on a harness error (a
# tool or input missing, the generator or a baseline failing); 2 when
# flowsense itself is missing or a flowsense run failed (the baselines are
# still printed).  Slow results and missed targets never fail.
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1

BUILD=${BUILD:-build}
BENCH_QUICK=${BENCH_QUICK:-0}
if [[ $BENCH_QUICK == 1 ]]; then
    BENCH_PACKETS=${BENCH_PACKETS:-300000}
    BENCH_RUNS=${BENCH_RUNS:-2}
    BENCH_MEM_FLOWS=${BENCH_MEM_FLOWS:-500000}
    BENCH_BULK=${BENCH_BULK:-32 2000}
fi
BENCH_PACKETS=${BENCH_PACKETS:-1000000}
BENCH_PCAP=${BENCH_PCAP:-}
BENCH_WORKERS=${BENCH_WORKERS:-default 1 2 4}
BENCH_TRANSPORT_WORKERS=${BENCH_TRANSPORT_WORKERS:-default 2}
BENCH_MEM_FLOWS=${BENCH_MEM_FLOWS:-1000000}
BENCH_BULK=${BENCH_BULK:-64 5000}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-180}
BENCH_PSS=${BENCH_PSS:-1}

GEN=$BUILD/tools/gen_bench_pcap
GEN_SYNTH=$BUILD/tools/gen_synth_pcap
READ_LOOP=$BUILD/tools/pcap_read_loop
READ_BUFFER=1048576 # flowsensed's stdio buffer (capture/source.c)
FLOWSENSED=$BUILD/bin/flowsensed
SAMPLER=$here/tree_memory.py
OUT_DIR=$BUILD/bench

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
is_count() { [[ $1 =~ ^[0-9]+$ && $1 -gt 0 ]]; }

# ---- harness checks ----------------------------------------------------
is_count "$BENCH_PACKETS" || die "BENCH_PACKETS='$BENCH_PACKETS' is not a packet count"
is_count "$BENCH_RUNS" || die "BENCH_RUNS='$BENCH_RUNS' is not a run count"
is_count "$BENCH_TIMEOUT" || die "BENCH_TIMEOUT='$BENCH_TIMEOUT' is not a number of seconds"
read -r -a WORKERS <<<"$BENCH_WORKERS"
read -r -a TWORKERS <<<"$BENCH_TRANSPORT_WORKERS"
[[ ${#WORKERS[@]} -gt 0 ]] || die "BENCH_WORKERS is empty"
for w in "${WORKERS[@]}" "${TWORKERS[@]}"; do
    [[ $w == default ]] || is_count "$w" || die "BENCH_WORKERS: '$w' is neither a count nor 'default'"
done
[[ $BENCH_MEM_FLOWS =~ ^[0-9]+$ ]] || die "BENCH_MEM_FLOWS='$BENCH_MEM_FLOWS' is not a flow count"
read -r BULK_FLOWS BULK_PACKETS <<<"$BENCH_BULK"
is_count "${BULK_FLOWS:-}" && is_count "${BULK_PACKETS:-}" ||
    die "BENCH_BULK='$BENCH_BULK' is not 'FLOWS PACKETS_PER_FLOW'"

for c in jq ndpiReader timeout awk; do
    command -v "$c" >/dev/null 2>&1 || die "$c is not installed (make deps)"
done
/usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "GNU time (/usr/bin/time) is missing (apt-get install time)"
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3) || die "python3 is not installed (make deps)"
for t in "$GEN" "$GEN_SYNTH" "$READ_LOOP"; do
    [[ -x $t ]] || die "$t is not built (make $t)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowsense-bench.XXXXXX") || die "mktemp failed"
running=()   # PIDs this script started and has not reaped yet
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${running[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    # The sampler stops its command, then writes into $tmp.
    [[ ${#running[@]} -eq 0 ]] || wait "${running[@]}" 2>/dev/null
    live_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# shellcheck source=tests/bench/live.sh
source "$here/live.sh" || die "cannot read $here/live.sh"
results=$tmp/results.ndjson
: >"$results"

# Appends one measurement as a JSON object: record KEY=JSON...
record() {
    local args=() kv
    for kv in "$@"; do
        args+=(--argjson "${kv%%=*}" "${kv#*=}")
    done
    jq -cn "${args[@]}" '$ARGS.named' >>"$results" || die "cannot record $*"
}

# ---- the capture -------------------------------------------------------
mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
inputs=()
for f in tests/pcap/*.pcap tests/pcap/*.pcapng "$top/../shared/pcap"/*.pcap "$top/../shared/pcap"/*.pcapng; do
    [[ -f $f ]] && inputs+=("$f")
done

# Which inputs and generator made a capture; it is remade when that changes.
describe_inputs() {
    echo "packets=$1"
    sha256sum tests/tools/gen_bench_pcap.c | cut -d' ' -f1
    [[ ${#inputs[@]} -gt 0 ]] && stat -c '%n %s %Y' "${inputs[@]}"
}

# generate OUT MIN_PACKETS: (re)makes OUT unless it is up to date.
generate() {
    local out=$1 n=$2
    describe_inputs "$n" >"$tmp/params"
    if [[ -f $out ]] && cmp -s "$tmp/params" "$out.params"; then
        return 0
    fi
    [[ ${#inputs[@]} -gt 0 ]] || die "no input captures in tests/pcap or ../shared/pcap"
    say "generating $out (at least $n packets from ${#inputs[@]} captures)"
    rm -f "$out.params"
    "$GEN" -o "$out" -n "$n" "${inputs[@]}" 2>"$tmp/gen.err" >"$tmp/gen.out" ||
        { cat "$tmp/gen.err" >&2; die "gen_bench_pcap failed"; }
    say "$(cat "$tmp/gen.out"); $(grep -c skipping "$tmp/gen.err") inputs skipped (not Ethernet)"
    cp "$tmp/params" "$out.params"
}

if [[ -n $BENCH_PCAP ]]; then
    [[ -r $BENCH_PCAP ]] || die "BENCH_PCAP=$BENCH_PCAP is not readable"
    PCAP=$BENCH_PCAP
else
    PCAP=$OUT_DIR/bench.pcap
    generate "$PCAP" "$BENCH_PACKETS"
fi
# One input alone: what each tool holds with almost no flows.
IDLE_PCAP=
if [[ ${#inputs[@]} -gt 0 ]]; then
    IDLE_PCAP=$OUT_DIR/idle.pcap
    generate "$IDLE_PCAP" 1
fi
# synth OUT MODE ARGS...: (re)makes OUT with gen_synth_pcap unless it is
# up to date.
synth() {
    local out=$1
    shift
    { echo "$*"; sha256sum tests/tools/gen_synth_pcap.c | cut -d' ' -f1; } >"$tmp/params"
    if [[ -f $out ]] && cmp -s "$tmp/params" "$out.params"; then
        return 0
    fi
    say "generating $out ($*)"
    rm -f "$out.params"
    "$GEN_SYNTH" "$@" -o "$out" 2>"$tmp/gen.err" >"$tmp/gen.out" ||
        { cat "$tmp/gen.err" >&2; die "gen_synth_pcap failed"; }
    say "$(cat "$tmp/gen.out")"
    cp "$tmp/params" "$out.params"
}
BULK_PCAP=$OUT_DIR/bulk-$BULK_FLOWS-$BULK_PACKETS.pcap
synth "$BULK_PCAP" bulk -f "$BULK_FLOWS" -p "$BULK_PACKETS"
MEM_PCAP=
if [[ $BENCH_MEM_FLOWS -gt 0 ]]; then
    MEM_PCAP=$OUT_DIR/dns-$BENCH_MEM_FLOWS.pcap
    synth "$MEM_PCAP" dns -f "$BENCH_MEM_FLOWS"
fi
# Read once so that every tool finds them in the page cache.
cat "$PCAP" "$BULK_PCAP" >/dev/null || die "cannot read $PCAP or $BULK_PCAP"

# ---- measuring ---------------------------------------------------------
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

# timed OUT CMD...: runs a single-process tool; sets rc, secs, rss_kb.
timed() {
    local out=$1 t0
    shift
    t0=$EPOCHREALTIME
    timeout -k 10 "$BENCH_TIMEOUT" /usr/bin/time -f %M -o "$tmp/time" "$@" >"$out" 2>"$out.err"
    rc=$?
    secs=$(seconds_since "$t0")
    rss_kb=$(tail -n 1 "$tmp/time" 2>/dev/null)
    [[ $rss_kb =~ ^[0-9]+$ ]] || rss_kb=null
}

# flowsense_run OUT.json WORKERS PCAP [INTERVAL]: replays PCAP under the
# sampler, which times it and follows the memory of its whole process
# tree; sets rc, secs.
flowsense_run() {
    local memjson=$1 workers=$2 pcap=$3 interval=${4:-0.05} wopt=() samp=()
    [[ $workers == default ]] || wopt=(-w "$workers")
    [[ $BENCH_PSS == 1 ]] && samp=(--pss)
    rm -f "$memjson"
    "$PYTHON" "$SAMPLER" --out "$memjson" --stderr "$memjson.err" --interval "$interval" \
        --timeout "$BENCH_TIMEOUT" "${samp[@]}" -- \
        "$FLOWSENSED" -r "$pcap" "${wopt[@]}" --stdout -u nobody &
    running+=("$!")
    wait "$!" || die "the memory sampler failed (tests/bench/tree_memory.py)"
    running=()
    if ! rc=$(jq -r '.exit_status' "$memjson") || ! secs=$(jq -r '.seconds' "$memjson"); then
        die "the memory sampler wrote no result"
    fi
    if [[ $(jq -r '.timed_out' "$memjson") == true ]]; then rc=124; fi
}

baseline_failed=0
flowsense_failed=0

# read_loop_run RUN TOOL PCAP [-b BYTES]: the bare libpcap loop.
read_loop_run() {
    local run=$1 tool=$2 pcap=$3 line
    shift 3
    timed "$tmp/read.out" "$READ_LOOP" "$@" "$pcap"
    if [[ $rc != 0 ]]; then
        cat "$tmp/read.out.err" >&2
        die "pcap_read_loop failed on $pcap (exit $rc)"
    fi
    line=$(cat "$tmp/read.out")
    [[ $line =~ packets=([0-9]+)\ bytes=([0-9]+)\ seconds=([0-9.]+)\ pps=[0-9]+\ cpu=([0-9.]+) ]] ||
        die "pcap_read_loop printed '$line'"
    if [[ $tool == pcap_read ]]; then
        PACKETS=${BASH_REMATCH[1]}
        BYTES=${BASH_REMATCH[2]}
    fi
    record tool="\"$tool\"" run="$run" seconds="$secs" rss_kb="$rss_kb" \
        packets="${BASH_REMATCH[1]}" loop_seconds="${BASH_REMATCH[3]}" loop_cpu="${BASH_REMATCH[4]}"
}

# ndpi_run RUN [TOOL PCAP]
ndpi_run() {
    local run=$1 tool=${2:-ndpireader} pcap=${3:-$PCAP}
    timed "$tmp/ndpi.out" ndpiReader -i "$pcap" -q
    if [[ $rc != 0 ]]; then
        say "ndpiReader failed on $pcap (exit $rc):"
        tail -n 5 "$tmp/ndpi.out.err" >&2
        baseline_failed=1
        return 1
    fi
    record tool="\"$tool\"" run="$run" seconds="$secs" rss_kb="$rss_kb"
}

declare -A fs_status
for w in "${WORKERS[@]}"; do
    fs_status[$w]=ok
    [[ -x $FLOWSENSED ]] || fs_status[$w]="missing: $FLOWSENSED is not built"
done

fs_run() {
    local run=$1 w=$2
    local mem=$tmp/fs-$w-$run.json
    [[ ${fs_status[$w]} == ok ]] || return 0
    flowsense_run "$mem" "$w" "$PCAP"
    if [[ $rc != 0 ]]; then
        fs_status[$w]="failed: flowsensed exited with status $rc$([[ $rc == 124 ]] && echo " (timed out after ${BENCH_TIMEOUT}s)")"
        say "flowsense (workers=$w) ${fs_status[$w]}; its last messages:"
        tail -n 10 "$mem.err" >&2
        flowsense_failed=1
        return 0
    fi
    record tool='"flowsense"' workers="$(jq -n --arg w "$w" '$w')" run="$run" memory="$(cat "$mem")"
}

# transport_run RUN TOOL WORKERS PCAP: flowsensed --count-only; its
# capture process logs the loop's time, and the workers' packet counts
# (last agent_status) must add up to every packet of the file.
transport_run() {
    local run=$1 tool=$2 w=$3 pcap=$4 wopt=() line
    [[ ${fs_status[default]:-ok} == ok && -x $FLOWSENSED ]] || return 0
    [[ $w == default ]] || wopt=(-w "$w")
    timeout -k 10 "$BENCH_TIMEOUT" "$FLOWSENSED" -r "$pcap" "${wopt[@]}" --count-only --stdout \
        -u nobody >"$tmp/tr.out" 2>"$tmp/tr.err"
    rc=$?
    line=$(grep -o 'transport: .*' "$tmp/tr.err")
    if [[ $rc != 0 || ! $line =~ transport:\ ([0-9]+)\ packets\ in\ ([0-9.]+)\ s.*capture\ CPU\ ([0-9.]+) ]]; then
        say "flowsense --count-only (workers=$w) failed (exit $rc):"
        tail -n 5 "$tmp/tr.err" >&2
        flowsense_failed=1
        return 0
    fi
    local counted
    counted=$(jq -s '[.[] | select(.type == "agent_status")] | last | [.workers[]?.packets] | add // 0' \
        "$tmp/tr.out") || counted=null
    record tool="\"$tool\"" workers="$(jq -n --arg w "$w" '$w')" run="$run" \
        packets="${BASH_REMATCH[1]}" loop_seconds="${BASH_REMATCH[2]}" loop_cpu="${BASH_REMATCH[3]}" \
        worker_packets="$counted"
}

# bulk_fs_run RUN: flowsense (default workers) on the long-flow capture.
bulk_fs_run() {
    [[ ${fs_status[default]:-ok} == ok && -x $FLOWSENSED ]] || return 0
    timed "$tmp/bulk-fs.out" "$FLOWSENSED" -r "$BULK_PCAP" --stdout -u nobody
    if [[ $rc != 0 ]]; then
        say "flowsense on $BULK_PCAP failed (exit $rc)"
        tail -n 5 "$tmp/bulk-fs.out.err" >&2
        flowsense_failed=1
        return 0
    fi
    record tool='"flowsense_bulk"' run="$1" seconds="$secs" rss_kb=null \
        flows="$(grep -c '"type":"flow_purge"' "$tmp/bulk-fs.out")"
}

say "measuring $PCAP and $BULK_PCAP: $BENCH_RUNS runs each (timeout ${BENCH_TIMEOUT}s per run)"
bench_t0=$EPOCHREALTIME
# Runs are interleaved so that a noisy neighbour hurts every tool alike.
for run in $(seq 1 "$BENCH_RUNS"); do
    read_loop_run "$run" pcap_read "$PCAP"
    [[ $baseline_failed == 1 ]] || ndpi_run "$run"
    for w in "${WORKERS[@]}"; do
        fs_run "$run" "$w"
    done
    # The transport runs are short: three rounds against the read loops
    # per run, so that their best-of sees as many quiet moments.
    for _ in 1 2 3; do
        read_loop_run "$run" pcap_read "$PCAP"
        read_loop_run "$run" pcap_read_buffered "$PCAP" -b "$READ_BUFFER"
        for w in "${TWORKERS[@]}"; do
            transport_run "$run" transport "$w" "$PCAP"
        done
    done
    read_loop_run "$run" pcap_read_bulk "$BULK_PCAP"
    [[ $baseline_failed == 1 ]] || ndpi_run "$run" ndpireader_bulk "$BULK_PCAP"
    bulk_fs_run "$run"
    transport_run "$run" transport_bulk default "$BULK_PCAP"
    say "run $run/$BENCH_RUNS done ($(seconds_since "$bench_t0") s so far)"
done

# ---- counts that need the tools' output (not timed) ---------------------
# ndpiReader -q prints nothing: one more pass for its flow count.
if [[ $baseline_failed == 0 ]]; then
    if timeout -k 10 "$BENCH_TIMEOUT" ndpiReader -i "$PCAP" >"$tmp/ndpi-verbose.out" 2>&1; then
        awk '
            /Unique flows:/ { flows = $3 }
            /IP packets:/ { ip = $3; total = $5 }
            /nDPI throughput:/ { pps = $3; unit = $4 }
            END {
                mult = unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9 : 1
                printf "{\"tool\":\"ndpireader_counts\",\"flows\":%s,\"ip_packets\":%s,\"packets\":%s,\"self_pps\":%s}\n",
                    flows == "" ? "null" : flows, ip == "" ? "null" : ip,
                    total == "" ? "null" : total, pps == "" ? "null" : pps * mult
            }' "$tmp/ndpi-verbose.out" >>"$results"
    else
        say "ndpiReader (counting pass) failed"
        baseline_failed=1
    fi
fi

# flowsense: one more pass with its stdout counted (flow_purge = every flow).
first_ok=
for w in "${WORKERS[@]}"; do
    [[ ${fs_status[$w]} == ok ]] && { first_ok=$w; break; }
done
if [[ -n $first_ok ]]; then
    wopt=()
    [[ $first_ok == default ]] || wopt=(-w "$first_ok")
    timeout -k 10 "$BENCH_TIMEOUT" "$FLOWSENSED" -r "$PCAP" "${wopt[@]}" --stdout -u nobody \
        2>"$tmp/fs-count.err" |
        awk '
            /"type":"flow_purge"/ {
                purged++
                if (match($0, /"total_packets":[0-9]+/)) packets += substr($0, RSTART + 16, RLENGTH - 16)
            }
            /"type":"flow"[,}]/ { detected++ }
            END {
                printf "{\"tool\":\"flowsense_counts\",\"flows\":%d,\"flow_records\":%d,\"flow_packets\":%d}\n",
                    purged, detected, packets
            }' >"$tmp/fs-count.json"
    st=("${PIPESTATUS[@]}")
    if [[ ${st[0]} == 0 ]]; then
        cat "$tmp/fs-count.json" >>"$results"
    else
        say "flowsense counting pass failed (exit ${st[0]}); flows unknown"
        tail -n 5 "$tmp/fs-count.err" >&2
    fi
fi

# What each tool holds before it has seen much traffic.
if [[ -n $IDLE_PCAP ]]; then
    if [[ $baseline_failed == 0 ]]; then
        timed "$tmp/idle-ndpi.out" ndpiReader -i "$IDLE_PCAP" -q
        [[ $rc == 0 ]] && record tool='"ndpireader_idle"' rss_kb="$rss_kb"
    fi
    for w in "${WORKERS[@]}"; do
        [[ ${fs_status[$w]} == ok ]] || continue
        flowsense_run "$tmp/idle-fs.json" "$w" "$IDLE_PCAP" 0.002
        [[ $rc == 0 ]] && record tool='"flowsense_idle"' workers="$(jq -n --arg w "$w" '$w')" \
            memory="$(cat "$tmp/idle-fs.json")"
    done
fi

# ---- memory with many flows held at once --------------------------------
if [[ -n $MEM_PCAP ]]; then
    say "memory: $MEM_PCAP ($BENCH_MEM_FLOWS flows open at once)"
    if [[ -x $FLOWSENSED ]]; then
        mkfifo "$tmp/mem.fifo" || die "mkfifo failed"
        # Flows held at the end of the input are those purged as terminated.
        awk '
            /"type":"flow_purge"/ { purged++; if (/"reason":"terminated"/) held++ }
            /"type":"flow"[,}]/ { detected++ }
            /"type":"agent_status"/ && match($0, /"flows_refused":[0-9]+/) {
                refused = substr($0, RSTART + 16, RLENGTH - 16)
            }
            END {
                printf "{\"flows_purged\":%d,\"flows_held\":%d,\"flow_records\":%d,\"flows_refused\":%d}\n",
                    purged, held, detected, refused
            }' <"$tmp/mem.fifo" >"$tmp/mem-count.json" &
        reader=$!
        running+=("$reader")
        max_flows=$((BENCH_MEM_FLOWS > 1000000 ? BENCH_MEM_FLOWS : 1000000))
        "$PYTHON" "$SAMPLER" --out "$tmp/mem.json" --stdout "$tmp/mem.fifo" \
            --stderr "$tmp/mem.json.err" --interval 0.1 --timeout "$BENCH_TIMEOUT" --pss -- \
            "$FLOWSENSED" -r "$MEM_PCAP" --max-flows "$max_flows" --stdout -u nobody &
        running+=("$!")
        wait "$!" || die "the memory sampler failed (tests/bench/tree_memory.py)"
        wait "$reader"
        running=()
        if [[ $(jq -r '.exit_status' "$tmp/mem.json") == 0 ]]; then
            record tool='"flowsense_mem"' max_flows="$max_flows" memory="$(cat "$tmp/mem.json")" \
                counts="$(cat "$tmp/mem-count.json")"
        else
            say "flowsense on $MEM_PCAP failed:"
            tail -n 5 "$tmp/mem.json.err" >&2
            flowsense_failed=1
        fi
    fi
    if [[ $baseline_failed == 0 ]]; then
        timed "$tmp/mem-ndpi.out" ndpiReader -i "$MEM_PCAP"
        flows=$(awk '/Unique flows:/ { print $3 }' "$tmp/mem-ndpi.out")
        if [[ $rc == 0 && $flows =~ ^[0-9]+$ ]]; then
            record tool='"ndpireader_mem"' seconds="$secs" rss_kb="$rss_kb" flows="$flows"
        else
            say "ndpiReader on $MEM_PCAP failed (exit $rc)"
            baseline_failed=1
        fi
    fi
fi

# ---- live: zero-drop rate and detection latency ------------------------
live_main

# ---- report ------------------------------------------------------------
workers_json=$(printf '%s\n' "${WORKERS[@]}" | jq -R . | jq -cs .)
tworkers_json=$(printf '%s\n' "${TWORKERS[@]}" | jq -R . | jq -cs .)
status_json=$(for w in "${WORKERS[@]}"; do jq -cn --arg w "$w" --arg s "${fs_status[$w]}" '{($w): $s}'; done | jq -cs add)

bench_json=$(jq -cs \
    --arg pcap "$PCAP" --argjson packets "$PACKETS" --argjson bytes "$BYTES" \
    --argjson runs "$BENCH_RUNS" --argjson nproc "$(nproc)" \
    --argjson workers "$workers_json" --argjson status "$status_json" \
    --argjson tworkers "$tworkers_json" --arg bulk_pcap "$BULK_PCAP" \
    --arg mem_pcap "$MEM_PCAP" --argjson mem_flows "$BENCH_MEM_FLOWS" '
    def of($t): map(select(.tool == $t));
    def one($t): (of($t) | .[0]) // {};
    def pps($s): if $s == null or $s == 0 then null else ($packets / $s | round) end;
    def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
                       else ($a / $b * 1000 | round / 1000) end;
    def per_flow($peak; $idle; $flows):
        if $peak == null or $idle == null or $flows == null or $flows == 0 then null
        else (($peak - $idle) * 1024 / $flows | round) end;
    . as $all
    | (of("pcap_read")) as $rl
    | (of("ndpireader")) as $nd
    | one("ndpireader_counts") as $ndc
    | one("flowsense_counts") as $fsc
    | ({
        seconds: ($rl | map(.seconds) | min),
        seconds_all: ($rl | map(.seconds)),
        loop_seconds: ($rl | map(.loop_seconds) | min),
        peak_rss_kb: ($rl | map(.rss_kb) | max)
      } | .pps = pps(.seconds)) as $read
    | ((if ($nd | length) == 0 then {status: "failed"} else {
        status: "ok",
        seconds: ($nd | map(.seconds) | min),
        seconds_all: ($nd | map(.seconds)),
        peak_rss_kb: ($nd | map(.rss_kb) | max),
        idle_rss_kb: one("ndpireader_idle").rss_kb,
        flows: $ndc.flows,
        packets_seen: $ndc.packets,
        ip_packets: $ndc.ip_packets,
        self_reported_pps: $ndc.self_pps
      } end)
      | .pps = pps(.seconds)
      | .bytes_per_flow = per_flow(.peak_rss_kb; .idle_rss_kb; .flows)) as $ndpi
    | [ $workers[] as $w
        | ($all | of("flowsense") | map(select(.workers == $w))) as $fr
        | { workers: $w, status: $status[$w] }
        + if ($fr | length) == 0 then {} else {
            worker_processes: ($fr | map(.memory.max_count_by_name["flowsense-worker"]) | max),
            processes: ($fr | map(.memory.max_processes) | max),
            seconds: ($fr | map(.memory.seconds) | min),
            seconds_all: ($fr | map(.memory.seconds)),
            peak_rss_kb: ($fr | map(.memory.peak_rss_kb) | max),
            peak_pss_kb: ($fr | map(.memory.peak_pss_kb) | max),
            peak_rss_kb_by_process: ($fr | map(.memory.peak_rss_kb_by_name) | .[-1]),
            idle_rss_kb: ($all | of("flowsense_idle") | map(select(.workers == $w))
                          | .[0].memory.peak_rss_kb),
            flows: $fsc.flows,
            flow_records: $fsc.flow_records,
            flow_packets: $fsc.flow_packets
          } end
        | .pps = pps(.seconds)
        | .bytes_per_flow = per_flow(.peak_rss_kb; .idle_rss_kb; .flows)
        | .ratios = {
            pps_vs_ndpireader: ratio(.pps; $ndpi.pps),
            pps_vs_pcap_read: ratio(.pps; $read.pps),
            rss_vs_ndpireader: ratio(.peak_rss_kb; $ndpi.peak_rss_kb)
          }
      ] as $fs
    | def best($t): of($t) | if length == 0 then null else (min_by(.loop_seconds)) end;
    def lpps($r): if $r == null or $r.loop_seconds == 0 then null
                  else ($r.packets / $r.loop_seconds | round) end;
    def wall_best($t): of($t) | if length == 0 then null else
        { seconds: (map(.seconds) | min), seconds_all: map(.seconds),
          flows: .[0].flows, peak_rss_kb: (map(.rss_kb) | max) } end;
    def met($v; $op; $target): if $v == null then null
        elif $op == ">=" then $v >= $target else $v <= $target end;
    (best("pcap_read")) as $rl
    | (best("pcap_read_buffered")) as $rlb
    | { pcap_read_loop_pps: lpps($rl), pcap_read_loop_cpu: $rl.loop_cpu,
        pcap_read_buffered_loop_pps: lpps($rlb), pcap_read_buffered_loop_cpu: $rlb.loop_cpu,
        runs: [ $tworkers[] as $w | of("transport") | map(select(.workers == $w))
                | if length == 0 then {workers: $w, status: "failed"} else
                  (min_by(.loop_seconds)) as $b
                  | { workers: $w, status: "ok", packets: $b.packets,
                      worker_packets: $b.worker_packets,
                      all_counted: ($b.worker_packets == $packets),
                      loop_seconds: $b.loop_seconds, loop_seconds_all: map(.loop_seconds),
                      capture_cpu: $b.loop_cpu, pps: lpps($b) }
                  | .ratio_vs_pcap_read = ratio(.pps; lpps($rl))
                  | .ratio_vs_pcap_read_buffered = ratio(.pps; lpps($rlb)) end ] } as $transport
    | (best("pcap_read_bulk")) as $rlbulk
    | (wall_best("ndpireader_bulk")) as $ndb
    | (wall_best("flowsense_bulk")) as $fsb
    | (best("transport_bulk")) as $trb
    | ({ pcap: $bulk_pcap, packets: $rlbulk.packets,
        pcap_read: { loop_seconds: $rlbulk.loop_seconds, pps: lpps($rlbulk),
                     wall_pps: (if $rlbulk == null then null else
                                ($rlbulk.packets / (of("pcap_read_bulk") | map(.seconds) | min) | round) end) },
        ndpireader: ($ndb | if . == null then null else . + {pps: ($rlbulk.packets / .seconds | round)} end),
        flowsense: ($fsb | if . == null then null else . + {pps: ($rlbulk.packets / .seconds | round)} end),
        transport: ($trb | if . == null then null else
                    {loop_seconds, capture_cpu: .loop_cpu, pps: lpps(.),
                     all_counted: (.worker_packets == .packets)} end) }
      | .ratios = { pps_vs_ndpireader: ratio(.flowsense.pps; .ndpireader.pps),
                    pps_vs_pcap_read: ratio(.flowsense.pps; .pcap_read.wall_pps),
                    transport_vs_pcap_read: ratio(.transport.pps; .pcap_read.pps) }) as $bulk
    | (one("flowsense_mem")) as $fm
    | (one("ndpireader_mem")) as $nm
    | (if $fm == {} and $nm == {} then null else {
        pcap: $mem_pcap, flows_generated: $mem_flows,
        flowsense: (if $fm == {} then null else {
            max_flows: $fm.max_flows,
            flows_held: $fm.counts.flows_held, flows_purged: $fm.counts.flows_purged,
            flows_refused: $fm.counts.flows_refused, flow_records: $fm.counts.flow_records,
            peak_rss_kb: $fm.memory.peak_rss_kb, peak_pss_kb: $fm.memory.peak_pss_kb,
            peak_rss_kb_by_process: $fm.memory.peak_rss_kb_by_name,
            processes: $fm.memory.max_processes, seconds: $fm.memory.seconds }
          | .rss_bytes_per_flow = (if (.flows_held // 0) == 0 then null
                                   else (.peak_rss_kb * 1024 / .flows_held | round) end)
          | .pss_bytes_per_flow = (if (.flows_held // 0) == 0 or .peak_pss_kb == null then null
                                   else (.peak_pss_kb * 1024 / .flows_held | round) end)
          | .total_rss_mb = (.peak_rss_kb * 1024 / 1e6 * 10 | round / 10) end),
        ndpireader: (if $nm == {} then null else {
            flows: $nm.flows, peak_rss_kb: $nm.rss_kb, seconds: $nm.seconds,
            rss_bytes_per_flow: (if $nm.flows == 0 then null
                                 else ($nm.rss_kb * 1024 / $nm.flows | round) end),
            total_rss_mb: ($nm.rss_kb * 1024 / 1e6 * 10 | round / 10) } end) }
      | .ratios = { rss_vs_ndpireader: ratio(.flowsense.peak_rss_kb; .ndpireader.peak_rss_kb) }
      end) as $memory
    | (one("live") | del(.tool)
       | if .status == "ok" then
           .ratios = { zero_drop_vs_ndpireader: ratio(.flowsense_zero_drop_pps; .ndpireader_zero_drop_pps),
                       offloads_off_zero_drop_vs_ndpireader:
                         ratio(.flowsense_offloads_off_zero_drop_pps; .ndpireader_zero_drop_pps) }
         else . end) as $live
    | ($transport.runs | map(select(.workers == "default")) | .[0]) as $tdef
    | ($fs | map(select(.workers == "default")) | .[0]) as $fdef
    | {
        pcap: $pcap, packets: $packets, bytes: $bytes, runs: $runs, cpus: $nproc,
        pcap_read: $read, ndpireader: $ndpi, flowsense: $fs,
        ratios: ($fs[0].ratios),
        transport: $transport, long_flows: $bulk, memory: $memory, live: $live,
        targets: {
          throughput_default_vs_ndpireader: { value: $fdef.ratios.pps_vs_ndpireader, target: 1.5,
            met: met($fdef.ratios.pps_vs_ndpireader; ">="; 1.5) },
          transport_default_vs_pcap_read: { value: $tdef.ratio_vs_pcap_read, target: 0.8,
            met: met($tdef.ratio_vs_pcap_read; ">="; 0.8) },
          memory_rss_bytes_per_flow: { value: $memory.flowsense.rss_bytes_per_flow, target: 400,
            flows_held: $memory.flowsense.flows_held,
            met: (if ($memory.flowsense.flows_held // 0) < 500000 then null
                  else met($memory.flowsense.rss_bytes_per_flow; "<="; 400) end) },
          memory_1m_flows_total_mb: { value: $memory.flowsense.total_rss_mb, target: 800,
            flows_held: $memory.flowsense.flows_held,
            met: (if ($memory.flowsense.flows_held // 0) < 1000000 then null
                  else met($memory.flowsense.total_rss_mb; "<="; 800) end) },
          live_detection_latency_p99_ms: { value: $live.latency.by_packet.p99_ms, target: 5,
            flows: $live.latency.by_packet.count,
            met: (if ($live.latency.by_packet.count // 0) < 100 then null
                  else met($live.latency.by_packet.p99_ms; "<="; 5) end) }
        }
      }' "$results") || die "cannot build the report"

# Table: figures are the fastest run and the largest memory peak.
fmt_mib() {
    if [[ $1 == null ]]; then echo -; else awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; fi
}
dash() { [[ $1 == null || -z $1 ]] && echo - || echo "$1"; }
row() { printf '%-24s %10s %9s %10s %12s %12s %9s %8s\n' "$@"; }

echo
printf 'flowsense benchmark: %s\n' "$PCAP"
printf '%s packets, %s MiB captured, %s CPUs, best of %s runs\n' "$PACKETS" \
    "$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')" "$(nproc)" "$BENCH_RUNS"
echo
row tool packets seconds pps "peak RSS" "idle RSS" flows "B/flow"
j() { jq -r "$1 | if . == null then \"null\" else tostring end" <<<"$bench_json"; }
row pcap_read_loop "$PACKETS" "$(j .pcap_read.seconds)" "$(j .pcap_read.pps)" \
    "$(fmt_mib "$(j .pcap_read.peak_rss_kb)")" - - -
if [[ $(j .ndpireader.status) == ok ]]; then
    row "ndpiReader (1 thread)" "$PACKETS" "$(j .ndpireader.seconds)" "$(j .ndpireader.pps)" \
        "$(fmt_mib "$(j .ndpireader.peak_rss_kb)")" "$(fmt_mib "$(j .ndpireader.idle_rss_kb)")" \
        "$(dash "$(j .ndpireader.flows)")" "$(dash "$(j .ndpireader.bytes_per_flow)")"
else
    printf '%-24s %s\n' "ndpiReader (1 thread)" "FAILED"
fi
n=0
for w in "${WORKERS[@]}"; do
    f=".flowsense[$n]"
    n=$((n + 1))
    label="flowsense (w=$w)"
    if [[ $w == default ]]; then
        label="flowsense (default)"
        [[ $(j "$f.worker_processes") == null ]] || label="flowsense (default w=$(j "$f.worker_processes"))"
    fi
    if [[ ${fs_status[$w]} != ok ]]; then
        printf '%-24s %s\n' "$label" "${fs_status[$w]}"
        continue
    fi
    row "$label" "$PACKETS" "$(j "$f.seconds")" "$(j "$f.pps")" "$(fmt_mib "$(j "$f.peak_rss_kb")")" \
        "$(fmt_mib "$(j "$f.idle_rss_kb")")" "$(dash "$(j "$f.flows")")" "$(dash "$(j "$f.bytes_per_flow")")"
    if [[ $(j "$f.peak_pss_kb") != null ]]; then
        printf '%-24s %57s\n' "" "(sum of PSS: $(fmt_mib "$(j "$f.peak_pss_kb")"); $(j "$f.processes") processes)"
    fi
done
echo
cat <<'EOF'
seconds: wall clock of the fastest run, start to exit (setup included); pps = packets / seconds.
peak RSS: the largest of the runs; for flowsense the peak of the sum over all its processes,
  sampled every 50 ms (shared pages such as the rings count in every process that maps them;
  the PSS sum counts them once).  idle RSS: the same tool on one tiny capture.
flows: ndpiReader's "Unique flows"; flowsense's flow_purge events (one per flow).
B/flow = (peak RSS - idle RSS) / flows.  ndpiReader keeps every flow until it exits, while
  flowsense drops expired flows, so its B/flow is per flow seen, not per flow held.
EOF
echo
n=0
for w in "${WORKERS[@]}"; do
    f=".flowsense[$n].ratios"
    n=$((n + 1))
    [[ ${fs_status[$w]} == ok ]] || continue
    printf 'ratios (flowsense w=%s): pps vs ndpiReader %s, pps vs pcap_read %s, peak RSS vs ndpiReader %s\n' \
        "$w" "$(dash "$(j "$f.pps_vs_ndpireader")")" "$(dash "$(j "$f.pps_vs_pcap_read")")" \
        "$(dash "$(j "$f.rss_vs_ndpireader")")"
done

echo
echo "transport (capture -> ring -> a worker that only counts; loops only, best of $((BENCH_RUNS * 3))):"
printf '  %-34s %10s %12s %10s %8s %10s\n' tool seconds pps "CPU s" ratio "counted"
printf '  %-34s %10s %12s %10s %8s %10s\n' "pcap_read_loop (libpcap defaults)" \
    "$(j '.transport.pcap_read_loop_pps as $p | .packets / $p * 1e6 | round / 1e6')" \
    "$(j .transport.pcap_read_loop_pps)" "$(j .transport.pcap_read_loop_cpu)" 1 -
printf '  %-34s %10s %12s %10s %8s %10s\n' "pcap_read_loop (1 MiB buf, no lock)" \
    "$(j '.transport.pcap_read_buffered_loop_pps as $p | .packets / $p * 1e6 | round / 1e6')" \
    "$(j .transport.pcap_read_buffered_loop_pps)" "$(j .transport.pcap_read_buffered_loop_cpu)" \
    "$(j '.transport.pcap_read_buffered_loop_pps / .transport.pcap_read_loop_pps * 1000 | round / 1000')" -
n=0
for w in "${TWORKERS[@]}"; do
    f=".transport.runs[$n]"
    n=$((n + 1))
    if [[ $(j "$f.status") != ok ]]; then
        printf '  %-34s %s\n' "flowsense --count-only (w=$w)" FAILED
        continue
    fi
    printf '  %-34s %10s %12s %10s %8s %10s\n' "flowsense --count-only (w=$w)" "$(j "$f.loop_seconds")" \
        "$(j "$f.pps")" "$(j "$f.capture_cpu")" "$(j "$f.ratio_vs_pcap_read")" "$(j "$f.all_counted")"
done
echo "  ratio: pps / pcap_read_loop (libpcap defaults); vs the 1 MiB-buffer loop:" \
    "$(j '[.transport.runs[] | "w=\(.workers) \(.ratio_vs_pcap_read_buffered)"] | join(", ")')"
echo "  CPU s: the capture process's (flowsense) or the loop's CPU time; counted: the workers'"
echo "  packet counters add up to every packet of the file."

echo
echo "long flows: $BULK_PCAP ($(j .long_flows.packets) packets; most after detection):"
printf '  %-34s %10s %12s\n' tool seconds pps
printf '  %-34s %10s %12s\n' "pcap_read_loop (wall)" \
    "$(j '.long_flows.packets / .long_flows.pcap_read.wall_pps * 1e6 | round / 1e6')" "$(j .long_flows.pcap_read.wall_pps)"
printf '  %-34s %10s %12s\n' "ndpiReader (1 thread)" "$(j .long_flows.ndpireader.seconds)" "$(j .long_flows.ndpireader.pps)"
printf '  %-34s %10s %12s\n' "flowsense (default)" "$(j .long_flows.flowsense.seconds)" "$(j .long_flows.flowsense.pps)"
printf '  %-34s %10s %12s\n' "flowsense --count-only (loop)" "$(j .long_flows.transport.loop_seconds)" "$(j .long_flows.transport.pps)"
echo "  ratios: flowsense vs ndpiReader $(j .long_flows.ratios.pps_vs_ndpireader)," \
    "vs pcap_read $(j .long_flows.ratios.pps_vs_pcap_read); transport vs pcap_read loop $(j .long_flows.ratios.transport_vs_pcap_read)"

if [[ $(j .memory) != null ]]; then
    echo
    echo "memory: $MEM_PCAP ($BENCH_MEM_FLOWS DNS flows, all open at the end of the input):"
    printf '  %-34s %12s %12s %12s %10s\n' tool "flows held" "peak RSS" "total MB" "B/flow"
    printf '  %-34s %12s %12s %12s %10s\n' "ndpiReader (1 thread)" "$(j .memory.ndpireader.flows)" \
        "$(fmt_mib "$(j .memory.ndpireader.peak_rss_kb)")" "$(j .memory.ndpireader.total_rss_mb)" \
        "$(j .memory.ndpireader.rss_bytes_per_flow)"
    printf '  %-34s %12s %12s %12s %10s\n' "flowsense (default), RSS sum" "$(j .memory.flowsense.flows_held)" \
        "$(fmt_mib "$(j .memory.flowsense.peak_rss_kb)")" "$(j .memory.flowsense.total_rss_mb)" \
        "$(j .memory.flowsense.rss_bytes_per_flow)"
    printf '  %-34s %12s %12s %12s %10s\n' "flowsense (default), PSS sum" "$(j .memory.flowsense.flows_held)" \
        "$(fmt_mib "$(j .memory.flowsense.peak_pss_kb)")" - "$(j .memory.flowsense.pss_bytes_per_flow)"
    echo "  flows held: flowsense's flow_purge records with reason terminated (refused: $(j .memory.flowsense.flows_refused));"
    echo "  ndpiReader's Unique flows.  B/flow = peak memory (all of it, idle part included) / flows held."
fi

echo
if [[ $(j .live.status) == ok ]]; then
    echo "live: a veth pair, tcpreplay --pps=R of the first packets of $PCAP in a namespace, the tool"
    echo "  capturing on the other end (one fresh process per step; up to $(j .live.packets_per_step) packets or" \
        "$(j .live.seconds_per_step) s per step); load $(j .live.load_before) -> $(j .live.load_after):"
    printf '  %-40s %14s %s\n' tool "zero-drop pps" "steps (requested pps: packets counted / sent)"
    lsteps() {
        jq -r --arg t "$1" --arg o "$2" '[.live.steps[] | select(.tool == $t and (.offloads == $o or $t == "ndpireader"))
            | "\(.pps_requested):\(if .pass then "ok" else "\(.packets_counted)/\(.packets_sent)" end)"] | join(" ")' \
            <<<"$bench_json"
    }
    printf '  %-40s %14s %s\n' "tcpreplay --topspeed (ceiling)" "$(j .live.ceiling.pps)" "(no capture running)"
    printf '  %-40s %14s %s\n' "flowsense (default workers)" "$(j .live.flowsense_zero_drop_pps)" "$(lsteps flowsense default)"
    printf '  %-40s %14s %s\n' "ndpiReader (1 thread)" "$(j .live.ndpireader_zero_drop_pps)" "$(lsteps ndpireader default)"
    printf '  %-40s %14s %s\n' "flowsense, offloads off (ethtool -K)" \
        "$(j .live.flowsense_offloads_off_zero_drop_pps)" "$(lsteps flowsense off)"
    echo "  ratios to ndpiReader: $(j .live.ratios.zero_drop_vs_ndpireader), offloads off" \
        "$(j .live.ratios.offloads_off_zero_drop_vs_ndpireader); capture end's offloads: $(j .live.offloads)"
    echo "  a flowsense step passes when its workers counted every packet sent and no drop counter moved"
    echo "  (a step that drops is tried again, $BENCH_LIVE_TRIES tries in all; the list shows every try);"
    echo "  ndpiReader prints no drop counter: its step passes when its packet total equals the packets sent."
    if [[ $(j .live.flowsense_at_twice) != null ]]; then
        echo "  flowsense at $(j .live.flowsense_at_twice.pps_sent) pps (twice its zero-drop rate, or tcpreplay's ceiling):" \
            "sent $(j .live.flowsense_at_twice.packets_sent), counted $(j .live.flowsense_at_twice.packets_counted)," \
            "drops $(j .live.flowsense_at_twice.drops), unaccounted $(j .live.flowsense_at_twice.unaccounted)"
        echo "  (sent = counted + pcap_drop + pcap_ifdrop + ring_drops + oversized_drops + unaccounted;"
        echo "  events_dropped etc. are events, not packets;" \
            "kernel_backlog_drops: /proc/net/softnet_stat, machine-wide; veth_drops: the namespace end's"
        echo "  transmit drops; unaccounted = what no counter explains)"
    fi
    if [[ $(j .live.latency) != null ]]; then
        echo "  latency at $(j .live.latency.pps_sent) pps, packet that completed detection -> flow record on a" \
            "UNIX-socket client:"
        echo "    p50 $(j .live.latency.by_packet.p50_ms) ms, p99 $(j .live.latency.by_packet.p99_ms) ms," \
            "max $(j .live.latency.by_packet.max_ms) ms over $(j .live.latency.by_packet.count) flows" \
            "(upper bounds: first_update_at is cut to the ms); $(j .live.latency.at_purge) flows named" \
            "only at their purge, not timed; drops $(j .live.latency.drops_counted);" \
            "best p99 of $(j .live.latency.runs) runs (all: $(j '.live.latency.p99_ms_all | join(", ")') ms), load $(j .live.latency.load)"
    fi
else
    echo "live: $(j .live.status)"
fi

echo
echo "targets (issue 5):"
jq -r '.targets | to_entries[] | "  \(.key): \(.value.value) (target \(.value.target)) \(
    if .value.met == true then "MET" elif .value.met == false then "NOT MET" else "not measured" end)"' \
    <<<"$bench_json"
[[ $flowsense_failed == 0 && ! -x $FLOWSENSED ]] && flowsense_failed=1
[[ $flowsense_failed == 0 ]] || echo "flowsense: NOT MEASURED OR FAILED (see above)"
say "total $(seconds_since "$bench_t0") s"
echo "BENCH $bench_json"

[[ $baseline_failed == 0 ]] || exit 1
[[ $flowsense_failed == 0 ]] || exit 2
exit 0

#!/usr/bin/env bash
# `make bench`: packets/s and peak memory of flowsense, of ndpiReader (same
# nDPI, one thread) and of a bare libpcap read loop, all on one generated
# capture, then their ratios.  Prints a table and a last line
# `BENCH {json}` for machines.
#
# The capture, $BUILD/bench/bench.pcap, is made by build/tools/gen_bench_pcap
# out of tests/pcap/* and ../shared/pcap/* (non-Ethernet ones are skipped),
# and made again when the inputs, the generator or BENCH_PACKETS change.
# Timed runs send flowsense's output to /dev/null; its flow count comes
# from one more, untimed, run whose stdout is counted, and ndpiReader's
# from one untimed run without -q.  tests/bench/tree_memory.py runs each
# flowsensed and samples the memory of all its processes.
#
# Environment (all optional):
#   BENCH_PACKETS=1000000  least packets in the generated capture
#   BENCH_PCAP=FILE        measure this capture instead of generating one
#   BENCH_WORKERS="1 2 4"  flowsense worker counts to measure ("default" =
#                          no -w, flowsensed's own choice); default: default
#   BENCH_RUNS=3           runs of each tool; the fastest counts (the
#                          machine is shared), the largest memory peak counts
#   BENCH_TIMEOUT=180      seconds one run may take before it is stopped
#   BENCH_PSS=1            also sample PSS of the flowsense processes
#   BUILD=build            build directory
#
# Exit status: 0 when every tool was measured; 1 on a harness error (a
# tool or input missing, the generator or a baseline failing); 2 when
# flowsense itself is missing or a flowsense run failed (the baselines are
# still printed).  Slow results never fail.
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1

BUILD=${BUILD:-build}
BENCH_PACKETS=${BENCH_PACKETS:-1000000}
BENCH_PCAP=${BENCH_PCAP:-}
BENCH_WORKERS=${BENCH_WORKERS:-default}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-180}
BENCH_PSS=${BENCH_PSS:-1}

GEN=$BUILD/tools/gen_bench_pcap
READ_LOOP=$BUILD/tools/pcap_read_loop
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
[[ ${#WORKERS[@]} -gt 0 ]] || die "BENCH_WORKERS is empty"
for w in "${WORKERS[@]}"; do
    [[ $w == default ]] || is_count "$w" || die "BENCH_WORKERS: '$w' is neither a count nor 'default'"
done

for c in jq ndpiReader timeout awk; do
    command -v "$c" >/dev/null 2>&1 || die "$c is not installed (make deps)"
done
/usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "GNU time (/usr/bin/time) is missing (apt-get install time)"
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3) || die "python3 is not installed (make deps)"
for t in "$GEN" "$READ_LOOP"; do
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
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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
# Read once so that every tool finds it in the page cache.
cat "$PCAP" >/dev/null || die "cannot read $PCAP"

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

read_loop_run() {
    local run=$1 line
    timed "$tmp/read.out" "$READ_LOOP" "$PCAP"
    if [[ $rc != 0 ]]; then
        cat "$tmp/read.out.err" >&2
        die "pcap_read_loop failed on $PCAP (exit $rc)"
    fi
    line=$(cat "$tmp/read.out")
    [[ $line =~ packets=([0-9]+)\ bytes=([0-9]+)\ seconds=([0-9.]+) ]] ||
        die "pcap_read_loop printed '$line'"
    PACKETS=${BASH_REMATCH[1]}
    BYTES=${BASH_REMATCH[2]}
    record tool='"pcap_read"' run="$run" seconds="$secs" rss_kb="$rss_kb" \
        loop_seconds="${BASH_REMATCH[3]}"
}

ndpi_run() {
    local run=$1
    timed "$tmp/ndpi.out" ndpiReader -i "$PCAP" -q
    if [[ $rc != 0 ]]; then
        say "ndpiReader failed (exit $rc):"
        tail -n 5 "$tmp/ndpi.out.err" >&2
        baseline_failed=1
        return 1
    fi
    record tool='"ndpireader"' run="$run" seconds="$secs" rss_kb="$rss_kb"
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

say "measuring $PCAP: $BENCH_RUNS runs each (timeout ${BENCH_TIMEOUT}s per run)"
bench_t0=$EPOCHREALTIME
# Runs are interleaved so that a noisy neighbour hurts every tool alike.
for run in $(seq 1 "$BENCH_RUNS"); do
    read_loop_run "$run"
    [[ $baseline_failed == 1 ]] || ndpi_run "$run"
    for w in "${WORKERS[@]}"; do
        fs_run "$run" "$w"
    done
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

# ---- report ------------------------------------------------------------
workers_json=$(printf '%s\n' "${WORKERS[@]}" | jq -R . | jq -cs .)
status_json=$(for w in "${WORKERS[@]}"; do jq -cn --arg w "$w" --arg s "${fs_status[$w]}" '{($w): $s}'; done | jq -cs add)

bench_json=$(jq -cs \
    --arg pcap "$PCAP" --argjson packets "$PACKETS" --argjson bytes "$BYTES" \
    --argjson runs "$BENCH_RUNS" --argjson nproc "$(nproc)" \
    --argjson workers "$workers_json" --argjson status "$status_json" '
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
    | {
        pcap: $pcap, packets: $packets, bytes: $bytes, runs: $runs, cpus: $nproc,
        pcap_read: $read, ndpireader: $ndpi, flowsense: $fs,
        ratios: ($fs[0].ratios)
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
[[ $flowsense_failed == 0 && ! -x $FLOWSENSED ]] && flowsense_failed=1
[[ $flowsense_failed == 0 ]] || echo "flowsense: NOT MEASURED OR FAILED (see above)"
say "total $(seconds_since "$bench_t0") s"
echo "BENCH $bench_json"

[[ $baseline_failed == 0 ]] || exit 1
[[ $flowsense_failed == 0 ]] || exit 2
exit 0

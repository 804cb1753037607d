#!/usr/bin/env bash
# Sanitizer and valgrind sweeps: every capture through the full
# three-process sensor (flowsensed, its workers and the broker, sandbox on),
# once per worker count.
#
#   tests/sweep.sh asan       (make check-asan)      build/asan, ASan+UBSan
#   tests/sweep.sh valgrind   (make check-valgrind)  build/, valgrind memcheck
#
# A run fails on: a sanitizer report, a seccomp trap message (the ASan build
# traps rather than kills and names the forbidden system call), a valgrind
# error or definite leak in any process, a child process that died or
# exited non-zero, a non-zero exit, or a stream that breaks the record contract (tests/lib/check_records.py --hello).
#
# SWEEP_CAPTURES  basenames to replay (default: every capture of tests/pcap
#                 and ../shared/pcap; shared/NAME or tests/NAME picks one side)
# SWEEP_WORKERS   worker counts (default "1 2")
# SWEEP_TIMEOUT   seconds per replay (default 120 for asan, 600 for valgrind)
# The last line is the summary: captures, runs, packets, flows, time, failures.
# shellcheck disable=SC2317
MODE=${1:-}
case $MODE in
asan) export FLOWSENSE_BUILD=${FLOWSENSE_BUILD:-build/asan} ;;
valgrind) export FLOWSENSE_BUILD=${FLOWSENSE_BUILD:-build} ;;
*) echo "usage: tests/sweep.sh asan|valgrind" >&2; exit 2 ;;
esac
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
TEST_NAME=sweep-$MODE
require_built
require_cmd jq python3

SUPP=$ROOT/tests/valgrind.supp
if [[ $MODE == asan ]]; then
    # As run-tests.sh's asan-integration runs: the children drop privileges
    # and become non-dumpable, where LeakSanitizer cannot work (leaks are the
    # valgrind sweep's job); every UBSan finding is fatal and printed.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    nm -D "$FLOWSENSED" 2>/dev/null | grep -q __asan_init \
        || fail "$FLOWSENSED is not an ASan build (make BUILD=build/asan SANITIZE=1 all)"
    SWEEP_TIMEOUT=${SWEEP_TIMEOUT:-120}
else
    require_cmd valgrind
    SWEEP_TIMEOUT=${SWEEP_TIMEOUT:-600}
fi
WORKERS=${SWEEP_WORKERS:-1 2}

fs_setup
# The children run as the unprivileged user and write valgrind's logs here.
chmod 0755 "$TMP"

files=()
for f in "$LOCAL_PCAP"/*.pcap "$LOCAL_PCAP"/*.pcapng "$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng; do
    [[ -f $f ]] && files+=("$f")
done
[[ -d $SHARED_PCAP ]] || say "note: $SHARED_PCAP is absent: only tests/pcap is swept (the shared corpus sits beside the repository as shared/pcap)"

tag_of() { [[ $1 == "$SHARED_PCAP"/* ]] && echo "shared/$(basename "$1")" || echo "tests/$(basename "$1")"; }

if [[ -n ${SWEEP_CAPTURES:-} ]]; then
    picked=()
    for want in $SWEEP_CAPTURES; do
        found=0
        for f in "${files[@]}"; do
            tag=$(tag_of "$f")
            [[ $want == "$tag" || $want == "$(basename "$f")" ]] && picked+=("$f") && found=1
        done
        ((found)) || fail "SWEEP_CAPTURES: no capture named $want"
    done
    files=("${picked[@]}")
fi
((${#files[@]} > 0)) || skip "no capture in tests/pcap nor in $SHARED_PCAP"

# packets_in FILE: from shared/pcap's MANIFEST.tsv, else capinfos, else 0.
packets_in() {
    local n
    n=$(awk -F'\t' -v f="$(basename "$1")" '$1 == f { print $4 }' "$SHARED_PCAP/MANIFEST.tsv" 2>/dev/null)
    if [[ $1 == "$SHARED_PCAP"/* && -n $n ]]; then echo "$n"; return; fi
    n=$(capinfos -c -M -T -r "$1" 2>/dev/null | awk -F'\t' '{ print $2 }')
    echo "${n:-0}"
}

# problems_asan ERRFILE: the sanitizer reports, seccomp traps and child
# deaths in it.  A replay goes on after a worker dies (it is restarted, its
# flows are counted lost) and exits 0: only its log tells.
problems_asan() {
    grep -E -A 20 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|^seccomp: .* made forbidden system call' "$1" | head -n 40
    grep -E "exited with status|died from signal" "$1" | head -n 5
}

# problems_valgrind LOGDIR ERRFILE WORKERS: memcheck's findings in any
# process's log, a child that failed, or a process that left no log.
problems_valgrind() {
    local logs=("$1"/*.log)
    grep -h -B2 -A14 -E "Invalid (read|write|free)|uninitialised|Syscall param|Mismatched free|definitely lost|Source and destination overlap|Argument .* of function" "${logs[@]}" 2>/dev/null | head -n 60
    grep -E "exited with status|died from signal|^seccomp: " "$2" | head -n 5
    # flowsensed, its capture process, the broker and one per worker.
    ((${#logs[@]} >= $3 + 2)) || echo "expected a valgrind log per process, got ${#logs[@]}"
}

say "$MODE sweep of ${#files[@]} captures, workers: $WORKERS, build ${FLOWSENSE_BUILD}"
start=$EPOCHSECONDS
runs=0 packets=0 flows=0 failures=()
for f in "${files[@]}"; do
    tag=$(tag_of "$f")
    n_pkts=$(packets_in "$f")
    for w in $WORKERS; do
        out=$TMP/${tag//\//_}.w$w
        t0=${EPOCHREALTIME//[.,]/}
        if [[ $MODE == valgrind ]]; then
            mkdir -m 1777 "$out.vg"
            vg=(valgrind -q --trace-children=yes --vgdb=no --leak-check=full
                --errors-for-leak-kinds=definite --error-exitcode=99
                "--log-file=$out.vg/%p.log")
            [[ -f $SUPP ]] && vg+=("--suppressions=$SUPP")
            FS_WRAPPER="${vg[*]}" FS_OUT=$out.ndjson FS_ERR=$out.err fs_run "$SWEEP_TIMEOUT" -r "$f" --stdout -w "$w"
            found=$(problems_valgrind "$out.vg" "$out.err" "$w")
        else
            FS_OUT=$out.ndjson FS_ERR=$out.err fs_run "$SWEEP_TIMEOUT" -r "$f" --stdout -w "$w"
            found=$(problems_asan "$out.err")
        fi
        wait_until 5 session_empty "$FS_PID" || found+=$'\nprocesses left running after flowsensed exited'
        ((FS_RC == 0)) || found+=$'\n'"exit $FS_RC: $(tail -n 2 "$out.err" | tr '\n' ' ')"
        python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 0 --max-errors 3 "$out.ndjson" \
            >"$out.contract" 2>&1 || found+=$'\n'"breaks the record contract: $(head -n 3 "$out.contract" | tr '\n' ' ')"
        n_flows=$(count_flows "$out.ndjson")
        ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
        runs=$((runs + 1)) packets=$((packets + n_pkts)) flows=$((flows + n_flows))
        if [[ -n ${found//$'\n'/} ]]; then
            failures+=("$tag -w $w")
            printf '%s: FAIL %-44s -w %s %6s pkts %5s flows %6s ms\n' "$TEST_NAME" "$tag" "$w" "$n_pkts" "$n_flows" "$ms"
            sed '/^$/d; s/^/    /' <<<"$found"
        else
            printf '%s: ok   %-44s -w %s %6s pkts %5s flows %6s ms\n' "$TEST_NAME" "$tag" "$w" "$n_pkts" "$n_flows" "$ms"
        fi
    done
done
secs=$((EPOCHSECONDS - start))
say "summary: $MODE, ${#files[@]} captures, $runs runs (workers: $WORKERS), $packets packets, $flows flows, ${secs} s, ${#failures[@]} failed${failures:+: ${failures[*]}}"
((${#failures[@]} == 0)) || exit 1

#!/usr/bin/env bash
# Runs each fuzz target with libFuzzer for SECONDS, one after the other
# (one process each: the machine is shared), and prints per target the
# executions, the rate, libFuzzer's coverage (cov: edges, ft: features)
# and the crashes.  Exits non-zero when any target crashed, leaked, timed
# out or ran out of memory; the input is kept in build/fuzz/crashes/TARGET/
# (replay it with build/fuzz/replay/fuzz_TARGET FILE).
#   tests/fuzz/run-fuzz.sh SECONDS [TARGET...]
# With FUZZ_REPRODUCIBLE_ONLY=1 (the smoke test of make check), a crash
# whose input does not crash the plain build when replayed alone (it
# needed state earlier inputs left, in nDPI's detection module for one)
# is reported loudly but does not fail the run: CI fails only on what it
# can reproduce.
set -uo pipefail
shopt -s extglob
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
SECONDS_EACH=${1:-30}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(worker broker subscription config ring dns_answer)
B=${FUZZ_BUILD:-build/fuzz}
failed=0

# The broker's seeds are whole captures' events (up to 190 KB); mutating
# them runs at about 1,500 inputs/s, capped at 8 KiB about 4,000 with the
# same coverage (a few messages reach every check).  FUZZ_MAX_LEN overrides.
max_len_of() {
    if [[ -n ${FUZZ_MAX_LEN:-} ]]; then
        echo "-max_len=$FUZZ_MAX_LEN"
    elif [[ $1 == broker ]]; then
        echo "-max_len=8192"
    fi
}

# reproduces TARGET DIR: whether the newest input in DIR crashes the plain
# build on its own (timeouts and out-of-memory always count).
reproduces() {
    local input
    input=$(ls -t "$2"/* 2>/dev/null | head -n 1)
    [[ -n $input && $(basename "$input") == @(crash|leak)-* ]] || return 0
    ! "$B/replay/fuzz_$1" "$input" >/dev/null 2>&1
}
printf '%-13s %12s %9s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus crashes
for t in "${targets[@]}"; do
    work=$B/work/$t crashes=$B/crashes/$t log=$B/logs/$t.log
    mkdir -p "$work" "$crashes" "$(dirname "$log")"
    corpora=()
    for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t $B/corpus/$t; do
        [[ -d $d ]] && corpora+=("$d")
    done
    before=$(ls "$crashes" | wc -l)
    # New inputs go to the work directory (the first one); the committed
    # corpus is only read.
    # shellcheck disable=SC2046
    "$B/fuzz/fuzz_$t" $(max_len_of "$t") -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" "${corpora[@]}" >"$log" 2>&1
    rc=$?
    after=$(ls "$crashes" | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$status")
    [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$status")
    verdict=$((after - before))
    if [[ $rc -ne 0 || $verdict -ne 0 ]]; then
        verdict="$verdict (exit $rc; see $log)"
        if [[ ${FUZZ_REPRODUCIBLE_ONLY:-0} == 1 ]] && ! reproduces "$t" "$crashes"; then
            verdict="$verdict NOT reproducible from its input alone"
        else
            failed=1
        fi
    fi
    printf '%-13s %12s %9s %7s %7s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$verdict"
    if [[ $rc -ne 0 ]]; then
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 5 | sed 's/^/    /'
    fi
done
exit $failed

#!/usr/bin/env bash
# Runs every flowsense test and prints one verdict line per test.
#
#   tests/run-tests.sh [FILTER]
#
# Unit tests: build/tests/test_* and build/asan/tests/test_* (cmocka).
# Integration tests: every executable tests/integration/test_*.sh, run from
# the repository root; exit 0 = pass, 77 = skip (last line of output says
# why), anything else = fail.  Most integration tests run a second time
# against the ASan build when it exists (ASAN_INTEGRATION=0 turns that off).
# FILTER keeps the tests whose name contains it, e.g. "unit/", "asan",
# "replay".  The last line is always "N passed, N failed, N skipped".
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
FILTER=${1:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
# A unit test takes milliseconds: a hung one must not eat CI's time.
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
TAIL_LINES=${TAIL_LINES:-40}
# Integration tests repeated under AddressSanitizer: they drive every
# process, the corpus comparison with its fuzzed and malformed captures too.
ASAN_INTEGRATION_TESTS="test_sandbox_escape test_config test_metadata_tshark test_tls_tshark test_replay_framing test_ascii_escaping test_replay_stdout test_bad_input test_ndpireader_agreement test_live_lo test_worker_restart test_broker_restart test_capture_limits test_slow_client_live test_live_ring_drops test_replay_crash test_live_broker_stalled test_subscriptions test_subscription_hostile test_flowsense_cat test_many_clients test_local_networks test_dns_hints test_established_flows test_verify test_golden_json test_determinism test_shutdown_progress test_hostile_files test_fragment_flood test_hostile_packets test_netns_isolation test_replay_worker_stopped test_connect_churn test_socket_removed test_live_max_flows test_sweep_asan test_ndpi_short_l4"

export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0 failed=0 skipped=0
failed_names=()
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/flowsense-tests.XXXXXX") || exit 2
trap 'rm -rf "$LOGDIR"' EXIT

# run_one NAME CMD... : runs CMD with a timeout ($limit, default
# TEST_TIMEOUT), records and prints the verdict.
run_one() {
    local name=$1; shift
    local limit=${limit:-$TEST_TIMEOUT}
    [[ -z $FILTER || $name == *"$FILTER"* ]] || return 0
    local log="$LOGDIR/${name//\//_}.log" start end rc secs
    start=$(date +%s.%N)
    timeout -k 10 "$limit" "$@" </dev/null >"$log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
    0)  passed=$((passed + 1)); printf 'PASS %-44s %6ss\n' "$name" "$secs" ;;
    77) skipped=$((skipped + 1))
        printf 'SKIP %-44s %6ss  %s\n' "$name" "$secs" \
            "$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)" ;;
    *)  failed=$((failed + 1)); failed_names+=("$name")
        local why="exit $rc"
        [[ $rc == 124 || $rc == 137 ]] && why="timed out after ${limit}s"
        printf 'FAIL %-44s %6ss  (%s)\n' "$name" "$secs" "$why"
        echo "---- last $TAIL_LINES lines of $name ----"
        tail -n "$TAIL_LINES" "$log" | sed 's/^/    /'
        echo "---- end of $name ----" ;;
    esac
}

run_unit_dir() {
    local prefix=$1 dir=$2 t
    for t in "$dir"/test_*; do
        [[ -f $t && -x $t ]] || continue
        limit=$UNIT_TIMEOUT run_one "$prefix/$(basename "$t")" "$t"
    done
}

run_unit_dir unit build/tests
# LeakSanitizer needs ptrace, which the unit tests do not restrict.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_unit_dir asan-unit build/asan/tests

for t in tests/integration/test_*.sh; do
    [[ -f $t && -x $t ]] || continue
    run_one "integration/$(basename "$t" .sh)" env FLOWSENSE_BUILD=build "$t"
done

if [[ ${ASAN_INTEGRATION:-1} == 1 && -x build/asan/bin/flowsensed ]]; then
    for n in $ASAN_INTEGRATION_TESTS; do
        t=tests/integration/$n.sh
        [[ -x $t ]] || continue
        # Children drop privileges and become non-dumpable, where
        # LeakSanitizer cannot work; ASan's error checks stay on.
        run_one "asan-integration/$n" env FLOWSENSE_BUILD=build/asan \
            ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
    done
fi

if ((failed > 0)); then
    echo "failed: ${failed_names[*]}"
fi
total=$((passed + failed + skipped))
((total > 0)) || echo "no test matched${FILTER:+ \"$FILTER\"}: is the tree built (make all unit)?"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0 && total > 0))

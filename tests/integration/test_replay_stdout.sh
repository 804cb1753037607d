#!/usr/bin/env bash
# Replays tests/pcap/mixed.pcap with --stdout: every line must be one JSON
# object (NDJSON, no length headers), every flow purged, and a second run
# must produce the same flow records (replay follows packet time, so it is
# deterministic; only agent_* records may differ).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

for run in 1 2; do
    FS_OUT=$TMP/run$run.ndjson fs_run 120 -r "$PCAP" --stdout -w 2 \
        || fail "run $run: flowsensed did not finish within 120 s"
    [[ $FS_RC == 0 ]] || fail "run $run: flowsensed exited $FS_RC, expected 0"
    assert_no_leftovers
    [[ -s $TMP/run$run.ndjson ]] || fail "run $run: nothing on stdout"
    if ! jq -e -c . "$TMP/run$run.ndjson" >/dev/null 2>"$TMP/jq.err"; then
        cat "$TMP/jq.err"
        fail "run $run: stdout is not a sequence of JSON values"
    fi
    if grep -n -m 3 -v '^{.*}$' "$TMP/run$run.ndjson"; then
        fail "run $run: the lines above are not one JSON object each (header lines on --stdout?)"
    fi
    python3 "$ROOT/tests/lib/check_records.py" --min-flows 1 --interface mixed.pcap \
        --internal "$TMP/run$run.ndjson" || fail "run $run: the records break the contract"
    # Canonical form: keys sorted, agent_* dropped, lines sorted (workers
    # interleave differently from run to run).
    jq -c -S 'select(.type | startswith("agent_") | not)' "$TMP/run$run.ndjson" \
        | LC_ALL=C sort >"$TMP/run$run.canon"
done

if ! cmp -s "$TMP/run1.canon" "$TMP/run2.canon"; then
    diff "$TMP/run1.canon" "$TMP/run2.canon" | head -n 20
    fail "two replays of the same file gave different flow records (diff above)"
fi
say "ok: $(count_type "$TMP/run1.ndjson" flow) flows, $(wc -l <"$TMP/run1.canon") flow records identical in two runs"

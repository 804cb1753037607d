#!/usr/bin/env bash
# Suricata-verify-style assertions on the JSON stream: each folder of
# tests/verify/ holds a test.yaml naming a capture and its checks (format in
# tests/verify/README.md).  For each case, flowsensed replays the capture
# (--stdout) and tests/lib/verify.py checks its flow records: SNI, JA3, HTTP
# host and user agent, DNS query name and per-direction packets and bytes
# against what tshark decodes from the same capture (computed here, at run
# time), and literal values the case spells out.  Cases whose capture is in
# the shared corpus (../shared/pcap) are skipped, each with a message, when
# it is absent; the bundled ones (tests/pcap) always run.
#   VERIFY_CASES="https dns"  runs only those cases.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd tshark python3 jq
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (make deps)"
fs_setup

VERIFY="$ROOT/tests/lib/verify.py"
cases=()
if [[ -n ${VERIFY_CASES:-} ]]; then
    for c in $VERIFY_CASES; do cases+=("$ROOT/tests/verify/$c/test.yaml"); done
else
    cases=("$ROOT"/tests/verify/*/test.yaml)
fi

passed=() failed=() skipped=()
for yaml in "${cases[@]}"; do
    [[ -r $yaml ]] || fail "no case file $yaml"
    name=$(basename "$(dirname "$yaml")")
    if ! pcap=$(python3 "$VERIFY" pcap "$yaml"); then
        say "skip $name: $pcap"
        skipped+=("$name")
        continue
    fi
    mapfile -t args < <(python3 "$VERIFY" args "$yaml")
    FS_OUT=$TMP/$name.ndjson FS_ERR=$TMP/$name.err fs_run 120 -r "$pcap" --stdout "${args[@]}"
    assert_no_leftovers
    [[ $FS_RC == 0 ]] || fail "$name: flowsensed -r $(basename "$pcap") exited $FS_RC"
    if python3 "$VERIFY" check "$yaml" "$TMP/$name.ndjson" >"$TMP/$name.report" 2>&1; then
        passed+=("$name")
    else
        failed+=("$name")
    fi
    sed "s/^/  /" "$TMP/$name.report"
done

((${#skipped[@]} == 0)) || say "skipped (capture absent): ${skipped[*]}"
((${#failed[@]} == 0)) || fail "${#failed[@]} case(s) failed: ${failed[*]}"
((${#passed[@]} > 0)) || fail "no case ran"
say "ok: ${#passed[@]} cases passed, ${#skipped[@]} skipped"

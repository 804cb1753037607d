#!/usr/bin/env bash
# Golden JSON: the whole NDJSON stream of `flowsensed -r FILE --stdout -w 1`
# for a few small captures, compared record by record and field by field
# with tests/golden/*.ndjson.  Ignored: only the run-dependent values of
# agent_status (wall clock, uptime, CPU time, peak memory, pids, the host's
# CPU count) and the agent_status records written on the wall clock between
# the first and the last; tests/lib/records.py lists them.  Everything else,
# every flow/flow_status/flow_purge field, agent_hello and the counters of
# agent_status, must be equal, in the same order.
#
#   test_golden_json.sh            compare; prints a field-level diff on failure
#   test_golden_json.sh --update   rewrite the golden files (make golden), then
#                                  review `git diff tests/golden`
#
# Captures: every tests/pcap/*.pcap (tests/golden/NAME.ndjson) and a few
# small ones of the shared corpus, when ../shared/pcap is present
# (tests/golden/shared/NAME.ndjson; skipped with a message otherwise).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3
fs_setup

UPDATE=0
[[ ${1:-} == --update ]] && UPDATE=1
GOLDEN=$ROOT/tests/golden
RECORDS=$ROOT/tests/lib/records.py
# Shared captures: an IPv4-in-IPv6 tunnel, fragmented DNS over IPv4 and IPv6,
# QinQ with TLS, BSD loopback link type, GTP-U with IPv6 inside.
SHARED_GOLDEN="4in6tunnel.pcap dns_fragmented.pcap ja3_lots_of_cipher_suites.pcap selfsigned.pcap ipv6_in_gtp.pcap"

cases=()
for f in "$LOCAL_PCAP"/*.pcap; do cases+=("$f|$GOLDEN/$(basename "$f" .pcap).ndjson"); done
if [[ -d $SHARED_PCAP ]]; then
    for n in $SHARED_GOLDEN; do
        cases+=("$SHARED_PCAP/$n|$GOLDEN/shared/${n%.*}.ndjson")
    done
else
    say "note: $SHARED_PCAP is absent: shared captures skipped ($SHARED_GOLDEN)"
fi

compared=0 differ=()
for c in "${cases[@]}"; do
    pcap=${c%%|*} golden=${c#*|}
    name=${golden#"$GOLDEN/"}
    [[ -r $pcap ]] || fail "capture missing: $pcap"
    FS_OUT=$TMP/out.ndjson FS_ERR=$TMP/out.err fs_run 120 -r "$pcap" --stdout -w 1
    assert_no_leftovers
    [[ $FS_RC == 0 ]] || fail "flowsensed -r $(basename "$pcap") exited $FS_RC"
    if ((UPDATE)); then
        mkdir -p "$(dirname "$golden")"
        python3 "$RECORDS" normalize "$TMP/out.ndjson" >"$golden" || fail "cannot write $golden"
        say "wrote $name ($(wc -l <"$golden") records)"
        continue
    fi
    [[ -r $golden ]] || fail "no golden file $name (make golden writes it)"
    if ! python3 "$RECORDS" diff "$golden" "$TMP/out.ndjson" >"$TMP/diff" 2>&1; then
        differ+=("$name")
        say "$name differs from the golden file (~ golden -> now, - only in golden, + only now):"
        head -n 60 "$TMP/diff"
        (($(wc -l <"$TMP/diff") > 60)) && say "... $(($(wc -l <"$TMP/diff") - 60)) more lines"
    else
        say "$name: $(wc -l <"$golden") records equal"
    fi
    compared=$((compared + 1))
done
((UPDATE)) && { say "golden files rewritten: review them with git diff tests/golden"; exit 0; }
((${#differ[@]} == 0)) || fail "${#differ[@]} stream(s) differ from the golden files: ${differ[*]} (if intended: make golden, then review git diff tests/golden)"
say "ok: $compared streams equal their golden files"

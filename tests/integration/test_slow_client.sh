#!/usr/bin/env bash
# A client that connects and never reads must not hold up the sensor or
# the other clients: the broker drops it once it is too far behind (its
# queue is bounded), while a reading client still gets every record.
# Input: a generated capture of many DNS flows, tens of MB of records.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup
FLOWS=${SLOW_CLIENT_FLOWS:-40000}

python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/many.pcap" "$FLOWS" \
    || fail "cannot generate the capture"

FS_OUT=$TMP/ref.ndjson FS_ERR=$TMP/ref.err fs_run 300 -r "$TMP/many.pcap" --stdout -w 2 \
    || fail "reference --stdout run did not finish within 300 s"
[[ $FS_RC == 0 ]] || fail "reference --stdout run exited $FS_RC"
ref_flows=$(count_type "$TMP/ref.ndjson" flow)
say "reference run: $ref_flows flow records, $(wc -c <"$TMP/ref.ndjson") bytes of NDJSON"
((ref_flows >= FLOWS * 9 / 10)) || fail "reference run reported $ref_flows flows of $FLOWS generated"

fs_start -r "$TMP/many.pcap" --listen "unix:$TMP/x.sock" --wait-for-client -w 2
start_slow_clients "unix:$TMP/x.sock" "$TMP/good.ndjson"
fs_wait 300 || fail "flowsensed did not finish within 300 s with a stalled client"
[[ $FS_RC == 0 ]] || fail "flowsensed exited $FS_RC, expected 0"
assert_no_leftovers
finish_slow_clients

good_flows=$(count_type "$TMP/good.ndjson" flow)
good_bytes=$(wc -c <"$TMP/good.ndjson")
slow_bytes=$(jq -r .slow_bytes "$TMP/summary.json")
grep -i -m 2 'disconnect' "$TMP/flowsensed.err" | sed "s/^/$TEST_NAME: broker said: /"
((good_flows == ref_flows)) \
    || fail "the reading client got $good_flows flow records, the --stdout run $ref_flows"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows "$ref_flows" \
    --interface many.pcap "$TMP/good.ndjson" || fail "the reading client's stream breaks the contract"
((slow_bytes >= 0 && slow_bytes < good_bytes / 2)) \
    || fail "the stalled client was not dropped: it still received $slow_bytes bytes (the reading client $good_bytes)"
say "ok: stalled client cut off after $slow_bytes bytes; reading client got all $good_flows flows ($good_bytes bytes)"

#!/usr/bin/env bash
# The records of a replay do not depend on how many workers share the
# traffic: every capture of tests/pcap and ../shared/pcap gives the same
# flow, flow_status and flow_purge records with 1 worker and with 3.
# (Expiry and status run on absolute packet-time boundaries, a flow's
# times come from its own packets, and the end record carries the
# input's last time.)
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd jq
fs_setup

# nDPI keeps caches across flows inside one detection module, so where a
# detection rests on an earlier flow, splitting flows across workers can
# change it.  Reviewed captures where that happens:
#   zoom.pcap  nDPI's Zoom/STUN cache: one flow is detected after 1 packet
#              when the worker saw an earlier Zoom flow, after 3 otherwise.
NDPI_CACHE_DEPENDENT="zoom.pcap"

files=("$LOCAL_PCAP"/*.pcap)
[[ -d $SHARED_PCAP ]] && files+=("$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng) \
    || say "note: $SHARED_PCAP is absent: tests/pcap only"
records() { jq -c -S 'select(.type == "flow" or .type == "flow_status" or .type == "flow_purge")' "$1" | LC_ALL=C sort; }
compared=0 differ=()
for f in "${files[@]}"; do
    name=$(basename "$f")
    [[ " $NDPI_CACHE_DEPENDENT " == *" $name "* ]] && continue
    for w in 1 3; do
        FS_OUT=$TMP/w$w.ndjson fs_run 120 -r "$f" --stdout -w "$w"
        [[ $FS_RC == 0 ]] || fail "$name with -w $w: flowsensed exited $FS_RC"
    done
    cmp -s <(records "$TMP/w1.ndjson") <(records "$TMP/w3.ndjson") || {
        differ+=("$name")
        diff <(records "$TMP/w1.ndjson") <(records "$TMP/w3.ndjson") | head -n 4 | cut -c 1-200
    }
    compared=$((compared + 1))
done
((compared > 0)) || fail "no capture compared"
((${#differ[@]} == 0)) || fail "records depend on the worker count for: ${differ[*]}"
say "ok: $compared captures give the same records with 1 and 3 workers"

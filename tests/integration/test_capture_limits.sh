#!/usr/bin/env bash
# What flowsensed does at its limits: a packet too large for any ring slot
# is dropped and counted (the replay neither hangs nor stops), and a child
# that can never start makes flowsensed give up with a clear error instead
# of waiting for ever.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

# 1. Oversized packet with the smallest ring (64 KiB: records up to 32 KiB).
python3 "$ROOT/tests/lib/gen_oversized_pcap.py" "$TMP/big.pcap"
FS_OUT=$TMP/big.ndjson fs_run 30 -r "$TMP/big.pcap" --ring-size 65536 --stdout
[[ $FS_RC == 0 ]] || fail "replay with an oversized packet exited $FS_RC: $(tail -n 3 "$FS_LAST_ERR")"
assert_no_leftovers
final=$(jq -c 'select(.type == "agent_status")' "$TMP/big.ndjson" | tail -n 1)
[[ $(jq .capture.oversized_drops <<<"$final") == 1 ]] \
    || fail "the last agent_status does not count one oversized drop: $final"
[[ $(jq .capture.packets <<<"$final") == 3 ]] \
    || fail "the last agent_status does not count the 3 packets that fit: $final"
small=$(jq -c 'select(.type == "flow_purge" and .flow.total_packets == 3)' "$TMP/big.ndjson")
[[ -n $small ]] || fail "the small flow around the oversized packet lost packets"
say "oversized packet dropped and counted; the flow around it has all 3 packets"

# 2. A worker that dies at start-up, every time.
mkdir "$TMP/bin"
cp "$ROOT/build/bin/flowsensed" "$ROOT/build/bin/flowsense-broker" "$TMP/bin/"
printf '#!/bin/sh\nexit 3\n' >"$TMP/bin/flowsense-worker"
chmod 0755 "$TMP" "$TMP/bin" "$TMP/bin/flowsense-worker"
FLOWSENSED=$TMP/bin/flowsensed fs_run 60 -r "$LOCAL_PCAP/mixed.pcap" --stdout
[[ $FS_RC != 0 && $FS_RC != 124 ]] \
    || fail "flowsensed with a worker that cannot start exited $FS_RC, expected a quick failure"
grep -q "giving up" "$FS_LAST_ERR" || fail "no clear 'giving up' message: $(tail -n 3 "$FS_LAST_ERR")"
assert_no_leftovers
say "ok: a worker that cannot start ends flowsensed with: $(grep -o 'worker 0 cannot start.*' "$FS_LAST_ERR" | head -n 1)"

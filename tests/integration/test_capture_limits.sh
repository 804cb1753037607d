#!/usr/bin/env bash
# What flowsensed does at its limits: a packet too large for any ring slot
# is dropped and counted (the replay neither hangs nor stops), a packet
# cut by the snap length is counted as truncated with its bytes in full
# (what a live capture's MTU-sized snap length does to a GRO super-packet,
# capture/source.c), and a child
# that can never start makes flowsensed give up with a clear error instead
# of waiting for ever.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq tshark
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

# 2. The large datagram cut to an MTU-sized snap length: counted whole.
python3 "$ROOT/tests/lib/gen_oversized_pcap.py" "$TMP/cut.pcap" 1532
FS_OUT=$TMP/cut.ndjson fs_run 30 -r "$TMP/cut.pcap" --stdout
[[ $FS_RC == 0 ]] || fail "replay with a cut packet exited $FS_RC: $(tail -n 3 "$FS_LAST_ERR")"
truth=$(tshark -r "$TMP/cut.pcap" -T fields -e frame.len -e frame.cap_len 2>/dev/null |
    awk '{ bytes += $1; if ($2 < $1) { cut++; cut_len = $1 } } END { print bytes + 0, cut + 0, cut_len + 0 }')
read -r want_bytes want_cut cut_len <<<"$truth"
[[ $want_cut == 1 && $cut_len -gt 1532 ]] || fail "tshark does not see one cut packet: $truth"
final=$(jq -c 'select(.type == "agent_status")' "$TMP/cut.ndjson" | tail -n 1)
[[ $(jq .capture.truncated_packets <<<"$final") == "$want_cut" ]] \
    || fail "capture.truncated_packets is not $want_cut: $final"
[[ $(jq .capture.bytes <<<"$final") == "$want_bytes" && $(jq .capture.oversized_drops <<<"$final") == 0 ]] \
    || fail "capture.bytes is not tshark's $want_bytes wire bytes, or a drop: $final"
big=$(jq -c --argjson n "$cut_len" 'select(.type == "flow_purge" and .flow.total_bytes == $n)' "$TMP/cut.ndjson")
[[ -n $big ]] || fail "no flow counts the cut packet's $cut_len wire bytes"
say "a packet cut to 1532 of $cut_len bytes is counted in truncated_packets, its bytes in full"

# 3. A worker that dies at start-up, every time.
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

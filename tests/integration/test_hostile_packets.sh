#!/usr/bin/env bash
# Valid packets that try a sensor's patience (tests/lib/gen_hostile_packets.py):
#   1. TTL 1, TTL 0, IPv6 hop limit 0, TCP window 0 all along, and 20
#      zero-window probes: these are ordinary packets to a passive sensor,
#      which sees them whatever their fate further on.  Each conversation
#      is one HTTP flow (Host www.example.test), with every packet and byte
#      the generator wrote, purged as closed;
#   2. 3000 flows of 40 packets of random payload (TCP and UDP, on the
#      ports nDPI knows best): nDPI gives up at --max-detection-pkts (32):
#      no flow has detection_packets over 32; a flow is reported guessed
#      (by port, or Unknown) after exactly 32 packets, unless one of nDPI's
#      loose heuristics (RTP, DNS) named it earlier: at most 10 % (shown);
#      nothing is left in detection at the end, and the replay ends within
#      60 s (no timing assertion beyond that);
#   3. 3000 TLS flows at once each waiting for a record longer than TLS
#      allows (nDPI gathers it while detection runs): the worker's peak RSS
#      stays under 16 MiB + 64 KiB per flow, every flow is reported, none is
#      left in detection.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

GEN="$ROOT/tests/lib/gen_hostile_packets.py"

# 1. TTL and window tricks.
python3 "$GEN" tricks "$TMP/tricks.pcap" "$TMP/tricks.json" || fail "gen_hostile_packets.py tricks"
FS_OUT=$TMP/tricks.out fs_run 30 -r "$TMP/tricks.pcap" --stdout -w 2
[[ $FS_RC == 0 ]] || fail "the replay of the TTL and window tricks exited $FS_RC"
assert_no_leftovers
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 5 "$TMP/tricks.out" >/dev/null \
    || fail "the tricks' stream breaks the contract"
while read -r trick; do
    name=$(jq -r .name <<<"$trick")
    ip=$(jq -r .local_ip <<<"$trick")
    want=$(jq -c '{packets, bytes}' <<<"$trick")
    flow=$(jq -c --arg ip "$ip" 'select(.type == "flow" and .flow.local_ip == $ip) | .flow
        | {proto: .detected_protocol_name, host: .host_server_name, guessed: .detection_guessed}' "$TMP/tricks.out")
    purge=$(jq -c --arg ip "$ip" --slurpfile f <(jq -c --arg ip "$ip" 'select(.type == "flow" and .flow.local_ip == $ip) | .flow.digest' "$TMP/tricks.out") \
        'select(.type == "flow_purge" and .flow.digest == $f[0]) | {reason, packets: .flow.total_packets, bytes: .flow.total_bytes}' "$TMP/tricks.out")
    say "$name: flow $flow, purge $purge"
    [[ $flow == '{"proto":"HTTP","host":"www.example.test","guessed":false}' ]] \
        || fail "$name: the flow is not reported as HTTP to www.example.test: $flow"
    [[ $purge == "$(jq -c '{reason: "closed"} + .' <<<"$want")" ]] \
        || fail "$name: purge $purge, expected closed with $want"
done < <(jq -c '.[]' "$TMP/tricks.json")

# 2. Flows nDPI cannot name.
FLOWS=3000
PACKETS=40
MAX_DETECTION=32
python3 "$GEN" undetectable "$TMP/random.pcap" "$FLOWS" "$PACKETS" || fail "gen_hostile_packets.py undetectable"
t0=${EPOCHREALTIME//[.,]/}
FS_OUT=$TMP/random.out fs_run 60 -r "$TMP/random.pcap" --stdout -w 2 --max-detection-pkts "$MAX_DETECTION"
t1=${EPOCHREALTIME//[.,]/}
[[ $FS_RC == 0 ]] || fail "the replay of random payloads exited $FS_RC (124: not done within 60 s)"
assert_no_leftovers
say "$FLOWS flows of $PACKETS random packets replayed in $(((t1 - t0) / 1000)) ms"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows "$FLOWS" "$TMP/random.out" >/dev/null \
    || fail "the random flows' stream breaks the contract"
first=$TMP/first.ndjson
jq -c 'select(.type == "flow" and (.flow.detection_updated | not)) | .flow
    | {tcp: (.ip_protocol == 6), guessed: .detection_guessed, dp: .detection_packets,
       proto: .detected_protocol_name}' "$TMP/random.out" >"$first"
[[ $(wc -l <"$first") == "$FLOWS" ]] || fail "$(wc -l <"$first") flows reported, expected $FLOWS"
over=$(jq -s -c --argjson m "$MAX_DETECTION" '[.[] | select(.dp > $m)] | length' "$first")
((over == 0)) || fail "$over flows went on with detection past $MAX_DETECTION packets"
over=$(jq -s -c --argjson m "$MAX_DETECTION" '[.[] | select(.dp > $m)] | length' \
    <(jq -c 'select(.type == "flow_purge") | {dp: .flow.detection_packets}' "$TMP/random.out"))
((over == 0)) || fail "$over purges show detection past $MAX_DETECTION packets"
early=$(jq -s -c --argjson m "$MAX_DETECTION" '[.[] | select(.guessed and .dp != $m)] | length' "$first")
((early == 0)) || fail "$early flows were guessed before nDPI gave up at $MAX_DETECTION packets"
say "reported: $(jq -s -c 'group_by(.proto + (if .guessed then " (guessed)" else "" end)) | map({(.[0].proto + (if .[0].guessed then " (guessed)" else "" end)): length}) | add' "$first")"
named=$(jq -s -c '[.[] | select(.guessed | not)] | length' "$first")
# Random bytes pass some loose heuristics of nDPI 4.2 (RTP, DNS over UDP
# and TCP); never many.
((named * 10 <= FLOWS)) || fail "$named of $FLOWS random flows were named by nDPI, more than 10 %"
final=$(jq -c 'select(.type == "agent_status")' "$TMP/random.out" | tail -n 1)
detecting=$(jq '[.workers[].flows_detecting] | add' <<<"$final")
[[ $detecting == 0 ]] || fail "$detecting flows still hold nDPI state at the end"
# 3. TLS records longer than TLS allows, 3000 flows waiting at once:
# nDPI 4.2 gathers each flow's record (up to 64 KiB) while detection runs,
# so a flow in detection may hold up to --max-detection-pkts segments.
# Memory stays within that bound (16 MiB + 64 KiB per flow here), and it
# all goes when detection ends.
TLS_FLOWS=3000
python3 "$GEN" tls-records "$TMP/tls.pcap" "$TLS_FLOWS" 65000 31 || fail "gen_hostile_packets.py tls-records"
FS_OUT=$TMP/tls.out fs_run 60 -r "$TMP/tls.pcap" --stdout -w 1
[[ $FS_RC == 0 ]] || fail "the replay of long TLS records exited $FS_RC"
assert_no_leftovers
final=$(jq -c 'select(.type == "agent_status") | .workers[0]' "$TMP/tls.out" | tail -n 1)
say "long TLS records: $(jq -c '{flows_total, flows_detecting, maxrss_kb}' <<<"$final")"
[[ $(jq .flows_detecting <<<"$final") == 0 ]] || fail "flows still in detection at the end"
[[ $(count_flows "$TMP/tls.out") == "$TLS_FLOWS" ]] || fail "$(count_flows "$TMP/tls.out") flows reported, expected $TLS_FLOWS"
dp=$(jq -s -c '[.[] | select(.type == "flow_purge") | .flow.detection_packets] | unique' "$TMP/tls.out")
[[ $dp == "[$MAX_DETECTION]" ]] || fail "detection_packets of the TLS flows: $dp, expected all $MAX_DETECTION"
# ASan keeps freed blocks in quarantine and every realloc moves: its RSS
# (2 GB here) says nothing about the release build's.
bound=$((16 * 1024 + TLS_FLOWS * 64))
if [[ $BUILD_DIR != *asan* ]]; then
    (($(jq .maxrss_kb <<<"$final") <= bound)) || fail "the worker peaked at $(jq .maxrss_kb <<<"$final") kB, over $bound kB"
fi

say "ok: every trick flow whole; random flows: detection ended by packet $MAX_DETECTION at the latest, $named named by nDPI's loose heuristics, the rest guessed"

#!/usr/bin/env bash
# Replays tests/pcap/mixed.pcap to a client that reads the way netify-fwa
# does (text mode, readline + read(N)), once over a UNIX socket and once
# over TCP on 127.0.0.1: the framing must hold for every record, the stream
# must follow the contract (hello, status, flows each purged), flowsensed
# must exit 0 leaving no process behind, and both transports must carry
# the same flow records.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

for ep in "unix:$TMP/x.sock" "tcp:127.0.0.1:$(free_tcp_port)"; do
    kind=${ep%%:*}
    out=$TMP/$kind.ndjson
    fs_start -r "$PCAP" --listen "$ep" --wait-for-client
    start_reader "$out" "$ep" --timeout 120

    say "$kind: $ep"
    fs_finish 120

    python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 1 \
        --interface mixed.pcap --internal "$out" \
        || fail "$kind: the stream breaks the contract (see above)"
    jq -c -S 'select(.type | startswith("agent_") | not)' "$out" | LC_ALL=C sort >"$out.canon"
done
cmp -s "$TMP/unix.ndjson.canon" "$TMP/tcp.ndjson.canon" || {
    diff "$TMP/unix.ndjson.canon" "$TMP/tcp.ndjson.canon" | head -n 20
    fail "the UNIX and the TCP client received different flow records"
}
say "ok: $(count_type "$TMP/unix.ndjson" flow) flows, all purged; framing intact over UNIX and TCP"

#!/usr/bin/env bash
# `make demo`: replays tests/pcap/mixed.pcap through flowsense and shows,
# for each flow record, its protocol, application, host and TLS SNI, then
# how many records of each type the stream held.
#   tests/demo.sh [CAPTURE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PCAP=${1:-$ROOT/tests/pcap/mixed.pcap}
BUILD=${FLOWSENSE_BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
BIN=$BUILD/bin/flowsensed
[[ -x $BIN ]] || { echo "demo: $BIN is not built; run make" >&2; exit 1; }
[[ -f $PCAP ]] || { echo "demo: $PCAP not found" >&2; exit 1; }
command -v jq >/dev/null || { echo "demo: jq is missing (make deps)" >&2; exit 1; }

user=()
[[ $(id -u) == 0 ]] && user=(-u nobody)
out=$(mktemp "${TMPDIR:-/tmp}/flowsense-demo.XXXXXX")
trap 'rm -f "$out" "$out.err"' EXIT

echo "\$ flowsensed -r $(basename "$PCAP") --stdout ${user[*]}"
if ! "$BIN" -r "$PCAP" --stdout "${user[@]}" >"$out" 2>"$out.err"; then
    cat "$out.err" >&2
    echo "demo: flowsensed failed" >&2
    exit 1
fi

echo
echo "Flows (one line per flow record; [update] marks the record sent when nDPI's later dissection added metadata):"
jq -r 'select(.type == "flow") | .flow
    | [ (.ip_protocol | if . == 6 then "tcp" elif . == 17 then "udp" else tostring end),
        ([.local_ip, .local_port, .other_ip, .other_port] as [$a, $p, $b, $q]
          | def ep(ip; port): if (ip | contains(":")) then "[\(ip)]:\(port)" else "\(ip):\(port)" end;
          "\(ep($a; $p)) <-> \(ep($b; $q))"),
        .detected_protocol_name
          + (if .detected_application != 0 then " / " + .detected_application_name else "" end)
          + (if .detection_guessed then " (guessed)" else "" end)
          + (if .detection_updated then " [update]" else "" end),
        "host=" + (.host_server_name // "-"),
        "sni=" + (.ssl.client_sni // "-") ]
    | @tsv' "$out" | awk -F'\t' '{ printf "  %-4s %-46s %-28s %-34s %s\n", $1, $2, $3, $4, $5 }'

echo
echo "Records by type:"
jq -r .type "$out" | sort | uniq -c | sort -rn | awk '{ printf "  %-14s %s\n", $2, $1 }'
echo "Protocols (per flow, from its last record):"
jq -s -r '[.[] | select(.type == "flow") | {(.flow.digest): .flow.detected_protocol_name}] | add // {} | .[]' "$out" \
    | sort | uniq -c | sort -rn | awk '{ printf "  %-14s %s\n", $2, $1 }'
echo "Purge reasons:"
jq -r 'select(.type == "flow_purge") | .reason' "$out" \
    | sort | uniq -c | awk '{ printf "  %-14s %s\n", $2, $1 }'
echo
echo "The same stream, framed for clients: flowsensed -r FILE --listen unix:/tmp/fs.sock --wait-for-client"
echo "then: python3 tests/lib/stream_reader.py unix:/tmp/fs.sock"

#!/usr/bin/env bash
# Cross-checks flowsense's per-flow metadata against independent decoders.
#
#   ssh{client, server}        tshark: the first "SSH-" line each side sends (raw TCP
#                              payload, so any port), the client being the SYN's sender
#   dhcp{fingerprint,          tshark: dhcp.option.request_list_item (comma-joined) and
#        class_ident}          dhcp.option.vendor_class_id of each flow's first DHCP packet
#   bt{info_hash}              tshark: bittorrent.info_hash of the connection
#   risks[]                    ndpiReader -v 2: the "[Risk: ** name **...]" of each flow
#   mdns{answer}               tshark: the first dns.resp.name of the flow's first mDNS
#                              response without questions, in nDPI's spelling (lowercase,
#                              other printable ASCII as "_", other bytes as "?")
#   ssdp{user_agent, server}   tshark: http.user_agent and http.server of the flow's first
#                              SSDP message (nDPI 4.2 keeps no SSDP headers: flowsense reads them)
#   gtp{local/other ip, port,  tshark: the outer IP/UDP endpoints and gtp.teid of each G-PDU,
#       teid}                  per inner flow: each inner side's tunnel endpoint, and that
#                              endpoint's TEID (carried by the packets sent to it)
# Per flow (unordered address/port pair), exact equality, on each flow's last record
# (a detection_updated one when nDPI's later dissection changed it); each kind must
# compare at least a few flows carrying a value.  Captures come from the shared corpus beside the
# repository (../shared/pcap); tests/pcap has none of these protocols.
# Exit: 0 pass, 1 fail (one-line reason), 77 skip (missing tool, capture or binary).
# Env: FLOWSENSED=path overrides build/bin/flowsensed.
set -uo pipefail

NAME=test_metadata_tshark
skip() { echo "$NAME: SKIP: $*"; exit 77; }
fail() { echo "$NAME: FAIL: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null) || ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FLOWSENSED:-$ROOT/build/bin/flowsensed}
SHARED="$ROOT/../shared/pcap"

for tool in tshark ndpiReader python3; do
    command -v $tool >/dev/null || skip "$tool not installed"
done
[ -x "$BIN" ] || skip "$BIN not built (run make)"
[ "$(id -u)" = 0 ] || skip "needs root (flowsensed -u nobody drops privileges)"

# kind min_flows_with_value captures...
CASES=(
    "ssh 2 ssh.pcap"
    "dhcp 6 signal.pcap whatsapp_login_chat.pcap 1kxun.pcap"
    "bt 10 bittorrent.pcap"
    "risks 10 emotet.pcap selfsigned.pcap bittorrent.pcap ssh.pcap"
    "mdns 3 iphone.pcap"
    "ssdp 2 1kxun.pcap netflix.pcap"
    "gtp 5 dtls.pcap ipv6_in_gtp.pcap zoom.pcap reasm_segv_anon.pcapng"
)
for c in "${CASES[@]}"; do
    read -r -a words <<<"$c"
    for f in "${words[@]:2}"; do
        [ -r "$SHARED/$f" ] || skip "capture missing: $SHARED/$f (shared corpus not beside the repository)"
    done
done

TMP=$(mktemp -d /tmp/$NAME.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# truth KIND FILE: the independent decoder's view, in compare_metadata.py's format
truth() {
    local ip_fields=(-e ip.src -e ipv6.src)
    case $1 in
    ssh) tshark -r "$2" -n -Y 'tcp' -T fields -E occurrence=f \
             -e tcp.stream "${ip_fields[@]}" -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
             -e tcp.flags.syn -e tcp.flags.ack -e tcp.payload ;;
    dhcp) tshark -r "$2" -n -Y 'dhcp' -T fields -E occurrence=a -E aggregator=, \
             "${ip_fields[@]}" -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport \
             -e dhcp.option.request_list_item -e dhcp.option.vendor_class_id ;;
    bt) tshark -r "$2" -n -Y 'bittorrent.info_hash' -T fields -E occurrence=f \
             -e tcp.stream "${ip_fields[@]}" -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
             -e bittorrent.info_hash ;;
    risks) ndpiReader -i "$2" -v 2 ;;
    mdns) tshark -r "$2" -n -Y 'mdns && dns.flags.response == 1' -T fields -E occurrence=f \
             "${ip_fields[@]}" -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport \
             -e dns.count.queries -e dns.resp.name ;;
    ssdp) tshark -r "$2" -n -Y 'ssdp' -T fields -E occurrence=f \
             "${ip_fields[@]}" -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport \
             -e http.user_agent -e http.server ;;
    gtp) tshark -r "$2" -n -Y 'gtp.message == 0xff' -T fields -E occurrence=a -E 'aggregator=|' \
             -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e udp.srcport -e udp.dstport \
             -e tcp.srcport -e tcp.dstport -e ip.proto -e ipv6.nxt -e gtp.teid ;;
    esac
}

summary=()
both_teids=0
for c in "${CASES[@]}"; do
    read -r -a words <<<"$c"
    kind=${words[0]} need=${words[1]} total=0
    for f in "${words[@]:2}"; do
        base=$kind.${f%%.*}
        truth "$kind" "$SHARED/$f" >"$TMP/$base.truth" 2>"$TMP/$base.truth.err" ||
            fail "$kind truth for $f failed: $(tail -n1 "$TMP/$base.truth.err")"
        timeout 120 "$BIN" -r "$SHARED/$f" --stdout -u nobody >"$TMP/$base.ndjson" \
            2>"$TMP/$base.err" || fail "flowsensed -r $f exited non-zero: $(tail -n1 "$TMP/$base.err")"
        python3 "$ROOT/tests/lib/compare_metadata.py" "$kind" "$TMP/$base.ndjson" \
            "$TMP/$base.truth" >"$TMP/$base.report"
        rc=$?
        echo "$NAME: $kind $f: $(head -n1 "$TMP/$base.report")"
        if [ $rc != 0 ]; then
            tail -n +2 "$TMP/$base.report"
            fail "$kind $f: $(sed -n 2p "$TMP/$base.report" | sed 's/^ *//')"
        fi
        n=$(sed -n 's/.*with_value=\([0-9]*\).*/\1/p' "$TMP/$base.report")
        total=$((total + n))
        teids=$(sed -n 's/.*both_teids=\([0-9]*\).*/\1/p' "$TMP/$base.report")
        both_teids=$((both_teids + ${teids:-0}))
    done
    [ "$total" -ge "$need" ] || fail "$kind: only $total flows with a value compared (want >= $need)"
    if [ "$kind" = gtp ] && [ "$both_teids" -lt 3 ]; then
        fail "gtp: only $both_teids flows report both TEIDs (want >= 3)"
    fi
    summary+=("$kind $total")
done
echo "$NAME: PASS: flows with a value, all equal: $(IFS=,; echo "${summary[*]}" | sed 's/,/, /g')"
exit 0

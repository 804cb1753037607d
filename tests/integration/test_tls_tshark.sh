#!/usr/bin/env bash
# Cross-check flowsense's TLS metadata against tshark.
#
# For every TCP connection with a ClientHello in the capture, flowsensed's first `flow`
# record for the same (unordered) address/port pair must carry the SNI and JA3 that
# tshark decodes from the connection's first ClientHello; for every connection whose
# server certificate tshark sees, a later record marked detection_updated must carry
# its issuer, subject and CN (tests/lib/compare_tls_updates.py, openssl decodes it).
#
# Captures: tests/pcap/https.pcap, tests/pcap/mixed.pcap and, when the shared corpus
# sits beside the repository, ../shared/pcap/chrome.pcap, reddit.pcap, sites.pcapng,
# long_tls_certificate.pcap, selfsigned.pcap and KakaoTalk_chat.pcap.  (teams.pcap is
# left out: segments lost before two certificates keep nDPI 4.2 from reading them.)
# Exit: 0 pass, 1 fail (one-line reason), 77 skip (missing tool or binary).
#   --dump-tshark   print tshark's per-connection table (no flowsensed needed) and exit 0
# Env: FLOWSENSED=path overrides build/bin/flowsensed.
set -uo pipefail

NAME=test_tls_tshark
skip() { echo "$NAME: SKIP: $*"; exit 77; }
fail() { echo "$NAME: FAIL: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null) || ROOT=$(cd "$HERE/../.." && pwd)
BIN=${FLOWSENSED:-$ROOT/build/bin/flowsensed}
DUMP=0
[ "${1:-}" = --dump-tshark ] && DUMP=1

command -v tshark >/dev/null || skip "tshark not installed (apt-get install tshark)"
command -v jq >/dev/null || skip "jq not installed (apt-get install jq)"
command -v openssl >/dev/null || skip "openssl not installed (apt-get install openssl)"
if [ $DUMP = 0 ]; then
    [ -x "$BIN" ] || skip "$BIN not built (run make)"
    if [ -z "${FLOWSENSED:-}" ]; then
        for helper in flowsense-worker flowsense-broker; do
            [ -x "$ROOT/build/bin/$helper" ] || skip "build/bin/$helper not built (run make)"
        done
    fi
    [ "$(id -u)" = 0 ] || skip "needs root (flowsensed -u nobody drops privileges)"
fi

FILES=("$ROOT/tests/pcap/https.pcap" "$ROOT/tests/pcap/mixed.pcap")
SHARED="$ROOT/../shared/pcap"
[ -d "$SHARED" ] && FILES+=("$SHARED/chrome.pcap" "$SHARED/reddit.pcap" "$SHARED/sites.pcapng"
    "$SHARED/long_tls_certificate.pcap" "$SHARED/selfsigned.pcap" "$SHARED/KakaoTalk_chat.pcap")
for f in "${FILES[@]}"; do [ -r "$f" ] || fail "capture missing: $f"; done

TMP=$(mktemp -d /tmp/$NAME.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# jq helpers shared by both halves: one canonical text per endpoint, so that
# "2001:db8::1" and "2001:0db8:0:0:0:0:0:1" (or a v4-in-v6 tail) compare equal.
# shellcheck disable=SC2016  # jq program, not shell
JQ_DEFS='
def hex4: ("0000" + .)[-4:];
def v4tail_to_hex:
  split(".") | map(tonumber) |
  [(.[0] * 256 + .[1]), (.[2] * 256 + .[3])] |
  map(. as $n | [($n / 4096 | floor) % 16, ($n / 256 | floor) % 16, ($n / 16 | floor) % 16, $n % 16] |
      map("0123456789abcdef"[.:.+1]) | join(""));
def groups: if . == "" then [] else split(":") |
  (if (.[-1] | test("\\.")) then .[:-1] + (.[-1] | v4tail_to_hex) else . end) end;
def canon_ip:
  ascii_downcase |
  if test(":") then
    (split("::") | if length == 2 then
        (.[0] | groups) as $a | (.[1] | groups) as $b |
        $a + [range(8 - ($a | length) - ($b | length)) | "0"] + $b
     else .[0] | groups end) | map(hex4) | join(":")
  else . end;
def pair_key($a; $ap; $b; $bp):
  [($a | canon_ip) + "#" + ($ap | tostring), ($b | canon_ip) + "#" + ($bp | tostring)] | sort | join("|");
'

# tshark_tsv FILE HANDSHAKE_TYPE FIELD: per packet with that handshake message, its
# connection and endpoints and the first FIELD (compare_tls_updates.py's input)
tshark_tsv() {
    tshark -r "$1" -n -Y "tcp && tls.handshake.type == $2" -T fields -E occurrence=f \
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
        -e "$3" 2>>"$TMP/tshark.err"
}

# tshark_hellos FILE: JSON array, one object per TCP connection with its first ClientHello
tshark_hellos() {
    tshark -r "$1" -n -Y 'tcp && tls.handshake.type == 1' -T fields -E occurrence=l \
        -e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport \
        -e ip.dst -e ipv6.dst -e tcp.dstport \
        -e tls.handshake.extensions_server_name -e tls.handshake.ja3 2>"$TMP/tshark.err" |
    jq -R -s "$JQ_DEFS"'
      split("\n") | map(select(length > 0) | split("\t")) |
      map({frame: (.[0] | tonumber), stream: .[1],
           src: (if .[2] != "" then .[2] else .[3] end), sport: .[4],
           dst: (if .[5] != "" then .[5] else .[6] end), dport: .[7],
           sni: (.[8] // ""), ja3: (.[9] // "")}) |
      group_by(.stream) | map(min_by(.frame)) | sort_by(.frame) |
      map(. + {key: pair_key(.src; .sport; .dst; .dport)})'
}

# flowsense_flows NDJSON: JSON array of TCP flow records reduced to what we compare,
# each flow's first record (sent at detection: the SNI and JA3 must be there already)
flowsense_flows() {
    jq -s "$JQ_DEFS"'
      map(select(.type == "flow" and .flow.ip_protocol == 6 and (.flow.detection_updated | not)) | .flow |
          {key: pair_key(.local_ip; .local_port; .other_ip; .other_port),
           first: (.first_seen_at // 0),
           sni: (.ssl.client_sni // ""), ja3: (.ssl.client_ja3 // "")})' "$1"
}

# compare HELLOS FLOWS: JSON report {compared, problems[]}. Connections sharing a
# pair (port reuse) are matched in time order. SNI compares case-insensitively
# (DNS names are; nDPI lowercases them).
compare() {
    jq -n --slurpfile t "$1" --slurpfile f "$2" '
      ($f[0] | group_by(.key) | map({(.[0].key): sort_by(.first)}) | add // {}) as $byk |
      ($t[0] | group_by(.key)) |
      map(. as $conns | ($byk[$conns[0].key] // []) as $flows |
          range($conns | length) as $i | $conns[$i] as $c | $flows[$i] as $fl |
          if $fl == null then
            if $c.sni != "" then {problem: "no flow record for \($c.key) (tshark SNI \($c.sni))"}
            else {skipped: 1} end
          elif ($fl.sni | ascii_downcase) != ($c.sni | ascii_downcase) then
            {problem: "\($c.key): client_sni \"\($fl.sni)\" != tshark \"\($c.sni)\""}
          elif ($fl.ja3 | ascii_downcase) != ($c.ja3 | ascii_downcase) then
            {problem: "\($c.key) (\($c.sni)): client_ja3 \"\($fl.ja3)\" != tshark \"\($c.ja3)\""}
          else {ok: 1} end) |
      {compared: map(select(.ok or .problem)) | length,
       problems: map(.problem // empty)}'
}

total=0 certs=0
for f in "${FILES[@]}"; do
    name=$(basename "$f")
    base=${name%.*}
    tshark_hellos "$f" >"$TMP/$base.hellos.json" ||
        fail "tshark could not read $f: $(tail -n1 "$TMP/tshark.err")"
    n_hellos=$(jq length "$TMP/$base.hellos.json")
    [ "$n_hellos" -gt 0 ] || fail "tshark found no TLS ClientHello in $f"
    if [ $DUMP = 1 ]; then
        jq -r --arg b "$base" '.[] | [$b, .key, .sni, .ja3] | @tsv' "$TMP/$base.hellos.json"
        continue
    fi

    if ! timeout 120 "$BIN" -r "$f" --stdout -w 2 -u nobody \
            >"$TMP/$base.ndjson" 2>"$TMP/$base.stderr"; then
        fail "flowsensed -r $name exited non-zero: $(tail -n1 "$TMP/$base.stderr")"
    fi
    flowsense_flows "$TMP/$base.ndjson" >"$TMP/$base.flows.json" 2>"$TMP/jq.err" ||
        fail "flowsensed output for $name is not NDJSON: $(head -n1 "$TMP/jq.err")"
    compare "$TMP/$base.hellos.json" "$TMP/$base.flows.json" >"$TMP/$base.report.json" ||
        fail "jq comparison failed for $name"

    compared=$(jq .compared "$TMP/$base.report.json")
    problems=$(jq '.problems | length' "$TMP/$base.report.json")
    echo "$NAME: $name: $compared TLS connections compared, $problems mismatches"
    if [ "$problems" -gt 0 ]; then
        jq -r '.problems[]' "$TMP/$base.report.json" | sed "s/^/  $name: /"
        fail "$name: $(jq -r '.problems[0]' "$TMP/$base.report.json")"
    fi
    total=$((total + compared))

    # The certificate comes after the ClientHello: a detection_updated record
    # must bring it (issuer_dn, subject_dn, server_cn as openssl reads it).
    if ! tshark_tsv "$f" 1 tls.handshake.extensions_server_name >"$TMP/$base.hellos.tsv" ||
        ! tshark_tsv "$f" 11 tls.handshake.certificate >"$TMP/$base.certs.tsv"; then
        fail "tshark could not read $f: $(tail -n1 "$TMP/tshark.err")"
    fi
    PYTHONPATH="$ROOT/tests/lib" python3 "$ROOT/tests/lib/compare_tls_updates.py" \
        "$TMP/$base.ndjson" "$TMP/$base.hellos.tsv" "$TMP/$base.certs.tsv" >"$TMP/$base.updates"
    rc=$?
    n=$(sed -n 's/^compared=//p' "$TMP/$base.updates")
    echo "$NAME: $name: $n certificates compared with detection_updated records"
    if [ $rc != 0 ]; then
        tail -n +2 "$TMP/$base.updates"
        fail "$name: $(sed -n 2p "$TMP/$base.updates" | sed 's/^ *//')"
    fi
    certs=$((certs + n))
done

[ $DUMP = 1 ] && exit 0
[ "$total" -gt 0 ] || fail "no TLS connection was compared"
need_certs=6
[ -d "$SHARED" ] && need_certs=50
[ "$certs" -ge $need_certs ] || fail "only $certs certificates compared (want >= $need_certs)"
echo "$NAME: PASS: $total TLS connections in ${#FILES[@]} captures match tshark (SNI, JA3 in the first record);" \
    "$certs certificates match a detection_updated record (issuer_dn, subject_dn, server_cn)"
exit 0

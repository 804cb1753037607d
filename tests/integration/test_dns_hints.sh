#!/usr/bin/env bash
# The DNS hint cache, end to end, on a synthetic capture
# (tests/lib/gen_dns_hints_pcap.py: DNS answers, some through CNAME
# chains, some AAAA, one re-answered, one short-lived, three hostile; then
# TLS connections without SNI to the answered addresses):
#   - every flow's dns_host_name / dhc_hit / host_server_name equals what
#     tshark's dns.qry.name, dns.a, dns.aaaa and dns.resp.ttl of the
#     earlier answers say (tests/lib/check_dns_hints.py);
#   - with 1, 2 and 4 workers the records are the same (the answers reach
#     every worker through the rings, in capture order);
#   - --dhc-max-entries bounds the cache (evictions counted);
#   - agent_status: dhc_status true, dhc_size = the addresses answered,
#     the same in every worker; each worker parsed every answer
#     (answers, learned and malformed equal tshark's counts); capture
#     copied each answer to the w - 1 other workers;
#   - every capture of ../shared/pcap with a DNS answer (when present):
#     each flow's hint agrees with tshark's answers, with 2 workers.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd jq tshark python3
fs_setup

# The answers the cache learns from, as tshark reads them: whole UDP
# datagrams from port 53 (not reassembled fragments), NOERROR, one question.
tshark_answers() {
    tshark -r "$1" -n -Y 'udp.srcport == 53 && dns.flags.response == 1 && dns.flags.rcode == 0 &&
            dns.count.queries == 1 && !_ws.malformed &&
            !(ip.flags.mf == 1) && !(ip.frag_offset > 0) && !ipv6.fraghdr' \
        -T fields -E occurrence=a -E aggregator=, -e frame.time_epoch -e dns.qry.name \
        -e dns.count.answers -e dns.resp.type -e dns.resp.ttl -e dns.a -e dns.aaaa \
        > "$2" 2>/dev/null
}

pcap=$TMP/dns-hints.pcap
python3 "$ROOT/tests/lib/gen_dns_hints_pcap.py" "$pcap" || fail "cannot write the capture"
tshark_answers "$pcap" "$TMP/answers.tsv" || fail "tshark failed"
answers=$(tshark -r "$pcap" -n -Y 'udp.srcport == 53' 2>/dev/null | wc -l)
valid=$(wc -l < "$TMP/answers.tsv")
addresses=$(cut -f 6,7 "$TMP/answers.tsv" | tr '\t,' '\n\n' | grep . | sort -u | wc -l)
((answers == 27 && valid == 24 && addresses == 23)) ||
    fail "tshark reads $answers answers, $valid valid, $addresses addresses (expected 27, 24, 23)"

flows() { jq -c -S 'select(.type == "flow" or .type == "flow_purge")' "$1" | LC_ALL=C sort; }
for w in 1 2 4; do
    out=$TMP/w$w.ndjson
    FS_OUT=$out fs_run 60 -r "$pcap" --stdout -w "$w"
    [[ $FS_RC == 0 ]] || fail "-w $w: flowsensed exited $FS_RC"
    summary=$(python3 "$ROOT/tests/lib/check_dns_hints.py" "$TMP/answers.tsv" "$out" \
              --min-hits 23 --min-misses 2) || { echo "$summary"; fail "-w $w: hints differ from tshark"; }
    # The cases the capture was made for, named.
    hint_of() { jq -r --arg ip "$1" 'select(.type == "flow" and .flow.other_ip == $ip) |
                  .flow | "\(.dhc_hit) \(.dns_host_name) \(.host_server_name)"' "$out" | head -n 1; }
    [[ $(hint_of 198.51.100.10) == "true www.example.test www.example.test" ]] ||
        fail "-w $w: the CNAME chain's address: $(hint_of 198.51.100.10)"
    [[ $(hint_of 198.51.100.50) == "true second.example.test second.example.test" ]] ||
        fail "-w $w: the re-answered address: $(hint_of 198.51.100.50)"
    [[ $(hint_of 2001:db8::3) == "true v6-3.example.test v6-3.example.test" ]] ||
        fail "-w $w: an AAAA address: $(hint_of 2001:db8::3)"
    [[ $(hint_of 198.51.100.60) == "false null null" ]] ||
        fail "-w $w: the expired answer's address: $(hint_of 198.51.100.60)"
    with_sni=$(jq -r 'select(.type == "flow" and .flow.ssl.client_sni == "sni.example.test") |
                      .flow | "\(.dns_host_name) \(.host_server_name)"' "$out")
    [[ $with_sni == "host1.example.test sni.example.test" ]] ||
        fail "-w $w: the SNI must stay host_server_name: $with_sni"

    status=$(jq -c 'select(.type == "agent_status")' "$out" | tail -n 1)
    jq -e --argjson w "$w" --argjson answers "$answers" --argjson valid "$valid" \
          --argjson addresses "$addresses" '
        .dhc_status == true and .dhc_size == $addresses and (.workers | length) == $w and
        .capture.dns_hint_copies == $answers * ($w - 1) and .capture.dns_hint_drops == 0 and
        all(.workers[]; .dhc_size == $addresses and .dns_hints.answers == $answers and
            .dns_hints.learned == $valid and .dns_hints.entries == $addresses and
            ([.dns_hints.malformed[]] | add) == $answers - $valid and
            .dns_hints.malformed.bad_pointer == 1 and .dns_hints.malformed.truncated == 1 and
            .dns_hints.malformed.bad_question_count == 1) and
        ([.workers[].dns_hints.hint_records] | add) == $answers * ($w - 1)' \
        <<<"$status" >/dev/null || {
        jq -c '{dhc_status, dhc_size, capture: {dns_hint_copies: .capture.dns_hint_copies},
                workers: [.workers[] | {dhc_size, dns_hints}]}' <<<"$status"
        fail "-w $w: agent_status counters"
    }
    say "-w $w: $summary"
done
cmp -s <(flows "$TMP/w1.ndjson") <(flows "$TMP/w2.ndjson") || fail "records differ between -w 1 and -w 2"
cmp -s <(flows "$TMP/w1.ndjson") <(flows "$TMP/w4.ndjson") || fail "records differ between -w 1 and -w 4"
say "synthetic capture: 1, 2 and 4 workers give the same records"

# A cache smaller than the addresses answered stays within its bound.
FS_OUT=$TMP/small.ndjson fs_run 60 -r "$pcap" --stdout -w 2 --dhc-max-entries 16
[[ $FS_RC == 0 ]] || fail "--dhc-max-entries 16: flowsensed exited $FS_RC"
jq -e -s --argjson addresses "$addresses" '[.[] | select(.type == "agent_status")] | last |
        .dhc_size == 16 and all(.workers[].dns_hints; .capacity == 16 and .entries == 16 and
        .evictions == .inserts - 16 and .inserts == $addresses)' "$TMP/small.ndjson" >/dev/null ||
    fail "--dhc-max-entries 16: $(jq -c 'select(.type == "agent_status") | [.workers[].dns_hints]' \
                                   "$TMP/small.ndjson" | tail -n 1)"
say "--dhc-max-entries 16: 16 entries held, $((addresses - 16)) evicted in each worker"

if [[ ! -d $SHARED_PCAP ]]; then
    say "note: $SHARED_PCAP is absent: synthetic capture only"
    say "ok"
    exit 0
fi
files=0 hits=0
for f in "$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng; do
    name=$(basename "$f")
    # A cut capture (fuzz-*) makes tshark fail after what it read, as the
    # sensor stops there too: what was read is compared.
    tshark_answers "$f" "$TMP/c.tsv" || true
    [[ -s $TMP/c.tsv ]] || continue
    FS_OUT=$TMP/c.ndjson fs_run 120 -r "$f" --stdout -w 2
    [[ $FS_RC == 0 ]] || fail "$name: flowsensed exited $FS_RC"
    summary=$(python3 "$ROOT/tests/lib/check_dns_hints.py" "$TMP/c.tsv" "$TMP/c.ndjson" \
              --min-hits 0) || { echo "$summary" | head -n 5; fail "$name: hints differ from tshark"; }
    files=$((files + 1))
    hits=$((hits + $(sed -n 's/^hits=\([0-9]*\) .*/\1/p' <<<"$summary")))
done
# 154 flows of 16 captures had a hint when this test was written.
((files >= 10 && hits >= 100)) || fail "corpus: only $files captures with answers, $hits hits"
say "ok: hints agree with tshark on the synthetic capture and on $files shared captures ($hits flows with a hint)"

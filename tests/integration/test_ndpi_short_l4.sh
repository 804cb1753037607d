#!/usr/bin/env bash
# A packet of a TCP flow from which nDPI 4.2 reads no TCP header (its data
# offset points past the segment), in a flow nDPI named BitTorrent from its
# address cache and still dissects: nDPI's BitTorrent code dereferenced
# the missing header and the worker died (found by the worker fuzz target,
# docs/reliability.md).  The worker now gives nDPI only packets it reads
# the flow's TCP or UDP header from, and counts the others in
# worker_stats.packets_not_dissected.  Checked, with 1 and 2 workers:
#   - no worker dies, no sanitizer report (asan variant), exit 0;
#   - the stream is whole (every flow purged, contract of the records);
#   - the FTP connection (192.168.1.2:2720 <-> 147.234.1.253:21) is
#     reported, with every packet its 5-tuple has in the capture, counted
#     independently by tshark;
#   - packets_not_dissected equals the segments tshark finds too short for
#     their TCP header ("Short segment"), here 1: its flow was still in
#     dissection, so the segment came to nDPI's door.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq tshark
fs_setup
PCAP=$LOCAL_PCAP/hostile/ndpi-bittorrent-short-tcp-header.pcap
[[ -f $PCAP ]] || fail "$PCAP is missing"

short=$(tshark -r "$PCAP" -Y '_ws.expert.message contains "Short segment"' -T fields -e frame.number 2>/dev/null | wc -l)
ftp_packets=$(tshark -r "$PCAP" -Y 'ip.addr == 192.168.1.2 && ip.addr == 147.234.1.253 && tcp.port == 2720 && tcp.port == 21' \
    -T fields -e frame.number 2>/dev/null | wc -l)
((short == 1 && ftp_packets >= 15)) || fail "tshark reads the capture differently: $short short segment(s), $ftp_packets FTP packets"

for workers in 1 2; do
    FS_OUT=$TMP/w$workers.out fs_run 60 -r "$PCAP" --stdout -w "$workers"
    [[ $FS_RC == 0 ]] || fail "-w $workers: the replay exited $FS_RC"
    assert_no_leftovers
    if grep -E 'died from signal|worker .* exited' "$FS_LAST_ERR"; then
        fail "-w $workers: a worker died"
    fi
    python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 2 "$TMP/w$workers.out" >/dev/null \
        || fail "-w $workers: the stream breaks the record contract"
    final=$(jq -c 'select(.type == "agent_status")' "$TMP/w$workers.out" | tail -n 1)
    deaths=$(jq '[.capture.worker_deaths // {} | .[]] | add // 0' <<<"$final")
    skipped=$(jq '[.workers[].packets_not_dissected] | add' <<<"$final")
    is_ftp='select(.type == "flow" and ([.flow.local_ip, .flow.other_ip] | sort) == ["147.234.1.253", "192.168.1.2"]
        and ([.flow.local_port, .flow.other_port] | sort) == [21, 2720] and .flow.ip_protocol == 6)'
    digest=$(jq -r "$is_ftp | .flow.digest" "$TMP/w$workers.out" | sort -u)
    proto=$(jq -r "$is_ftp | .flow.detected_protocol_name" "$TMP/w$workers.out" | paste -sd, -)
    ftp=$(jq --arg d "$digest" 'select(.type == "flow_purge" and .flow.digest == $d) | .flow.total_packets' "$TMP/w$workers.out")
    say "-w $workers: worker deaths $deaths, packets_not_dissected $skipped, FTP connection purged with $ftp packets (tshark: $ftp_packets), named $proto"
    [[ $deaths == 0 ]] || fail "-w $workers: agent_status counts worker deaths: $(jq -c .capture.worker_deaths <<<"$final")"
    [[ $ftp == "$ftp_packets" ]] || fail "-w $workers: the FTP connection's purge says $ftp packets, tshark counts $ftp_packets"
    [[ $skipped == "$short" ]] || fail "-w $workers: packets_not_dissected $skipped, tshark finds $short short segment(s)"
done
say "ok: the segment nDPI reads no TCP header from is counted, not dissected; no worker died"

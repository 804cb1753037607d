#!/usr/bin/env bash
# Replay is deterministic.  For every capture of tests/pcap and a varied
# subset of the shared corpus (../shared/pcap, when present; below),
# flowsensed -r FILE --stdout runs five times: -w 1 twice, -w 2, -w 4 twice.  Compared after taking out
# only run-dependent values (wall clock, CPU time, memory, pids: the list
# and the orders are in tests/lib/records.py):
#   - the two -w 1 streams are byte-identical, in stream order;
#   - the two -w 4 streams are byte-identical once each digest's records are
#     grouped (workers interleave in any order; one worker writes a digest's
#     records in order), per-worker statistics included;
#   - -w 1, -w 2 and -w 4 give byte-identical flow, flow_status and
#     flow_purge records (grouped by digest, each digest's in stream order),
#     agent_hello, and first and last agent_status with the workers' counters
#     summed.  Exceptions, with the reason: tests/determinism-exceptions.tsv.
#   DETERMINISM_FILES="a.pcap b.pcap"  those files (of either folder) instead;
#   DETERMINISM_FILES=all               every capture of both folders.
# (test_worker_count compares the flow records of the whole corpus with 1
# and 3 workers on every run.)
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3
fs_setup

RECORDS=$ROOT/tests/lib/records.py
EXCEPTIONS=$ROOT/tests/determinism-exceptions.tsv

# The shared subset: tunnels (IP-in-IP both ways, VXLAN, GTP-U, GTP-C, GRE),
# fragments (DNS over fragmented IPv4/IPv6, garbage fragments), IPv6, VLAN
# and QinQ, PPPoE, link types (SLL, NULL, raw IP, raw IPv4, PPP, Cisco HDLC),
# malformed and fuzzed input, nDPI's cross-flow caches (STUN, Teams,
# BitTorrent, mining), many flows (a SYN scan) and long captures that give
# flow_status records and expiries (netflix, 1kxun, mining).
SHARED_SUBSET="4in4tunnel.pcap 6in4tunnel.pcap 4in6tunnel.pcap vxlan.pcap ipv6_in_gtp.pcap
    gtp_c.pcap gre.pcapng dns_fragmented.pcap ip_fragmented_garbage.pcap http_ipv6.pcap
    smtp-starttls.pcap ja3_lots_of_cipher_suites.pcap dtls.pcap snmp.pcap syslog.pcap
    KakaoTalk_chat.pcap selfsigned.pcap ocs.pcap quic-fuzz-overflow.pcapng dlt_ppp.pcap
    BGP_redist.pcap badpackets.pcap malformed_dns.pcap fuzz-2006-06-26-2594.pcap
    fuzz-2021-10-13.pcap zoom.pcap stun.pcap teams.pcap bittorrent.pcap mining.pcapng
    synscan.pcap netflix.pcap 1kxun.pcap"

files=("$LOCAL_PCAP"/*.pcap)
if [[ -d $SHARED_PCAP ]]; then
    if [[ ${DETERMINISM_FILES:-} == all ]]; then
        files+=("$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng)
        DETERMINISM_FILES=
    else
        for n in $SHARED_SUBSET; do files+=("$SHARED_PCAP/$n"); done
    fi
else
    say "note: $SHARED_PCAP is absent: tests/pcap only"
fi
if [[ -n ${DETERMINISM_FILES:-} ]]; then
    files=("$LOCAL_PCAP"/*.pcap "$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng)
    kept=()
    for f in "${files[@]}"; do
        [[ -f $f && " $DETERMINISM_FILES " == *" $(basename "$f") "* ]] && kept+=("$f")
    done
    files=("${kept[@]}")
fi
((${#files[@]} > 0)) || fail "no capture"

# exempt FILE_NAME: the digests excused in that capture
exempt() {
    awk -F'\t' -v f="$1" '!/^#/ && $1 == f { print $2 }' "$EXCEPTIONS"
}

# run FILE NAME WORKERS: one replay into $TMP/NAME.ndjson (waits without polling)
run() {
    FS_WRAPPER="timeout -k 5 120" FS_OUT=$TMP/$2.ndjson FS_ERR=$TMP/$2.err fs_start -r "$1" --stdout -w "$3"
    wait "$FS_PID"
    FS_RC=$?
    assert_no_leftovers
    [[ $FS_RC == 0 ]] || fail "$(basename "$1") with -w $3: flowsensed exited $FS_RC"
}

problems=() excused=0 records=0
for f in "${files[@]}"; do
    [[ -r $f ]] || fail "capture missing: $f"
    name=$(basename "$f")
    [[ $f == "$SHARED_PCAP"/* ]] && tag=shared/$name || tag=tests/$name
    runs=("$TMP/w1a.ndjson" "$TMP/w1b.ndjson" "$TMP/w2.ndjson" "$TMP/w4a.ndjson" "$TMP/w4b.ndjson")
    run "$f" w1a 1; run "$f" w1b 1; run "$f" w2 2; run "$f" w4a 4; run "$f" w4b 4
    mapfile -t exempt_digests < <(exempt "$name")
    if ! python3 "$RECORDS" determinism "${runs[@]}" "${exempt_digests[@]}" \
            >"$TMP/report" 2>&1; then
        problems+=("$tag")
        say "$tag:"
        grep -v '^records=' "$TMP/report"
    fi
    records=$((records + $(sed -n 's/^records=\([0-9]*\).*/\1/p' "$TMP/report")))
    grep -q 'excused=1' "$TMP/report" && excused=$((excused + 1))
done

if ((${#problems[@]} > 0)); then
    fail "non-deterministic output for ${#problems[@]} capture(s): ${problems[*]} (above)"
fi
say "ok: ${#files[@]} captures ($records records with -w 1) give the same records on every run and with 1, 2 and 4 workers; $excused capture(s) differed only in the flows excused in tests/determinism-exceptions.tsv"

#!/usr/bin/env bash
# The valgrind sweep (tests/sweep.sh valgrind) over a representative set, as
# CI runs it: each capture through the release build's three processes
# under memcheck with 2 workers; no memory error and no definite leak in any
# process.  The set covers what the corpus exercises: TLS at volume, IPv4
# fragments with garbage and fragmented DNS, malformed and fuzzed packets,
# TCP reassembly, tunnels (VXLAN, 6in4), pcapng, and the link types other
# than Ethernet (Linux SLL, raw IP, raw IPv4, NULL with nanosecond pcap).
# `make check-valgrind` sweeps every capture with 1 and 2 workers (about
# 12 min; docs/reliability.md).  Under valgrind no seccomp filter is loaded
# (valgrind cannot run one; each process warns so).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd valgrind
default_set="tests/mixed.pcap shared/reddit.pcap shared/tls_with_huge_ch.pcapng
    shared/ip_fragmented_garbage.pcap shared/dns_fragmented.pcap shared/badpackets.pcap
    shared/fuzz-2006-06-26-2594.pcap shared/reasm_segv_anon.pcapng shared/vxlan.pcap
    shared/6in4tunnel.pcap shared/KakaoTalk_chat.pcap shared/ocs.pcap
    shared/quic-fuzz-overflow.pcapng shared/fuzz-2021-10-13.pcap"
if [[ ! -d $SHARED_PCAP ]]; then
    say "note: $SHARED_PCAP is absent: sweeping tests/pcap only"
    default_set=
fi
SWEEP_CAPTURES=${SWEEP_CAPTURES:-$default_set} SWEEP_WORKERS=${SWEEP_WORKERS:-2} \
    exec "$ROOT/tests/sweep.sh" valgrind

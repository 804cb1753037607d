#!/usr/bin/env python3
"""Checks every flow record's dns_host_name / dhc_hit against tshark's
reading of the DNS answers that came before it.

  check_dns_hints.py TSHARK_ANSWERS NDJSON [--min-hits N] [--min-misses N]

TSHARK_ANSWERS: tab-separated output of
  tshark -r FILE -n -Y 'udp.srcport == 53 && dns.flags.response == 1 &&
      dns.flags.rcode == 0 && dns.count.queries == 1 && !_ws.malformed'
    -T fields -E occurrence=a -E aggregator=, -e frame.time_epoch
    -e dns.qry.name -e dns.count.answers -e dns.resp.type -e dns.resp.ttl
    -e dns.a -e dns.aaaa
(the capture must hold no fragmented DNS answer: the cache skips those).

Truth, as the sensor documents it: an A/AAAA record of the answer section
maps its address to the QUESTION name (tshark lists the records of a CNAME
chain in the answer section in order); a later answer for the same address
replaces the earlier; an entry lives its record's TTL clamped to [60 s,
86400 s] from the answer's packet time.  A flow's lookup happens when its
detection ends (first_update_at) for its other_ip, except for DNS flows
and multicast/broadcast peers.  On a hit the flow has dhc_hit true and
dns_host_name; host_server_name stays the SNI or HTTP Host when the flow
has one, else it is the DNS name.  Exit 1 listing every disagreement.
"""

import argparse
import ipaddress
import json
import sys
from decimal import Decimal

TTL_MIN, TTL_MAX = 60, 86400


def load_answers(path):
    """address -> [(time_ms, name, ttl)], in capture order."""
    events = {}
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 7 or not cols[1]:
                continue
            t_ms = int(Decimal(cols[0]) * 1000)
            name = cols[1].lower()
            n = int(cols[2] or 0)
            types = [int(x) for x in cols[3].split(",") if x][:n]
            ttls = [int(x) for x in cols[4].split(",") if x][:n]
            a = iter([x for x in cols[5].split(",") if x])
            aaaa = iter([x for x in cols[6].split(",") if x])
            for rtype, ttl in zip(types, ttls):
                if rtype == 1:
                    addr = ipaddress.ip_address(next(a))
                elif rtype == 28:
                    addr = ipaddress.ip_address(next(aaaa))
                else:
                    continue
                events.setdefault(addr, []).append((t_ms, name, ttl))
    return events


def expected(events, addr, at_ms):
    name = None
    for t_ms, n, ttl in events.get(addr, []):
        if t_ms > at_ms:
            break
        name = n if at_ms < t_ms + min(max(ttl, TTL_MIN), TTL_MAX) * 1000 else None
    return name


def main():
    p = argparse.ArgumentParser()
    p.add_argument("answers")
    p.add_argument("ndjson")
    p.add_argument("--min-hits", type=int, default=1)
    p.add_argument("--min-misses", type=int, default=0)
    args = p.parse_args()
    events = load_answers(args.answers)
    errors, hits, misses = [], 0, 0
    with open(args.ndjson) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") != "flow":
                continue
            flow = rec["flow"]
            what = "%s -> %s" % (flow.get("digest", "?")[:8], flow.get("other_ip"))
            is_dns = (flow.get("detected_protocol_name") == "DNS"
                      or flow.get("detected_application_name", "").endswith(".dns"))
            if is_dns or flow.get("other_type") in ("multicast", "broadcast"):
                want = None
            else:
                want = expected(events, ipaddress.ip_address(flow["other_ip"]),
                                flow["first_update_at"])
            got = flow.get("dns_host_name")
            if flow.get("dhc_hit") is not (want is not None):
                errors.append("%s: dhc_hit %r, expected %r" % (what, flow.get("dhc_hit"),
                                                                want is not None))
            if got != want:
                errors.append("%s: dns_host_name %r, expected %r" % (what, got, want))
            own = (flow.get("ssl") or {}).get("client_sni") or (flow.get("http") or {}).get("host")
            if want is not None and flow.get("host_server_name") != (own or want):
                errors.append("%s: host_server_name %r, expected %r"
                              % (what, flow.get("host_server_name"), own or want))
            if is_dns:
                continue
            hits += want is not None
            misses += want is None
    if hits < args.min_hits:
        errors.append("only %d hits, expected at least %d" % (hits, args.min_hits))
    if misses < args.min_misses:
        errors.append("only %d misses, expected at least %d" % (misses, args.min_misses))
    for e in errors:
        print(e)
    if errors:
        return 1
    print("hits=%d misses=%d addresses=%d" % (hits, misses, len(events)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks each flow's local/other sides against an independent computation.

  check_locality.py PCAP FLOWS [--local-net CIDR]... [--own-net CIDR]...

FLOWS is flowsensed's NDJSON for a replay of PCAP with exactly these
networks: --local-net, local on every source (give the built-in ones too
when they are on), and --own-net, the replayed source's own networks (-A).
The truth is computed here, without flowsense's code: Python's ipaddress
classifies the addresses, tshark says who sent each flow's first packet.

  - multicast (224.0.0.0/4, ff00::/8) and broadcast (255.255.255.255, and
    the all-ones host of an own IPv4 network of /30 or wider) addresses
    are group addresses; an address inside a --local-net or --own-net
    network (and not a group address) is local;
  - the local side is the one non-group side when exactly one is a group
    address, else the one local side when exactly one is local, else the
    side that sent the first packet (the receiver when that packet is a
    TCP SYN-ACK);
  - other_type: broadcast, multicast, local or remote, for the other side;
    local_origin: the local side sent the first packet.

A flow's first packet is the first one in the capture with its protocol,
VLAN and unordered address/port pair, at or after its first_seen_at (a
pair used again later is a new flow).  Prints the counts and one line per
mismatch; exit 1 on any mismatch or a flow tshark does not know.
"""

import argparse
import collections
import ipaddress
import json
import subprocess
import sys

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "vlan.id",
          "icmp.type", "icmpv6.type", "tcp.srcport", "tcp.dstport", "udp.srcport",
          "udp.dstport", "tcp.flags.syn", "tcp.flags.ack", "ip.proto"]
PORTED = {6, 17}


def first_packets(pcap):
    """{(version, proto, vlan, frozenset of (ip, port)): [(ms, src, dst, synack)]}"""
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    packets = collections.defaultdict(list)
    for line in out.splitlines():
        row = dict(zip(FIELDS, line.split("\t") + [""] * len(FIELDS)))
        if row["ip.src"]:
            version, src, dst = 4, row["ip.src"], row["ip.dst"]
        elif row["ipv6.src"]:
            version, src, dst = 6, row["ipv6.src"], row["ipv6.dst"]
        else:
            continue
        # The first occurrence of each field is the outer packet's, so an
        # ICMP error quoting a UDP header is ICMP, not UDP.
        if row["icmp.type"] and version == 4:
            proto, sport, dport = 1, 0, 0
        elif row["icmpv6.type"] and version == 6:
            proto, sport, dport = 58, 0, 0
        elif row["tcp.srcport"]:
            proto, sport, dport = 6, int(row["tcp.srcport"]), int(row["tcp.dstport"])
        elif row["udp.srcport"]:
            proto, sport, dport = 17, int(row["udp.srcport"]), int(row["udp.dstport"])
        elif row["ip.proto"]:
            proto, sport, dport = int(row["ip.proto"]), 0, 0
        else:
            continue
        ms = int(round(float(row["frame.time_epoch"]) * 1e6)) // 1000
        synack = proto == 6 and row["tcp.flags.syn"] in ("1", "True") and \
            row["tcp.flags.ack"] in ("1", "True")
        src_ip, dst_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        vlan = int(row["vlan.id"] or 0)
        key = (version, proto, vlan, frozenset([(src_ip, sport), (dst_ip, dport)]))
        packets[key].append((ms, (src_ip, sport), (dst_ip, dport), synack))
    return packets


class Networks:
    def __init__(self, local, own):
        self.local = [ipaddress.ip_network(n, strict=False) for n in local]
        self.own = [ipaddress.ip_network(n, strict=False) for n in own]

    def kind(self, ip):
        if ip.is_multicast:
            return "multicast"
        if ip == ipaddress.ip_address("255.255.255.255"):
            return "broadcast"
        for net in self.own:
            if ip.version == 4 == net.version and net.prefixlen <= 30 \
                    and ip == net.broadcast_address:
                return "broadcast"
        if any(ip in net for net in self.local + self.own if net.version == ip.version):
            return "local"
        return "remote"


def expected(nets, first):
    """(local endpoint, other endpoint, other_type, local_origin)"""
    _ms, src, dst, synack = first
    sender, receiver = (dst, src) if synack else (src, dst)
    kinds = {ep: nets.kind(ep[0]) for ep in (sender, receiver)}
    group = {ep: kinds[ep] in ("multicast", "broadcast") for ep in kinds}
    local = {ep: kinds[ep] == "local" for ep in kinds}
    if group[sender] != group[receiver]:
        me = receiver if group[sender] else sender
    elif local[sender] != local[receiver]:
        me = sender if local[sender] else receiver
    else:
        me = sender
    other = receiver if me == sender else sender
    return me, other, kinds[other], me == sender


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("flows")
    ap.add_argument("--local-net", action="append", default=[])
    ap.add_argument("--own-net", action="append", default=[])
    args = ap.parse_args()
    nets = Networks(args.local_net, args.own_net)
    packets = first_packets(args.pcap)
    counts = collections.Counter()
    bad = 0
    with open(args.flows, encoding="ascii") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") != "flow":
                continue
            fl = rec["flow"]
            local = (ipaddress.ip_address(fl["local_ip"]), fl["local_port"])
            other = (ipaddress.ip_address(fl["other_ip"]), fl["other_port"])
            proto = fl["ip_protocol"]
            key = (fl["ip_version"], proto, fl["vlan_id"], frozenset([local, other]))
            seen = [p for p in packets.get(key, []) if p[0] >= fl["first_seen_at"]]
            if not seen:
                print("unknown to tshark: %s %s <-> %s at %d" % (proto, local, other,
                                                                   fl["first_seen_at"]))
                bad += 1
                continue
            me, them, other_type, origin = expected(nets, seen[0])
            got = (local, other, fl["other_type"], fl["local_origin"])
            want = (me, them, other_type, origin)
            counts[other_type] += 1
            if got != want:
                bad += 1
                print("mismatch: proto %d: flowsense local %s:%d other %s:%d %s origin=%s; "
                      "expected local %s:%d other %s:%d %s origin=%s" %
                      (proto, got[0][0], got[0][1], got[1][0], got[1][1], got[2], got[3],
                       want[0][0], want[0][1], want[1][0], want[1][1], want[2], want[3]))
    total = sum(counts.values())
    print("compared=%d %s mismatches=%d" % (
        total, " ".join("%s=%d" % kv for kv in sorted(counts.items())), bad))
    return 1 if bad or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Valid packets that try a sensor's patience, for test_hostile_packets.sh.

  gen_hostile_packets.py tricks OUT.pcap MANIFEST.json
      Whole HTTP conversations (10 frames each: handshake, GET, 200, FINs),
      one per trick, and what each flow must show (MANIFEST, a JSON list of
      {name, local_ip, packets, bytes}):
        ttl1        IPv4, every packet with TTL 1
        ttl0        IPv4, every packet with TTL 0
        hoplimit0   IPv6, every packet with hop limit 0
        zero-window IPv4, every segment advertising window 0
        zwp         IPv4, the server advertises window 0 after the request
                    and the client sends 20 one-byte zero-window probes
                    before the response comes (30 frames)
  gen_hostile_packets.py undetectable OUT.pcap FLOWS PACKETS
      FLOWS flows of PACKETS packets each of random payload (seeded):
      half TCP (after a handshake), half UDP, on the ports nDPI knows best
      and random high ones; nothing nDPI can name.
  gen_hostile_packets.py tls-records OUT.pcap FLOWS RECORD_LEN SEGMENTS
      FLOWS TLS flows open at once, each waiting for a handshake record of
      RECORD_LEN bytes (65000: longer than TLS allows) while SEGMENTS
      segments of 1400 bytes come.
"""

import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_pcap import (HTTP_REQUEST, HTTP_RESPONSE, PcapWriter, eth,  # noqa: E402
                          ipv4, ipv6_addr, tcp, tcp_session, udp)


class Counting(PcapWriter):
    """Counts what is written since the last reset."""

    def write(self, data, **kw):
        self.packets += 1
        self.bytes += len(data)
        super().write(data, **kw)

    def reset(self):
        self.packets = self.bytes = 0


def tricks(path, manifest_path):
    w = Counting(path)
    server = [10, 20, 0, 1]
    manifest = []

    def note(name, ip):
        manifest.append({"name": name, "local_ip": ip, "packets": w.packets, "bytes": w.bytes})

    w.reset()
    tcp_session(w, [10, 20, 1, 1], server, 41001, 80, HTTP_REQUEST, HTTP_RESPONSE, ttl=1)
    note("ttl1", "10.20.1.1")
    w.reset()
    tcp_session(w, [10, 20, 1, 2], server, 41002, 80, HTTP_REQUEST, HTTP_RESPONSE, ttl=0)
    note("ttl0", "10.20.1.2")
    w.reset()
    tcp_session(w, ipv6_addr(0x101), ipv6_addr(0x1), 41003, 80, HTTP_REQUEST, HTTP_RESPONSE,
                hop=0)
    note("hoplimit0", "fd00::101")
    w.reset()
    tcp_session(w, [10, 20, 1, 4], server, 41004, 80, HTTP_REQUEST, HTTP_RESPONSE, window=0)
    note("zero-window", "10.20.1.4")

    w.reset()
    c, s, cp = [10, 20, 1, 5], server, 41005
    cs, ss = 1000, 5000
    q, r = HTTP_REQUEST, HTTP_RESPONSE

    def f(src, dst, sp, dp, flags, payload=b"", seq=0, ack=0, win=65535):
        w.write(eth(ipv4(src, dst, 6, tcp(sp, dp, flags, payload, seq, ack, win))))

    f(c, s, cp, 80, 0x02, seq=cs)
    f(s, c, 80, cp, 0x12, seq=ss, ack=cs + 1)
    f(c, s, cp, 80, 0x10, seq=cs + 1, ack=ss + 1)
    f(c, s, cp, 80, 0x18, q, cs + 1, ss + 1)
    f(s, c, 80, cp, 0x10, seq=ss + 1, ack=cs + 1 + len(q), win=0)
    for _ in range(10):  # probe: one byte already acknowledged... not yet; answered with window 0
        f(c, s, cp, 80, 0x10, q[-1:], cs + len(q), ss + 1)
        f(s, c, 80, cp, 0x10, seq=ss + 1, ack=cs + 1 + len(q), win=0)
    f(s, c, 80, cp, 0x18, r, ss + 1, cs + 1 + len(q))
    f(c, s, cp, 80, 0x10, seq=cs + 1 + len(q), ack=ss + 1 + len(r))
    f(c, s, cp, 80, 0x11, seq=cs + 1 + len(q), ack=ss + 1 + len(r))
    f(s, c, 80, cp, 0x11, seq=ss + 1 + len(r), ack=cs + 2 + len(q))
    f(c, s, cp, 80, 0x10, seq=cs + 2 + len(q), ack=ss + 2 + len(r))
    note("zwp", "10.20.1.5")
    w.close()
    with open(manifest_path, "w") as out:
        json.dump(manifest, out)


PORTS = [80, 443, 53, 22, 25, 110, 143, 993, 3306, 5432, 5060, 1194, 123, 161, 137, 1900,
         5353, 8080, 3478, 6881, 1723, 500, 4500, 389, 445, 3389, 11211, 27017]


def undetectable(path, flows, packets):
    rng = random.Random(20261127)
    w = PcapWriter(path)
    server = [10, 30, 0, 1]
    for i in range(flows):
        client = [10, 31, i >> 8 & 255, i & 255]
        sport = 20000 + i % 40000
        dport = PORTS[i % len(PORTS)] if i % 4 else rng.randrange(1024, 65536)
        is_tcp = i % 2 == 0
        cs, ss = rng.getrandbits(32), rng.getrandbits(32)
        if is_tcp:
            w.write(eth(ipv4(client, server, 6, tcp(sport, dport, 0x02, seq=cs))))
            w.write(eth(ipv4(server, client, 6, tcp(dport, sport, 0x12, seq=ss, ack=cs + 1))))
            w.write(eth(ipv4(client, server, 6, tcp(sport, dport, 0x10, seq=cs + 1, ack=ss + 1))))
            cs, ss = cs + 1, ss + 1
        for k in range(packets):
            payload = rng.randbytes(rng.choice((1, 7, 64, 300, 1200, 1400)))
            up = k % 2 == 0
            src, dst = (client, server) if up else (server, client)
            sp, dp = (sport, dport) if up else (dport, sport)
            if is_tcp:
                seq, ack = (cs, ss) if up else (ss, cs)
                l4 = tcp(sp, dp, 0x18, payload, seq, ack)
                if up:
                    cs += len(payload)
                else:
                    ss += len(payload)
                w.write(eth(ipv4(src, dst, 6, l4)))
            else:
                w.write(eth(ipv4(src, dst, 17, udp(sp, dp, payload))))
    w.close()


def tls_records(path, flows, record_len, segments):
    """`flows` TLS connections to 10.40.0.1:443, all open at once: each
    client sends a handshake record header claiming record_len bytes, then
    `segments` segments of 1400 bytes, round-robin over the flows (so every
    flow waits for its record at the same time)."""
    w = PcapWriter(path)
    server = [10, 40, 0, 1]
    state = []
    for i in range(flows):
        c, sp = [10, 41, i >> 8 & 255, i & 255], 30000 + i
        cs, ss = 1000, 5000
        w.write(eth(ipv4(c, server, 6, tcp(sp, 443, 0x02, seq=cs))))
        w.write(eth(ipv4(server, c, 6, tcp(443, sp, 0x12, seq=ss, ack=cs + 1))))
        w.write(eth(ipv4(c, server, 6, tcp(sp, 443, 0x10, seq=cs + 1, ack=ss + 1))))
        cs += 1
        head = struct.pack("!BHHB", 22, 0x0301, record_len, 1) + (record_len - 4).to_bytes(3, "big")
        rec = head + b"\x03\x03" + b"A" * 1380
        w.write(eth(ipv4(c, server, 6, tcp(sp, 443, 0x18, rec, cs, ss + 1))))
        state.append([c, sp, cs + len(rec), ss + 1])
    for _ in range(segments):
        for st in state:
            c, sp, cs, ss = st
            w.write(eth(ipv4(c, server, 6, tcp(sp, 443, 0x18, b"B" * 1400, cs, ss))))
            st[2] = cs + 1400
    w.close()


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "tls-records":
        tls_records(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "tricks":
        tricks(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "undetectable":
        undetectable(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a synthetic pcap for the DNS hint cache: DNS answers, then TCP
flows (TLS ClientHellos, most without SNI) to the answered addresses.

  gen_dns_hints_pcap.py OUT.pcap

Written with struct (no capture tool involved), Ethernet, microsecond
pcap, real IPv4/TCP/UDP checksums.  The client is 10.9.0.1 / fd00:9::1
(local), the resolver 10.9.0.53; servers are in the documentation ranges
198.51.100.0/24 and 2001:db8::/32 (remote).  Packet time starts at
1700000000 s.  In order:

  t=0     www.example.test A, answered through a CNAME chain
          (www.example.test -> edge1.cdn.test -> edge2.cdn.test -> A 198.51.100.10)
  t=0.1+  host1..host16.example.test A 198.51.100.21..36 (TTL 120), and
          v6-1..v6-4.example.test AAAA 2001:db8::1..4 (TTL 300), each its
          own query/answer flow; first.example.test then
          second.example.test for 198.51.100.50 (the later answer wins);
          short.example.test A 198.51.100.60 with TTL 5
  t=0.9   hostile answers from port 53 (not learned, counted): a
          compression loop, a truncated record, an answer with qdcount 2
  t=1+    one TLS connection without SNI to every answered address (v4
          and v6), one to 198.51.100.99 (never answered), and one with
          SNI sni.example.test to 198.51.100.21
  t=130   a TLS connection without SNI to 198.51.100.60: its answer's TTL
          (5 s, raised to the cache's 60 s floor) has passed

Each TLS connection is a handshake, a ClientHello, the server's ACK and
a FIN each way.  tests/integration/test_dns_hints.sh checks the sensor's
dns_host_name/dhc_hit against tshark's reading of the same answers.
"""

import struct
import sys

T0 = 1700000000
CLIENT4 = bytes([10, 9, 0, 1])
RESOLVER = bytes([10, 9, 0, 53])
CLIENT6 = bytes.fromhex("fd000009000000000000000000000001")
MAC_CLIENT = bytes.fromhex("020000090001")
MAC_ROUTER = bytes.fromhex("0200000900fe")


def v4(last):
    return bytes([198, 51, 100, last])


def v6(last):
    return bytes.fromhex("20010db8000000000000000000000000")[:15] + bytes([last])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_packet(src, dst, proto, l4):
    """l4 has a zero checksum field; fills it and wraps in IP + Ethernet."""
    csum_at = {6: 16, 17: 6}[proto]
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), proto)
    c = checksum(pseudo + l4) or 0xFFFF
    l4 = l4[:csum_at] + struct.pack("!H", c) + l4[csum_at + 2:]
    if len(src) == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                          src, dst)
        hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
        ethertype = 0x0800
    else:
        hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, src, dst)
        ethertype = 0x86DD
    return hdr + l4, ethertype


def frame(src, dst, proto, l4, outbound):
    packet, ethertype = ip_packet(src, dst, proto, l4)
    macs = MAC_ROUTER + MAC_CLIENT if outbound else MAC_CLIENT + MAC_ROUTER
    return macs + struct.pack("!H", ethertype) + packet


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def labels(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


class Capture:
    def __init__(self):
        self.records = []
        self.txid = 0x100
        self.port = 20000

    def add(self, t, data):
        self.records.append((t, data))

    def next_port(self):
        self.port += 1
        return self.port

    def dns(self, t, qname, qtype, answers):
        """A query and its answer; answers are (owner, type, ttl, rdata)."""
        self.txid += 1
        sport = self.next_port()
        question = labels(qname) + struct.pack("!HH", qtype, 1)
        query = struct.pack("!HHHHHH", self.txid, 0x0100, 1, 0, 0, 0) + question
        body = b"".join(rr(o, ty, ttl, rd) for o, ty, ttl, rd in answers)
        reply = struct.pack("!HHHHHH", self.txid, 0x8180, 1, len(answers), 0, 0) + question + body
        self.add(t, frame(CLIENT4, RESOLVER, 17, udp(sport, 53, query), True))
        self.add(t + 0.002, frame(RESOLVER, CLIENT4, 17, udp(53, sport, reply), False))

    def raw_answer(self, t, payload):
        self.add(t, frame(RESOLVER, CLIENT4, 17, udp(53, self.next_port(), payload), False))

    def tls(self, t, server, sni=None):
        client = CLIENT4 if len(server) == 4 else CLIENT6
        sport, cs, ss = self.next_port(), 1000, 5000
        hello = client_hello(sni)
        steps = [
            (True, cs, 0, 0x02, b""), (False, ss, cs + 1, 0x12, b""),
            (True, cs + 1, ss + 1, 0x10, b""), (True, cs + 1, ss + 1, 0x18, hello),
            (False, ss + 1, cs + 1 + len(hello), 0x10, b""),
            (True, cs + 1 + len(hello), ss + 1, 0x11, b""),
            (False, ss + 1, cs + 2 + len(hello), 0x11, b""),
            (True, cs + 2 + len(hello), ss + 2, 0x10, b""),
        ]
        for k, (out, seq, ack, flags, payload) in enumerate(steps):
            src, dst = (client, server) if out else (server, client)
            sp, dp = (sport, 443) if out else (443, sport)
            self.add(t + k * 0.001, frame(src, dst, 6, tcp(sp, dp, seq, ack, flags, payload), out))

    def write(self, path):
        with open(path, "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, data in sorted(self.records, key=lambda r: r[0]):
                usec = round(t * 1000000)
                out.write(struct.pack("<IIII", T0 + usec // 1000000, usec % 1000000,
                                      len(data), len(data)))
                out.write(data)


def client_hello(sni):
    ext = b""
    if sni:
        name = sni.encode()
        entry = struct.pack("!BH", 0, len(name)) + name
        ext += struct.pack("!HHH", 0, len(entry) + 2, len(entry)) + entry
    ext += struct.pack("!HHHH", 0x000A, 4, 2, 0x001D)                 # supported_groups
    ext += struct.pack("!HHBB", 0x000B, 2, 1, 0)                       # ec_point_formats
    ext += struct.pack("!HHHH", 0x000D, 4, 2, 0x0403)                  # signature_algorithms
    body = (struct.pack("!H", 0x0303) + bytes(range(32)) + b"\0"
            + struct.pack("!HHH", 4, 0xC02B, 0xC02F) + b"\x01\x00"
            + struct.pack("!H", len(ext)) + ext)
    handshake = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 0x16, 0x0301, len(handshake)) + handshake


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cap = Capture()
    # A CNAME chain: the address maps to the question name.
    cap.dns(0.0, "www.example.test", 1, [
        (b"\xc0\x0c", 5, 300, labels("edge1.cdn.test")),
        (labels("edge1.cdn.test"), 5, 300, labels("edge2.cdn.test")),
        (labels("edge2.cdn.test"), 1, 300, v4(10)),
    ])
    t = 0.1
    answered = [v4(10)]
    for i in range(1, 17):
        cap.dns(t, "host%d.example.test" % i, 1, [(b"\xc0\x0c", 1, 120, v4(20 + i))])
        answered.append(v4(20 + i))
        t += 0.02
    for i in range(1, 5):
        cap.dns(t, "v6-%d.example.test" % i, 28, [(b"\xc0\x0c", 28, 300, v6(i))])
        answered.append(v6(i))
        t += 0.02
    cap.dns(t, "first.example.test", 1, [(b"\xc0\x0c", 1, 600, v4(50))])
    cap.dns(t + 0.02, "second.example.test", 1, [(b"\xc0\x0c", 1, 600, v4(50))])
    answered.append(v4(50))
    cap.dns(t + 0.04, "short.example.test", 1, [(b"\xc0\x0c", 1, 5, v4(60))])

    # Hostile answers, all for 198.51.100.200, which no flow uses.
    header = struct.pack("!HHHHHH", 0x0bad, 0x8180, 1, 1, 0, 0)
    loop = header + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    cap.raw_answer(0.90, loop)
    good_q = labels("cut.example.test") + struct.pack("!HH", 1, 1)
    cut = header + good_q + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\xc6\x33"
    cap.raw_answer(0.91, cut)
    two_q = struct.pack("!HHHHHH", 0x0bad, 0x8180, 2, 1, 0, 0) + good_q + good_q + \
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + v4(200)
    cap.raw_answer(0.92, two_q)

    t = 1.0
    for server in answered:
        cap.tls(t, server)
        t += 0.05
    cap.tls(t, v4(99))
    cap.tls(t + 0.05, v4(21), sni="sni.example.test")
    cap.tls(130.0, v4(60))
    cap.write(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())

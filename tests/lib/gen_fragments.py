#!/usr/bin/env python3
"""Fragment floods and malformed fragments, IPv4 and IPv6, each case in
known numbers, for test_fragment_flood.sh.

  gen_fragments.py cases OUT.pcap    every case below, then the count flood
  gen_fragments.py bytes OUT.pcap N  N datagrams of one fragment each, at
                                     the far end of a 64 KiB datagram

The "cases" file, in packet time order (what the worker must count):
  at T:      4 datagrams (2 v4, 2 v6), first fragment only   -> timeouts 4
  at T+40 s: 5 v4 + 5 v6 whole, 3 fragments in order         -> reassembled 10
             3 v4 + 3 v6 whole, last fragment first          -> reassembled 6
             4 v4 + 4 v6 whole, middle fragment sent twice   -> duplicates 8, reassembled 8
             2 v4 + 2 v6 whole, a fragment inside the first  -> duplicates 4, reassembled 4
             6 v4 + 6 v6, second fragment overlaps the first -> overlaps 12
             3 v4 + 3 v6, a fragment ending past 65535       -> too_large 6
             2 v4 + 2 v6, a middle fragment of 10 bytes      -> bad_offset 4
             1 v4 + 1 v6, a fragment past the last one's end -> bad_offset 2
             2 v4, a fragment cut by the snap length         -> truncated 2
             3000 datagrams (1500 v4, 1500 v6), first fragment only:
               1024 stay held                                -> dropped_memory 1976
Every whole datagram is UDP 10.9.0.1:7000 -> 10.9.0.2:7001 (fd00::1 ->
fd00::2 for v6) with a 40-byte payload: one flow per IP version, whose
packets are the fragments that made it (3 per datagram, 4 with a
duplicate): 46 per flow.  Fragments in all: 3140.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_pcap import BASE_TS, PcapWriter, eth, eth6, ipv4, ipv6_addr, udp  # noqa: E402

V4_SRC, V4_DST = [10, 9, 0, 1], [10, 9, 0, 2]
V6_SRC, V6_DST = ipv6_addr(1), ipv6_addr(2)


class Frags:
    def __init__(self, w):
        self.w = w
        self.next_id = 100

    def ident(self):
        self.next_id += 1
        return self.next_id

    def frame(self, v6, ident, off, data, more, proto=17, src=None, dst=None):
        if v6:
            fh = struct.pack("!BBHI", proto, 0, off | int(more), ident)
            pl = fh + data
            return eth6(struct.pack("!IHBB16s16s", 6 << 28, len(pl), 44, 64,
                                    src or V6_SRC, dst or V6_DST) + pl)
        return eth(ipv4(src or V4_SRC, dst or V4_DST, proto, data, ident=ident,
                        flags_frag=(0x2000 if more else 0) | off // 8))

    def send(self, v6, ident, pieces, ts_us=None, **kw):
        """pieces: (offset, data, more) in the order to send them."""
        for off, data, more in pieces:
            self.w.write(self.frame(v6, ident, off, data, more, **kw), ts_us=ts_us)


def datagram():
    return udp(7000, 7001, bytes(range(40)))  # 48 bytes: fragments of 16


def thirds(d):
    return [(0, d[:16], True), (16, d[16:32], True), (32, d[32:], False)]


def cases(path):
    w = PcapWriter(path)
    f = Frags(w)
    t = BASE_TS * 1000000
    for v6 in (False, False, True, True):
        f.send(v6, f.ident(), thirds(datagram())[:1], ts_us=t)
    w.ts_us = t + 40 * 1000000
    for v6 in (False, True):
        for _ in range(5):
            f.send(v6, f.ident(), thirds(datagram()))
        for _ in range(3):
            f.send(v6, f.ident(), thirds(datagram())[::-1])
        for _ in range(4):
            p = thirds(datagram())
            f.send(v6, f.ident(), [p[0], p[1], p[1], p[2]])
        for _ in range(2):  # teardrop-like: a fragment whose bytes are all held
            d = datagram()
            f.send(v6, f.ident(), [(0, d[:32], True), (8, d[8:16], True), (32, d[32:], False)])
        for _ in range(6):
            d = datagram()
            f.send(v6, f.ident(), [(0, d[:24], True), (16, d[16:32], True)])
        for _ in range(3):
            f.send(v6, f.ident(), [(65528, b"z" * 16, False)])
        for _ in range(2):
            d = datagram()
            f.send(v6, f.ident(), [(0, d[:16], True), (16, d[16:26], True)])
        d = datagram()
        f.send(v6, f.ident(), [(32, d[32:], False), (48, b"p" * 8, True)])
    for _ in range(2):  # 28 bytes captured of a 44-byte IPv4 fragment
        frame = f.frame(False, f.ident(), 16, b"t" * 24, True)
        w.write(frame[:14 + 28], length=len(frame))
    for i in range(3000):
        f.send(i % 2 == 1, f.ident(), thirds(datagram())[:1])
    w.close()


def bytes_flood(path, n):
    w = PcapWriter(path)
    f = Frags(w)
    for i in range(n):
        f.send(i % 2 == 1, f.ident(), [(65000, b"b" * 16, True)])
    w.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "cases":
        cases(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "bytes":
        bytes_flood(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a pcap whose middle packet is far larger than a small ring can
hold: three small UDP packets of one flow around one 40000-byte UDP
datagram of another (as a capture with GRO/TSO offload can contain).
With CUT, the large datagram is recorded cut to its first CUT bytes (its
wire length kept), as a live capture's snap length cuts it.

  gen_oversized_pcap.py OUT.pcap [CUT]
"""

import struct
import sys


def frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, (20 + len(udp)) & 0xFFFF, 1, 0, 64, 17, 0,
                     bytes(src), bytes(dst))
    eth = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
    return eth + ip + udp


def main():
    a, b, c = [10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]
    packets = [
        frame(a, b, 40000, 9999, b"small-1"),
        frame(a, b, 40000, 9999, b"small-2"),
        frame(a, c, 40001, 9998, b"x" * 40000),
        frame(b, a, 9999, 40000, b"small-3"),
    ]
    cut = int(sys.argv[2]) if len(sys.argv) > 2 else None
    with open(sys.argv[1], "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, p in enumerate(packets):
            kept = p[:cut] if cut else p
            out.write(struct.pack("<IIII", 1700000000 + i, 0, len(kept), len(p)))
            out.write(kept)


if __name__ == "__main__":
    main()

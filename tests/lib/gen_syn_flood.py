#!/usr/bin/env python3
"""Writes a SYN flood: COUNT TCP SYNs, each of a flow of its own
(10.a.b.c:port -> 192.0.2.1:80, source address and port from the packet's
index), 10 us apart (2 M SYNs span 20 s of packet time).  Checksums are
left 0: nothing on flowsense's path checks them.

  gen_syn_flood.py OUT.pcap COUNT
"""

import struct
import sys


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    if count >= 1 << 24:
        sys.exit("gen_syn_flood.py: at most 2^24 - 1 SYNs (one 10/8 address each)")
    frame = bytearray(
        bytes.fromhex("020000000002" "020000000001" "0800")
        + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, bytes(4), bytes([192, 0, 2, 1]))
        + struct.pack("!HHIIBBHHH", 0, 80, 1, 0, 5 << 4, 0x02, 65535, 0, 0))
    record = bytearray(16 + len(frame))
    record[16:] = frame
    base = 1700000000 * 1000000
    with open(path, "wb", buffering=1 << 20) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i in range(1, count + 1):
            ts = base + 10 * i
            struct.pack_into("<IIII", record, 0, ts // 1000000, ts % 1000000, len(frame), len(frame))
            struct.pack_into("!BBBB", record, 16 + 26, 10, i >> 16 & 255, i >> 8 & 255, i & 255)
            struct.pack_into("!H", record, 16 + 34, 1024 + i % 64000)
            out.write(record)


if __name__ == "__main__":
    main()

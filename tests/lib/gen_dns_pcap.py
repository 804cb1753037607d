#!/usr/bin/env python3
"""Writes a pcap of many short DNS flows: a large, predictable input.

  gen_dns_pcap.py OUT.pcap FLOWS

Flow i is one A query from 10.(1+i/65536%250).(i/256%256).(i%256) port
1024+i%60000 to 10.0.0.53:53 for host<i>.flowsense.test, and its answer;
flows start 1 ms apart (packet time), so each is one flow and one DNS
detection for the sensor.  Ethernet, microsecond pcap.
"""

import struct
import sys

T0 = 1700000000  # packet time of the first query, epoch seconds
SERVER = bytes([10, 0, 0, 53])
MAC_CLIENT = bytes.fromhex("020000000001")
MAC_SERVER = bytes.fromhex("020000000035")


def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0,
                         64, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + udp


def dns_question(name):
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.split("."))
    return labels + b"\x00" + struct.pack("!HH", 1, 1)


def flow_packets(i):
    client = bytes([10, 1 + (i >> 16) % 250, (i >> 8) & 0xFF, i & 0xFF])
    sport = 1024 + i % 60000
    txid = i & 0xFFFF
    question = dns_question("host%d.flowsense.test" % i)
    query = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + question
    answer = (struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + question
              + struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, i % 250 + 1]))
    return (MAC_SERVER + MAC_CLIENT + b"\x08\x00" + ipv4_udp(client, SERVER, sport, 53, query, i),
            MAC_CLIENT + MAC_SERVER + b"\x08\x00" + ipv4_udp(SERVER, client, 53, sport, answer, i))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, flows = sys.argv[1], int(sys.argv[2])
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(flows):
            usec = i * 1000
            for k, frame in enumerate(flow_packets(i)):
                t = usec + k * 300
                out.write(struct.pack("<IIII", T0 + t // 1000000, t % 1000000,
                                      len(frame), len(frame)))
                out.write(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())

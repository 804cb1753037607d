#!/usr/bin/env python3
"""Writes a capture in two parts, for replays that pause in the middle.

  gen_held_flows_pcap.py BASE.pcap PART1 PART2 DNS_FLOWS UNKNOWN_FLOWS

PART1 is a nanosecond Ethernet pcap of, 1 ms apart unless said:
  - DNS_FLOWS DNS flows (a query and its answer, 10.8.x.y -> 10.0.0.53)
    and UNKNOWN_FLOWS UDP flows of 8 packets of patterned bytes on ports
    no protocol claims (10.9.x.y:40000+ <-> 10.9.255.1:47000+);
  - 20 s later, one more packet of each unknown flow and of the first
    20 DNS flows (update_interval, 15 s, has passed: flow_status records
    carry their counters up to here);
  - 0.5 s later, the packets of BASE (an Ethernet pcap) at their own
    spacing;
  - 256 UDP packets without payload, each a flow of its own that nothing
    detects: they push the packets before them out of flowsensed's
    per-worker publishing batch, so a replay stopped after PART1 has
    processed everything above.
None of these flows is purged within PART1.

PART2 holds more packets without a file header, to be written after
PART1 into the same stream: 3 new DNS flows 2 s later, then one 100 s
later, whose packet time expires every idle UDP flow (ttl_idle_flow 30 s).
"""

import struct
import sys

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(src, dst, sport, dport, payload, ident, forward):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0, 64, 17, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    macs = MAC_B + MAC_A if forward else MAC_A + MAC_B
    return macs + b"\x08\x00" + ip + udp


def dns_flow(i, prefix):
    client, server = [10, prefix, (i >> 8) & 0xFF, i & 0xFF], [10, 0, 0, 53]
    sport = 20000 + i % 45000  # with the address, unique for 65536 flows
    q = b"".join(bytes([len(p)]) + p.encode() for p in ("held%d" % i, "flowsense", "test"))
    q += b"\x00" + struct.pack("!HH", 1, 1)
    query = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + q
    answer = (struct.pack("!HHHHHH", i & 0xFFFF, 0x8180, 1, 1, 0, 0) + q
              + struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes([192, 0, 2, 1 + i % 250]))
    return [udp_frame(client, server, sport, 53, query, i, True),
            udp_frame(server, client, 53, sport, answer, i, False)]


def unknown_flow(i):
    client, server = [10, 9, (i >> 8) & 0xFF, i & 0xFF], [10, 9, 255, 1]
    sport, dport = 40000 + i, 47000 + i
    frames = []
    for k in range(8):
        payload = bytes((k * 37 + j * 11 + i) & 0xFF for j in range(64))
        if k % 2 == 0:
            frames.append(udp_frame(client, server, sport, dport, payload, i * 8 + k, True))
        else:
            frames.append(udp_frame(server, client, dport, sport, payload, i * 8 + k, False))
    return frames


def read_pcap(path):
    """Yields (ts_ns, frame) of an Ethernet pcap, micro- or nanosecond."""
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack("<I", data[:4])
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit("%s: not a little-endian pcap" % path)
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit("%s: not Ethernet" % path)
    scale = 1000 if magic == 0xA1B2C3D4 else 1
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        yield sec * 1000000000 + frac * scale, data[off:off + caplen]
        off += caplen


def record(ts_ns, frame):
    return struct.pack("<IIII", ts_ns // 1000000000, ts_ns % 1000000000, len(frame),
                       len(frame)) + frame


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    base, part1, part2 = sys.argv[1:4]
    dns_flows, unknown_flows = int(sys.argv[4]), int(sys.argv[5])
    base_packets = list(read_pcap(base))
    ts = base_packets[0][0] - 30 * 1000000000
    with open(part1, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        frames = [f for i in range(dns_flows) for f in dns_flow(i, 8)]
        frames += [f for i in range(unknown_flows) for f in unknown_flow(i)]
        for frame in frames:
            ts += 1000000
            out.write(record(ts, frame))
        ts += 20000000000
        frames = [dns_flow(i, 8)[0] for i in range(min(20, dns_flows))]
        frames += [unknown_flow(i)[0] for i in range(unknown_flows)]
        for frame in frames:
            ts += 1000000
            out.write(record(ts, frame))
        shift = ts + 500000000 - base_packets[0][0]
        for t, frame in base_packets:
            ts = t + shift
            out.write(record(ts, frame))
        for i in range(256):
            ts += 1000000
            out.write(record(ts, udp_frame([10, 10, i >> 8, i & 0xFF], [10, 10, 255, 1],
                                           30000 + i, 31000, b"", i, True)))
    with open(part2, "wb") as out:
        ts += 2000000000
        for frame in [f for i in range(3) for f in dns_flow(i, 7)]:
            ts += 1000000
            out.write(record(ts, frame))
        ts += 100000000000
        for frame in dns_flow(3, 7):
            ts += 1000000
            out.write(record(ts, frame))
    return 0


if __name__ == "__main__":
    sys.exit(main())

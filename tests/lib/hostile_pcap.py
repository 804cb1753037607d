#!/usr/bin/env python3
"""Packet and capture-file builders for the hostile-input tests: every
malformed file or packet the tests feed flowsensed is made here, from
struct, so nothing binary is committed.

As a program it writes one named case of a malformed capture file:

  hostile_pcap.py CASE OUT       (hostile_pcap.py --list: the cases)
  hostile_pcap.py --odd CASE OUT (a readable file of odd records: odd_records())
  hostile_pcap.py --time-backwards OUT
  hostile_pcap.py --time-outliers OUT
"""

import random
import struct
import sys

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
BASE_TS = 1700000000
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64, ident=1, flags_frag=0, total=None):
    """An IPv4 header (checksum filled) + payload; src/dst as 4 ints."""
    length = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length & 0xFFFF, ident & 0xFFFF, flags_frag,
                    ttl, proto, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, next_header, payload, hop_limit=64):
    """An IPv6 header + payload; src/dst as 16-byte strings."""
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit,
                       src, dst) + payload


def ipv6_addr(last):
    return bytes.fromhex("fd000000000000000000000000000000")[:14] + struct.pack("!H", last)


def tcp(sport, dport, flags, payload=b"", seq=1000, ack=0, window=65535):
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       5 << 4, flags, window, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth(l3, ethertype=0x0800, src=MAC_A, dst=MAC_B):
    return dst + src + struct.pack("!H", ethertype) + l3


def eth6(l3):
    return eth(l3, 0x86DD)


def pcap_header(linktype=LINKTYPE_ETHERNET, snaplen=262144, magic=0xA1B2C3D4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, ts=BASE_TS, usec=0, caplen=None, length=None):
    caplen = len(data) if caplen is None else caplen
    length = len(data) if length is None else length
    return struct.pack("<IIII", ts, usec, caplen, length) + data


class PcapWriter:
    """Writes frames with increasing (or given) times."""

    def __init__(self, path, linktype=LINKTYPE_ETHERNET, snaplen=262144):
        self.f = open(path, "wb")
        self.f.write(pcap_header(linktype, snaplen))
        self.ts_us = BASE_TS * 1000000

    def write(self, data, ts_us=None, caplen=None, length=None):
        if ts_us is None:
            self.ts_us += 1000
            ts_us = self.ts_us
        self.f.write(pcap_record(data, ts_us // 1000000, ts_us % 1000000, caplen, length))

    def close(self):
        self.f.close()


def tcp_session(w, a, b, sport, dport, request, response, window=65535, ttl=64, hop=None):
    """A whole TCP conversation (handshake, one exchange, FIN both ways):
    10 frames; a/b as 4 ints (IPv4) or 16 bytes (IPv6, hop limit hop)."""
    v6 = len(bytes(a)) == 16

    def frame(src, dst, sp, dp, flags, payload=b"", seq=0, ack=0):
        seg = tcp(sp, dp, flags, payload, seq, ack, window)
        if v6:
            return eth6(ipv6(src, dst, 6, seg, hop if hop is not None else ttl))
        return eth(ipv4(src, dst, 6, seg, ttl))

    cs, ss = 1000, 5000
    w.write(frame(a, b, sport, dport, 0x02, seq=cs))
    w.write(frame(b, a, dport, sport, 0x12, seq=ss, ack=cs + 1))
    w.write(frame(a, b, sport, dport, 0x10, seq=cs + 1, ack=ss + 1))
    w.write(frame(a, b, sport, dport, 0x18, request, cs + 1, ss + 1))
    w.write(frame(b, a, dport, sport, 0x10, seq=ss + 1, ack=cs + 1 + len(request)))
    w.write(frame(b, a, dport, sport, 0x18, response, ss + 1, cs + 1 + len(request)))
    w.write(frame(a, b, sport, dport, 0x10, seq=cs + 1 + len(request), ack=ss + 1 + len(response)))
    w.write(frame(a, b, sport, dport, 0x11, seq=cs + 1 + len(request), ack=ss + 1 + len(response)))
    w.write(frame(b, a, dport, sport, 0x11, seq=ss + 1 + len(response), ack=cs + 2 + len(request)))
    w.write(frame(a, b, sport, dport, 0x10, seq=cs + 2 + len(request), ack=ss + 2 + len(response)))


HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: hostile\r\n\r\n"
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def good_frames(n):
    """n valid frames: UDP datagrams of one flow 10.0.0.1:40000 -> 10.0.0.2:9999."""
    return [eth(ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(40000, 9999, b"x%04d" % i)))
            for i in range(n)]


def good_pcap(n=5):
    return pcap_header() + b"".join(pcap_record(f, BASE_TS + i) for i, f in enumerate(good_frames(n)))


# ---- pcapng ----

def pcapng_block(btype, body, length=None, trailer=None):
    total = 12 + len(body)
    length = total if length is None else length
    trailer = length if trailer is None else trailer
    return struct.pack("<II", btype, length) + body + struct.pack("<I", trailer)


def pcapng_shb(length=None):
    return pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1), length)


def pcapng_idb(linktype=LINKTYPE_ETHERNET, snaplen=262144):
    return pcapng_block(1, struct.pack("<HHI", linktype, 0, snaplen))


def pcapng_epb(data, ts_us=BASE_TS * 1000000, length=None, caplen=None):
    caplen = len(data) if caplen is None else caplen
    pad = b"\0" * (-len(data) % 4)
    body = struct.pack("<IIIII", 0, ts_us >> 32, ts_us & 0xFFFFFFFF, caplen,
                       len(data)) + data + pad
    return pcapng_block(6, body, length)


def epb_on_interface(interface):
    """An EPB of a raw IP frame on the given interface id."""
    raw = good_frames(1)[0][14:]
    body = struct.pack("<IIIII", interface, 0, 0, len(raw), len(raw)) + raw + b"\0" * (-len(raw) % 4)
    return pcapng_block(6, body)


def good_pcapng(n=5):
    return pcapng_shb() + pcapng_idb() + b"".join(
        pcapng_epb(f, (BASE_TS + i) * 1000000) for i, f in enumerate(good_frames(n)))


# ---- the malformed files: name -> (bytes, what flowsensed must do) ----
# "refuse": the file cannot be opened: exit non-zero, message naming it.
# "partial N": the first N packets are read, then a read error naming the
#              file is logged and counted in capture.read_errors.
# "read N":    every packet is read (N), no read error.

def cases():
    rng = random.Random(7)
    pcap = good_pcap(5)
    rec_len = 16 + len(good_frames(1)[0])
    second = 24 + rec_len  # where the second record starts
    ng = good_pcapng(5)
    ng_head = len(pcapng_shb()) + len(pcapng_idb())
    epb_len = len(pcapng_epb(good_frames(1)[0]))
    c = {
        "empty": (b"", "refuse"),
        "global-header-4": (pcap[:4], "refuse"),
        "global-header-12": (pcap[:12], "refuse"),
        "global-header-23": (pcap[:23], "refuse"),
        "header-only": (pcap[:24], "read 0"),
        "record-header-cut": (pcap[:second + 8], "partial 1"),
        "record-body-cut": (pcap[:second + 16 + 10], "partial 1"),
        "last-byte-cut": (pcap[:-1], "partial 4"),
        "random-garbage": (bytes(rng.getrandbits(8) for _ in range(4096)), "refuse"),
        "magic-then-garbage": (pcap[:24] + bytes(rng.getrandbits(8) for _ in range(4096)),
                               "partial 0"),
        "huge-caplen": (pcap[:second] + pcap_record(b"", caplen=0x7FFFFFF0, length=0x7FFFFFF0),
                        "partial 1"),
        "bad-version": (pcap[:4] + struct.pack("<HH", 7, 9) + pcap[8:], "refuse"),
        "pcapng-shb-only": (pcapng_shb(), "refuse"),
        "pcapng-shb-length-0": (pcapng_shb(0) + ng[28:], "refuse"),
        "pcapng-shb-length-odd": (pcapng_shb(29) + ng[28:], "refuse"),
        "pcapng-shb-length-huge": (pcapng_shb(0x7FFFFFFC) + ng[28:], "refuse"),
        "pcapng-shb-cut": (ng[:20], "refuse"),
        "pcapng-epb-length-8": (ng[:ng_head + epb_len] + struct.pack("<II", 6, 8) + ng[ng_head + epb_len + 8:],
                                "partial 1"),
        "pcapng-epb-length-odd": (ng[:ng_head + epb_len] + struct.pack("<II", 6, epb_len + 1) +
                                  ng[ng_head + epb_len + 8:], "partial 1"),
        "pcapng-epb-length-huge": (ng[:ng_head + epb_len] + struct.pack("<II", 6, 0x7FFFFFF0) +
                                   ng[ng_head + epb_len + 8:], "partial 1"),
        "pcapng-epb-trailer-mismatch": (ng[:ng_head + epb_len - 4] + struct.pack("<I", 999) +
                                        ng[ng_head + epb_len:], "partial 0"),
        "pcapng-epb-caplen-past-block": (
            ng[:ng_head] + pcapng_epb(good_frames(1)[0], caplen=4000) + ng[ng_head + epb_len:],
            "partial 0"),
        "pcapng-epb-before-idb": (pcapng_shb() + pcapng_epb(good_frames(1)[0]), "refuse"),
        "pcapng-cut-in-epb": (ng[:ng_head + epb_len + 30], "partial 1"),
        # A second interface of another link type: libpcap takes one per file.
        "pcapng-mixed-linktypes": (pcapng_shb() + pcapng_idb() + pcapng_idb(LINKTYPE_RAW) +
                                   ng[ng_head:], "partial 0"),
        "pcapng-epb-unknown-interface": (ng[:ng_head + epb_len] + epb_on_interface(7) +
                                         ng[ng_head + epb_len:], "partial 1"),
    }
    return c


# ---- well-formed files of odd records: name -> bytes ----
# Frames of one UDP flow 10.0.0.1:40000 -> 10.0.0.2:9999 are "good";
# what the others must count is in test_hostile_files.sh.

def odd_records():
    good = good_frames(6)
    frame = good[0]
    body = b"".join(pcap_record(f, BASE_TS + i) for i, f in enumerate(good[:3]))
    big = [eth(ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(40000, 9999, b"y" * 100)))] * 2
    return {
        # DLT_USER0 (147) and a number no link type has: nothing decodes them.
        "linktype-user0": pcap_header(linktype=147) + body,
        "linktype-unknown": pcap_header(linktype=65000) + body,
        # Ethernet frames in a file that says raw IP: not IPv4 or IPv6.
        "linktype-wrong": pcap_header(linktype=LINKTYPE_RAW) + body,
        # 1 good, 2 whose IP length runs past the length on the wire, 1 with
        # 4 bytes captured beyond its length on the wire (the IP length fits).
        "caplen-gt-len": pcap_header() + pcap_record(frame, BASE_TS) +
        pcap_record(good[1], BASE_TS + 1, length=len(frame) - 20) +
        pcap_record(good[2], BASE_TS + 2, length=30) +
        pcap_record(good[3] + b"\0" * 4, BASE_TS + 3, length=len(good[3])),
        # 1 good, 2 with nothing captured.
        "caplen-zero": pcap_header() + pcap_record(frame, BASE_TS) +
        pcap_record(b"", BASE_TS + 1, length=60) + pcap_record(b"", BASE_TS + 2, length=1514),
        # Snap length 0 in the file header: libpcap takes the largest.
        "snaplen-zero": pcap_header(snaplen=0) + b"".join(
            pcap_record(f, BASE_TS + i) for i, f in enumerate(good[:5])),
        # Every stamp 0.
        "stamps-zero": pcap_header() + b"".join(pcap_record(f, 0) for f in good[:5]),
        # pcapng stamps near 2^64 us (and so near 2^64 ns once converted), then normal ones.
        "stamps-near-2^64": pcapng_shb() + pcapng_idb() + b"".join(
            pcapng_epb(f, 0xFFFFFFFFFFFFFFF0 + i if i < 2 else (BASE_TS + i) * 1000000)
            for i, f in enumerate(good[:4])),
        # Snap length 64, two records of 142 bytes each.
        "caplen-gt-snaplen": pcap_header(snaplen=64) + b"".join(
            pcap_record(f, BASE_TS + i) for i, f in enumerate(big)),
    }


def time_backwards(path, flows=200):
    """Packet time that runs backwards (test_hostile_files.sh checks it):
    `flows` UDP flows 10.1.x.y:1000+i -> 10.2.0.1:5000 send a packet every
    2 s from BASE_TS to BASE_TS+20 (11 each); after the round at +10 s come
    10 flows 10.3.0.i:2000 -> 10.2.0.1:5000 of 2 packets stamped an hour
    earlier (-3600 s, -3599 s), and after the round at +12 s one flow
    10.4.0.1:3000 -> 10.2.0.1:5000 whose 3 packets go +12, +11, +10 s."""
    w = PcapWriter(path)
    dst = [10, 2, 0, 1]

    def pkt(src, sport, t, tag):
        w.write(eth(ipv4(src, dst, 17, udp(sport, 5000, tag))), ts_us=int(t * 1000000))

    for step in range(11):
        t = BASE_TS + 2 * step
        for i in range(flows):
            pkt([10, 1, i >> 8, i & 255], 1000 + i, t + i / 100000, b"round %d" % step)
        if step == 5:
            for j in range(10):
                pkt([10, 3, 0, j + 1], 2000, BASE_TS - 3600, b"early 1")
                pkt([10, 3, 0, j + 1], 2000, BASE_TS - 3599, b"early 2")
        if step == 6:
            for k, back in enumerate((12, 11, 10)):
                pkt([10, 4, 0, 1], 3000, BASE_TS + back, b"back %d" % k)
    w.close()


def time_outliers(path, flows=300):
    """Two packets stamped far ahead of the packets around them: the
    file's first (a year ahead, flow 10.7.0.1:5555 -> 10.2.0.1:4000), and
    one after the round at +20 s (ten years ahead, 10.7.0.2:5555); around
    them `flows` UDP flows 10.5.x.y:3000+i -> 10.2.0.1:4000 send one packet
    a second for 60 s (60 each)."""
    w = PcapWriter(path)
    dst = [10, 2, 0, 1]

    def pkt(src, sport, ts_us, tag):
        w.write(eth(ipv4(src, dst, 17, udp(sport, 4000, tag))), ts_us=ts_us)

    pkt([10, 7, 0, 1], 5555, (BASE_TS + 365 * 86400) * 1000000, b"a year ahead")
    for sec in range(60):
        for i in range(flows):
            pkt([10, 5, i >> 8, i & 255], 3000 + i, (BASE_TS + sec) * 1000000 + i, b"tick")
        if sec == 20:
            pkt([10, 7, 0, 2], 5555, (BASE_TS + 3650 * 86400) * 1000000, b"ten years ahead")
    w.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--time-outliers":
        time_outliers(sys.argv[2])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--time-backwards":
        time_backwards(sys.argv[2])
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        for name, (_, expect) in cases().items():
            print(name, expect)
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--odd":
        with open(sys.argv[3], "wb") as out:
            out.write(odd_records()[sys.argv[2]])
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, _ = cases()[sys.argv[1]]
    with open(sys.argv[2], "wb") as out:
        out.write(data)


if __name__ == "__main__":
    main()

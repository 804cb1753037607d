#!/usr/bin/env python3
"""Writes a pcap of one HTTP exchange whose strings are hostile to JSON
output: UTF-8 of 2 and 4 bytes, an invalid byte, a quote, a backslash and
a control character in the User-Agent and the URL; then an SSDP NOTIFY
with such USER-AGENT and SERVER header lines.

  gen_hostile_http_pcap.py OUT.pcap

Prints, as one JSON line on stdout, what a correct sensor reports once its
JSON is decoded: {"user_agent": ..., "url_contains": [...], "ssdp": {...}}.  Invalid
UTF-8 bytes decode to U+FFFD, one per byte.
"""

import json
import struct
import sys

CLIENT, SERVER = bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])
CPORT, SPORT = 40000, 80
MAC_C, MAC_S = bytes.fromhex("020000090001"), bytes.fromhex("020000090002")
T0 = 1700000000

UA = b'flowsense-test caf\xc3\xa9 \xf0\x9f\x98\x80 \xff q"b\\s\x01 end'
UA_DECODED = 'flowsense-test caf\u00e9 \U0001F600 \ufffd q"b\\s\x01 end'
PATH = b"/caf\xc3\xa9/\xff?q=\xf0\x9f\x98\x80"
URL_PARTS = ["caf\u00e9", "\ufffd", "\U0001F600"]
REQUEST = (b"GET " + PATH + b" HTTP/1.1\r\nHost: utf8.flowsense.test\r\nUser-Agent: " + UA
           + b"\r\nAccept: */*\r\n\r\n")
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"


def checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_frame(from_client, seq, ack, flags, payload=b""):
    src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
    sport, dport = (CPORT, SPORT) if from_client else (SPORT, CPORT)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    csum = checksum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = (MAC_S + MAC_C) if from_client else (MAC_C + MAC_S)
    return eth + b"\x08\x00" + ip + tcp + payload


SSDP_SRC, SSDP_GROUP, SSDP_SPORT = bytes([10, 9, 0, 3]), bytes([239, 255, 255, 250]), 40001
SSDP_SERVER = b"Linux/1 \xf0\x9f\x98\x80 UPnP/1.0 \xff q\"b\\s\x01"
SSDP_SERVER_DECODED = "Linux/1 \U0001F600 UPnP/1.0 \ufffd q\"b\\s\x01"
NOTIFY = (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n"
          b"USER-AGENT: " + UA + b"\r\nSERVER: " + SSDP_SERVER + b"\r\n\r\n")


def udp_frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 4, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return bytes.fromhex("01005e7ffffa") + MAC_C + b"\x08\x00" + ip + udp


def packets():
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    c, s = 1000, 5000
    req, rsp = len(REQUEST), len(RESPONSE)
    return [
        tcp_frame(True, c, 0, SYN),
        tcp_frame(False, s, c + 1, SYN | ACK),
        tcp_frame(True, c + 1, s + 1, ACK),
        tcp_frame(True, c + 1, s + 1, PSH | ACK, REQUEST),
        tcp_frame(False, s + 1, c + 1 + req, ACK),
        tcp_frame(False, s + 1, c + 1 + req, PSH | ACK, RESPONSE),
        tcp_frame(True, c + 1 + req, s + 1 + rsp, FIN | ACK),
        tcp_frame(False, s + 1 + rsp, c + 2 + req, FIN | ACK),
        tcp_frame(True, c + 2 + req, s + 2 + rsp, ACK),
        udp_frame(SSDP_SRC, SSDP_GROUP, SSDP_SPORT, 1900, NOTIFY),
    ]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(packets()):
            out.write(struct.pack("<IIII", T0, i * 1000, len(frame), len(frame)))
            out.write(frame)
    print(json.dumps({"user_agent": UA_DECODED, "url_contains": URL_PARTS,
                      "ssdp": {"user_agent": UA_DECODED, "server": SSDP_SERVER_DECODED}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes fuzz_worker inputs from captures (pcap or pcapng).

    pcap_to_seeds.py OUTDIR [--max-bytes N] [--max-seeds N] CAPTURE...

Each capture gives up to --max-seeds inputs of consecutive frames, each at
most --max-bytes long (frames cut to 1500 bytes), in fuzz_worker.c's form:
a header byte (link type index, interface 0), a 2-byte time step in
milliseconds (in seconds when the gap exceeds 65 s; capped at 0x7fff s), a 2-byte frame
length, the frame.  Captures of link types fuzz_worker does not know are
skipped.  Seed files are named after their capture and position."""
import argparse
import os
import struct
import sys

# LINKTYPE_* of the file -> index into fuzz_worker.c's links[].
LINKS = {1: 0, 113: 1, 276: 2, 104: 3, 9: 4, 0: 5, 108: 6, 101: 7, 228: 8, 229: 9}
SNAP = 1500


def pcap_frames(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        return
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            return
        yield link, sec * 1000 + (frac // 1000000 if nano else frac // 1000), data[off:off + incl]
        off += incl


def pcapng_frames(data):
    off, end, links = 0, "<", []
    while off + 12 <= len(data):
        btype = struct.unpack(end + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, hi, lo, cap = struct.unpack(end + "IIII", body[:16])
            if iface < len(links):
                yield links[iface], ((hi << 32) | lo) // 1000, body[20:20 + cap]
        elif btype == 3 and len(body) >= 4 and links:
            yield links[0], 0, body[4:]
        off += blen


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_frames(data)
    return pcap_frames(data)


def record(link, step_ms, frame):
    header = LINKS[link]
    if step_ms > 0xFFFF:
        header |= 0x40
        step_ms = min(step_ms // 1000, 0x7FFF)  # 0x8000 and up go back
    frame = frame[:SNAP]
    return struct.pack(">BHH", header, step_ms, len(frame)) + frame


def udp_payload(link, frame):
    """The UDP payload of an Ethernet or raw IP frame, with its ports."""
    if link == 1:
        off, etype = 12, 0
        etype = struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0
        off = 14
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        ip = frame[off:] if etype in (0x0800, 0x86DD) else b""
    elif link in (101, 228, 229):
        ip = frame
    else:
        return None
    if len(ip) >= 20 and ip[0] >> 4 == 4 and ip[9] == 17:
        udp = ip[(ip[0] & 15) * 4:]
    elif len(ip) >= 40 and ip[0] >> 4 == 6 and ip[6] == 17:
        udp = ip[40:]
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport = struct.unpack(">HH", udp[:4])
    return sport, dport, udp[8:]


def write_dns(args):
    written = 0
    for path in args.captures:
        name = os.path.splitext(os.path.basename(path))[0]
        seeds = 0
        try:
            for link, _ms, frame in frames(path):
                u = udp_payload(link, frame)
                if u is None or 53 not in u[:2] or seeds == args.max_seeds:
                    continue
                with open(os.path.join(args.outdir, f"{name}-{seeds}"), "wb") as f:
                    f.write(u[2])
                seeds += 1
                written += 1
        except (struct.error, OSError) as e:
            print(f"{path}: {e}", file=sys.stderr)
    print(f"{written} seed(s) written to {args.outdir}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--max-bytes", type=int, default=16384)
    ap.add_argument("--max-seeds", type=int, default=4)
    ap.add_argument("--dns", action="store_true",
                    help="write the UDP payloads from or to port 53 instead (fuzz_dns_answer)")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    if args.dns:
        write_dns(args)
        return
    written = 0
    for path in args.captures:
        name = os.path.splitext(os.path.basename(path))[0]
        seeds, seed, last_ms = 0, b"", None
        try:
            for link, ms, frame in frames(path):
                if link not in LINKS:
                    break
                step = 0 if last_ms is None or ms < last_ms else ms - last_ms
                last_ms = ms
                rec = record(link, step, frame)
                if seed and len(seed) + len(rec) > args.max_bytes:
                    with open(os.path.join(args.outdir, f"{name}-{seeds}"), "wb") as f:
                        f.write(seed)
                    seeds += 1
                    written += 1
                    seed = b""
                    if seeds == args.max_seeds:
                        break
                seed += rec
        except (struct.error, OSError) as e:
            print(f"{path}: {e}", file=sys.stderr)
        if seed and seeds < args.max_seeds:
            with open(os.path.join(args.outdir, f"{name}-{seeds}"), "wb") as f:
                f.write(seed)
            written += 1
    print(f"{written} seed(s) written to {args.outdir}")


if __name__ == "__main__":
    main()

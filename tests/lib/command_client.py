#!/usr/bin/env python3
"""A client that sends the broker arbitrary bytes, then reads the framed
stream until the broker closes the connection.

  command_client.py ENDPOINT [--text T | --hex H | --repeat-byte B:N] [--timeout S]

Each record received is written as one NDJSON line on stdout.  Exit
status: 0 the broker closed the connection (end of file or reset after
its records), 1 framing error, 2 cannot connect, 3 the connection was
still open after --timeout seconds.
"""

import argparse
import json
import socket
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from stream_reader import parse_endpoint  # noqa: E402


def payload_of(args):
    if args.text is not None:
        return args.text.encode("utf-8").decode("unicode_escape").encode("latin-1")
    if args.hex is not None:
        return bytes.fromhex(args.hex)
    if args.repeat_byte is not None:
        byte, count = args.repeat_byte.split(":")
        return bytes([int(byte, 0)]) * int(count)
    return b""


def read_records(sock, deadline):
    buf = b""
    closed = False
    while not closed:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return buf, False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            closed = True
        buf += chunk
    return buf, True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("--text", help="bytes to send; Python escapes such as \\n allowed")
    ap.add_argument("--hex")
    ap.add_argument("--repeat-byte", help="BYTE:COUNT, e.g. 0x61:1000000")
    ap.add_argument("--timeout", type=float, default=15)
    args = ap.parse_args()

    family, address = parse_endpoint(args.endpoint)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError as e:
        print("command_client: cannot connect: %s" % e, file=sys.stderr)
        return 2
    data = payload_of(args)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError) as e:
        # the broker may cut us off before it has read everything
        print("command_client: send stopped: %s" % e, file=sys.stderr)
    buf, closed = read_records(sock, time.monotonic() + args.timeout)
    status = 0 if closed else 3
    while buf:
        header, sep, rest = buf.partition(b"\n")
        if not sep:
            print("command_client: stream ends inside a header", file=sys.stderr)
            return 1
        n = json.loads(header)["length"]
        if len(rest) < n:
            print("command_client: stream ends inside a record", file=sys.stderr)
            return 1
        record = json.loads(rest[:n])
        print(json.dumps(record, separators=(",", ":")))
        buf = rest[n:]
    if not closed:
        print("command_client: still connected after %.1f s" % args.timeout, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

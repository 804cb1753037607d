#!/usr/bin/env python3
"""One good client and one stalled client on the same flowsense listener.

  slow_client.py ENDPOINT GOOD_OUT.ndjson [--timeout SEC]

Connects the good client first (so it sees the whole stream), then a
second client with a small receive buffer that reads nothing.  The good
client copies its stream to GOOD_OUT.raw as fast as it can (a replay runs
at full speed and the broker drops any client that falls its queue bound
behind), then checks that copy's framing as stream_reader.py does and
writes the records to GOOD_OUT.  Last it drains the stalled socket, and
prints one JSON summary line on stdout:
  {"good_records": N, "good_status": 0, "slow_bytes": N, "slow_end": "eof|reset"}
Exit status: that of the good client's read (see stream_reader.py).
"""

import argparse
import json
import os
import signal
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream_reader  # noqa: E402


def drain(sock):
    total = 0
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return total, "eof"
            total += len(chunk)
    except ConnectionResetError:
        return total, "reset"


def copy_stream(sock, path):
    with open(path, "wb") as raw:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return
            raw.write(chunk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("output")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    def on_alarm(_sig, _frame):
        raise stream_reader.Timeout()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)

    good = stream_reader.connect(args.endpoint, 100, 0.1)
    family, address = stream_reader.parse_endpoint(args.endpoint)
    slow = socket.socket(family, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(address)

    status = 0
    raw_path = args.output + ".raw"
    try:
        copy_stream(good, raw_path)
    except stream_reader.Timeout:
        print("slow_client: good client: TIMEOUT after %.0f s" % args.timeout,
              file=sys.stderr)
        status = 3
    except OSError as e:
        print("slow_client: good client: connection lost: %s" % e, file=sys.stderr)
        status = 4
    signal.setitimer(signal.ITIMER_REAL, 0)

    counts = {}
    reader_args = argparse.Namespace(max_records=None, lenient_header=False, rate=0)
    with open(args.output, "w", encoding="ascii") as out, \
            open(raw_path, encoding="ascii", errors="strict", newline="\n") as fh:
        try:
            stream_reader.read_stream(fh, out, reader_args, counts)
        except (stream_reader.FramingError, UnicodeDecodeError) as e:
            print("slow_client: good client: FRAMING ERROR: %s" % e, file=sys.stderr)
            status = status or 1
    slow.settimeout(10)
    try:
        slow_bytes, slow_end = drain(slow)
    except socket.timeout:
        slow_bytes, slow_end = -1, "still open"
    print(json.dumps({"good_records": sum(counts.values()), "good_counts": counts,
                      "good_status": status, "slow_bytes": slow_bytes,
                      "slow_end": slow_end}))
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Connects to flowsense listeners and disconnects, COUNT times, in a tight
loop: a third close at once, a third after reading a little of the stream,
a third after sending half a subscription line (no newline).

  connect_churn.py --unix PATH --tcp HOST:PORT --count N

Prints a JSON summary: connects made per kind, and failures (a connect
refused or reset counts as a failure; the test decides what that means).
"""

import argparse
import json
import socket
import sys

HALF_LINE = b'{"subscribe":{"types":["flow","flow_pu'


def connect(ep):
    if isinstance(ep, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(ep)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix", required=True)
    ap.add_argument("--tcp", required=True)
    ap.add_argument("--count", type=int, default=5000)
    args = ap.parse_args()
    host, port = args.tcp.rsplit(":", 1)
    endpoints = [args.unix, (host, int(port))]
    summary = {"connects": 0, "closed_at_once": 0, "read_then_closed": 0,
               "half_line": 0, "failures": 0, "errors": {}}
    for i in range(args.count):
        kind = i % 3
        try:
            s = connect(endpoints[i % 2])
        except OSError as e:
            summary["failures"] += 1
            summary["errors"][type(e).__name__] = summary["errors"].get(type(e).__name__, 0) + 1
            continue
        summary["connects"] += 1
        try:
            if kind == 0:
                summary["closed_at_once"] += 1
            elif kind == 1:
                s.recv(100)
                summary["read_then_closed"] += 1
            else:
                s.sendall(HALF_LINE)
                summary["half_line"] += 1
        except OSError as e:
            summary["errors"][type(e).__name__] = summary["errors"].get(type(e).__name__, 0) + 1
        finally:
            s.close()
    json.dump(summary, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

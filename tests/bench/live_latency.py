#!/usr/bin/env python3
"""Detection latency as a client sees it, for `make bench` (live section).

Connects to flowsensed's UNIX socket, subscribes to `flow` and
`agent_status` records, and stamps each record with the wall clock
(CLOCK_REALTIME) at the moment recv() returned the bytes that completed
it.  A first `flow` record's `first_update_at` is the packet time (epoch
ms, the kernel's receive time live) of the packet that completed
detection, so arrival - first_update_at is the time from that packet to
the record on this socket.  first_update_at is cut to the millisecond
(the packet came at first_update_at + [0, 1) ms), so each figure is an
upper bound, at most 1 ms above the true latency.

Counted: first records (`detection_updated` false) whose detection a
packet completed: their `last_seen_at` is that packet's time too, equal
to `first_update_at` (nDPI's give-ups after max_detection_pkts packets
included).  A flow named only when it ended (guessed at its purge, stamped
with the purge time, later than its last packet) has no completing packet:
it is counted apart (at_purge) and not timed.

Writes one JSON object to --out when the stream ends (flowsensed stopped).
"""
import argparse
import json
import socket
import sys
import time


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def summary(values):
    values = sorted(values)
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "min_ms": None}
    return {
        "count": len(values),
        "min_ms": round(values[0], 3),
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(values[-1], 3),
    }


def connect(path, wait_s):
    deadline = time.monotonic() + wait_s
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", help="file created once the subscription is sent")
    ap.add_argument("--connect-wait", type=float, default=20.0)
    args = ap.parse_args()

    sock = connect(args.socket, args.connect_wait)
    sock.sendall(b'{"subscribe":{"types":["flow","agent_status"]}}\n')
    if args.ready:
        open(args.ready, "w").close()

    by_packet, by_packet_guessed = [], []
    at_purge = 0
    records = flows = 0
    last_status = None
    buf = b""
    broken = None
    while True:
        chunk = sock.recv(1 << 20)
        now_ms = time.time() * 1000.0
        if not chunk:
            break
        buf += chunk
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            try:
                length = json.loads(buf[:nl])["length"]
            except (ValueError, KeyError, TypeError):
                broken = "bad header %r" % buf[:nl][:80]
                break
            if len(buf) < nl + 1 + length:
                break
            body = buf[nl + 1:nl + 1 + length]
            buf = buf[nl + 1 + length:]
            records += 1
            if b'"type":"flow"' in body:
                rec = json.loads(body)
                if rec.get("type") != "flow":
                    continue
                f = rec.get("flow", {})
                if f.get("detection_updated") or rec.get("established"):
                    continue
                flows += 1
                at = f.get("first_update_at")
                if not isinstance(at, int) or at != f.get("last_seen_at"):
                    at_purge += 1
                    continue
                by_packet.append(now_ms - at)
                if f.get("detection_guessed"):
                    by_packet_guessed.append(now_ms - at)
            elif b'"type":"agent_status"' in body:
                last_status = json.loads(body)
        if broken:
            break

    result = {
        "records": records,
        "flow_records": flows,
        "by_packet": summary(by_packet),
        "by_packet_guessed": summary(by_packet_guessed),
        "at_purge": at_purge,
        "stream_error": broken,
        "last_agent_status": last_status,
    }
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Many clients on flowsense's listeners at once, for the load test.

  many_clients.py --unix PATH --tcp HOST:PORT --readers N [--over M]
                  [--resume PID] [--procs P] [--timeout SEC]
  many_clients.py --digest-ndjson FILE

Connects N reading clients, alternately over the UNIX and the TCP
listener, and one more over TCP that never reads (a small receive
buffer; the broker must drop it).  Each reading client must first get
agent_hello and agent_status.  Then M more clients connect: each must be
refused (an error record at most, then end of file), not left waiting.
Then SIGCONT goes to PID (the test holds flowsensed stopped so that no
record flows before every client is in), and P processes read the N
streams to their end, checking netifyd's framing.

Per reading client it keeps the record counts by type and a SHA-1 over
every record that is not agent_hello/agent_status, in order (those are
rendered once and sent to all: identical streams give identical
digests), and its last agent_status.  One JSON summary goes to stdout.

--digest-ndjson prints the same counts and digest for an NDJSON file
(stream_reader.py's output), for the reference client.
Exit status: 0 when every step worked, 1 otherwise (the summary says).
"""

import argparse
import hashlib
import json
import os
import selectors
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream_reader  # noqa: E402

HEADER_START = b'{"length":'
TYPE_START = b'{"type":"'


class StreamDigest:
    """Counts and digest of one stream's records (payloads, newline included)."""

    def __init__(self):
        self.counts = {}
        self.sha = hashlib.sha1()
        self.last_status = None

    def add(self, payload):
        if not payload.startswith(TYPE_START) or not payload.endswith(b"\n") \
                or not payload.isascii():
            raise stream_reader.FramingError("not an ASCII JSON line with a type first: %r"
                                             % payload[:100])
        end = payload.index(b'"', len(TYPE_START))
        kind = payload[len(TYPE_START):end].decode("ascii")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "agent_status":
            self.last_status = payload
        elif kind != "agent_hello":
            self.sha.update(payload)

    def result(self):
        return {"counts": self.counts, "digest": self.sha.hexdigest()}


class FrameParser:
    """netifyd framing: {"length":N}\\n then N bytes, parsed as bytes arrive."""

    def __init__(self):
        self.buf = bytearray()
        self.digest = StreamDigest()
        self.records = 0

    def feed(self, data):
        self.buf += data
        pos = 0
        while True:
            nl = self.buf.find(b"\n", pos)
            if nl < 0:
                break
            header = bytes(self.buf[pos:nl])
            if not header.startswith(HEADER_START) or not header.endswith(b"}") \
                    or not header[len(HEADER_START):-1].isdigit():
                raise stream_reader.FramingError("record %d: bad header %r"
                                                 % (self.records, header[:100]))
            end = nl + 1 + int(header[len(HEADER_START):-1])
            if end > len(self.buf):
                break
            self.digest.add(bytes(self.buf[nl + 1:end]))
            self.records += 1
            pos = end
        del self.buf[:pos]

    def finish(self):
        if self.buf:
            raise stream_reader.FramingError("stream ended inside a record (%d bytes)"
                                             % len(self.buf))


def connect(endpoint, rcvbuf=None):
    family, address = stream_reader.parse_endpoint(endpoint)
    sock = socket.socket(family, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(address)
    return sock


def read_greeting(sock, parser, deadline):
    """Reads until agent_hello and agent_status have arrived."""
    while parser.records < 2:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(1 << 16)
        if not data:
            raise stream_reader.FramingError("closed before agent_hello and agent_status")
        parser.feed(data)


def check_refused(endpoint, deadline):
    """A client over the limit: returns (bytes received, how it ended, message)."""
    sock = connect(endpoint)
    got = bytearray()
    end = "eof"
    try:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(1 << 16)
            if not data:
                break
            got += data
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "still open"
    sock.close()
    message = None
    parser = FrameParser()
    try:
        parser.feed(bytes(got))
        parser.finish()
        if parser.records == 1 and parser.digest.counts.get("error") == 1:
            message = json.loads(got.split(b"\n", 1)[1])["message"]
    except (stream_reader.FramingError, ValueError, IndexError):
        pass
    return len(got), end, message


def read_streams(socks, parsers, deadline):
    """Reads every socket to its end; returns one result per client."""
    sel = selectors.DefaultSelector()
    results = [None] * len(socks)
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    left = len(socks)
    while left > 0:
        wait = deadline - time.monotonic()
        if wait <= 0:
            break
        for key, _ in sel.select(wait):
            i = key.data
            status = None
            try:
                data = socks[i].recv(1 << 20)
                if data:
                    parsers[i].feed(data)
                    continue
                parsers[i].finish()
                status = "eof"
            except BlockingIOError:
                continue
            except stream_reader.FramingError as e:
                status = "framing error: %s" % e
            except OSError as e:
                status = "connection lost: %s" % e
            sel.unregister(socks[i])
            socks[i].close()
            left -= 1
            results[i] = dict(parsers[i].digest.result(), end=status,
                              last_status=(parsers[i].digest.last_status or b"").decode())
    for i, r in enumerate(results):
        if r is None:
            results[i] = dict(parsers[i].digest.result(), end="timeout", last_status="")
    return results


def read_in_processes(socks, parsers, procs, deadline):
    """Splits the clients over procs forked readers; returns all results in order."""
    children = []
    for p in range(procs):
        mine = list(range(p, len(socks), procs))
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            try:
                res = read_streams([socks[i] for i in mine], [parsers[i] for i in mine],
                                   deadline)
                with os.fdopen(wfd, "w") as out:
                    json.dump(res, out)
            finally:
                os._exit(0)
        os.close(wfd)
        children.append((pid, rfd, mine))
    for s in socks:  # the children hold them now
        s.close()
    results = [None] * len(socks)
    for pid, rfd, mine in children:
        with os.fdopen(rfd) as fh:
            text = fh.read()
        os.waitpid(pid, 0)
        res = json.loads(text) if text else [dict(end="reader process failed")] * len(mine)
        for i, r in zip(mine, res):
            results[i] = r
    return results


def drain(sock, seconds):
    total = 0
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(1 << 16)
            if not data:
                return total, "eof"
            total += len(data)
    except ConnectionResetError:
        return total, "reset"
    except socket.timeout:
        return total, "still open"


def digest_ndjson(path):
    d = StreamDigest()
    with open(path, "rb") as fh:
        for line in fh:
            d.add(line)
    print(json.dumps(d.result()))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unix")
    ap.add_argument("--tcp")
    ap.add_argument("--readers", type=int, default=0)
    ap.add_argument("--over", type=int, default=0, help="clients over the limit")
    ap.add_argument("--resume", type=int, help="PID to send SIGCONT once all are in")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--digest-ndjson")
    args = ap.parse_args()
    if args.digest_ndjson:
        return digest_ndjson(args.digest_ndjson)

    start = time.monotonic()
    deadline = start + args.timeout
    endpoints = ["unix:" + args.unix, "tcp:" + args.tcp]
    summary = {"readers": args.readers}
    socks, parsers = [], []
    try:
        for i in range(args.readers):
            socks.append(connect(endpoints[i % 2]))
            parsers.append(FrameParser())
        never = connect(endpoints[1], rcvbuf=4096)
        for s, p in zip(socks, parsers):
            read_greeting(s, p, deadline)
    except (OSError, stream_reader.FramingError) as e:
        summary["error"] = "connecting %d clients: %s" % (len(socks), e)
        print(json.dumps(summary))
        return 1
    summary["connect_seconds"] = round(time.monotonic() - start, 2)

    refused = [check_refused(endpoints[i % 2], time.monotonic() + 5)
               for i in range(args.over)]
    summary["refused"] = [{"bytes": b, "end": e, "message": m} for b, e, m in refused]

    if args.resume:
        os.kill(args.resume, signal.SIGCONT)
    read_start = time.monotonic()
    results = read_in_processes(socks, parsers, args.procs, deadline)
    summary["read_seconds"] = round(time.monotonic() - read_start, 2)
    never_bytes, never_end = drain(never, 5)
    summary["never_reader"] = {"bytes": never_bytes, "end": never_end}

    ends = {}
    for r in results:
        ends[r["end"]] = ends.get(r["end"], 0) + 1
    summary["ends"] = ends
    digests = {}
    for r in results:
        key = json.dumps({"counts": r.get("counts"), "digest": r.get("digest")}, sort_keys=True)
        digests[key] = digests.get(key, 0) + 1
    summary["distinct_streams"] = [dict(json.loads(k), clients=n) for k, n in digests.items()]
    # the final agent_status, sent once to all: every reader's last one
    finals = {r.get("last_status", "") for r in results}
    summary["distinct_final_status"] = len(finals)
    first = results[0].get("last_status", "") if results else ""
    summary["final_status"] = json.loads(first) if first else None
    print(json.dumps(summary))
    return 0 if ends == {"eof": args.readers} and len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

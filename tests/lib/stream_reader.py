#!/usr/bin/env python3
"""A client of the flowsense stream that reads it the way netify-fwa does.

netify-fwa wraps the socket in a Python *text-mode* file, reads the header
line `{"length":N}` with readline(), parses it with json.loads, then reads
the payload with read(N), where N counts characters.  This reader does the
same, so any framing slip a real client would trip over (a wrong length, a
non-ASCII byte, a missing newline) is an error here, reported loudly.

Each record is written as one NDJSON line (the payload as received) to
stdout or --output, flushed at once so tests can watch the file grow.

  stream_reader.py [options] unix:/path | /path | tcp:HOST:PORT | HOST:PORT

Exit status: 0 the stream ended cleanly (EOF between records, or
--max-records reached), 1 framing error, 2 cannot connect, 3 timeout,
4 connection lost (reset).
"""

import argparse
import json
import re
import signal
import socket
import sys
import time

HEADER_RE = re.compile(r'\{"length":[1-9][0-9]*\}\n\Z')


class FramingError(Exception):
    pass


class Timeout(Exception):
    pass


def parse_endpoint(text):
    """Returns (family, address) for a UNIX path or a TCP host:port."""
    if text.startswith("unix:"):
        return socket.AF_UNIX, text[len("unix:"):]
    if text.startswith("/"):
        return socket.AF_UNIX, text
    if text.startswith("tcp:"):
        text = text[len("tcp:"):]
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("endpoint %r is neither unix:PATH nor HOST:PORT" % text)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def connect(endpoint, retries, delay):
    """Connects, retrying while the server is not listening yet."""
    family, address = parse_endpoint(endpoint)
    for attempt in range(retries + 1):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.connect(address)
            return sock
        except (FileNotFoundError, ConnectionRefusedError) as e:
            sock.close()
            if attempt == retries:
                raise OSError("cannot connect to %s after %d attempts: %s"
                              % (endpoint, retries + 1, e)) from e
            time.sleep(delay)
    raise AssertionError("unreachable")


def read_header(fh, index, strict):
    """Returns the payload length announced by the next header, or None at EOF."""
    line = fh.readline()
    if line == "":
        return None
    if not line.endswith("\n"):
        raise FramingError("record %d: stream ended inside a header line: %r"
                           % (index, line[:200]))
    try:
        header = json.loads(line)
    except ValueError as e:
        raise FramingError("record %d: header is not JSON (%s): %r"
                           % (index, e, line[:200])) from e
    if (not isinstance(header, dict) or set(header) != {"length"}
            or type(header["length"]) is not int or header["length"] < 2):
        raise FramingError("record %d: header is not {\"length\":N>1}: %r"
                           % (index, line[:200]))
    if strict and not HEADER_RE.match(line):
        raise FramingError("record %d: header is not exactly {\"length\":N}\\n: %r"
                           % (index, line[:200]))
    return header["length"]


def read_payload(fh, index, length):
    """Reads exactly `length` characters and checks they are one JSON line."""
    payload = fh.read(length)
    if len(payload) != length:
        raise FramingError("record %d: header announced %d characters, stream ended"
                           " after %d: %r" % (index, length, len(payload), payload[-200:]))
    if not payload.endswith("\n"):
        raise FramingError("record %d: payload of %d characters does not end in a"
                           " newline (length wrong?): %r" % (index, length, payload[-200:]))
    if "\n" in payload[:-1]:
        raise FramingError("record %d: payload holds more than one line: %r"
                           % (index, payload[:200]))
    try:
        record = json.loads(payload)
    except ValueError as e:
        raise FramingError("record %d: payload is not JSON (%s): %r"
                           % (index, e, payload[:200])) from e
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise FramingError("record %d: payload is not an object with a \"type\": %r"
                           % (index, payload[:200]))
    return record, payload


def read_stream(fh, out, args, counts):
    index = 0
    start = time.monotonic()
    while args.max_records is None or index < args.max_records:
        length = read_header(fh, index, not args.lenient_header)
        if length is None:
            return
        record, payload = read_payload(fh, index, length)
        counts[record["type"]] = counts.get(record["type"], 0) + 1
        out.write(payload)
        out.flush()
        index += 1
        if args.rate:
            # a slow reader: a replay then runs at its pace
            ahead = index / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("endpoint")
    ap.add_argument("--output", "-o", help="NDJSON output file (default stdout)")
    ap.add_argument("--connect-retries", type=int, default=0,
                    help="retry a refused connection this many times, 0.1 s apart")
    ap.add_argument("--timeout", type=float, default=0,
                    help="give up (exit 3) after this many seconds in all")
    ap.add_argument("--max-records", type=int, help="stop after this many records")
    ap.add_argument("--rate", type=float, default=0,
                    help="read at most this many records per second (a slow client)")
    ap.add_argument("--send", help="a line to send after connecting (subscription)")
    ap.add_argument("--lenient-header", action="store_true",
                    help="accept any JSON header, e.g. netifyd 4's {\"length\": N}")
    ap.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    args = ap.parse_args()

    def on_alarm(_sig, _frame):
        raise Timeout()
    if args.timeout > 0:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, args.timeout)

    counts = {}
    out = open(args.output, "w", encoding="ascii") if args.output else sys.stdout
    status = 0
    try:
        try:
            sock = connect(args.endpoint, args.connect_retries, 0.1)
        except (OSError, ValueError) as e:
            print("stream_reader: %s" % e, file=sys.stderr)
            return 2
        if args.send is not None:
            sock.sendall((args.send.rstrip("\n") + "\n").encode("ascii"))
        # Text mode, as netify-fwa: strict ASCII so any other byte is an error.
        fh = sock.makefile("r", encoding="ascii", errors="strict", newline="\n")
        read_stream(fh, out, args, counts)
    except FramingError as e:
        print("stream_reader: FRAMING ERROR: %s" % e, file=sys.stderr)
        status = 1
    except UnicodeDecodeError as e:
        print("stream_reader: FRAMING ERROR: non-ASCII byte in the stream"
              " (%s); text-mode clients lose sync" % e, file=sys.stderr)
        status = 1
    except Timeout:
        print("stream_reader: TIMEOUT after %.1f s" % args.timeout, file=sys.stderr)
        status = 3
    except OSError as e:
        print("stream_reader: connection lost: %s" % e, file=sys.stderr)
        status = 4
    finally:
        if args.timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        summary = " ".join("%s=%d" % kv for kv in sorted(counts.items()))
        print("stream_reader: %d records (%s), exit %d"
              % (sum(counts.values()), summary or "none", status), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Makes HTTP exchanges on 127.0.0.1 and keeps the TCP connections open.

  hold_http.py [HOST_HEADER] [--port PORT] [--connections N]

Listens on 127.0.0.1:PORT (default a free port), makes N (default 1)
connections to it, the i-th from 127.0.0.i, sends a GET with the given Host header on each, answers
it, prints "PORT" on stdout, then holds every end open until it is
terminated: flows that are still open when the sensor stops (their purge
must say "terminated"), or that a worker holds when it is killed.
"""

import argparse
import signal
import socket
import sys
import time


def exchange(server, port, host, source):
    """One connection from source with one request and its answer; returns both ends."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    peer, _ = server.accept()
    client.sendall(("GET /held HTTP/1.1\r\nHost: %s\r\nUser-Agent: flowsense-test/1.0\r\n"
                    "Accept: */*\r\n\r\n" % host).encode("ascii"))
    request = peer.recv(4096)
    if not request.startswith(b"GET /held"):
        raise RuntimeError("unexpected request %r" % request)
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                 b"Connection: keep-alive\r\n\r\nheld\n")
    client.recv(4096)
    return client, peer


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("host", nargs="?", default="flowsense.test")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--connections", type=int, default=1)
    args = ap.parse_args()

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(args.connections)
    port = server.getsockname()[1]
    held = []
    try:
        # Connection i comes from 127.0.0.(1+i): flows are steered by their
        # addresses, so the connections spread over the workers.
        for i in range(args.connections):
            held.extend(exchange(server, port, args.host, "127.0.0.%d" % (1 + i % 254)))
    except (OSError, RuntimeError) as e:
        print("hold_http: %s" % e, file=sys.stderr)
        return 1
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())

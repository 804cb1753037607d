#!/usr/bin/env python3
"""Makes one HTTP exchange on 127.0.0.1 and keeps the TCP connection open.

  hold_http.py HOST_HEADER

Listens on a free loopback port, connects to it, sends a GET with the given
Host header, answers it, prints "PORT" on stdout, then holds both ends open
until it is terminated: a flow that is still open when the sensor stops,
so its purge must say "terminated".
"""

import signal
import socket
import sys
import time


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "flowsense.test"
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    peer, _ = server.accept()
    client.sendall(("GET /held HTTP/1.1\r\nHost: %s\r\nUser-Agent: flowsense-test/1.0\r\n"
                    "Accept: */*\r\n\r\n" % host).encode("ascii"))
    request = peer.recv(4096)
    if not request.startswith(b"GET /held"):
        print("hold_http: unexpected request %r" % request, file=sys.stderr)
        return 1
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                 b"Connection: keep-alive\r\n\r\nheld\n")
    client.recv(4096)
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())

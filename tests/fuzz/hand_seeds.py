#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus (run from the
repository root; the files are committed, this says how they were made):
broker control-channel events and client lines, subscription lines,
configuration files and ring images."""
import os
import struct

C = "tests/fuzz/corpus"


def mp(o):
    """A small msgpack encoder: dict, list, str, bool, int, float, None."""
    if o is None:
        return b"\xc0"
    if o is True or o is False:
        return b"\xc3" if o else b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 128:
            return bytes([o])
        if o >= 0:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(o, list):
        return bytes([0x90 | len(o)]) + b"".join(mp(x) for x in o)
    if isinstance(o, dict):
        return bytes([0x80 | len(o)]) + b"".join(mp(k) + mp(v) for k, v in o.items())
    raise TypeError(o)


def chunk(b):
    return struct.pack(">H", len(b)) + b


def write(target, name, data):
    os.makedirs(os.path.join(C, target), exist_ok=True)
    with open(os.path.join(C, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


SUB = '{"subscribe":{"types":["flow","flow_purge","agent_status"],"protocols":["TLS","dns"]}}\n'
FLOW = {"type": "flow", "interface": "wan0", "internal": False, "established": False,
        "flow": {"digest": "00" * 20, "ip_version": 4, "ip_protocol": 6,
                 "local_ip": "192.168.1.10", "other_ip": "93.184.216.34", "local_port": 51000,
                 "other_port": 443, "detected_protocol": 91,
                 "detected_protocol_name": "TLS", "detected_application_name": "TLS.Google",
                 "first_seen_at": 1700000000000, "last_seen_at": 1700000001000}}
PURGE = {"type": "flow_purge", "interface": "wan0", "internal": False, "reason": "closed",
         "flow": {"digest": "00" * 20, "local_bytes": 100, "other_bytes": 2000}}
STATS = {"type": "worker_stats", "pid": 1234, "flows": 1, "packets": 10, "bytes": 1000,
         "cpu_user": 0.5, "cpu_system": 0.25, "events_dropped": 0}
CAPTURE = {"type": "capture_stats", "packets": 10, "dropped": 0, "cpu_user": 0.1}
EXIT = {"type": "worker_exit", "worker": 1, "pid": 1234, "signal": 11, "status": 0,
        "flows_lost": 1}

# fuzz_broker: flags, client line, then (selector, chunk) steps.
write("broker", "flow-purge", b"\x00" + chunk(SUB.encode()) +
      b"\x00" + chunk(mp(FLOW)) + b"\x01" + chunk(mp(STATS)) + b"\x00" + chunk(mp(PURGE)))
write("broker", "replay-second-client", b"\x01" + chunk(b"") + b"\x00" + chunk(mp(FLOW)) +
      b"\x03" + chunk(SUB.encode()) + b"\x00" + chunk(mp(PURGE)))
write("broker", "control", b"\x08" + chunk(b"") + b"\x02" + chunk(mp(CAPTURE)) +
      b"\x01" + chunk(mp(FLOW).replace(b"wan0", b"lan0")) + b"\x02" + chunk(mp(EXIT)) +
      b"\x02" + chunk(mp({"type": "capture_done"})))
# Listener events: valid ones, and the refusals (no descriptor can come
# with a plain send; from a worker; an index past the fixture's one
# listener; an index that is not a number).
REPLACED = {"type": "listener_replaced", "listener": 0}
UNAVAILABLE = {"type": "listener_unavailable", "listener": 0}
write("broker", "listener-events", b"\x08" + chunk(b"") + b"\x02" + chunk(mp(UNAVAILABLE)) +
      b"\x02" + chunk(mp(REPLACED)) + b"\x00" + chunk(mp(REPLACED)) +
      b"\x02" + chunk(mp(dict(REPLACED, listener=5))) +
      b"\x02" + chunk(mp(dict(UNAVAILABLE, listener="0"))) +
      b"\x02" + chunk(mp(CAPTURE) + mp(UNAVAILABLE) + mp(REPLACED)))
write("broker", "listener-unavailable-batch", b"\x00" + chunk(b"") +
      b"\x02" + chunk(mp(UNAVAILABLE) + mp(dict(UNAVAILABLE, listener=1 << 40))) +
      b"\x01" + chunk(mp(UNAVAILABLE)) + b"\x03" + chunk(SUB.encode()))
write("broker", "batch", b"\x00" + chunk(b"") + b"\x00" + chunk(mp(FLOW) + mp(STATS) + mp(PURGE)))

for name, line in {
    "types": SUB,
    "all-keys": '{"subscribe":{"types":["flow","flow_status"],"protocols":["HTTP"],'
                '"applications":["netify.whatsapp","142"],"interfaces":["eth0","wlan0"]}}\n',
    "empty": '{"subscribe":{}}\r\n',
    "escapes": '{"subscribe":{"interfaces":["e\\u0074h0","\\"x\\""]}}\n',
    "two-lines": '{"subscribe":{}}\n{"subscribe":{}}\n',
    "not-json": "subscribe me\n",
}.items():
    write("subscription", name, line)

with open("capture/flowsense.conf") as f:
    write("config", "example", f.read())
write("config", "every-section", """[flowsense]
update_interval = 30
max_detection_pkts = 16
ttl_idle_flow = 60
ttl_idle_tcp_flow = 600
max_flows = 5000
dhc_max_entries = 1024
workers = 2
user = flowsense

[socket]
listen_path[0] = /run/flowsense/flowsense.sock
listen_address[1] = 127.0.0.1
listen_port[1] = 7150
client_queue_kb = 1024
dump_established_flows = yes
dump_unknown_flows = no

[capture-interface-eth0]
role = LAN
filter = not port 22
address[0] = 192.168.1.1/24
address[1] = fd00::1/64

[local-networks]
defaults = no
network[0] = 10.0.0.0/8
""")
write("config", "errors", "[flowsense]\nworkers = many\n[nowhere]\nkey\n")

# fuzz_ring: flags, data_size?, head, tail, taken, later size, later head, data.
def record(kind, data=b"", link=1):
    size = (32 + len(data) + 7) & ~7
    return struct.pack("<IHHQIIII", size, kind, 0, 1700000000000000000, len(data), len(data),
                       link, 0) + data + b"\0" * (size - 32 - len(data))


area = record(1, b"\x00" * 14 + b"\x45" + b"\x00" * 19) + record(4) + record(3)
write("ring", "records", struct.pack(">BIIIII", 0, len(area), 0, 0, 0, 0) + area)
write("ring", "taken-resume", struct.pack(">BIIIII", 0, len(area), 0, 64, 0, 0) + area)
write("ring", "hostile-later", struct.pack(">BIIIII", 6, len(area), 0, 0, 1 << 30, 1 << 20) + area)
print("hand-made seeds written under", C)

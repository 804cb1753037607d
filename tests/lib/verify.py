#!/usr/bin/env python3
"""Checks flowsense's records of one capture against a suricata-verify-style
assertion file (tests/verify/CASE/test.yaml; format in tests/verify/README.md).

  verify.py pcap CASE.yaml           print the capture's path (exit 77 + reason
                                     when it is absent)
  verify.py args CASE.yaml           print flowsensed's extra arguments, one a line
  verify.py check CASE.yaml NDJSON   run the case's checks on flowsensed's output

Two kinds of check:
  tshark:  the expected values are computed here, from tshark's dissection of
           the same capture: for every flow the check selects, the named fields
           (sni, ja3, http_host, user_agent, dns_query, packets, bytes) must
           equal what tshark decodes from that flow's packets.
  filter:  literal values, as suricata-verify's `match`: exactly `count` flow
           records carry every `match` field with the given value.

How a packet is put in a flow, the way flowsense does it: the innermost IP
header and transport of the tunnels flowsense opens (IP-in-IP, GRE, GTP-U,
VXLAN; an ICMP error's quoted header is not opened), the first VLAN tag, the
unordered (address, port) pair.  A fragment belongs to the datagram it is
reassembled in, at that datagram's time.  Packets of one key go to the
flowsense flow of that key whose [first_seen_at, last_seen_at] (ms; the last
from its flow_purge) holds their time.  Bytes are frame.len, the length on
the wire (pcap's len), which is what flowsense counts, per direction: a packet
is "local" when its source is the flow's local_ip/local_port.
"""

import ipaddress
import json
import os
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    print("python3-yaml is not installed (apt-get install python3-yaml)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("SHARED_PCAP", os.path.join(ROOT, "..", "shared", "pcap"))

# Per packet, with every occurrence (aggregated with \x1e: values may hold commas).
TSHARK_FIELDS = [
    "frame.number", "frame.time_epoch", "frame.len", "frame.protocols",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "vlan.id",
    "tcp.srcport", "tcp.dstport", "tcp.stream", "udp.srcport", "udp.dstport",
    "ip.reassembled_in", "ipv6.reassembled.in",
    "tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ja3",
    "http.request", "http.host", "http.user_agent", "dns.qry.name",
]
AGG = "\x1e"

# Metadata fields: (tshark field, the packets it is taken from, the flow
# record's path).  The value is the field's first occurrence in the flow's
# first packet that qualifies.
META = {
    "sni": ("tls.handshake.extensions_server_name", "client_hello", "ssl.client_sni"),
    "ja3": ("tls.handshake.ja3", "client_hello", "ssl.client_ja3"),
    "http_host": ("http.host", "http_request", "http.host"),
    "user_agent": ("http.user_agent", "http_request", "http.user_agent"),
    "dns_query": ("dns.qry.name", "dns", "dns.query"),
}
COUNTERS = ("packets", "bytes")
# Names nDPI keeps lowercase (DNS names are case-insensitive), an HTTP Host
# without its ":port" (host_server_name is a host name).
NAMES = ("sni", "http_host", "dns_query")
# flowsense ends an idle flow after these (netifyd's defaults): a tshark TCP
# stream may be split into several flows only at such a gap.
TTL_IDLE_TCP_MS = 300000


class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        with open(path) as f:
            self.spec = yaml.safe_load(f)
        if not isinstance(self.spec, dict) or "pcap" not in self.spec:
            raise SystemExit("%s: no `pcap`" % path)

    def pcap(self):
        p = self.spec["pcap"]
        if p.startswith("shared/"):
            return os.path.normpath(os.path.join(SHARED, p[len("shared/"):]))
        return os.path.join(ROOT, p)


# ---- tshark's side ----

def occurrences(value):
    return value.split(AGG) if value else []


def first(value):
    v = occurrences(value)
    return v[0] if v else ""


def time_ms(epoch):
    """Milliseconds, truncated as flowsense does (no float rounding)."""
    sec, _, frac = epoch.partition(".")
    return int(sec) * 1000 + int((frac + "000")[:3])


def canon(ip):
    return ipaddress.ip_address(ip).compressed


def packet_key(p):
    """(ip_version, ip_protocol, vlan, lower endpoint, upper endpoint) and the
    source endpoint, or None when flowsense would not make a flow of it."""
    layers = p["frame.protocols"].split(":")
    n = {"ip": 0, "ipv6": 0, "tcp": 0, "udp": 0}
    cur = None
    proto = None
    for i, layer in enumerate(layers):
        if layer in ("ip", "ipv6"):
            cur = (layer, n[layer])
            n[layer] += 1
        elif layer in ("icmp", "icmpv6"):
            proto = (1 if layer == "icmp" else 58, None)
            break
        elif layer == "tcp":
            proto = (6, n["tcp"])
            break
        elif layer == "udp":
            nxt = layers[i + 1] if i + 1 < len(layers) else ""
            if nxt in ("gtp", "vxlan"):  # tunnels flowsense opens
                n["udp"] += 1
                continue
            proto = (17, n["udp"])
            break
    if cur is None or proto is None:
        return None, None
    fam, idx = cur
    srcs, dsts = occurrences(p[fam + ".src"]), occurrences(p[fam + ".dst"])
    if idx >= len(srcs) or idx >= len(dsts):
        return None, None
    src, dst = canon(srcs[idx]), canon(dsts[idx])
    sport = dport = 0
    number, pidx = proto
    if pidx is not None:
        t = "tcp" if number == 6 else "udp"
        sports, dports = occurrences(p[t + ".srcport"]), occurrences(p[t + ".dstport"])
        if pidx >= len(sports):
            return None, None
        sport, dport = int(sports[pidx]), int(dports[pidx])
    vlans = occurrences(p["vlan.id"])
    vlan = int(vlans[0]) if vlans else 0
    a, b = (src, sport), (dst, dport)
    lo, hi = sorted((a, b))
    return (4 if fam == "ip" else 6, number, vlan, lo, hi), a


def tshark_packets(pcap):
    cmd = ["tshark", "-r", pcap, "-n", "-2", "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=" + AGG, "-E", "separator=/t"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise SystemExit("tshark failed on %s: %s" % (pcap, out.stderr.decode()[-300:]))
    packets = {}
    for line in out.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        cols = line.split("\t")
        cols += [""] * (len(TSHARK_FIELDS) - len(cols))
        p = dict(zip(TSHARK_FIELDS, cols))
        p["number"] = int(p["frame.number"])
        p["ms"] = time_ms(p["frame.time_epoch"])
        p["len"] = int(p["frame.len"])
        packets[p["number"]] = p
    # A fragment counts in the datagram it completes, at that time.
    for p in packets.values():
        whole = first(p["ip.reassembled_in"]) or first(p["ipv6.reassembled.in"])
        target = packets.get(int(whole)) if whole else None
        if target is not None and target is not p:
            p["key"], p["src"] = packet_key(target)
            p["ms"] = target["ms"]
        else:
            p["key"], p["src"] = packet_key(p)
    return packets


def tshark_select(pcap, display_filter):
    out = subprocess.run(["tshark", "-r", pcap, "-n", "-2", "-Y", display_filter, "-T", "fields",
                          "-e", "frame.number"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise SystemExit("tshark -Y %r failed: %s" % (display_filter, out.stderr.decode()[-300:]))
    return [int(x) for x in out.stdout.decode().split()]


def host_name(value, strip_port):
    value = value.lower()
    if strip_port and not value.startswith("["):
        head, sep, tail = value.rpartition(":")
        if sep and tail.isdigit():
            value = head
    return value


def qualifies(p, kind):
    if kind == "client_hello":
        return "1" in occurrences(p["tls.handshake.type"])
    if kind == "http_request":
        return "1" in occurrences(p["http.request"])
    return True


# ---- flowsense's side ----

def load_flows(ndjson):
    """One record per flow (the flow records of one flow until its purge,
    merged: later values win, first_seen_at stays), with its flow_purge's
    counters as "purge"."""
    flows, open_by_digest = [], {}
    with open(ndjson) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "flow":
                rec = open_by_digest.get(r["flow"]["digest"])
                if rec is not None:
                    # A later flow record of a flow still open (new metadata,
                    # detection_updated): one flow, the newest values.
                    first_seen = rec["first_seen_at"]
                    rec.update(r["flow"])
                    rec["first_seen_at"] = first_seen
                    continue
                rec = dict(r["flow"])
                rec["type"] = "flow"
                rec["interface"] = r.get("interface")
                flows.append(rec)
                open_by_digest[rec["digest"]] = rec
            elif r.get("type") == "flow_purge":
                rec = open_by_digest.pop(r["flow"]["digest"], None)
                if rec is not None:
                    rec["purge"] = r["flow"]
    for rec in flows:
        local = (canon(rec["local_ip"]), rec["local_port"])
        other = (canon(rec["other_ip"]), rec["other_port"])
        lo, hi = sorted((local, other))
        rec["key"] = (rec["ip_version"], rec["ip_protocol"], rec["vlan_id"], lo, hi)
        rec["local"] = local
        end = rec.get("purge", rec)
        rec["span"] = (rec["first_seen_at"], end["last_seen_at"])
    return flows


def path_get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def describe(key):
    v, proto, vlan, lo, hi = key
    name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(proto, str(proto))
    ep = lambda e: ("[%s]:%d" if ":" in e[0] else "%s:%d") % e
    return "%s %s <-> %s%s" % (name, ep(lo), ep(hi), " vlan %d" % vlan if vlan else "")


# ---- checks ----

class Checker:
    def __init__(self, case, ndjson):
        self.case = case
        self.flows = load_flows(ndjson)
        self.packets = None
        self.problems = []
        self.passed = []

    def tshark_data(self):
        if self.packets is None:
            self.packets = tshark_packets(self.case.pcap())
            self.by_key = {}
            for p in self.packets.values():
                if p["key"] is not None:
                    self.by_key.setdefault(p["key"], []).append(p)
            self.flows_by_key = {}
            for rec in self.flows:
                self.flows_by_key.setdefault(rec["key"], []).append(rec)
        return self.packets

    def partition(self, key, label):
        """{id(flow): [packets]} for the packets of key; problems for packets
        in no flow and for TCP streams split without an idle gap."""
        owned = {}
        flows = self.flows_by_key.get(key, [])
        stream_flows = {}
        for p in self.by_key.get(key, []):
            home = [f for f in flows if f["span"][0] <= p["ms"] <= f["span"][1]]
            if len(home) != 1:
                self.problems.append("%s: %s: frame %d (%d ms) is in %d flows, not 1"
                                     % (label, describe(key), p["number"], p["ms"], len(home)))
                continue
            owned.setdefault(id(home[0]), []).append(p)
            stream = first(p["tcp.stream"]) if key[1] == 6 else ""
            if stream:
                stream_flows.setdefault(stream, []).append((p["ms"], id(home[0])))
        for stream, seq in stream_flows.items():
            seq.sort()
            for (t0, f0), (t1, f1) in zip(seq, seq[1:]):
                if f0 != f1 and t1 - t0 < TTL_IDLE_TCP_MS:
                    self.problems.append("%s: %s: tshark's tcp.stream %s is split into two flows "
                                         "at %d ms without an idle gap" % (label, describe(key),
                                                                          stream, t1))
        return owned

    def check_tshark(self, n, spec):
        label = "check %d (tshark)" % n
        fields = spec.get("fields") or []
        bad = [f for f in fields if f not in META and f not in COUNTERS]
        if bad or not fields:
            self.problems.append("%s: unknown or no fields %s" % (label, bad))
            return
        packets = self.tshark_data()
        selected = tshark_select(self.case.pcap(), spec.get("select", "frame"))
        keys = []
        for num in selected:
            key = packets[num]["key"]
            if key is None:
                continue
            if key not in self.flows_by_key:
                self.problems.append("%s: %s: tshark frame %d matches %r but flowsense has no flow"
                                     % (label, describe(key), num, spec.get("select")))
                continue
            if key not in keys:
                keys.append(key)
        compared, with_value, before = 0, 0, len(self.problems)
        for key in keys:
            owned = self.partition(key, label)
            sel = set(selected)
            for rec in self.flows_by_key[key]:
                pkts = sorted(owned.get(id(rec), []), key=lambda p: p["number"])
                if not any(p["number"] in sel for p in pkts):
                    continue
                compared += 1
                with_value += self.compare_flow(label, key, rec, pkts, fields)
        want_min = spec.get("min", 1)
        if "count" in spec and compared != spec["count"]:
            self.problems.append("%s: %d flows compared, the case says exactly %d"
                                 % (label, compared, spec["count"]))
        if compared < want_min:
            self.problems.append("%s: only %d flows compared (min %d)" % (label, compared, want_min))
        meta = [f for f in fields if f in META]
        if meta and with_value < spec.get("min_values", 1):
            self.problems.append("%s: only %d flows had a %s value in tshark (min_values %d)"
                                 % (label, with_value, "/".join(meta), spec.get("min_values", 1)))
        if len(self.problems) == before:
            self.passed.append("%s: %s equal tshark's on %d flows (%d with a value)"
                               % (label, ",".join(fields), compared, with_value))

    def compare_flow(self, label, key, rec, pkts, fields):
        had_value = 0
        where = "%s: %s (first_seen_at %d)" % (label, describe(key), rec["first_seen_at"])
        for field in fields:
            if field in COUNTERS:
                totals = rec.get("purge")
                if totals is None:
                    self.problems.append("%s: no flow_purge" % where)
                    continue
                mine = lambda p: p["src"] == rec["local"]
                pick = (lambda p: 1) if field == "packets" else (lambda p: p["len"])
                want = {"local": sum(pick(p) for p in pkts if mine(p)),
                        "other": sum(pick(p) for p in pkts if not mine(p))}
                for side in ("local", "other"):
                    got = totals.get("%s_%s" % (side, field))
                    if got != want[side]:
                        self.problems.append("%s: %s_%s %s, tshark %d (frames %s)"
                                             % (where, side, field, got, want[side],
                                                summary([p["number"] for p in pkts])))
                continue
            tfield, kind, path = META[field]
            want = None
            for p in pkts:
                if qualifies(p, kind) and first(p[tfield]):
                    want = first(p[tfield])
                    break
            if want is not None and field in NAMES:
                want = host_name(want, field == "http_host")
            got = path_get(rec, path)
            had_value = had_value or want is not None
            if got != want:
                self.problems.append("%s: %s %r, tshark %r" % (where, path, got, want))
        return 1 if had_value else 0

    def check_filter(self, n, spec):
        label = "check %d (filter)" % n
        match = spec.get("match") or {}
        hits = [rec for rec in self.flows
                if all(value_equal(path_get(rec, k), v) for k, v in match.items())]
        want = spec.get("count")
        if want is None or len(hits) != want:
            near = [rec for rec in self.flows
                    if sum(value_equal(path_get(rec, k), v) for k, v in match.items())
                    >= max(1, len(match) - 1)]
            self.problems.append("%s: %d flow records match %s, the case says %s"
                                 % (label, len(hits), json.dumps(match), want))
            for rec in near[:5]:
                diff = {k: path_get(rec, k) for k, v in match.items()
                        if not value_equal(path_get(rec, k), v)}
                self.problems.append("  near miss %s: %s" % (describe(rec["key"]), json.dumps(diff)))
        else:
            self.passed.append("%s: %d flow record(s) with %d literal fields" % (label, want, len(match)))

    def run(self):
        checks = self.case.spec.get("checks") or []
        if not checks:
            self.problems.append("no checks")
        for n, c in enumerate(checks, 1):
            if "tshark" in c:
                self.check_tshark(n, c["tshark"])
            elif "filter" in c:
                self.check_filter(n, c["filter"])
            else:
                self.problems.append("check %d: neither tshark nor filter" % n)


def value_equal(got, want):
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    return got == want


def summary(numbers):
    if len(numbers) <= 8:
        return ",".join(map(str, numbers))
    return "%s..%s (%d)" % (numbers[0], numbers[-1], len(numbers))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    case = Case(argv[2])
    if argv[1] == "pcap":
        path = case.pcap()
        if not os.path.exists(path):
            print("capture %s is absent (the shared corpus sits beside the repository "
                  "as shared/pcap)" % path)
            return 77
        print(path)
        return 0
    if argv[1] == "args":
        for a in case.spec.get("args") or []:
            print(a)
        return 0
    if argv[1] == "check" and len(argv) == 4:
        c = Checker(case, argv[3])
        c.run()
        for line in c.passed:
            print("%s: ok: %s" % (case.name, line))
        for line in c.problems:
            print("%s: FAIL: %s" % (case.name, line))
        return 1 if c.problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

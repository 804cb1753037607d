#!/usr/bin/env python3
"""Compares flowsense's protocol verdicts with ndpiReader's, flow by flow.

  compare_ndpi.py [--exceptions TSV] [--min-agreement PCT] \
      --case NAME OURS.ndjson NDPI.csv [--case ...]

OURS.ndjson: flowsensed --stdout output for capture NAME; NDPI: the text
of `ndpiReader -i NAME -v 2` (every flow, undetected ones included), or a
.csv file written by `ndpiReader -C` (detected flows only).  Flows are matched by IP
protocol and the unordered pair of (address, port) endpoints; where one
side has several flows with the same tuple they are paired in order of
first packet.  Each flow's last record counts (ndpiReader reports nDPI's
verdict after all dissection): a record marked detection_updated replaces
the one before it; --first-record compares the records sent at detection
instead.  Our name is detected_protocol_name, plus "." and the tag of
detected_application_name ("126.google" -> "google") when
detected_application != 0; ndpiReader's is ndpi_proto ("DNS.Google").
They are compared case-insensitively ("X.X" counts as "X", as ndpiReader
prints a protocol once when master and application are the same).

Exceptions (TSV, '#' comments): file, flow tuple, ours, theirs, reason;
"*" in any of the first four columns matches anything.  An excused
disagreement counts as agreement.  A flow only ndpiReader reports is a
disagreement with our side written "-"; a flow only we report is counted
but not held against us: flowsense ends idle flows after ttl_idle_flow
(30 s, netifyd's default), so a tuple that pauses longer becomes several
flows where ndpiReader keeps one.  Fails (exit 1) when an unexcused
disagreement exists, when overall agreement is below --min-agreement, or
when no flow could be matched at all.
"""

import argparse
import csv
import ipaddress
import json
import re
import sys

IP_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}
APP_ID_RE = re.compile(r"^[0-9]+\.")


def endpoint(ip, port):
    """(address text, port), the address in canonical form where it parses:
    ndpiReader 4.2 prints some IPv6 addresses that are not valid text."""
    try:
        ip = ipaddress.ip_address(ip).compressed
    except ValueError:
        ip = ip.strip().lower()
    return (ip, int(port))


def format_endpoint(ep):
    ip, port = ep
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)


def flow_key(proto, a, b):
    lo, hi = sorted((a, b))
    return "%s %s <-> %s" % (IP_PROTO_NAMES.get(proto, "proto-%d" % proto),
                             format_endpoint(lo), format_endpoint(hi))


def canonical_name(name):
    parts = name.strip().lower().split(".", 1)
    if len(parts) == 2 and parts[0] == parts[1]:
        return parts[0]
    return ".".join(parts)


def our_name(flow):
    name = flow.get("detected_protocol_name", "Unknown")
    if flow.get("detected_application", 0):
        tag = APP_ID_RE.sub("", flow.get("detected_application_name", ""), count=1)
        if tag:
            name += "." + tag
    return name


def flow_records(path, first=False):
    """Yields each flow's `flow` object from flowsense NDJSON, once per flow:
    its last record (an update marked detection_updated replaces the
    record it follows), or with first=True the record sent at detection."""
    flows, latest = [], {}
    with open(path, encoding="ascii") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") != "flow":
                continue
            fl = rec["flow"]
            if fl.get("detection_updated") and fl.get("digest") in latest:
                if not first:
                    flows[latest[fl["digest"]]] = fl
                continue
            latest[fl.get("digest")] = len(flows)
            flows.append(fl)
    return flows


def load_ours(path, first=False):
    """Returns {key: [(first_seen, name), ...]} from flowsense NDJSON."""
    flows = {}
    for fl in flow_records(path, first):
        key = flow_key(fl["ip_protocol"], endpoint(fl["local_ip"], fl["local_port"]),
                       endpoint(fl["other_ip"], fl["other_port"]))
        flows.setdefault(key, []).append((fl.get("first_seen_at", 0) / 1000.0,
                                          our_name(fl)))
    return flows


def load_ndpi(path):
    """Returns {key: [(first_seen, ndpi_proto), ...]} from ndpiReader's CSV."""
    flows = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if not header:
            return flows
        header[0] = header[0].lstrip("#")
        col = {name: i for i, name in enumerate(header)}
        need = ("protocol", "first_seen", "src_ip", "src_port", "dst_ip", "dst_port",
                "ndpi_proto")
        missing = [n for n in need if n not in col]
        if missing:
            raise ValueError("%s: CSV header lacks %s" % (path, missing))
        # Only columns before server_name_sni are read: later ones may hold commas.
        for row in rows:
            if not row or len(row) <= max(col[n] for n in need):
                continue
            key = flow_key(int(row[col["protocol"]]),
                           endpoint(row[col["src_ip"]], row[col["src_port"]]),
                           endpoint(row[col["dst_ip"]], row[col["dst_port"]]))
            flows.setdefault(key, []).append((float(row[col["first_seen"]]),
                                              row[col["ndpi_proto"]]))
    return flows


# How ndpiReader -v 2 names IP protocols (ipProto2Name); others are numbers.
NDPI_PROTO_NUMBERS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "EGP": 8,
                      "GRE": 47, "ESP": 50, "AH": 51, "OSPF": 89, "PIM": 103, "VRRP": 112,
                      "SCTP": 132}
FLOW_LINE_RE = re.compile(r"^\s+\d+\s+(\S+)\s+(\S+)\s+<?->\s+(\S+)\s")
PROTO_RE = re.compile(r"\[proto: [0-9.]+/([^\]]+)\]")


def split_endpoint(text):
    address, _, port = text.rpartition(":")
    return endpoint(address.strip("[]"), port)


def load_ndpi_text(path):
    """Returns {key: [(order, ndpi_proto), ...]} from `ndpiReader -v 2` output,
    which lists every flow, the undetected ones included (its CSV leaves
    those out)."""
    flows = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            m = FLOW_LINE_RE.match(line)
            p = PROTO_RE.search(line)
            if not m or not p:
                continue
            name = m.group(1)
            proto = NDPI_PROTO_NUMBERS.get(name.upper())
            if proto is None:
                if not name.isdigit():
                    continue
                proto = int(name)
            key = flow_key(proto, split_endpoint(m.group(2)), split_endpoint(m.group(3)))
            flows.setdefault(key, []).append((n, p.group(1)))
    return flows


def load_exceptions(path):
    rules = []
    if not path:
        return rules
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 5 or not cols[4].strip():
                raise ValueError("%s:%d: expected file<TAB>tuple<TAB>ours<TAB>theirs"
                                 "<TAB>reason, got %r" % (path, n, line))
            rules.append({"where": "%s:%d" % (path, n), "cols": cols[:4],
                          "reason": cols[4], "used": 0})
    return rules


def excused(rules, fields):
    for rule in rules:
        if all(pat == "*" or pat.strip().lower() == val.lower()
               for pat, val in zip(rule["cols"], fields)):
            rule["used"] += 1
            return rule
    return None


class Tally:
    def __init__(self):
        self.matched = self.agree = self.excused = 0
        self.ndpi_only = self.missing_excused = self.ours_only = 0

    def add(self, other):
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def agreement(self):
        """Share of ndpiReader's flows that we report with the same protocol
        (excused ones counted as agreeing)."""
        theirs = self.matched + self.ndpi_only
        good = self.agree + self.excused + self.missing_excused
        return 100.0 * good / theirs if theirs else 0.0

    def strict_agreement(self):
        """The same without any exception."""
        theirs = self.matched + self.ndpi_only
        return 100.0 * self.agree / theirs if theirs else 0.0

    def __str__(self):
        return ("matched %d, agree %d, excused %d, disagree %d; only ndpiReader %d "
                "(excused %d), only flowsense %d; agreement %.2f%% (%.2f%% before exceptions)"
                % (self.matched, self.agree, self.excused,
                   self.matched - self.agree - self.excused, self.ndpi_only,
                   self.missing_excused, self.ours_only, self.agreement(),
                   self.strict_agreement()))


def compare(name, ours, theirs, rules, disagreements, verbose_missing):
    tally = Tally()
    for key in sorted(set(ours) | set(theirs)):
        a = sorted(ours.get(key, []))
        b = sorted(theirs.get(key, []))
        for (_, our), (_, their) in zip(a, b):
            tally.matched += 1
            if canonical_name(our) == canonical_name(their):
                tally.agree += 1
                continue
            rule = excused(rules, (name, key, our, their))
            if rule:
                tally.excused += 1
            else:
                disagreements.append("\t".join((name, key, our, their)))
        # A flow ndpiReader reports and we do not is a disagreement too
        # (ours: "-"), unless a reviewed exception explains it.
        for _, their in b[len(a):]:
            tally.ndpi_only += 1
            if excused(rules, (name, key, "-", their)):
                tally.missing_excused += 1
            else:
                disagreements.append("\t".join((name, key, "-", their)))
        tally.ours_only += max(0, len(a) - len(b))
        if verbose_missing and len(a) != len(b):
            print("    %s %s: flowsense %d flow(s) %s, ndpiReader %d flow(s) %s"
                  % (name, key, len(a), [n for _, n in a], len(b), [n for _, n in b]))
    return tally


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", nargs=3, action="append", default=[],
                    metavar=("NAME", "OURS", "NDPI_CSV"))
    ap.add_argument("--exceptions")
    ap.add_argument("--min-agreement", type=float, default=99.0)
    ap.add_argument("--verbose-missing", action="store_true",
                    help="list flows one side has and the other lacks")
    ap.add_argument("--first-record", action="store_true",
                    help="compare each flow's first record (sent at detection) instead of"
                         " its last (after nDPI's further dissection, as ndpiReader reports)")
    args = ap.parse_args()

    rules = load_exceptions(args.exceptions)
    total = Tally()
    disagreements = []
    for name, ours_path, ndpi_path in args.case:
        theirs = load_ndpi(ndpi_path) if ndpi_path.endswith(".csv") else load_ndpi_text(ndpi_path)
        tally = compare(name, load_ours(ours_path, args.first_record), theirs, rules,
                        disagreements, args.verbose_missing)
        print("  %-44s %s" % (name, tally))
        total.add(tally)

    print("overall: %s" % total)
    for rule in rules:
        if rule["used"] == 0:
            print("note: exception %s matched no flow (stale?): %s"
                  % (rule["where"], "\t".join(rule["cols"])))
    failed = False
    if disagreements:
        print("%d unexcused disagreement(s); once reviewed, each line can go into the"
              " exceptions file with a reason as the fifth column:" % len(disagreements))
        print("# file\tflow\tflowsense\tndpiReader")
        for line in disagreements:
            print(line)
        failed = True
    if total.matched == 0:
        print("FAIL: no flow matched between flowsense and ndpiReader")
        failed = True
    elif total.agreement() < args.min_agreement:
        print("FAIL: agreement %.2f%% is below %.2f%%" % (total.agreement(), args.min_agreement))
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

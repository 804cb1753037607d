#!/usr/bin/env python3
"""Checks an NDJSON file of flowsense records against the stream contract.

  check_records.py FILE [--hello] [--min-flows N] [--interface NAME] [--internal]
                   [--allow-unpurged] [--allow-reopened] [--joined-late]

Checks (all errors are listed, then exit 1):
  - every line is ASCII and one JSON object with a string "type";
  - with --hello: record 1 is agent_hello with json_version 1.9, record 2
    is agent_status, and every agent_* record carries its documented fields;
  - every "flow" record carries the contract's fields with sane types, its
    digest is 40 lowercase hex, detected_application_name leads with the id;
  - per digest, records alternate flow, flow_purge, flow, flow_purge...:
    every flow is purged later, no purge comes without its flow; between a
    flow and its purge at most one flow record marked detection_updated;
    a worker that dies loses its flows: with --allow-unpurged a flow may
    lack its purge, with --allow-reopened a later flow record of the same
    digest (from the worker's successor) replaces an unpurged one; a client
    that connected mid-stream (--joined-late) may see purges of flows whose
    flow record it never got;
  - flow_purge reasons are closed, expired or terminated, and its counters
    add up (total = local + other);
  - at least --min-flows flow records.
Prints a one-line summary of record counts on success (with
--allow-unpurged, also how many flows lack their purge: "unpurged=N").
"""

import argparse
import json
import re
import sys

DIGEST_RE = re.compile(r"[0-9a-f]{40}\Z")
APP_NAME_RE = re.compile(r"([0-9]+)\.[^.].*\Z")
MAC_RE = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}\Z")
PURGE_REASONS = {"closed", "expired", "terminated"}

FLOW_FIELDS = {
    "digest": str, "ip_version": int, "ip_protocol": int, "vlan_id": int,
    "other_type": str, "local_origin": bool, "local_mac": str, "other_mac": str,
    "local_ip": str, "other_ip": str, "local_port": int, "other_port": int,
    "detected_protocol": int, "detected_protocol_name": str,
    "detected_application": int, "detected_application_name": str,
    "detection_guessed": bool, "detection_updated": bool, "dhc_hit": bool, "category": int,
    "category_name": str,
    "first_seen_at": int, "first_update_at": int, "last_seen_at": int,
    "local_bytes": int, "other_bytes": int, "local_packets": int,
    "other_packets": int, "total_bytes": int, "total_packets": int,
}
COUNTER_FIELDS = {
    "digest": str, "last_seen_at": int, "local_bytes": int, "other_bytes": int,
    "local_packets": int, "other_packets": int, "total_bytes": int,
    "total_packets": int, "detection_packets": int,
}
HELLO_FIELDS = {"build_version": str, "json_version": (int, float)}
STATUS_FIELDS = {
    "timestamp": int, "update_interval": int, "uptime": int, "cpu_cores": int,
    "cpu_user": (int, float), "cpu_system": (int, float), "maxrss_kb": int,
    "flow_count": int, "flow_count_prev": int, "flows": int, "flows_prev": int,
}


class Checker:
    def __init__(self, args):
        self.args = args
        self.errors = []
        self.counts = {}
        self.open_flows = {}   # digest -> line number of its unpurged flow record
        self.updated = {}      # digest -> its open flow had its detection_updated record

    def error(self, line_no, message):
        self.errors.append("line %d: %s" % (line_no, message))

    def check_fields(self, line_no, what, obj, fields):
        for name, kind in fields.items():
            if name not in obj:
                self.error(line_no, "%s lacks %r" % (what, name))
            elif isinstance(obj[name], bool) and kind is not bool:
                self.error(line_no, "%s.%s is a bool, expected %s" % (what, name, kind))
            elif not isinstance(obj[name], kind):
                self.error(line_no, "%s.%s = %r, expected %s"
                           % (what, name, obj[name], kind))

    def check_envelope(self, line_no, rec):
        if not isinstance(rec.get("flow"), dict):
            self.error(line_no, "%s has no \"flow\" object" % rec["type"])
            return None
        if self.args.interface is not None and rec.get("interface") != self.args.interface:
            self.error(line_no, "interface = %r, expected %r"
                       % (rec.get("interface"), self.args.interface))
        if self.args.internal and rec.get("internal") is not True:
            self.error(line_no, "internal = %r, expected true (-r)" % rec.get("internal"))
        flow = rec["flow"]
        digest = flow.get("digest")
        if not isinstance(digest, str) or not DIGEST_RE.match(digest):
            self.error(line_no, "digest %r is not 40 lowercase hex" % (digest,))
            return None
        return flow

    def check_flow(self, line_no, rec):
        flow = self.check_envelope(line_no, rec)
        if flow is None:
            return
        self.check_fields(line_no, "flow", flow, FLOW_FIELDS)
        if not isinstance(rec.get("established"), bool):
            self.error(line_no, "flow record lacks the bool \"established\"")
        app, app_name = flow.get("detected_application"), flow.get("detected_application_name")
        if isinstance(app, int) and isinstance(app_name, str):
            m = APP_NAME_RE.match(app_name)
            if app != 0 and (not m or int(m.group(1)) != app):
                self.error(line_no, "detected_application_name %r does not lead with id %d"
                           % (app_name, app))
        for side in ("local_mac", "other_mac"):
            if isinstance(flow.get(side), str) and not MAC_RE.match(flow[side]):
                self.error(line_no, "%s %r is not aa:bb:cc:dd:ee:ff" % (side, flow[side]))
        if flow.get("ip_version") not in (4, 6):
            self.error(line_no, "ip_version %r" % flow.get("ip_version"))
        if flow.get("other_type") not in ("local", "remote", "multicast", "broadcast"):
            self.error(line_no, "other_type %r" % flow.get("other_type"))
        if all(isinstance(flow.get(k), int) for k in ("first_seen_at", "last_seen_at")):
            if flow["first_seen_at"] > flow["last_seen_at"]:
                self.error(line_no, "first_seen_at > last_seen_at")
        for key, value in flow.items():
            # Sub-objects appear only when they have something to say.
            if isinstance(value, dict) and not value:
                self.error(line_no, "empty object %r" % key)
        self.check_sums(line_no, "flow", flow)
        digest = flow["digest"]
        if flow.get("detection_updated") is True:
            # An update of the flow record still open; a client that joined
            # late may get the update of a flow it never saw.
            if digest not in self.open_flows and not self.args.joined_late:
                self.error(line_no, "detection_updated record for digest %s without an"
                           " open flow record before it" % digest)
            elif digest in self.open_flows and self.updated.get(digest):
                self.error(line_no, "second detection_updated record for digest %s" % digest)
            self.updated[digest] = True
            return
        self.updated.pop(digest, None)
        if digest in self.open_flows and not self.args.allow_reopened:
            self.error(line_no, "second flow record for digest %s (first at line %d)"
                       " without a flow_purge between" % (digest, self.open_flows[digest]))
        self.open_flows[digest] = line_no

    def check_sums(self, line_no, what, flow):
        for total, parts in (("total_bytes", ("local_bytes", "other_bytes")),
                             ("total_packets", ("local_packets", "other_packets"))):
            values = [flow.get(k) for k in (total,) + parts]
            if all(isinstance(v, int) for v in values) and values[0] != values[1] + values[2]:
                self.error(line_no, "%s.%s %d != %s + %s (%d + %d)"
                           % (what, total, values[0], parts[0], parts[1], values[1], values[2]))

    def check_purge(self, line_no, rec):
        if rec.get("reason") not in PURGE_REASONS:
            self.error(line_no, "flow_purge reason %r not in %s"
                       % (rec.get("reason"), sorted(PURGE_REASONS)))
        flow = self.check_envelope(line_no, rec)
        if flow is None:
            return
        self.check_fields(line_no, "flow_purge.flow", flow, COUNTER_FIELDS)
        self.check_sums(line_no, "flow_purge.flow", flow)
        self.updated.pop(flow["digest"], None)
        if self.open_flows.pop(flow["digest"], None) is None and not self.args.joined_late:
            self.error(line_no, "flow_purge for digest %s without a flow record before it"
                       % flow["digest"])

    def check_status_update(self, line_no, rec):
        flow = self.check_envelope(line_no, rec)
        if flow is not None:
            self.check_fields(line_no, "flow_status.flow", flow, COUNTER_FIELDS)

    def check_record(self, line_no, rec):
        kind = rec["type"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.args.hello and line_no == 1 and kind != "agent_hello":
            self.error(line_no, "first record is %r, expected agent_hello" % kind)
        if self.args.hello and line_no == 2 and kind != "agent_status":
            self.error(line_no, "second record is %r, expected agent_status" % kind)
        if kind == "agent_hello":
            self.check_fields(line_no, "agent_hello", rec, HELLO_FIELDS)
            if rec.get("json_version") != 1.9:
                self.error(line_no, "json_version %r, expected 1.9" % rec.get("json_version"))
        elif kind == "agent_status":
            self.check_fields(line_no, "agent_status", rec, STATUS_FIELDS)
        elif kind == "flow":
            self.check_flow(line_no, rec)
        elif kind == "flow_purge":
            self.check_purge(line_no, rec)
        elif kind == "flow_status":
            self.check_status_update(line_no, rec)

    def run(self, path):
        with open(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                try:
                    text = raw.decode("ascii")
                except UnicodeDecodeError as e:
                    self.error(line_no, "non-ASCII byte: %s" % e)
                    continue
                try:
                    rec = json.loads(text)
                except ValueError as e:
                    self.error(line_no, "not JSON (%s): %r" % (e, text[:200]))
                    continue
                if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
                    self.error(line_no, "not an object with a string \"type\"")
                    continue
                self.check_record(line_no, rec)
        if not self.args.allow_unpurged:
            for digest, line_no in sorted(self.open_flows.items(), key=lambda kv: kv[1]):
                self.error(line_no, "flow %s is never purged" % digest)
        flows = self.counts.get("flow", 0)
        if flows < self.args.min_flows:
            self.errors.append("%d flow records, expected at least %d"
                               % (flows, self.args.min_flows))
        if self.args.hello and not self.counts:
            self.errors.append("no records at all")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--hello", action="store_true",
                    help="the stream starts with agent_hello, agent_status")
    ap.add_argument("--min-flows", type=int, default=1)
    ap.add_argument("--interface", help="every flow record's expected interface")
    ap.add_argument("--internal", action="store_true", help="expect internal: true")
    ap.add_argument("--allow-unpurged", action="store_true",
                    help="flows may lack a purge (their worker was killed)")
    ap.add_argument("--allow-reopened", action="store_true",
                    help="a flow record may come again without a purge between (the first"
                         " one's worker was killed, its successor met the flow again)")
    ap.add_argument("--joined-late", action="store_true",
                    help="purges may come without their flow record (the client connected"
                         " mid-stream, e.g. to a restarted broker)")
    ap.add_argument("--max-errors", type=int, default=30)
    args = ap.parse_args()
    checker = Checker(args)
    checker.run(args.file)
    summary = " ".join("%s=%d" % kv for kv in sorted(checker.counts.items()))
    if checker.errors:
        print("check_records: %s: %d problem(s) (records: %s)"
              % (args.file, len(checker.errors), summary or "none"))
        for e in checker.errors[:args.max_errors]:
            print("  " + e)
        if len(checker.errors) > args.max_errors:
            print("  ... and %d more" % (len(checker.errors) - args.max_errors))
        return 1
    if args.allow_unpurged:
        summary += "; unpurged=%d" % len(checker.open_flows)
    print("check_records: ok: %s" % summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

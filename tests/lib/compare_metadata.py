#!/usr/bin/env python3
"""Compares flowsense's per-flow metadata with an independent decoder's.

  compare_metadata.py KIND FLOWS TRUTH

KIND is ssh, dhcp, bt (TRUTH: tshark -T fields output, columns below) or
risks (TRUTH: `ndpiReader -v 2` output).  FLOWS is flowsensed's NDJSON.
Flows are matched by protocol and unordered address/port pair; when a
pair occurs more than once (port reuse) only its first flow is compared.
Prints "compared=N" and one line per mismatch; exit 1 on any mismatch.

tshark columns (tab-separated, one line per packet, frame order):
  ssh:  tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport
        tcp.flags.syn tcp.flags.ack tcp.payload
  dhcp: ip.src ipv6.src udp.srcport ip.dst ipv6.dst udp.dstport
        request_list_items(comma-joined) vendor_class_id
  bt:   tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport info_hash
"""

import json
import re
import sys

# One notion of a flow for every comparison: compare_ndpi.py's.
from compare_ndpi import FLOW_LINE_RE, NDPI_PROTO_NUMBERS, endpoint, flow_key, split_endpoint

# nDPI 4.2 keeps these in char[48]: at most 47 bytes survive.
NDPI_STRING_MAX = 47


def load_flows(path):
    flows = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") != "flow":
                continue
            fl = rec["flow"]
            key = flow_key(fl["ip_protocol"], endpoint(fl["local_ip"], fl["local_port"]),
                       endpoint(fl["other_ip"], fl["other_port"]))
            flows.setdefault(key, fl)
    return flows


def tshark_rows(path, columns):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            row = line.rstrip("\n").split("\t")
            yield row + [""] * (columns - len(row))


def ends(row, i):
    """Source and destination endpoints from columns i.. (v4, v6, port) x 2."""
    src = endpoint(row[i] or row[i + 1], row[i + 2])
    dst = endpoint(row[i + 3] or row[i + 4], row[i + 5])
    return src, dst


def banner(hex_payload):
    """The identification line: up to CR or LF, as nDPI keeps it."""
    text = bytes.fromhex(hex_payload.split(",")[0]).decode("latin-1")
    return re.split(r"[\r\n]", text, maxsplit=1)[0][:NDPI_STRING_MAX]


def truth_ssh(path):
    streams = {}
    for row in tshark_rows(path, 10):
        src, dst = ends(row, 1)
        s = streams.setdefault(row[0], {"key": flow_key(6, src, dst), "client": None, "banners": {}})
        if row[7] in ("1", "True") and row[8] in ("0", "False"):
            s["client"] = src
        if row[9].startswith("5353482d"):  # "SSH-"
            s["banners"].setdefault(src, banner(row[9]))
    truth = {}
    for s in streams.values():
        if s["client"] is None or not s["banners"]:
            continue  # no SYN seen: which side is the client is unknown
        server = [e for e in s["banners"] if e != s["client"]]
        truth.setdefault(s["key"], {
            "client": s["banners"].get(s["client"], ""),
            "server": s["banners"][server[0]] if server else ""})
    return truth


def truth_dhcp(path):
    truth = {}
    for row in tshark_rows(path, 8):
        src, dst = ends(row, 0)
        truth.setdefault(flow_key(17, src, dst), {"fingerprint": row[6][:NDPI_STRING_MAX],
                                              "class_ident": row[7][:NDPI_STRING_MAX]})
    return truth


def truth_bt(path):
    truth = {}
    for row in tshark_rows(path, 8):
        if row[7]:
            src, dst = ends(row, 1)
            truth.setdefault(flow_key(6, src, dst), {"info_hash": row[7].split(",")[0].lower()})
    return truth


RISK_RE = re.compile(r"\[Risk: ((?:\*\* .*? \*\*)+)\]")


def truth_risks(path):
    truth = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = FLOW_LINE_RE.match(line)
            if not m or m.group(1) not in ("TCP", "UDP"):
                continue
            proto = NDPI_PROTO_NUMBERS[m.group(1)]
            key = flow_key(proto, split_endpoint(m.group(2)), split_endpoint(m.group(3)))
            r = RISK_RE.search(line)
            names = re.findall(r"\*\* (.*?) \*\*", r.group(1)) if r else []
            truth.setdefault(key, {"risks": names})
    return truth


def ours(kind, flow):
    if kind == "risks":
        return {"risks": flow.get("risks", {}).get("names", [])}
    obj = flow.get(kind, {})
    fields = {"ssh": ("client", "server"), "dhcp": ("fingerprint", "class_ident"),
              "bt": ("info_hash",)}[kind]
    return {k: obj.get(k, "") for k in fields}


def main():
    kind, flows_path, truth_path = sys.argv[1:4]
    loaders = {"ssh": truth_ssh, "dhcp": truth_dhcp, "bt": truth_bt, "risks": truth_risks}
    truth = loaders[kind](truth_path)
    flows = load_flows(flows_path)
    compared = with_value = 0
    problems = []
    for key, expected in truth.items():
        flow = flows.get(key)
        if flow is None:
            if any(expected.values()):
                problems.append(f"no flow record for {key} (expected {expected})")
            continue
        got = ours(kind, flow)
        compared += 1
        with_value += any(expected.values())
        if got != expected:
            problems.append(f"{key}: flowsense {got} != expected {expected}")
    print(f"compared={compared} with_value={with_value}")
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compares flowsense's per-flow metadata with an independent decoder's.

  compare_metadata.py KIND FLOWS TRUTH

KIND is ssh, dhcp, bt, mdns, ssdp, gtp (TRUTH: tshark -T fields output,
columns below) or risks (TRUTH: `ndpiReader -v 2` output).  FLOWS is flowsensed's NDJSON.
Flows are matched by protocol and unordered address/port pair; when a
pair occurs more than once (port reuse) only its first flow is compared.
Prints "compared=N" and one line per mismatch; exit 1 on any mismatch.

tshark columns (tab-separated, one line per packet, frame order):
  ssh:  tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport
        tcp.flags.syn tcp.flags.ack tcp.payload
  dhcp: ip.src ipv6.src udp.srcport ip.dst ipv6.dst udp.dstport
        request_list_items(comma-joined) vendor_class_id
  bt:   tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport info_hash
  mdns: ip.src ipv6.src udp.srcport ip.dst ipv6.dst udp.dstport dns.count.queries
        dns.resp.name (responses only)
  ssdp: ip.src ipv6.src udp.srcport ip.dst ipv6.dst udp.dstport http.user_agent http.server
  gtp:  G-PDUs, every layer's value joined by "|" (-E occurrence=a -E aggregator="|"):
        ip.src ip.dst ipv6.src ipv6.dst udp.srcport udp.dstport tcp.srcport tcp.dstport
        ip.proto ipv6.nxt gtp.teid
"""

import re
import sys

# One notion of a flow for every comparison: compare_ndpi.py's.
from compare_ndpi import (FLOW_LINE_RE, NDPI_PROTO_NUMBERS, endpoint, flow_key, flow_records,
                          split_endpoint)

# nDPI 4.2 keeps these in char[48]: at most 47 bytes survive.
NDPI_STRING_MAX = 47


def load_flows(path):
    """Each flow's last record (after nDPI's dissection ended)."""
    flows = {}
    for fl in flow_records(path):
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


# nDPI 4.2 copies a DNS name byte by byte: A-Z a-z 0-9 - _ kept (lowercased),
# other printable ASCII as "_", anything else as "?"; at most 79 bytes.
DNS_VALID = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
NDPI_HOST_MAX = 79


def ndpi_dns_name(name):
    out = []
    for label in name.split("."):
        text = ""
        for c in label.encode("utf-8"):
            if c in DNS_VALID:
                text += chr(c).lower()
            elif 32 <= c < 127:
                text += "_"
            else:
                text += "?"
        out.append(text)
    return ".".join(out)[:NDPI_HOST_MAX]


def truth_mdns(path):
    """The first answer name of each flow's first mDNS response without questions."""
    truth = {}
    for row in tshark_rows(path, 8):
        src, dst = ends(row, 0)
        key = flow_key(17, src, dst)
        if row[6] == "0" and row[7]:
            truth.setdefault(key, {"answer": ndpi_dns_name(row[7].split(",")[0])})
    return truth


def truth_ssdp(path):
    """The USER-AGENT and SERVER of each flow's first SSDP message."""
    truth = {}
    for row in tshark_rows(path, 8):
        src, dst = ends(row, 0)
        truth.setdefault(flow_key(17, src, dst),
                         {"user_agent": row[6][:SSDP_VALUE_MAX], "server": row[7][:SSDP_VALUE_MAX]})
    return truth


def split_layers(text):
    return text.split("|") if text else []


def truth_gtp(path):
    """Per inner flow: each inner endpoint's tunnel endpoint (the outer source of
    its packets, or the outer destination of the other side's until it sends)
    and that tunnel endpoint's TEID (the one packets sent to it carry)."""
    flows = {}
    for row in tshark_rows(path, 11):
        v4s, v4d, v6s, v6d = (split_layers(row[i]) for i in range(4))
        udps, udpd = split_layers(row[4]), split_layers(row[5])
        if not v4s or not udps:
            continue  # the corpus tunnels GTP-U over IPv4
        outer_src, outer_dst = endpoint(v4s[0], udps[0]), endpoint(v4d[0], udpd[0])
        inner_v4 = len(v4s) > 1
        isrc, idst = (v4s[-1], v4d[-1]) if inner_v4 else (v6s[-1] if v6s else "", v6d[-1] if v6d else "")
        proto = int((row[8].split("|")[-1] if inner_v4 else row[9].split("|")[-1]) or 0)
        ports = {17: (udps[1:], udpd[1:]), 6: (split_layers(row[6]), split_layers(row[7]))}
        sp, dp = ports.get(proto, ([], []))
        a, b = endpoint(isrc, sp[-1] if sp else 0), endpoint(idst, dp[-1] if dp else 0)
        f = flows.setdefault(flow_key(proto, a, b), {"end": {}, "sent": set(), "teid": {}})
        f["end"][a] = outer_src
        f["sent"].add(a)
        if b not in f["sent"]:
            f["end"][b] = outer_dst
        f["teid"][b] = int(row[10].split("|")[-1], 16)
    return flows


SSDP_VALUE_MAX = 127
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


def gtp_expected(truth, flow):
    """The gtp object the truth predicts for our record's sides, the TEIDs
    limited to those we report (a reply may come after dissection ended)."""
    local = endpoint(flow["local_ip"], flow["local_port"])
    other = endpoint(flow["other_ip"], flow["other_port"])
    got = flow.get("gtp", {})
    unknown = (None, None)
    exp = {"local_ip": truth["end"].get(local, unknown)[0],
           "local_port": truth["end"].get(local, unknown)[1],
           "other_ip": truth["end"].get(other, unknown)[0],
           "other_port": truth["end"].get(other, unknown)[1]}
    for side, ep in (("local_teid", local), ("other_teid", other)):
        if side in got:
            exp[side] = truth["teid"].get(ep)
    return exp


def ours(kind, flow):
    if kind == "risks":
        return {"risks": flow.get("risks", {}).get("names", [])}
    if kind == "gtp":
        g = flow.get("gtp", {})
        return {k: (endpoint(g[k], 0)[0] if k.endswith("_ip") else g[k])
                for k in ("local_ip", "local_port", "other_ip", "other_port", "local_teid",
                          "other_teid") if k in g}
    obj = flow.get(kind, {})
    fields = {"ssh": ("client", "server"), "dhcp": ("fingerprint", "class_ident"),
              "bt": ("info_hash",), "mdns": ("answer",),
              "ssdp": ("user_agent", "server")}[kind]
    return {k: obj.get(k, "") for k in fields}


def main():
    kind, flows_path, truth_path = sys.argv[1:4]
    loaders = {"ssh": truth_ssh, "dhcp": truth_dhcp, "bt": truth_bt, "risks": truth_risks,
               "mdns": truth_mdns, "ssdp": truth_ssdp, "gtp": truth_gtp}
    truth = loaders[kind](truth_path)
    flows = load_flows(flows_path)
    compared = with_value = both_teids = 0
    problems = []
    for key, expected in truth.items():
        flow = flows.get(key)
        if flow is None:
            if any(expected.values()):
                problems.append(f"no flow record for {key} (expected {expected})")
            continue
        got = ours(kind, flow)
        if kind == "gtp":
            expected = gtp_expected(expected, flow)
            both_teids += "local_teid" in got and "other_teid" in got
        compared += 1
        with_value += any(v not in ("", None, []) for v in expected.values())
        if got != expected:
            problems.append(f"{key}: flowsense {got} != expected {expected}")
    print(f"compared={compared} with_value={with_value}"
          + (f" both_teids={both_teids}" if kind == "gtp" else ""))
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

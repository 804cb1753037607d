#!/usr/bin/env python3
"""Checks flowsense's detection_updated records of TLS flows against tshark.

  compare_tls_updates.py FLOWS.ndjson HELLOS.tsv CERTS.tsv

HELLOS.tsv (tshark -T fields, frame order): tcp.stream ip.src ipv6.src
tcp.srcport ip.dst ipv6.dst tcp.dstport server_name -- each connection's
ClientHellos.  CERTS.tsv: the same six endpoint columns after tcp.stream,
then tls.handshake.certificate (hex DER of the first certificate of the
server's Certificate message).  The certificate is decoded by openssl.

For every connection whose server certificate tshark sees (it comes after
the ClientHello, so after nDPI's first detection), the flow's first record
(detection_updated false) must carry the ClientHello's SNI, and a later
record marked detection_updated must carry the certificate's issuer_dn,
subject_dn and server_cn (the subject's CN) as openssl prints them.
Connections sharing an address/port pair are matched in time order.
Prints "compared=N" and one line per mismatch; exit 1 on any mismatch.
"""

import json
import subprocess
import sys

from compare_ndpi import endpoint, flow_key

# openssl's form of a name that nDPI 4.2's issuerDN/subjectDN also use.
NAMEOPT = "sep_comma_plus_space,sname"


def tsv(path, columns):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            row = line.rstrip("\n").split("\t")
            yield row + [""] * (columns - len(row))


def stream_key(row):
    src = endpoint(row[1] or row[2], row[3])
    dst = endpoint(row[4] or row[5], row[6])
    return flow_key(6, src, dst)


def x509_names(der_hex):
    der = bytes.fromhex(der_hex.split(",")[0].replace(":", ""))
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-issuer",
                          "-subject", "-nameopt", NAMEOPT],
                         input=der, capture_output=True, check=True).stdout.decode()
    names = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    subject = names.get("subject", "")
    cn = ""
    for part in subject.split(", "):
        if part.startswith("CN="):
            cn = part[3:]
    return {"issuer_dn": names.get("issuer", ""), "subject_dn": subject, "server_cn": cn}


def truth(hellos_path, certs_path):
    """{stream: {key, sni, cert}} for streams with a certificate, in stream order."""
    streams = {}
    for row in tsv(hellos_path, 8):
        streams.setdefault(row[0], {"key": stream_key(row), "sni": row[7], "cert": None})
    for row in tsv(certs_path, 8):
        s = streams.get(row[0])
        if s is not None and s["cert"] is None and row[7]:
            s["cert"] = x509_names(row[7])
    return [s for _, s in sorted(streams.items(), key=lambda kv: int(kv[0])) if s["cert"]]


def flows(path):
    """{key: [(first record, its update or None)] in time order}."""
    by_digest, order = {}, []
    with open(path, encoding="ascii") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") != "flow" or rec["flow"].get("ip_protocol") != 6:
                continue
            fl = rec["flow"]
            if fl.get("detection_updated"):
                if fl["digest"] in by_digest:
                    by_digest[fl["digest"]][1] = fl
                continue
            by_digest[fl["digest"]] = entry = [fl, None]
            order.append(entry)
    out = {}
    for first, update in order:
        key = flow_key(6, endpoint(first["local_ip"], first["local_port"]),
                       endpoint(first["other_ip"], first["other_port"]))
        out.setdefault(key, []).append((first, update))
    for v in out.values():
        v.sort(key=lambda p: p[0]["first_seen_at"])
    return out


def main():
    ours = flows(sys.argv[1])
    seen = {}
    compared, problems = 0, []
    for s in truth(sys.argv[2], sys.argv[3]):
        i = seen.get(s["key"], 0)
        seen[s["key"]] = i + 1
        candidates = ours.get(s["key"], [])
        if i >= len(candidates):
            problems.append("%s: no flow record (tshark SNI %r)" % (s["key"], s["sni"]))
            continue
        first, update = candidates[i]
        compared += 1
        sni = first.get("ssl", {}).get("client_sni", "")
        if sni.lower() != s["sni"].lower():
            problems.append("%s: first record client_sni %r != tshark %r"
                            % (s["key"], sni, s["sni"]))
        if update is None:
            problems.append("%s (%s): no detection_updated record after the certificate"
                            % (s["key"], s["sni"]))
            continue
        got = {k: update.get("ssl", {}).get(k, "") for k in s["cert"]}
        if got != s["cert"]:
            problems.append("%s (%s): updated %r != certificate %r"
                            % (s["key"], s["sni"], got, s["cert"]))
    print("compared=%d" % compared)
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

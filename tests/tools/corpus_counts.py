#!/usr/bin/env python3
"""Decoded and malformed packets over a corpus, by reason (not a test).

  tests/tools/corpus_counts.py [--build DIR] [--per-file] [CAPTURE_OR_DIR...]

Replays every capture (default: ../shared/pcap beside the repository, all
*.pcap and *.pcapng) with `flowsensed -r FILE --stdout -w 1` (as root, with
-u nobody), takes the final agent_status of each replay, sums its counters
over the corpus and prints them:

  packets read           capture.packets: packets put on a ring
  decoded                workers[].packets minus every decode_errors reason:
                         packets that reached the flow table or the fragment
                         store (a reassembled datagram that does not decode
                         counts once more, as an error, after its fragments)
  decode_errors.REASON   workers[].decode_errors, each reason (not_ip and
                         unsupported_link are not IP at all: ARP, STP, LLC...;
                         the others are malformed or truncated IP)
  fragments.REASON       workers[].fragments: taken in, made whole, and every
                         drop by reason
  tunnels.KIND           packets decapsulated
  capture.*              read_errors (file cut short), oversized_drops

Every counter present in the records is summed, so reasons added later show
up without a change here.  --per-file also prints, per capture, its packets
and its non-zero error counters.  Exit status 1 if a replay failed.
"""

import argparse
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOT_IP = ("not_ip", "unsupported_link")


def captures(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(glob.glob(os.path.join(p, "*.pcap")) +
                          glob.glob(os.path.join(p, "*.pcapng")))
        else:
            out.append(p)
    return out


def add(total, part, prefix=""):
    for k, v in part.items():
        if isinstance(v, bool):
            continue
        key = prefix + k
        if isinstance(v, (int, float)):
            total[key] = total.get(key, 0) + v
        elif isinstance(v, dict):
            add(total, v, key + ".")
        elif isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
            total[key] = total.get(key, 0) + sum(v)


def replay(binary, path):
    cmd = [binary, "-r", path, "--stdout", "-w", "1"]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                         check=False)
    last = None
    for line in res.stdout.decode("ascii", "replace").splitlines():
        r = json.loads(line)
        if r.get("type") == "agent_status":
            last = r
    if res.returncode != 0 or last is None:
        raise RuntimeError("exit %d: %s" % (res.returncode,
                                            res.stderr.decode(errors="replace")[-200:]))
    counters = {}
    add(counters, {k: v for k, v in (last.get("capture") or {}).items()
                   if k not in ("cpu_user", "cpu_system", "maxrss_kb")}, "capture.")
    for w in last.get("workers") or []:
        add(counters, {k: v for k, v in w.items()
                       if k not in ("worker", "pid", "cpu_user", "cpu_system", "maxrss_kb")})
    return counters


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--per-file", action="store_true")
    ap.add_argument("paths", nargs="*",
                    default=[os.path.join(ROOT, "..", "shared", "pcap")])
    args = ap.parse_args()
    binary = os.path.join(args.build, "bin", "flowsensed")
    files = captures(args.paths)
    if not files:
        print("no capture found in %s" % " ".join(args.paths))
        return 1
    total, failed = {}, []
    for f in files:
        try:
            c = replay(binary, f)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            failed.append("%s: %s" % (os.path.basename(f), e))
            continue
        add(total, c)
        if args.per_file:
            errs = {k: v for k, v in c.items() if v and (k.startswith("decode_errors.") or
                    k in ("capture.read_errors", "capture.oversized_drops") or
                    (k.startswith("fragments.") and k not in ("fragments.received",
                                                             "fragments.reassembled")))}
            print("%-44s %6d packets  %s" % (os.path.basename(f), c.get("packets", 0),
                                             " ".join("%s=%d" % kv for kv in sorted(errs.items()))))
    errors = {k: v for k, v in total.items() if k.startswith("decode_errors.")}
    not_ip = sum(errors.get("decode_errors." + r, 0) for r in NOT_IP)
    malformed = sum(errors.values()) - not_ip
    print("captures replayed       %d%s" % (len(files) - len(failed),
                                            " (%d failed)" % len(failed) if failed else ""))
    print("packets read            %d" % total.get("capture.packets", 0))
    print("packets to workers      %d" % total.get("packets", 0))
    print("decoded                 %d" % (total.get("packets", 0) - sum(errors.values())))
    print("not IP                  %d  (%s)" % (not_ip, ", ".join(
        "%s %d" % (r, errors.get("decode_errors." + r, 0)) for r in NOT_IP)))
    print("malformed / truncated   %d" % malformed)
    for k in sorted(errors):
        if k.split(".", 1)[1] not in NOT_IP:
            print("  %-22s %d" % (k.split(".", 1)[1], errors[k]))
    print("fragments")
    for k in sorted(x for x in total if x.startswith("fragments.")):
        print("  %-22s %d" % (k.split(".", 1)[1], total[k]))
    print("tunnels (packets decapsulated)")
    for k in sorted(x for x in total if x.startswith("tunnels.")):
        print("  %-22s %d" % (k.split(".", 1)[1], total[k]))
    print("capture")
    for k in ("capture.read_errors", "capture.oversized_drops"):
        print("  %-22s %d" % (k.split(".", 1)[1], total.get(k, 0)))
    print("flows                   %d" % total.get("flows_total", 0))
    for line in failed:
        print("failed: " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks a late client's connect-time replay against an early client.

  check_established.py EARLY LATE [--unknown] [--protocol NAME] [--no-flows]
                       [--off] [--limit N] [--lost] [--paced EARLY_FULL]

EARLY is the NDJSON stream of a client connected from the start, cut at
the moment LATE's client connected (the replay was paused then); the
flows active at that moment are those with a `flow` record and no
`flow_purge` in EARLY.  LATE is the late client's whole stream.

Checked: LATE starts with agent_hello, agent_status, whose
established_flows figures match (stored = active flows, limit = --limit);
then comes one `flow` record with "established": true per active flow
(--unknown: Unknown ones too, i.e. detected_protocol 0; --protocol: only
those whose detected_protocol_name has NAME as a dot-separated part),
each equal to the flow's record in EARLY with the counters of its latest
flow_status, before any live record; every later `flow` record has
"established": false, and every flow_purge follows a `flow` record of its
flow unless the flow was left out of the replay.  --no-flows: LATE holds
no flow record at all.  --off: no established record, store limit 0.
--lost: a worker died before LATE connected; its flows left the store
(agent_status established_flows.lost of them) and are not replayed: the
replay is the rest of the active flows.
--paced EARLY_FULL: the replay went on while flows were purged (the late
client read slowly and the capture resumed as it connected), so live
records may come between replayed ones.  Then each active flow is either
replayed (before any record of it, with counters at least the early
ones) or, purged meanwhile (EARLY_FULL, the early client's whole stream,
shows its purge), absent from LATE altogether: its flow_status and
flow_purge were withheld.  Both kinds must occur.
Prints one summary line; exit status 1 with the reason on failure.
"""

import argparse
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fail(msg):
    print("check_established: FAIL: " + msg)
    sys.exit(1)


def active_flows(early):
    """digest -> the record to expect when replayed, for flows not purged."""
    flows = {}
    for r in early:
        t, digest = r.get("type"), r.get("flow", {}).get("digest")
        if t == "flow":
            flows[digest] = json.loads(json.dumps(r))
        elif t == "flow_status" and digest in flows:
            for k, v in r["flow"].items():
                if k != "digest" and k in flows[digest]["flow"]:
                    flows[digest]["flow"][k] = v
        elif t == "flow_purge":
            flows.pop(digest, None)
    for r in flows.values():
        r["established"] = True
    return flows


def has_part(name, part):
    return part.lower() in name.lower().split(".")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("early")
    ap.add_argument("late")
    ap.add_argument("--unknown", action="store_true")
    ap.add_argument("--protocol")
    ap.add_argument("--no-flows", action="store_true")
    ap.add_argument("--off", action="store_true")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--lost", action="store_true")
    ap.add_argument("--paced", metavar="EARLY_FULL")
    a = ap.parse_args()

    active = active_flows(load(a.early))
    late = load(a.late)
    if [r.get("type") for r in late[:2]] != ["agent_hello", "agent_status"]:
        fail("the late stream does not start with agent_hello, agent_status")
    store = late[1].get("established_flows", {})
    if a.off:
        if store.get("limit") != 0 or store.get("stored") != 0:
            fail("replay off, yet the store reports %s" % store)
    elif a.lost:
        if not store.get("lost") or store.get("stored") != len(active) - store["lost"]:
            fail("a worker died: want lost > 0 and stored = %d - lost, got %s" % (len(active), store))
    else:
        if store.get("stored") != len(active):
            fail("agent_status says %s flows stored, %d were active" % (store.get("stored"), len(active)))
        if a.limit is not None and store.get("limit") != a.limit:
            fail("store limit %s, expected %d" % (store.get("limit"), a.limit))

    unknown = {d for d, r in active.items() if r["flow"].get("detected_protocol") == 0}
    want = {d: r for d, r in active.items()
            if (a.unknown or d not in unknown)
            and (a.protocol is None or has_part(r["flow"]["detected_protocol_name"], a.protocol))}
    if a.off or a.no_flows:
        want = {}

    replayed, live_seen, flows_seen = {}, False, set()
    for i, r in enumerate(late[2:], 3):
        t = r.get("type")
        if t.startswith("agent_"):
            continue
        digest = r.get("flow", {}).get("digest")
        if a.no_flows and t == "flow":
            fail("record %d: a flow record reached a client that did not subscribe to flows" % i)
        if digest in want and digest not in flows_seen and t != "flow":
            fail("record %d: %s of flow %s before its replayed record" % (i, t, digest))
        if t == "flow" and r.get("established") is True:
            if live_seen and not a.paced:
                fail("record %d: established record after a live one" % i)
            if digest in replayed:
                fail("record %d: flow %s replayed twice" % (i, digest))
            replayed[digest] = r
        else:
            live_seen = True
            if t == "flow" and r.get("established") is not False:
                fail("record %d: live flow record without \"established\": false" % i)
            if t == "flow_purge" and digest not in flows_seen and digest in want:
                fail("record %d: purge of replayed flow %s before its record" % (i, digest))
        if t == "flow":
            flows_seen.add(digest)

    if a.paced:
        purged = {r["flow"]["digest"] for r in load(a.paced) if r.get("type") == "flow_purge"}
        absent = set(want) - set(replayed)
        if not set(replayed) <= set(want):
            fail("%d replayed flows were not active" % len(set(replayed) - set(want)))
        if not absent or not replayed:
            fail("replayed %d of %d active flows: the replay did not overlap the purges"
                 % (len(replayed), len(want)))
        if not absent <= purged:
            fail("%d active flows neither replayed nor purged" % len(absent - purged))
        if absent & flows_seen:
            fail("a flow missing from the replay still reached the client")
        counters = ("local_bytes", "other_bytes", "local_packets", "other_packets", "total_bytes",
                    "total_packets", "detection_packets", "last_seen_at")
        for d in replayed:
            for k in counters:
                if replayed[d]["flow"].get(k, 0) < want[d]["flow"].get(k, 0):
                    fail("flow %s replayed with %s below the early stream's" % (d, k))
                replayed[d]["flow"][k] = want[d]["flow"].get(k)
        print("paced: %d replayed, %d purged during the replay (withheld)" % (len(replayed), len(absent)))
        want = {d: want[d] for d in replayed}
    if a.lost:
        if not set(replayed) <= set(want) or len(replayed) != store["stored"]:
            fail("replayed %d flows, %d of them not active; want the %d still stored" % (
                len(replayed), len(set(replayed) - set(want)), store["stored"]))
        want = {d: want[d] for d in replayed}
    if set(replayed) != set(want):
        fail("replayed %d flows, expected %d: %d missing (e.g. %s), %d extra (e.g. %s)" % (
            len(replayed), len(want), len(set(want) - set(replayed)),
            sorted(set(want) - set(replayed))[:2], len(set(replayed) - set(want)),
            sorted(set(replayed) - set(want))[:2]))
    for d, r in replayed.items():
        if r != want[d]:
            diff = {k: (want[d]["flow"].get(k), r["flow"].get(k))
                    for k in set(r["flow"]) | set(want[d]["flow"])
                    if r["flow"].get(k) != want[d]["flow"].get(k)}
            fail("flow %s replayed as %s; differs from the early stream in %s" % (
                d, json.dumps(r)[:300], diff or "the envelope"))
    print("active %d (unknown %d), replayed %d, later records %d" % (
        len(active), len(unknown), len(replayed), len(late) - 2 - len(replayed)))


if __name__ == "__main__":
    main()

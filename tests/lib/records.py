#!/usr/bin/env python3
"""The parts of a flowsense stream that depend on when and where it ran, and
two normal forms of a stream built without them.  Used by test_golden_json
and test_determinism.

  records.py normalize FILE          the stream with run-dependent values
                                     replaced (golden form), one record a line
  records.py canonical FILE          normalize, then every record that does not
                                     depend on the worker count, in a stable
                                     order (determinism form; see below)
  records.py diff GOLDEN FILE        field-level differences between a golden
                                     file and a stream (exit 1 if any)

Run-dependent values (replaced by a placeholder that matches any number):

  agent_status  timestamp                 wall clock (epoch seconds)
                uptime                    seconds since the broker started
                cpu_user, cpu_system,     CPU seconds used so far, and at the
                cpu_user_prev,            previous periodic status
                cpu_system_prev
                maxrss_kb, maxrss_kb_prev peak resident memory, measured
                cpu_cores                 the host's CPU count
    .capture    cpu_user, cpu_system, maxrss_kb      flowsensed's own, measured
    .workers[]  cpu_user, cpu_system, maxrss_kb      each worker's, measured
                pid                       a process id
  agent_hello, flow, flow_status, flow_purge: nothing (packet time only).

agent_status records other than the first (the greeting) and the last (the
final totals of a replay) are written on the wall clock, every update
interval of real time, so how many there are depends on the replay's speed:
both forms leave them out.

Canonical form (for comparing runs with different worker counts): flow,
flow_status and flow_purge records ordered by digest; the records of one
digest keep their order in the stream (one worker writes them all, in
order).  agent_hello as is.  The first and last agent_status with the
per-worker objects summed into one ("workers": [{sum}], without "worker" and
the placeholders), capture.ring_drops summed into one number, and
events.received left out: it counts the internal channel's events, which
include one worker_stats per worker per interval.
"""

import json
import sys

PLACEHOLDER = "<run-dependent>"
STATUS_VOLATILE = ("timestamp", "uptime", "cpu_user", "cpu_system", "cpu_user_prev",
                   "cpu_system_prev", "maxrss_kb", "maxrss_kb_prev", "cpu_cores")
PROCESS_VOLATILE = ("cpu_user", "cpu_system", "maxrss_kb")
WORKER_VOLATILE = PROCESS_VOLATILE + ("pid",)
FLOW_TYPES = ("flow", "flow_status", "flow_purge")


def read(path):
    records = []
    with open(path, encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            try:
                records.append(json.loads(line))
            except ValueError as e:
                raise SystemExit("%s:%d: not JSON: %s" % (path, n, e))
    return records


def dumps(record):
    return json.dumps(record, separators=(",", ":"))


def blank(obj, names):
    for name in names:
        if name in obj:
            obj[name] = PLACEHOLDER


def drop_periodic_status(records):
    """Without the agent_status records between the first and the last."""
    status_at = [i for i, r in enumerate(records) if r.get("type") == "agent_status"]
    drop = set(status_at[1:-1])
    return [r for i, r in enumerate(records) if i not in drop]


def normalize(records):
    out = []
    for r in drop_periodic_status(records):
        if r.get("type") == "agent_status":
            blank(r, STATUS_VOLATILE)
            if isinstance(r.get("capture"), dict):
                blank(r["capture"], PROCESS_VOLATILE)
            for w in r.get("workers") or []:
                blank(w, WORKER_VOLATILE)
        out.append(r)
    return out


def add_into(total, part):
    """Sums part's numbers into total, recursively (lists of numbers too)."""
    for k, v in part.items():
        if isinstance(v, bool) or v == PLACEHOLDER:
            continue
        if isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v
        elif isinstance(v, dict):
            add_into(total.setdefault(k, {}), v)
        elif isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
            total[k] = total.get(k, 0) + sum(v)


def merge_workers(status):
    total = {}
    for w in status.get("workers") or []:
        add_into(total, {k: v for k, v in w.items() if k != "worker"})
    status["workers"] = [total]
    cap = status.get("capture")
    if isinstance(cap, dict) and isinstance(cap.get("ring_drops"), list):
        cap["ring_drops"] = sum(cap["ring_drops"])
    if isinstance(status.get("events"), dict):
        status["events"].pop("received", None)
    return status


def canonical(records):
    agent, flows = [], {}
    for r in normalize(records):
        t = r.get("type")
        if t in FLOW_TYPES:
            flows.setdefault(r["flow"]["digest"], []).append(r)
        elif t == "agent_status":
            agent.append(merge_workers(r))
        else:
            agent.append(r)
    return agent + [r for d in sorted(flows) for r in flows[d]]


# ---- field-level diff ----

def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, "%s.%s" % (prefix, k) if prefix else k))
        return out or {prefix: {}}
    if isinstance(obj, list) and any(isinstance(x, (dict, list)) for x in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(flatten(v, "%s[%d]" % (prefix, i)))
        return out or {prefix: []}
    return {prefix: obj}


def record_key(r, seen):
    t = r.get("type", "?")
    d = (r.get("flow") or {}).get("digest", "") if t in FLOW_TYPES else ""
    base = (t, d)
    seen[base] = seen.get(base, 0) + 1
    return base + (seen[base],)


def label(key, r):
    t, d, n = key
    if not d:
        return "%s #%d" % (t, n)
    f = r.get("flow", {})
    where = ""
    if "local_ip" in f:
        where = " (%s:%s <-> %s:%s)" % (f["local_ip"], f["local_port"], f["other_ip"],
                                        f["other_port"])
    return "%s %s%s%s" % (t, d[:12], where, " #%d" % n if n > 1 else "")


def same(want, got):
    if want == PLACEHOLDER:
        return isinstance(got, (int, float)) and not isinstance(got, bool)
    return type(want) is type(got) and want == got


def diff(golden, actual):
    """Lines describing every difference; empty when they agree."""
    lines = []
    gk, ak, seen_g, seen_a = [], [], {}, {}
    for r in golden:
        gk.append(record_key(r, seen_g))
    for r in actual:
        ak.append(record_key(r, seen_a))
    a_by = dict(zip(ak, actual))
    g_by = dict(zip(gk, golden))
    for k, g in zip(gk, golden):
        if k not in a_by:
            lines.append("- missing record: %s: %s" % (label(k, g), dumps(g)[:300]))
            continue
        fg, fa = flatten(g), flatten(a_by[k])
        changes = []
        for path in fg:
            if path not in fa:
                changes.append("    - %s: %s (absent now)" % (path, json.dumps(fg[path])))
            elif not same(fg[path], fa[path]):
                changes.append("    ~ %s: %s -> %s" % (path, json.dumps(fg[path]),
                                                        json.dumps(fa[path])))
        for path in fa:
            if path not in fg:
                changes.append("    + %s: %s (new)" % (path, json.dumps(fa[path])))
        if changes:
            lines.append("  %s:" % label(k, g))
            lines.extend(changes)
    for k, a in zip(ak, actual):
        if k not in g_by:
            lines.append("+ extra record: %s: %s" % (label(k, a), dumps(a)[:300]))
    if not lines and gk != ak:
        first = next(i for i, (x, y) in enumerate(zip(gk, ak)) if x != y)
        lines.append("  same records, different order from record %d: golden %s, now %s"
                     % (first + 1, label(gk[first], golden[first]), label(ak[first], actual[first])))
    return lines


def main(argv):
    if len(argv) == 3 and argv[1] in ("normalize", "canonical"):
        form = normalize if argv[1] == "normalize" else canonical
        for r in form(read(argv[2])):
            print(dumps(r))
        return 0
    if len(argv) == 4 and argv[1] == "diff":
        lines = diff(read(argv[2]), drop_periodic_status(read(argv[3])))
        for line in lines:
            print(line)
        return 1 if lines else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

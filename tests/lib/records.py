#!/usr/bin/env python3
"""The parts of a flowsense stream that depend on when and where it ran, and
two normal forms of a stream built without them.  Used by test_golden_json
and test_determinism.

  records.py normalize FILE          the stream with run-dependent values
                                     replaced (golden form), one record a line
  records.py sorted FILE             normalize, then the flow records in a
                                     stable order (same worker count; below)
  records.py canonical FILE          sorted, and agent_status without what
                                     depends on the worker count (below)
  records.py diff GOLDEN FILE        field-level differences between a golden
                                     file and a stream (exit 1 if any)
  records.py determinism W1A W1B W2 W4A W4B [DIGEST...]
                                     test_determinism's comparisons of five
                                     replays (-w 1, 1, 2, 4, 4) of one capture;
                                     the DIGESTs' records are left out of the
                                     comparisons across worker counts

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

Sorted form (for comparing runs with the same worker count, whose workers
interleave their records in any order): agent_hello and the first and last
agent_status first, as they came, then the flow, flow_status and flow_purge
records ordered by digest; the records of one digest keep their order in the
stream (one worker writes them all, in order).

Canonical form (for comparing runs with different worker counts): the sorted
form, with each agent_status's per-worker objects summed into one ("workers": [{sum}], without "worker" and
the placeholders), capture.ring_drops summed into one number, and
events.received left out: it counts the internal channel's events, which
include one worker_stats per worker per interval.  The DNS hint cache is
replicated: every worker learns every answer, so its "dhc_size" and
"dns_hints" counters are taken once (they must be equal in every worker,
else the value becomes "<differs between workers>"), except the lookups
"hits" and "misses", which only a flow's owner makes and which are summed;
capture.dns_hint_copies and dns_hints.hint_records (the copies of
answers other workers own, so they grow with the worker count) are left out.
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


REPLICATED_IN_WORKERS = ("dhc_size", "dns_hints")
OWNER_LOOKUPS = ("hits", "misses")


def replicated(workers, key):
    """The value every worker holds for key (lookup counters summed)."""
    values = [w[key] for w in workers if key in w]
    if not values:
        return None
    if isinstance(values[0], dict):
        values = [dict(v) for v in values]
        lookups = {k: sum(v.pop(k, 0) for v in values) for k in OWNER_LOOKUPS}
        for v in values:
            v.pop("hint_records", None)  # copies taken: the answers other workers own
    if any(v != values[0] for v in values):
        return "<differs between workers>"
    if isinstance(values[0], dict):
        return dict(values[0], **lookups)
    return values[0]


def merge_workers(status):
    total = {}
    workers = status.get("workers") or []
    for w in workers:
        add_into(total, {k: v for k, v in w.items()
                         if k != "worker" and k not in REPLICATED_IN_WORKERS})
    for key in REPLICATED_IN_WORKERS:
        value = replicated(workers, key)
        if value is not None:
            total[key] = value
    status["workers"] = [total]
    cap = status.get("capture")
    if isinstance(cap, dict):
        cap.pop("dns_hint_copies", None)
    if isinstance(cap, dict) and isinstance(cap.get("ring_drops"), list):
        cap["ring_drops"] = sum(cap["ring_drops"])
    if isinstance(status.get("events"), dict):
        status["events"].pop("received", None)
    return status


def in_order(records, merge):
    agent, flows = [], {}
    for r in normalize(records):
        t = r.get("type")
        if t in FLOW_TYPES:
            flows.setdefault(r["flow"]["digest"], []).append(r)
        elif t == "agent_status" and merge:
            agent.append(merge_workers(r))
        else:
            agent.append(r)
    return agent + [r for d in sorted(flows) for r in flows[d]]


def sorted_form(records):
    return in_order(records, False)


def canonical(records):
    return in_order(records, True)


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


def first_difference(a, b):
    """Where two lists of lines part, for a message."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            fx, fy = flatten(json.loads(x)), flatten(json.loads(y))
            fields = ["%s: %s / %s" % (k, json.dumps(fx.get(k)), json.dumps(fy.get(k)))
                      for k in sorted(set(fx) | set(fy)) if fx.get(k) != fy.get(k)]
            what = "%s %s" % (fx.get("type", "?"), fx.get("flow.digest", ""))
            return "line %d (%s): %s" % (i + 1, what.strip(), "; ".join(fields))
    return "one has %d lines, the other %d" % (len(a), len(b))


def determinism(paths, exempt):
    """Problems found among five replays of one capture; and whether the
    exempted digests made a difference."""
    w1a, w1b, w2, w4a, w4b = [read(p) for p in paths]
    problems = []
    lines = lambda form, recs: [dumps(r) for r in form(recs)]
    a, b = lines(normalize, w1a), lines(normalize, w1b)
    if a != b:
        problems.append("two runs with -w 1 differ at " + first_difference(a, b))
    a, b = lines(sorted_form, w4a), lines(sorted_form, w4b)
    if a != b:
        problems.append("two runs with -w 4 differ at " + first_difference(a, b))
    full = {n: lines(canonical, recs) for n, recs in (("1", w1a), ("2", w2), ("4", w4a))}
    keep = lambda ls: [x for x in ls if not any('"digest":"%s"' % d in x for d in exempt)]
    for n in ("2", "4"):
        x, y = keep(full["1"]), keep(full[n])
        if x != y:
            problems.append("-w 1 and -w %s differ at %s" % (n, first_difference(x, y)))
    excused = bool(exempt) and (full["1"] != full["2"] or full["1"] != full["4"])
    return problems, excused, len(w1a)


def main(argv):
    if len(argv) >= 7 and argv[1] == "determinism":
        problems, excused, n = determinism(argv[2:7], argv[7:])
        for p in problems:
            print("  " + p)
        print("records=%d excused=%d" % (n, excused))
        return 1 if problems else 0
    forms = {"normalize": normalize, "sorted": sorted_form, "canonical": canonical}
    if len(argv) == 3 and argv[1] in forms:
        form = forms[argv[1]]
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

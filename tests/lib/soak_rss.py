#!/usr/bin/env python3
"""RSS verdict of a soak run (tests/integration/test_soak.sh).

  soak_rss.py SAMPLES WARMUP_S SLOPE_KIB_S GROWTH_KIB

SAMPLES: lines "SECONDS ROLE PID RssAnon_kB VmRSS_kB" (one per process per
second); the bounds apply to RssAnon, VmRSS is reported.
For each role (capture, supervisor, broker, worker0, ...): the warm-up is
the first WARMUP_S seconds; after it, the least-squares slope of VmRSS over
the second half of the run must be below SLOPE_KIB_S, and the peak no more
than the warm-up's peak + GROWTH_KIB.  Prints one line per role and a JSON
summary on the last line; exit 1 if a bound is broken.
"""

import json
import sys


def slope(points):
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (v - my) for t, v in points) / den if den else 0.0


def main():
    path, warmup, max_slope, max_growth = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    series = {}
    vm = {}
    for line in open(path):
        parts = line.split()
        if len(parts) != 5:
            continue
        t, role, pid, rss = float(parts[0]), parts[1], parts[2], int(parts[3])
        series.setdefault(role, []).append((t, rss, pid))
        vm.setdefault(role, []).append(int(parts[4]))
    end = max(p[0] for s in series.values() for p in s)
    ok = True
    summary = {}
    for role in sorted(series):
        pts = series[role]
        warm = [v for t, v, _ in pts if t < warmup]
        after = [v for t, v, _ in pts if t >= warmup]
        half = [(t, v) for t, v, _ in pts if t >= end / 2]
        if not warm or not after or len(half) < 5:
            print(f"{role}: too few samples")
            ok = False
            continue
        s = slope(half)
        growth = max(after) - max(warm)
        pids = sorted({p for _, _, p in pts})
        bad = []
        if s >= max_slope:
            bad.append(f"slope {s:.2f} KiB/s >= {max_slope}")
        if growth > max_growth:
            bad.append(f"peak after warm-up {max(after)} kB > warm-up peak {max(warm)} + {max_growth:.0f}")
        if len(pids) != 1:
            bad.append(f"pids changed: {pids}")
        summary[role] = {"slope_kib_s": round(s, 3), "warmup_max_kb": max(warm),
                         "max_kb": max(after), "first_kb": pts[0][1], "last_kb": pts[-1][1],
                         "samples": len(pts), "vmrss_first_kb": vm[role][0],
                         "vmrss_last_kb": vm[role][-1]}
        print(f"{role}: RssAnon {pts[0][1]} -> {pts[-1][1]} kB, warm-up peak {max(warm)} kB, "
              f"peak after {max(after)} kB, slope over the second half {s:+.3f} KiB/s "
              f"(VmRSS {vm[role][0]} -> {vm[role][-1]} kB)"
              + ("" if not bad else "  FAIL: " + "; ".join(bad)))
        ok = ok and not bad
    print(json.dumps(summary, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

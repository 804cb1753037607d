#!/usr/bin/env python3
"""Runs a command and measures its wall time and the peak memory of its
whole process tree, for `make bench`.

    tree_memory.py --out OUT.json [--stdout FILE] [--stderr FILE] [--interval S]
                   [--timeout S] [--pss] -- COMMAND [ARG]...

The command's stdout goes to FILE (default: /dev/null; a FIFO works), its
stderr to FILE (default: ours).
Every INTERVAL seconds (default 0.05; the first sample is taken as soon as
the command has started) a thread finds the command and all its
descendants (through /proc/PID/task/*/children) and sums their resident set
sizes, and with --pss their proportional set sizes (a page shared by n
processes - a ring, a library - counts 1/n in each).  After TIMEOUT
seconds the command gets SIGTERM, and 10 s later every process of the tree
still seen gets SIGKILL.  OUT.json holds: seconds (wall, start to exit),
exit_status (shell style: 128+N for signal N), timed_out, peak_rss_kb,
peak_pss_kb, max_processes, samples, peak_rss_kb_by_name,
max_count_by_name (names: base name of argv[0]).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    except OSError:
        pass  # exited meanwhile
    return kids


def tree(root):
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children(pid))
    return pids


def rss_kb(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KB


def pss_kb(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def name(pid):
    """Base name of argv[0]: unlike comm, not cut to 15 characters."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
    if not argv0:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    return os.path.basename(argv0)


class Sampler(threading.Thread):
    def __init__(self, root, interval, pss):
        super().__init__(daemon=True)
        self.root, self.interval, self.pss = root, interval, pss
        self.stop = threading.Event()
        self.pids = [root]
        self.peak = {"peak_rss_kb": 0, "peak_pss_kb": 0 if pss else None, "max_processes": 0,
                     "samples": 0, "peak_rss_kb_by_name": {}, "max_count_by_name": {}}

    def sample(self):
        rss = pss = 0
        counts, by_name = {}, {}
        self.pids = tree(self.root)
        for pid in self.pids:
            try:
                r = rss_kb(pid)
                p = pss_kb(pid) if self.pss else 0
                n = name(pid)
            except OSError:
                continue  # exited between listing and reading
            rss, pss = rss + r, pss + p
            counts[n] = counts.get(n, 0) + 1
            by_name[n] = by_name.get(n, 0) + r
        if not counts:
            return
        pk = self.peak
        pk["samples"] += 1
        pk["peak_rss_kb"] = max(pk["peak_rss_kb"], rss)
        if self.pss:
            pk["peak_pss_kb"] = max(pk["peak_pss_kb"], pss)
        pk["max_processes"] = max(pk["max_processes"], sum(counts.values()))
        for n, c in counts.items():
            pk["max_count_by_name"][n] = max(pk["max_count_by_name"].get(n, 0), c)
        for n, r in by_name.items():
            pk["peak_rss_kb_by_name"][n] = max(pk["peak_rss_kb_by_name"].get(n, 0), r)

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def kill_tree(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_command(proc, sampler, why):
    print(f"tree_memory: {why}: SIGTERM to {proc.pid}", file=sys.stderr)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"tree_memory: {proc.pid} ignored SIGTERM: SIGKILL to its tree", file=sys.stderr)
        sampler.kill_tree()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stdout")
    ap.add_argument("--stderr")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--pss", action="store_true")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    # SIGTERM to us (the bench script ending) stops the command too.
    signal.signal(signal.SIGTERM, interrupt)
    err = open(args.stderr, "wb") if args.stderr else None
    out = open(args.stdout, "wb") if args.stdout else subprocess.DEVNULL
    timed_out = interrupted = False
    start = time.monotonic()
    try:
        proc = subprocess.Popen(args.command, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err)
    except OSError as e:
        print(f"tree_memory: cannot run {args.command[0]}: {e}", file=sys.stderr)
        return 127
    sampler = Sampler(proc.pid, args.interval, args.pss)
    sampler.sample()
    sampler.start()
    try:
        proc.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop_command(proc, sampler, f"still running after {args.timeout:.0f} s")
    except KeyboardInterrupt:
        interrupted = True
        stop_command(proc, sampler, "interrupted")
    seconds = time.monotonic() - start
    if args.stdout:
        out.close()  # a FIFO's reader sees the end
    sampler.stop.set()
    sampler.join()

    rc = proc.returncode
    result = {"seconds": round(seconds, 6), "exit_status": rc if rc >= 0 else 128 - rc,
              "timed_out": timed_out}
    result.update(sampler.peak)
    try:
        with open(args.out, "w") as f:
            json.dump(result, f)
            f.write("\n")
    except OSError as e:
        print(f"tree_memory: cannot write {args.out}: {e}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())

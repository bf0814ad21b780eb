#!/usr/bin/env python3
"""threadcpu.py: where a server's CPU time goes, per thread, from /proc.

    threadcpu.py snap OUT.json PID [PID...]
        writes {pid: {tid: [thread name, cpu seconds]}} (utime+stime of every thread)
    threadcpu.py diff BEFORE.json AFTER.json [LABEL=PID...] [--top N]
        prints, per process, its CPU seconds between the two snapshots and the N
        (default 5) threads that used most, grouped by thread name (tokio's workers
        share one name): "leader 3.1 s: tokio-runtime-w 2.0, keel-zk-sync 0.8, ..."

The ensemble bench takes a snapshot before and after a workload, for the notes of
the results page: which server (leader, followers) and which of its threads carried
the load. A thread that ended between the snapshots is not counted.
"""
import json
import os
import sys
from collections import defaultdict

CLK_TCK = os.sysconf("SC_CLK_TCK")


def threads(pid):
    out = {}
    base = "/proc/%s/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        out[tid] = [name, (int(fields[11]) + int(fields[12])) / CLK_TCK]
    return out


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "snap":
        with open(sys.argv[2], "w") as f:
            json.dump({pid: threads(pid) for pid in sys.argv[3:]}, f)
        return
    if len(sys.argv) >= 4 and sys.argv[1] == "diff":
        top = 5
        args = sys.argv[4:]
        if "--top" in args:
            i = args.index("--top")
            top = int(args[i + 1])
            args = args[:i] + args[i + 2:]
        before = json.load(open(sys.argv[2]))
        after = json.load(open(sys.argv[3]))
        parts = []
        for item in args:
            label, pid = item.split("=", 1)
            old, new = before.get(pid, {}), after.get(pid, {})
            by_name = defaultdict(float)
            for tid, (name, cpu) in new.items():
                by_name[name] += cpu - (old.get(tid, [name, 0.0])[1])
            total = sum(by_name.values())
            ranked = sorted(by_name.items(), key=lambda kv: -kv[1])[:top]
            parts.append("%s %.2f s (%s)" % (label, total, ", ".join(
                "%s %.2f" % (name, cpu) for name, cpu in ranked if cpu >= 0.005)))
        print("; ".join(parts))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()

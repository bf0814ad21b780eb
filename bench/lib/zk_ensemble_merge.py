#!/usr/bin/env python3
"""zk_ensemble_merge.py: one set of result lines from several keel-zk-bench processes.

    zk_ensemble_merge.py --sessions 32 --where "-> leader" [--phases create,setData]
                         [--targets] OUT.jsonl IN.jsonl [IN.jsonl...]

The ensemble bench drives an ensemble with several `keel-zk-bench run` processes at
once (one per server, or several on the leader, so the client side is the same in
every test), each with its share of the sessions. Each prints the usual result lines
("create 100B 11 sessions", ops/s, p50/p99/p99.9 latency; bench/lib/common.sh
contract). This merges them into the lines of one test, appended to OUT.jsonl:

  test     "<phase> <size> <sessions> sessions <where>", e.g. "create 100B 32 sessions
           -> leader", area zookeeper-ensemble
  ops/s    the sum over the processes (their timed windows run together: the
           processes start at once and every phase is time-boxed)
  latency  the largest percentile among the processes: an upper bound of the pooled
           percentile (if each part has at most 1% of its samples above its own p99,
           the union has at most 1% above the largest)

--phases keeps only those phases (a read test needs a create phase first, which is
not reported). --targets attaches the issue's targets to the merged write lines:
ops/s >= 2.0x Apache's, p99 <= 0.5x. Exits 1 if a phase is missing from a process.
"""
import argparse
import json
import re
import sys
from collections import OrderedDict

TEST_NAME = re.compile(r"^(?P<phase>.+) (?P<size>\d+K?B) (?P<sessions>\d+) sessions?$")
PHASE_NAMES = {"create": "create", "getData": "getData", "setData": "setData",
               "multi-check-set": "multi(check+setData)", "multi-create3": "multi(3 creates)",
               "delete": "delete"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, required=True)
    parser.add_argument("--where", required=True)
    parser.add_argument("--phases", default="")
    parser.add_argument("--targets", action="store_true")
    parser.add_argument("out")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    keep = {PHASE_NAMES.get(p, p) for p in args.phases.split(",") if p}

    # (phase, size, metric) -> list of (value, row), one per input that has it
    merged = OrderedDict()
    for path in args.inputs:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                row = json.loads(line)
                m = TEST_NAME.match(row.get("test", ""))
                if not m or (keep and m.group("phase") not in keep):
                    continue
                key = (m.group("phase"), m.group("size"), row["metric"])
                merged.setdefault(key, []).append(row)

    missing = 0
    with open(args.out, "a") as out:
        for (phase, size, metric), rows in merged.items():
            if len(rows) != len(args.inputs):
                print("zk_ensemble_merge: %s %s %s: %d of %d processes reported" % (
                    phase, size, metric, len(rows), len(args.inputs)), file=sys.stderr)
                missing += 1
                continue
            values = [r["value"] for r in rows]
            value = sum(values) if metric == "ops/s" else max(values)
            first = rows[0]
            result = OrderedDict([
                ("area", "zookeeper-ensemble"),
                ("test", "%s %s %d sessions %s" % (phase, size, args.sessions, args.where)),
                ("metric", metric), ("unit", first["unit"]), ("server", first["server"]),
                ("rep", first["rep"]), ("value", round(value, 3)), ("better", first["better"]),
            ])
            if args.targets and metric == "ops/s":
                result["target"] = ">= 2.0x"
            elif args.targets and metric == "p99 latency":
                result["target"] = "<= 0.5x"
            out.write(json.dumps(result) + "\n")
    sys.exit(1 if missing or not merged else 0)


if __name__ == "__main__":
    main()

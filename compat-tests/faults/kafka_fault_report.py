"""kafka_fault_report: the checks and the results file of scripts/kafka-fault-suite.

    python kafka_fault_report.py <run-dir> <bootstrap> --out <file.md>

Reads what the run left in <run-dir> (meta.env, faults.tsv, writer.log from
kafka_fault_writer.py, group.log from kafka_fault_group.py, zkstate.tsv from
kafka_fault_zk.py, replicas.tsv and describe-*.txt from the suite), reads the whole
topic with a fresh consumer, and checks:

  recovered                every fault was injected and the cluster recovered after
                           each (every partition led, full ISR, acks on every partition,
                           the group consuming)
  acked-present            every acknowledged record is at the partition and offset it
                           was acknowledged with
  no-duplicates            no record value is in the topic twice (idempotence across
                           leader changes and retries)
  replicas-identical       each partition's segment data is byte-identical on the three
                           brokers once quiet
  failover-time            after every fault of a broker that led partitions, each of them
                           had a new leader (and after kill-controller, a new controller)
                           within zookeeper.session.timeout.ms + FAILOVER_MARGIN_MS
  stop-follower-isr        the SIGSTOPped follower left every ISR while stopped (ZooKeeper
                           and kafka-topics --describe agree), acks=all continued on every
                           partition it did not lead with two in-sync replicas (one it led,
                           when every broker leads one, waits for the client's request
                           timeout: failover-time covers it), and it was back in every
                           ISR after SIGCONT
  disk-full-isr            the same for the follower whose log dir was filled, back after
                           the space was freed and it was restarted
  cut-leader-fenced        the leader cut off from ZooKeeper and the other brokers
                           acknowledged nothing on its partitions from CUT_GRACE_MS after
                           the cut until their new leaders were elected (acked-present
                           then proves that nothing it acknowledged was lost)
  group-offsets-monotonic  the group's committed offsets, as the coordinator reported
                           them to the observer and as the member's commits were
                           acknowledged, never went backwards on any partition (a
                           partition reported before and then left out counts as
                           backwards), and no reading was behind a commit acknowledged
                           before the observer asked (except while a broker is cut off:
                           a cut-off coordinator answers from its stale cache, Apache
                           included)
  group-consumes           the member consumed after every fault, and at the end its
                           committed offsets are the topic's end offsets

Prints `PASS|FAIL <check> <detail>` and `INFO` lines and `N passed, N failed`; writes
the figures and the verdicts to --out (markdown). Exit 0 iff every check passed.
"""

import argparse
import glob
import logging
import os
import re
import sys
import time

logging.basicConfig(level=logging.ERROR)

FAILOVER_MARGIN_MS = 10000
CUT_GRACE_MS = 2000
CATCH_UP_S = 120
EXAMPLES_SHOWN = 5


def read_meta(run):
    meta = {}
    with open(os.path.join(run, "meta.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def read_faults(run):
    faults = []
    with open(os.path.join(run, "faults.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in ("inject_ms", "heal_ms", "shrunk_ms", "healthy_ms", "progress_ms"):
                row[k] = int(row[k]) if row.get(k) else None
            row["broker"] = int(row["broker"])
            row["led"] = [int(p) for p in row.get("led", "-").split(",") if p.isdigit()]
            faults.append(row)
    return faults


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def read_zkstate(run):
    """[(ms, controller, live set, {p: (leader, isr tuple, epoch)})] in time order."""
    out = []
    for cols in read_lines(os.path.join(run, "zkstate.tsv")):
        parts = {}
        for c in cols[3:]:
            m = re.match(r"p(\d+)=(-?\d+)/([\d,-]*)/(-?\d+)", c)
            if m:
                isr = tuple(int(x) for x in m.group(3).split(",") if x not in ("", "-"))
                parts[int(m.group(1))] = (int(m.group(2)), isr, int(m.group(4)))
        live = set(int(x) for x in cols[2].split(",") if x not in ("", "-"))
        out.append((int(cols[0]), int(cols[1]), live, parts))
    return out


def parse_offsets(text):
    out = {}
    for item in text.split(","):
        if "=" in item:
            p, o = item.split("=", 1)
            out[int(p)] = o
    return out


def fmt_s(ms):
    return "-" if ms is None else "%.1f" % (ms / 1000.0)


def max_gap(times, start, end):
    """Longest stretch in [start, end] without an ack (start to the first counts)."""
    inside = sorted(t for t in times if start <= t <= end)
    points = [start] + inside + ([end] if not inside or inside[-1] < end else [])
    return max((b - a for a, b in zip(points, points[1:])), default=end - start)


def read_topic(bootstrap, topic):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    partitions = sorted(consumer.partitions_for_topic(topic) or [])
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    at = {}  # (partition, offset) -> value
    deadline = time.time() + CATCH_UP_S
    while time.time() < deadline:
        for message in consumer:
            at[(message.partition, message.offset)] = message.value.decode("utf-8", "replace")
        if all(consumer.position(tp) >= ends[tp] for tp in tps):
            break
    complete = all(consumer.position(tp) >= ends[tp] for tp in tps)
    consumer.close()
    return at, {tp.partition: ends[tp] for tp in tps}, complete


class Checks:
    def __init__(self):
        self.rows = []

    def add(self, name, ok, detail):
        self.rows.append((name, bool(ok), detail))
        print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)

    def info(self, name, detail):
        self.rows.append((name, None, detail))
        print("INFO %s %s" % (name, detail), flush=True)

    @property
    def failed(self):
        return sum(1 for _, ok, _ in self.rows if ok is False)

    @property
    def passed(self):
        return sum(1 for _, ok, _ in self.rows if ok is True)


def first_state_after(zk, since_ms, predicate):
    for ms, ctl, live, parts in zk:
        if ms >= since_ms and predicate(ctl, live, parts):
            return ms
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("bootstrap")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    run = args.run
    meta = read_meta(run)
    faults = read_faults(run)
    zk = read_zkstate(run)
    topic = meta["topic"]
    session_ms = int(meta["session_timeout_ms"])
    checks = Checks()

    writer = read_lines(os.path.join(run, "writer.log"))
    acks = [(int(r[0]), int(r[2]), int(r[3]), int(r[4]), r[5]) for r in writer if r[1] == "ok"]  # ms, n, p, offset, leader
    fails = [(int(r[0]), int(r[2]), int(r[3]), r[4]) for r in writer if r[1] == "fail"]
    summary = next((" ".join(r[2:]) for r in writer if r[1] == "summary"), "no summary (the producer did not finish)")
    group = read_lines(os.path.join(run, "group.log"))

    # --- recovery ------------------------------------------------------------------------
    all_recovered = meta.get("unrecovered") == "0" and faults and all(f["recovered"] == "yes" for f in faults)
    checks.add("recovered", all_recovered,
               "%d faults injected; after each: every partition led with a full ISR, acks on every partition, the group consuming"
               % len(faults) if all_recovered else "not recovered after: " + ", ".join(
                   f["fault"] for f in faults if f["recovered"] != "yes") + (" (run stopped early)" if meta.get("unrecovered") == "1" else ""))

    # --- the topic, read by a fresh consumer ------------------------------------------------
    try:
        at, ends, complete = read_topic(args.bootstrap, topic)
    except Exception as e:  # noqa: BLE001
        print("could not read %s: %r" % (topic, e), flush=True)
        at, ends, complete = {}, {}, False
    missing = [(n, p, o, at.get((p, o))) for _, n, p, o, _ in acks if at.get((p, o)) != "r-%d" % n]
    checks.add("acked-present", acks and not missing and complete,
               "all %d acknowledged records at their acknowledged partition and offset (%d records in the topic)" % (len(acks), len(at))
               if acks and not missing and complete else
               "%d of %d acknowledged records not at their partition/offset%s, e.g. %s" % (
                   len(missing), len(acks), "" if complete else " (topic not read to its end)",
                   ["r-%d at p%d/%d holds %s" % m for m in missing[:EXAMPLES_SHOWN]]))
    where = {}
    for (p, o), v in at.items():
        where.setdefault(v, []).append((p, o))
    twice = {v: w for v, w in where.items() if len(w) > 1}
    checks.add("no-duplicates", at and not twice,
               "%d records, each value once" % len(at) if at and not twice else
               "%d values more than once, e.g. %s" % (len(twice), ["%s at %s" % (v, sorted(w)) for v, w in list(twice.items())[:EXAMPLES_SHOWN]]))
    unacked_present = sum(1 for _, n, p, _ in fails if "r-%d" % n in where)

    # --- replicas ------------------------------------------------------------------------------
    rep = read_lines(os.path.join(run, "replicas.tsv"))[1:]
    bad = [r for r in rep if not (r[1] == r[2] == r[3]) or r[1].endswith(":0")]
    checks.add("replicas-identical", rep and not bad,
               "segment data identical on the 3 brokers: %s" % "; ".join("p%s %s bytes" % (r[0], r[1].split(":")[1]) for r in rep)
               if rep and not bad else "differ: %s" % "; ".join("p%s b1=%s b2=%s b3=%s" % tuple(r[:4]) for r in bad or rep))

    # --- failover --------------------------------------------------------------------------------
    limit_ms = session_ms + FAILOVER_MARGIN_MS
    failover = {}
    problems = []
    for f in faults:
        v, t0 = f["broker"], f["inject_ms"]
        led = f["led"]
        if led:
            t = first_state_after(zk, t0, lambda c, live, parts: all(p in parts and parts[p][0] not in (v, -1) for p in led))
            failover[f["fault"]] = (t - t0) if t else None
            if t is None or t - t0 > limit_ms:
                problems.append("%s: partitions %s of broker %d %s" % (
                    f["fault"], led, v, "never got a new leader" if t is None else "got new leaders after %s s" % fmt_s(t - t0)))
        if f["fault"] == "kill-controller":
            t = first_state_after(zk, t0, lambda c, live, parts: c not in (v, -1))
            failover["new-controller"] = (t - t0) if t else None
            if t is None or t - t0 > limit_ms:
                problems.append("no new controller within %s s" % fmt_s(limit_ms))
    checks.add("failover-time", not problems,
               "new leaders within %s s (session timeout + %s s): %s" % (
                   fmt_s(limit_ms), fmt_s(FAILOVER_MARGIN_MS), ", ".join("%s %s s" % (k, fmt_s(t)) for k, t in failover.items()))
               if not problems else " | ".join(problems))

    # --- SIGSTOP of a follower -------------------------------------------------------------------
    for f in faults:
        if f["fault"] not in ("stop-follower", "disk-full"):
            continue
        v = f["broker"]
        fault = f["fault"]
        problems = []
        if f["shrunk_ms"] is None:
            problems.append("broker %d stayed in an ISR for the whole %s" % (v, fault))
        else:
            described = os.path.join(run, "describe-%s.txt" % fault)
            text = open(described).read() if os.path.exists(described) else ""
            isrs = re.findall(r"Partition:\s*(\d+).*?Isr:\s*([\d,]+)", text)
            if len(isrs) != int(meta["partitions"]) or any(str(v) in i.split(",") for _, i in isrs):
                problems.append("kafka-topics --describe during the fault: %s" % (isrs or text.strip()[-200:]))
            # A partition the stopped broker led is left out: the producer's request to
            # the frozen leader hangs until the client's own request timeout (30 s),
            # longer than the fault, whichever broker it is; its new leader is what
            # failover-time checks.
            for p in range(int(meta["partitions"])):
                if p in f["led"]:
                    continue
                if not any(f["shrunk_ms"] <= ms <= f["heal_ms"] and q == p for ms, _, q, _, _ in acks):
                    problems.append("no ack on partition %d between the ISR shrink and the heal" % p)
        expanded = first_state_after(zk, f["heal_ms"], lambda c, live, parts: parts and all(v in isr for _, isr, _ in parts.values()))
        if expanded is None:
            problems.append("broker %d not back in every ISR after the heal" % v)
        expired = first_state_after(zk, f["inject_ms"], lambda c, live, parts: v not in live)
        expired = expired if expired is not None and expired <= f["heal_ms"] else None
        fate = ""
        if fault == "disk-full" and os.path.exists(os.path.join(run, "disk-full-fate")):
            fate = "; with the full disk it %s" % open(os.path.join(run, "disk-full-fate")).read().strip()
        checks.add(fault + "-isr", not problems,
                   "broker %d out of every ISR %s s after the %s (its ZooKeeper session %s%s), acks=all went on with 2 in-sync "
                   "replicas on every partition, back in every ISR %s s after the heal" % (
                       v, fmt_s(f["shrunk_ms"] - f["inject_ms"]), "SIGSTOP" if fault == "stop-follower" else "disk filled",
                       "expired after %s s" % fmt_s(expired - f["inject_ms"]) if expired else "did not expire", fate,
                       fmt_s(expanded - f["heal_ms"]) if expanded else "-") if not problems else " | ".join(problems))

    # --- a leader cut off ----------------------------------------------------------------------------
    for f in faults:
        if f["fault"] != "cut-leader":
            continue
        v, t0 = f["broker"], f["inject_ms"]
        problems = []
        for p in f["led"]:
            t_new = first_state_after(zk, t0, lambda c, live, parts: p in parts and parts[p][0] not in (v, -1))
            end = t_new if t_new is not None else f["heal_ms"]
            during = [(ms, n, o) for ms, n, q, o, _ in acks if q == p and t0 + CUT_GRACE_MS <= ms < end]
            if during:
                problems.append("partition %d: %d acks between the cut + %s s and its new leader, e.g. %s" % (
                    p, len(during), fmt_s(CUT_GRACE_MS), ["r-%d at %d" % (n, o) for _, n, o in during[:EXAMPLES_SHOWN]]))
        rejoined = first_state_after(zk, f["heal_ms"], lambda c, live, parts: parts and all(v in isr for _, isr, _ in parts.values()))
        if rejoined is None:
            problems.append("broker %d never back in every ISR after the heal" % v)
        checks.add("cut-leader-fenced", f["led"] and not problems,
                   "broker %d (leading %s) acknowledged nothing once cut off; new leaders after %s s; back in every ISR %s s after the heal"
                   % (v, f["led"], fmt_s(failover.get("cut-leader")), fmt_s(rejoined - f["heal_ms"]) if rejoined else "-")
                   if f["led"] and not problems else " | ".join(problems) or "broker %d led nothing" % v)

    # --- the consumer group ----------------------------------------------------------------------------
    def backwards(kind):
        last = {}
        back = []
        for r in group:
            if r[1] != kind or len(r) < 3:
                continue
            now = {p: int(o) for p, o in parse_offsets(r[2]).items()}
            if kind == "committed":
                # a partition the coordinator reported before and now leaves out went back
                now.update({p: -1 for p in last if p not in now})
            for p, o in now.items():
                if p in last and o < last[p][1]:
                    back.append("p%d %d at %s then %d at %s" % (p, last[p][1], last[p][0], o, r[0]))
                last[p] = (r[0], o)
        return back, sum(1 for r in group if r[1] == kind)
    b_obs, n_obs = backwards("committed")
    b_com, n_com = backwards("commit")
    # What the coordinator reports may never be behind a commit it acknowledged before the
    # observer asked: a missing partition counts as offset -1.
    behind = []
    acked_commit = {}  # partition -> (ms, offset) of the highest commit acknowledged so far
    commits = [(int(r[0]), parse_offsets(r[2])) for r in group if r[1] == "commit" and len(r) > 2]
    readings = [(int(r[3]), int(r[0]), parse_offsets(r[2])) for r in group
                if r[1] in ("committed", "final-committed") and len(r) > 3]
    # While a broker is cut off it may still be, in its own eyes, the coordinator the
    # observer reaches, and answer from its stale cache: Kafka (ZooKeeper mode) serves
    # OffsetFetch without a round trip to the quorum, and Apache does exactly this here.
    # Readings from a cut until the cluster was whole again are counted, not checked.
    cut_windows = [(f["inject_ms"], f["healthy_ms"] or f["heal_ms"]) for f in faults if f["fault"] == "cut-leader"]
    stale_in_cut = 0
    ci = 0
    for asked, answered, seen in sorted(readings):
        while ci < len(commits) and commits[ci][0] < asked:
            for p, o in commits[ci][1].items():
                if int(o) > acked_commit.get(p, (0, -1))[1]:
                    acked_commit[p] = (commits[ci][0], int(o))
            ci += 1
        in_cut = any(a <= asked <= b for a, b in cut_windows)
        for p, (ms, o) in acked_commit.items():
            got = int(seen.get(p, -1))
            if got < o and in_cut:
                stale_in_cut += 1
            elif got < o:
                behind.append("asked at %d: p%d %s, but %d was acknowledged at %d" % (
                    asked, p, got if p in seen else "absent", o, ms))
    n_behind_readings = len(set(b.split(":")[0] for b in behind))
    ok = not b_obs and not b_com and not behind and n_obs and n_com
    checks.add("group-offsets-monotonic", ok,
               "%d observed committed-offset readings and %d acknowledged commits, none backwards, no reading behind an "
               "acknowledged commit (outside cuts; %d stale partition readings while a broker was cut off)"
               % (n_obs, n_com, stale_in_cut) if ok else
               "readings going backwards: %s; commits going backwards: %s; %d of %d readings behind an acknowledged commit, "
               "e.g. %s" % (b_obs[:EXAMPLES_SHOWN], b_com[:EXAMPLES_SHOWN], n_behind_readings, len(readings),
                            behind[:EXAMPLES_SHOWN]))
    consumed_t = [int(r[0]) for r in group if r[1] == "consumed"]
    problems = []
    for f in faults:
        if not any(t >= f["heal_ms"] for t in consumed_t):
            problems.append("nothing consumed after %s healed" % f["fault"])
    final_committed = next((parse_offsets(r[2]) for r in reversed(group) if r[1] == "final-committed"), None)
    if final_committed is None:
        problems.append("no final committed offsets (observer: %s)" % next(
            (r[2] for r in reversed(group) if r[1] == "observe-fail"), "?"))
    elif {p: int(o) for p, o in final_committed.items()} != ends:
        problems.append("final committed offsets %s, end offsets %s" % (final_committed, ends))
    commit_fails = sum(1 for r in group if r[1] == "commit-fail")
    checks.add("group-consumes", not problems,
               "%d records consumed in %d polls, consuming after every fault; final committed offsets = end offsets %s"
               % (sum(int(r[5]) for r in group if r[1] == "consumed"), len(consumed_t), ends) if not problems else " | ".join(problems))

    # --- figures per fault ---------------------------------------------------------------------------
    start_ms, end_ms = int(meta["start_ms"]), int(meta["end_ms"])
    ack_t_by_p = {}
    for ms, _, p, _, _ in acks:
        ack_t_by_p.setdefault(p, []).append(ms)
    rows = []
    for i, f in enumerate(faults):
        t0 = f["inject_ms"]
        t_next = faults[i + 1]["inject_ms"] if i + 1 < len(faults) else end_ms
        until = f["progress_ms"] or t_next
        led = f["led"]
        others = [p for p in ack_t_by_p if p not in led]
        rows.append({
            "fault": f["fault"], "broker": f["broker"], "role": f["role"], "led": ",".join(map(str, led)) or "-",
            "held": f["heal_ms"] - t0,
            "failover": failover.get(f["fault"]) if led else None,
            "controller": failover.get("new-controller") if f["fault"] == "kill-controller" else None,
            "shrunk": (f["shrunk_ms"] - t0) if f["shrunk_ms"] else None,
            "healthy": (f["healthy_ms"] - f["heal_ms"]) if f["healthy_ms"] else None,
            "gap_led": max((max_gap(ack_t_by_p.get(p, []), t0, until) for p in led), default=None),
            "gap_other": max((max_gap(ack_t_by_p.get(p, []), t0, until) for p in others), default=None),
            "fails": sum(1 for ms, _, _, _ in fails if t0 <= ms < t_next),
            "recovered": f["recovered"],
        })
    first_fault = faults[0]["inject_ms"] if faults else end_ms
    baseline = max((max_gap(ts, start_ms + 5000, first_fault) for ts in ack_t_by_p.values()), default=None)

    # --- the results file -------------------------------------------------------------------------------
    verdict = "PASS" if checks.failed == 0 else "FAIL"
    L = []
    L.append("# Kafka cluster under faults: %s, %s" % (meta["target"], time.strftime("%Y-%m-%d", time.gmtime(start_ms / 1000))))
    L.append("")
    L.append("Produced by `scripts/kafka-fault-suite --target %s` (compat-tests/faults/README.md says what each part does)." % meta["target"])
    L.append("")
    L.append("**Verdict: %s** (%d checks passed, %d failed)." % (verdict, checks.passed, checks.failed))
    L.append("")
    if meta.get("planted") == "1":
        L.append("**Planted bugs (--plant)**: the producer logs one acknowledgement it never got, and a second producer "
                 "(a fresh producer id) appends the first acknowledged record again; acked-present and no-duplicates must FAIL.")
        L.append("")
    L.append("- brokers: %s; broker.id 1-3, each in a network namespace of its own (%s.1-3), ZooKeeper in another (%s.50)"
             % (meta["target_version"], meta["prefix"], meta["prefix"]))
    L.append("- settings: zookeeper.session.timeout.ms %s, replica.lag.time.max.ms %s, unclean.leader.election.enable false, "
             "__consumer_offsets replication factor 3" % (meta["session_timeout_ms"], meta["lag_time_ms"]))
    L.append("- topic: %s partitions, replication factor 3, min.insync.replicas 2" % meta["partitions"])
    L.append("- workloads (kafka-python %s, from a namespace of their own): an idempotent acks=all producer, keyed records, "
             "at most 5 unanswered per partition; a consumer group member committing after every poll, and an observer "
             "reading the group's committed offsets every second" % meta["kafka_python"])
    L.append("- faults: kills held %s s, SIGSTOP %s s, cut %s s (by %s); %s s of normal running after each recovery"
             % (meta["hold_s"], meta["stop_hold_s"], meta["cut_hold_s"], meta["mechanism"], meta["settle_s"]))
    L.append("- machine: %s; run of %.0f s" % (meta["machine"], (end_ms - start_ms) / 1000.0))
    L.append("")
    L.append("## Checks")
    L.append("")
    L.append("| check | result | detail |")
    L.append("|---|---|---|")
    for name, ok, detail in checks.rows:
        L.append("| %s | %s | %s |" % (name, {True: "pass", False: "**FAIL**", None: "reported"}[ok], str(detail).replace("|", "/")))
    L.append("")
    L.append("## Faults")
    L.append("")
    L.append("Seconds from the injection, except *whole after heal* (from the restart / SIGCONT / end of the cut until every "
             "partition had a leader and three in-sync replicas, read from ZooKeeper). *new leaders*: until every partition the "
             "broker led had another leader; *ISR shrunk*: until the stopped broker was in no ISR; *gap*: the longest stretch "
             "without an acknowledged record on the broker's partitions / on the others, from the injection until records were "
             "acknowledged on every partition after the heal; *failed sends*: until the next fault.")
    L.append("")
    L.append("| fault | broker | led | held | new leaders | new controller | ISR shrunk | whole after heal | gap (its partitions) | gap (others) | failed sends | recovered |")
    L.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        L.append("| %s | %d (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |" % (
            r["fault"], r["broker"], r["role"], r["led"], fmt_s(r["held"]), fmt_s(r["failover"]), fmt_s(r["controller"]),
            fmt_s(r["shrunk"]), fmt_s(r["healthy"]), fmt_s(r["gap_led"]), fmt_s(r["gap_other"]), r["fails"], r["recovered"]))
    L.append("")
    L.append("Before the first fault the longest gap on any partition was %s s." % fmt_s(baseline))
    L.append("")
    L.append("## Workloads")
    L.append("")
    L.append("- producer: %d acknowledged, %d failed (%d of the failed were written anyway, which idempotence allows); %s"
             % (len(acks), len(fails), unacked_present, summary))
    L.append("- group member: %d polls with records, %d acknowledged commits, %d failed commits; the observer read the committed "
             "offsets %d times (%d failed reads)" % (len(consumed_t), n_com, commit_fails, n_obs,
                                                    sum(1 for r in group if r[1] == "observe-fail")))
    L.append("- end offsets: %s" % ends)
    L.append("")
    L.append("## Leaders and ISRs over time (ZooKeeper)")
    L.append("")
    L.append("```")
    for ms, ctl, live, parts in zk:
        L.append("%s  +%7.1fs  controller %2d  live %-7s %s" % (
            time.strftime("%H:%M:%S", time.gmtime(ms / 1000)), (ms - start_ms) / 1000.0, ctl, ",".join(map(str, sorted(live))),
            "  ".join("p%d %d [%s] e%d" % (p, l, ",".join(map(str, i)), e) for p, (l, i, e) in sorted(parts.items()))))
    L.append("```")
    for path in sorted(glob.glob(os.path.join(run, "describe-*.txt"))):
        name = os.path.basename(path)
        if name in ("describe-stop-follower.txt", "describe-cut-leader.txt", "describe-disk-full.txt"):
            L.append("")
            L.append("`%s` (during the fault):" % name)
            L.append("")
            L.append("```")
            L.append(open(path).read().strip())
            L.append("```")
    L.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(L))
    print("%s: %d passed, %d failed" % (verdict, checks.passed, checks.failed), flush=True)
    sys.exit(0 if checks.failed == 0 else 1)


if __name__ == "__main__":
    main()

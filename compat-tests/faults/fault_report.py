"""fault_report: the checks and the results file of scripts/zk-fault-suite.

    python fault_report.py <run-dir> <host:port> <host:port> <host:port> --out <file.md>

Reads what the run left in <run-dir> (meta.env, faults.tsv, lock-c*.log from
FaultLock.java, writer.log from fault_writer.py, s<N>/mntr.txt and srvr.txt), reads
every server alone (a session to that server only, `sync` first, then the whole tree),
and checks:

  recovered        every fault was injected and the ensemble recovered after each
  lock-counter     counter == increments whose transaction committed == acknowledged
                   increments + ambiguous ones whose marker exists; markers carry the
                   values 1..counter once each, in zxid order (no lost update)
  lock-exclusive   no client found another's holder marker while holding the lock, and
                   the [holder created, counter written] zxid spans of the acknowledged
                   increments never interleave
  lock-acked       every acknowledged increment's marker exists with the value logged
  creates-durable  every acknowledged kazoo create is on every server, with its data
  trees-identical  every server lists the same paths with the same data and version
                   (/zookeeper, the servers' own subtree, left out)
  stats-identical  ... and the same czxid, mzxid, pzxid, cversion, aversion, ephemeralOwner
and reports (no verdict) mntr's zk_digest_mismatches_count of every server: Apache
counts mismatches on a learner's SNAP sync that leave no divergence behind.

Prints `PASS|FAIL <check> <detail>` lines and `N passed, N failed`; writes the figures
and the verdicts to --out (markdown). Exit 0 iff every check passed.
"""

import argparse
import hashlib
import os
import re
import sys
import time

from kazoo.client import KazooClient

WALK_BATCH = 500
SESSION_TIMEOUT_S = 15
EXAMPLES_SHOWN = 5
SYSTEM_SUBTREE = "/zookeeper"


def read_meta(run):
    meta = {}
    with open(os.path.join(run, "meta.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def read_tsv(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts and parts[0].isdigit():
                rows.append(parts)
    return rows


def read_faults(run):
    faults = []
    with open(os.path.join(run, "faults.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            for k in ("inject_ms", "heal_ms", "ready_ms", "progress_ms"):
                row[k] = int(row[k]) if row.get(k) else None
            faults.append(row)
    return faults


def walk(hostport):
    """The whole tree as seen by one server alone, after a sync: path -> attributes."""
    client = KazooClient(hosts=hostport, timeout=SESSION_TIMEOUT_S, randomize_hosts=False)
    client.start(timeout=60)
    try:
        client.sync("/")
        listing = {}
        frontier = ["/"]
        while frontier:
            next_frontier = []
            for i in range(0, len(frontier), WALK_BATCH):
                batch = frontier[i:i + WALK_BATCH]
                pending = [(p, client.get_async(p), client.get_children_async(p)) for p in batch]
                for path, got, kids in pending:
                    data, stat = got.get(timeout=60)
                    children = kids.get(timeout=60)
                    data = data or b""
                    listing[path] = {
                        "data": data.decode("utf-8", "replace"),
                        "sha": hashlib.sha1(data).hexdigest()[:16],
                        "version": stat.version,
                        "cversion": stat.cversion,
                        "aversion": stat.aversion,
                        "czxid": stat.czxid,
                        "mzxid": stat.mzxid,
                        "pzxid": stat.pzxid,
                        "ephemeralOwner": stat.ephemeralOwner,
                    }
                    for child in children:
                        next_frontier.append(("/" if path == "/" else path + "/") + child)
            frontier = next_frontier
        return listing
    finally:
        client.stop()
        client.close()


def user_paths(listing):
    return {p: a for p, a in listing.items() if p != SYSTEM_SUBTREE and not p.startswith(SYSTEM_SUBTREE + "/")}


def parse_kv(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = re.match(r"^(\S+)\s+(.*)$", line.strip())
                if m:
                    out[m.group(1)] = m.group(2)
    return out


def parse_srvr(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    out[k.strip()] = v.strip()
    return out


def max_gap(times, start, end):
    """Longest stretch in [start, end] without a success (start to the first counts)."""
    inside = sorted(t for t in times if start <= t <= end)
    points = [start] + inside + ([end] if not inside or inside[-1] < end else [])
    return max((b - a for a, b in zip(points, points[1:])), default=end - start)


def fmt_s(ms):
    return "-" if ms is None else "%.1f" % (ms / 1000.0)


class Checks:
    def __init__(self):
        self.rows = []

    def add(self, name, ok, detail):
        self.rows.append((name, bool(ok), detail))
        print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)

    def info(self, name, detail):
        """A figure reported beside the checks, never a verdict."""
        self.rows.append((name, None, detail))
        print("INFO %s %s" % (name, detail), flush=True)

    @property
    def failed(self):
        return sum(1 for _, ok, _ in self.rows if ok is False)

    @property
    def passed(self):
        return sum(1 for _, ok, _ in self.rows if ok is True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("servers", nargs=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    run = args.run
    meta = read_meta(run)
    faults = read_faults(run)
    checks = Checks()

    # --- workload logs ---------------------------------------------------------------
    lock_rows = []
    lock_clients = int(meta.get("lock_clients", 3))
    summaries = {}
    for i in range(1, lock_clients + 1):
        cid = "c%d" % i
        for r in read_tsv(os.path.join(run, "lock-%s.log" % cid)):
            r = [cid] + r
            lock_rows.append(r)
            if r[2] == "summary":
                summaries[cid] = " ".join(r[3:])
    lock_ok = [r for r in lock_rows if r[2] == "ok"]
    lock_amb = [r for r in lock_rows if r[2] == "ambiguous"]
    lock_fail = [r for r in lock_rows if r[2] == "fail"]
    overlaps = [r for r in lock_rows if r[2] == "overlap"]
    writer_rows = read_tsv(os.path.join(run, "writer.log"))
    writer_ok = [r for r in writer_rows if r[1] == "ok"]
    writer_fail = [r for r in writer_rows if r[1] == "fail"]

    # --- recovery --------------------------------------------------------------------
    all_recovered = meta.get("unrecovered") == "0" and all(f["recovered"] == "yes" for f in faults)
    checks.add("recovered", all_recovered and faults,
               "%d faults injected, ensemble whole and both workloads writing after each" % len(faults)
               if all_recovered else "not recovered after: " + ", ".join(
                   f["fault"] for f in faults if f["recovered"] != "yes") + (" (run stopped early)" if meta.get("unrecovered") == "1" else ""))

    # --- per-server trees ------------------------------------------------------------
    listings = []
    for hp in args.servers:
        t0 = time.time()
        try:
            listing = walk(hp)
            print("read %s: %d znodes in %.1f s" % (hp, len(listing), time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001
            print("could not read %s: %r" % (hp, e), flush=True)
            listing = None
        listings.append(listing)
    readable = [l for l in listings if l is not None]
    ref = user_paths(readable[0]) if readable else {}

    # identity across servers
    def compare(keys):
        problems = []
        for idx, listing in enumerate(listings):
            if listing is None:
                problems.append("server %d unreadable" % (idx + 1))
                continue
            mine = user_paths(listing)
            if idx == 0:
                continue
            missing = sorted(set(ref) - set(mine))
            extra = sorted(set(mine) - set(ref))
            differ = sorted(p for p in set(ref) & set(mine) if any(ref[p][k] != mine[p][k] for k in keys))
            if missing:
                problems.append("server %d lacks %d of server 1's paths (e.g. %s)" % (idx + 1, len(missing), missing[:EXAMPLES_SHOWN]))
            if extra:
                problems.append("server %d has %d paths server 1 lacks (e.g. %s)" % (idx + 1, len(extra), extra[:EXAMPLES_SHOWN]))
            if differ:
                ex = ["%s s1=%s s%d=%s" % (p, {k: ref[p][k] for k in keys if ref[p][k] != mine[p][k]}, idx + 1,
                                          {k: mine[p][k] for k in keys if ref[p][k] != mine[p][k]}) for p in differ[:EXAMPLES_SHOWN]]
                problems.append("server %d differs from server 1 on %d paths: %s" % (idx + 1, len(differ), "; ".join(ex)))
        return problems

    p = compare(("sha", "version"))
    checks.add("trees-identical", not p, "%d znodes (outside %s) identical on all 3 servers" % (len(ref), SYSTEM_SUBTREE) if not p else " | ".join(p))
    p = compare(("czxid", "mzxid", "pzxid", "cversion", "aversion", "ephemeralOwner"))
    checks.add("stats-identical", not p, "czxid/mzxid/pzxid/cversion/aversion/ephemeralOwner agree" if not p else " | ".join(p))

    # --- acknowledged creates ----------------------------------------------------------
    acked_paths = [r[2] for r in writer_ok]
    problems = []
    for idx, listing in enumerate(listings):
        if listing is None:
            problems.append("server %d unreadable" % (idx + 1))
            continue
        missing = [p for p in acked_paths if p not in listing]
        wrong = [p for p in acked_paths if p in listing and listing[p]["data"] != "create %d" % int(p.rsplit("-", 1)[1])]
        if missing:
            problems.append("server %d lacks %d acknowledged creates (e.g. %s)" % (idx + 1, len(missing), missing[:EXAMPLES_SHOWN]))
        if wrong:
            problems.append("server %d has wrong data at %d (e.g. %s)" % (idx + 1, len(wrong), wrong[:EXAMPLES_SHOWN]))
    unacked_present = sum(1 for r in writer_fail if r[2] in ref)
    checks.add("creates-durable", not problems and acked_paths,
               "%d acknowledged creates present on all 3 servers (%d failed attempts, %d of them applied anyway)"
               % (len(acked_paths), len(writer_fail), unacked_present) if not problems else " | ".join(problems))

    # --- the lock workload ----------------------------------------------------------------
    base = meta.get("lock_base", "/keel-faults/lock")
    counter_node = ref.get(base + "/counter")
    counter = int(counter_node["data"]) if counter_node else None
    markers = {}
    for path, attrs in ref.items():
        if path.startswith(base + "/incs/"):
            markers[path.rsplit("/", 1)[1]] = (int(attrs["data"]), attrs["czxid"])
    acked = {"%s-%s" % (r[0], r[3]): r for r in lock_ok}
    amb = {"%s-%s" % (r[0], r[3]): r for r in lock_amb}
    amb_applied = [t for t in amb if t in markers]
    orphans = [t for t in markers if t not in acked and t not in amb]
    lost_acks = [t for t in acked if t not in markers]
    wrong_value = [t for t, r in acked.items() if t in markers and markers[t][0] != int(r[6])]
    by_zxid = [v for v, _ in sorted(markers.values(), key=lambda m: m[1])]
    problems = []
    if counter is None:
        problems.append("no counter znode")
    else:
        if counter != len(markers):
            problems.append("counter %d but %d committed increments (markers)" % (counter, len(markers)))
        if counter != len(acked) + len(amb_applied):
            problems.append("counter %d != %d acknowledged + %d ambiguous-but-applied" % (counter, len(acked), len(amb_applied)))
        if by_zxid != list(range(1, len(markers) + 1)):
            dup = len(by_zxid) - len(set(by_zxid))
            problems.append("marker values in zxid order are not 1..%d (%d duplicates: lost updates)" % (len(markers), dup))
    if orphans:
        problems.append("%d markers of no attempted increment (e.g. %s)" % (len(orphans), orphans[:EXAMPLES_SHOWN]))
    checks.add("lock-counter", not problems and counter,
               "counter %s = %d acknowledged + %d ambiguous-but-applied increments (%d ambiguous not applied); values 1..%s in zxid order"
               % (counter, len(acked), len(amb_applied), len(amb) - len(amb_applied), counter) if not problems else " | ".join(problems))
    problems = []
    if lost_acks:
        problems.append("%d acknowledged increments have no marker (e.g. %s)" % (len(lost_acks), lost_acks[:EXAMPLES_SHOWN]))
    if wrong_value:
        problems.append("%d markers hold another value than acknowledged (e.g. %s)" % (len(wrong_value), wrong_value[:EXAMPLES_SHOWN]))
    checks.add("lock-acked", not problems, "all %d acknowledged increments committed with their values" % len(acked) if not problems else " | ".join(problems))
    spans = sorted((int(r[4]), int(r[5]), "%s-%s" % (r[0], r[3])) for r in lock_ok)
    interleaved = [(a[2], b[2]) for a, b in zip(spans, spans[1:]) if not a[1] < b[0]]
    problems = []
    if overlaps:
        problems.append("%d times a client holding the lock found another's marker (e.g. %s)" % (
            len(overlaps), ["%s seq %s saw %s" % (r[0], r[3], r[4]) for r in overlaps[:EXAMPLES_SHOWN]]))
    if interleaved:
        problems.append("%d interleaved holder spans (e.g. %s)" % (len(interleaved), interleaved[:EXAMPLES_SHOWN]))
    checks.add("lock-exclusive", not problems,
               "no overlap seen; %d holder spans in zxid order, none interleaved" % len(spans) if not problems else " | ".join(problems))

    # --- digests ------------------------------------------------------------------------
    per_server = []
    digest_bad = []
    digest_seen = False
    for n in (1, 2, 3):
        mntr = parse_kv(os.path.join(run, "s%d" % n, "mntr.txt"))
        srvr = parse_srvr(os.path.join(run, "s%d" % n, "srvr.txt"))
        dm = mntr.get("zk_digest_mismatches_count")
        if dm is not None:
            digest_seen = True
            if float(dm) != 0:
                digest_bad.append("server %d: %s" % (n, dm))
        listing = listings[n - 1]
        per_server.append({
            "server": n,
            "mode": srvr.get("Mode", mntr.get("zk_server_state", "?")),
            "zxid": srvr.get("Zxid", "?"),
            "znodes": mntr.get("zk_znode_count", "?"),
            "listed": len(listing) if listing is not None else "unreadable",
            "digest_mismatches": dm if dm is not None else "not reported",
        })
    # Reported, not checked: Apache counts a mismatch whenever a learner's SNAP sync
    # replays proposals its fuzzy snapshot already holds (seen against Apache 3.9.4
    # here), so a nonzero count alone proves no divergence; trees-identical does.
    checks.info("digest", ("zk_digest_mismatches_count 0 on all servers" if digest_seen else "zk_digest_mismatches_count not reported by mntr")
                if not digest_bad else "zk_digest_mismatches_count nonzero: " + ", ".join(digest_bad))

    # --- figures per fault ---------------------------------------------------------------
    w_ok_t = [int(r[0]) for r in writer_ok]
    w_fail_t = [int(r[0]) for r in writer_fail]
    l_ok_t = [int(r[1]) for r in lock_ok]
    l_bad_t = [int(r[1]) for r in lock_fail + lock_amb]
    start_ms, end_ms = int(meta["start_ms"]), int(meta["end_ms"])
    fault_rows = []
    for i, f in enumerate(faults):
        t0 = f["inject_ms"]
        t_next = faults[i + 1]["inject_ms"] if i + 1 < len(faults) else end_ms
        until = f["progress_ms"] or t_next
        first_w = min((t for t in w_ok_t if t >= t0), default=None)
        first_l = min((t for t in l_ok_t if t >= t0), default=None)
        firsts = [t for t in (first_w, first_l) if t is not None]
        fault_rows.append({
            "fault": f["fault"], "server": f["server"], "role": f["role"],
            "held": f["heal_ms"] - t0,
            "ready": (f["ready_ms"] - f["heal_ms"]) if f["ready_ms"] else None,
            "first_write": (min(firsts) - t0) if firsts else None,
            "first_create": (first_w - t0) if first_w else None,
            "first_increment": (first_l - t0) if first_l else None,
            "gap_create": max_gap(w_ok_t, t0, until),
            "gap_increment": max_gap(l_ok_t, t0, until),
            "fail_create": sum(1 for t in w_fail_t if t0 <= t < t_next),
            "fail_increment": sum(1 for t in l_bad_t if t0 <= t < t_next),
            "recovered": f["recovered"],
        })
    first_fault = faults[0]["inject_ms"] if faults else end_ms
    baseline = (max_gap(w_ok_t, start_ms + 2000, first_fault), max_gap(l_ok_t, start_ms + 2000, first_fault))

    # --- the results file ------------------------------------------------------------------
    verdict = "PASS" if checks.failed == 0 else "FAIL"
    L = []
    L.append("# ZooKeeper ensemble under faults: %s, %s" % (meta["target"], time.strftime("%Y-%m-%d", time.gmtime(start_ms / 1000))))
    L.append("")
    L.append("Produced by `scripts/zk-fault-suite --target %s` (compat-tests/faults/README.md says what each part does)." % meta["target"])
    L.append("")
    L.append("**Verdict: %s** (%d checks passed, %d failed)." % (verdict, checks.passed, checks.failed))
    L.append("")
    if meta.get("planted") == "1":
        L.append("**Planted bugs (--plant)**: client c1's 40th increment skips the lock, and the kazoo client's 30th "
                 "create is logged as acknowledged without being sent; lock-counter, lock-exclusive and "
                 "creates-durable must FAIL.")
        L.append("")
    L.append("- servers: %s, three of them, tickTime 2000, initLimit 10, syncLimit 5" % meta["target_version"])
    L.append("- network: one network namespace per server (%s.1-3) and one for the clients (%s.100), "
             "on a bridge in a namespace of its own; partitions by %s (both directions)" % (meta["prefix"], meta["prefix"], meta["mechanism"]))
    L.append("- workloads: %s Curator %s clients (InterProcessMutex, counter incremented under the lock, session timeout 15 s) "
             "and one kazoo %s client (acknowledged creates, one attempt each); every client names all three servers"
             % (meta["lock_clients"], meta["curator"], meta["kazoo"]))
    L.append("- faults held %s s (kills, partitions) and %s s (SIGSTOP); %s s of normal running after each recovery"
             % (meta["hold_s"], meta["stop_hold_s"], meta["settle_s"]))
    L.append("- machine: %s; run of %.0f s" % (meta["machine"], (end_ms - start_ms) / 1000.0))
    L.append("")
    L.append("## Checks")
    L.append("")
    L.append("| check | result | detail |")
    L.append("|---|---|---|")
    for name, ok, detail in checks.rows:
        L.append("| %s | %s | %s |" % (name, {True: "pass", False: "**FAIL**", None: "reported"}[ok], detail.replace("|", "/")))
    L.append("")
    L.append("## Faults")
    L.append("")
    L.append("Times in seconds from the fault's injection. *first write*: the first acknowledged write of either workload; "
             "*gap*: the longest stretch without an acknowledged write of that workload, from the injection until both wrote "
             "again after the heal; *failed*: failed attempts (for increments: failed plus ambiguous) until the next fault. "
             "*whole after heal*: from the heal (restart, SIGCONT, partition removed) until one leader and two followers answered.")
    L.append("")
    L.append("| fault | server | held | whole after heal | first write | first create | first increment | create gap | increment gap | failed creates | failed increments | recovered |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in fault_rows:
        L.append("| %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %d | %d | %s |" % (
            r["fault"], r["server"], r["role"], fmt_s(r["held"]), fmt_s(r["ready"]), fmt_s(r["first_write"]),
            fmt_s(r["first_create"]), fmt_s(r["first_increment"]), fmt_s(r["gap_create"]), fmt_s(r["gap_increment"]),
            r["fail_create"], r["fail_increment"], r["recovered"]))
    L.append("")
    L.append("Before the first fault the longest gap was %s s (creates) and %s s (increments)." % (fmt_s(baseline[0]), fmt_s(baseline[1])))
    L.append("")
    L.append("## Workloads")
    L.append("")
    L.append("| workload | acknowledged | failed | ambiguous (applied) | other |")
    L.append("|---|--:|--:|--:|---|")
    L.append("| kazoo creates | %d | %d | - | %d failed creates were applied anyway |" % (len(writer_ok), len(writer_fail), unacked_present))
    L.append("| Curator increments | %d | %d | %d (%d) | counter %s; overlaps %d |" % (
        len(lock_ok), len(lock_fail), len(lock_amb), len(amb_applied), counter, len(overlaps)))
    for cid in sorted(summaries):
        L.append("| - client %s | %d | | | %s |" % (cid, sum(1 for r in lock_ok if r[0] == cid), summaries[cid]))
    L.append("")
    L.append("## Servers at the end")
    L.append("")
    L.append("| server | mode | zxid | zk_znode_count | znodes read | zk_digest_mismatches_count |")
    L.append("|---|---|---|--:|--:|--:|")
    for s in per_server:
        L.append("| %d | %s | %s | %s | %s | %s |" % (s["server"], s["mode"], s["zxid"], s["znodes"], s["listed"], s["digest_mismatches"]))
    L.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(L))
    print("%s: %d passed, %d failed" % (verdict, checks.passed, checks.failed), flush=True)
    sys.exit(0 if checks.failed == 0 else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""render.py: turns benchmark measurements into the results page and chart.

    render.py RESULTS.jsonl OUT.md OUT.png

RESULTS.jsonl holds one JSON object per line, the contract every area script writes
(bench/lib/common.sh bench_emit):

    {"area":"kafka","test":"produce 100B acks=1 1p","metric":"records/s",
     "unit":"records/s","server":"keel"|"apache"|"machine","rep":1,"value":123.4,
     "better":"higher"|"lower","target":">= 1.0x"}          # target optional

plus lines {"area":..., "note":"markdown text"} (scripts/bench adds the area scripts'
notes and the run's header that way) and at most one {"header":"markdown"}.

Rows are grouped by (area, test, metric); each server's repetitions give a median and a
min-max spread. ratio = keel median / Apache median. A target "OP Nx" (OP one of >=, >,
<=, <) is checked on that ratio; a target "OP N unit" (no "x") on keel's median itself.

"vs machine" says how close each server comes to the machine's own limit, measured by
rows whose server is "machine": a row is compared with the machine row of the same unit
and direction (same area preferred; if several match, the one with the same metric
name; none if still ambiguous). For higher-is-better rows it is server / machine (share
of the ceiling used), for lower-is-better rows machine / server (how near the floor).

The ZooKeeper ensemble area (bench/zookeeper-ensemble.sh) opens its section with a
summary: per kind of test (writes on the leader, writes spread over the voters, reads
without and with an observer), the range of keel/Apache ratios over its rows, then the
observer gain of each server kind, failover medians and memory per server.

The Kafka TLS area (bench/kafka-tls.sh) opens its section with a summary: per measure
(produce and consume MB/s, send-to-ack p50/p99), both servers' medians over PLAINTEXT and
over SASL_SSL, keel/Apache over SASL_SSL with its target, and each server's TLS cost
(the median of its per-repetition SASL_SSL / PLAINTEXT ratios).

The chart has one panel per (area, unit) for rates (units with "/s"), latencies ("ms")
and memory ("MB"): keel and Apache medians side by side with min-max whiskers, the
machine reference as a dashed line where one applies.
"""
import json
import math
import re
import statistics
import sys
from collections import OrderedDict

SERVERS = ("keel", "apache")
AREA_TITLES = {"kafka": "Kafka", "kafka-cluster": "Kafka cluster (3 brokers, RF 3)",
               "kafka-tls": "Kafka over TLS (PLAINTEXT and SASL_SSL listeners)", "zookeeper": "ZooKeeper",
               "zookeeper-ensemble": "ZooKeeper ensemble (3 servers)"}
ENSEMBLE_AREA = "zookeeper-ensemble"
TLS_AREA = "kafka-tls"


def load(path):
    rows, notes, header = [], OrderedDict(), []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                print("render.py: %s:%d: not JSON, skipped" % (path, n), file=sys.stderr)
                continue
            if "header" in obj:
                header.append(obj["header"])
            elif "note" in obj:
                notes.setdefault(obj.get("area", ""), []).append(obj["note"])
            elif all(k in obj for k in ("area", "test", "metric", "server", "value")):
                try:
                    obj["value"] = float(obj["value"])
                except (TypeError, ValueError):
                    continue
                rows.append(obj)
    return rows, notes, header


class Group:
    def __init__(self, area, test, metric):
        self.area, self.test, self.metric = area, test, metric
        self.unit = ""
        self.better = "higher"
        self.target = ""
        self.values = {}

    def add(self, row):
        self.unit = row.get("unit", self.unit) or self.unit
        self.better = row.get("better", self.better) or self.better
        if row.get("target"):
            self.target = row["target"]
        self.values.setdefault(row["server"], []).append(row["value"])

    def med(self, server):
        v = self.values.get(server)
        return statistics.median(v) if v else None

    def spread(self, server):
        v = self.values.get(server)
        return (min(v), max(v)) if v else None

    @property
    def is_machine(self):
        return set(self.values) == {"machine"}

    def ratio(self):
        k, a = self.med("keel"), self.med("apache")
        if k is None or a is None or a == 0:
            return None
        return k / a

    def verdict(self):
        """(met: True/False/None, explanation)"""
        if not self.target:
            return None, ""
        m = re.match(r"^\s*(>=|<=|>|<|=)\s*([0-9.]+)\s*(x|[^\s].*)?\s*$", self.target)
        if not m:
            return None, "unparsed target"
        op, num, suffix = m.group(1), float(m.group(2)), (m.group(3) or "").strip()
        if suffix == "x":
            value = self.ratio()
        else:
            value = self.med("keel")
        if value is None:
            return None, "no data"
        ok = {">=": value >= num, "<=": value <= num, ">": value > num, "<": value < num,
              "=": value == num}[op]
        return ok, ""


def group_rows(rows):
    groups = OrderedDict()
    for r in rows:
        key = (r["area"], r["test"], r["metric"])
        if key not in groups:
            groups[key] = Group(*key)
        groups[key].add(r)
    return groups


def machine_ref(g, machines):
    cands = [m for m in machines if m.unit == g.unit and m.better == g.better]
    same_area = [m for m in cands if m.area == g.area]
    cands = same_area or cands
    if len(cands) > 1:
        cands = [m for m in cands if m.metric == g.metric]
    return cands[0] if len(cands) == 1 else None


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    if a == 0:
        return "0"
    return "%.3g" % v


def fmt_spread(s):
    if s is None:
        return "-"
    lo, hi = s
    return "%s–%s" % (fmt(lo), fmt(hi))


def pct(x):
    return "%.0f%%" % (100 * x) if x >= 0.01 else "%.1f%%" % (100 * x)


def vs_machine(g, ref):
    if ref is None:
        return ""
    mref = ref.med("machine")
    parts = []
    for s in SERVERS:
        v = g.med(s)
        if v is None or not mref:
            continue
        share = v / mref if g.better == "higher" else (mref / v if v else None)
        if share is not None:
            parts.append("%s %s" % ("Apache" if s == "apache" else s, pct(share)))
    name = ref.test.split(" (")[0]
    return "%s of %s" % (", ".join(parts), name) if parts else ""


def md_table(area, groups, machines):
    out = ["| test | metric | keel | Apache | keel/Apache | keel spread | Apache spread | target | met | vs machine |",
           "|---|---|---:|---:|---:|---|---|---|---|---|"]
    for g in groups:
        metric = g.metric if not g.unit or g.unit == g.metric else "%s (%s)" % (g.metric, g.unit)
        r = g.ratio()
        met, why = g.verdict()
        mark = {True: "yes", False: "**NO**", None: why or ""}[met]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            g.test, metric,
            fmt(g.med("keel")), fmt(g.med("apache")),
            ("%.2fx" % r) if r is not None else "-",
            fmt_spread(g.spread("keel")), fmt_spread(g.spread("apache")),
            g.target, mark, vs_machine(g, machine_ref(g, machines))))
    return out


def ratio_range(gs):
    rs = sorted(g.ratio() for g in gs if g.ratio() is not None)
    if not rs:
        return "-"
    return "%.2fx" % rs[0] if len(rs) == 1 or rs[0] == rs[-1] else "%.2f-%.2fx" % (rs[0], rs[-1])


def both(g):
    """'keel K vs Apache A unit' of a group's medians."""
    return "keel %s vs Apache %s %s" % (fmt(g.med("keel")), fmt(g.med("apache")), g.unit)


def ensemble_summary(gs):
    """The summary table that opens the ensemble section: one row per kind of test."""
    kinds = [
        ("writes, 32 sessions on the leader (create, setData; 100 B, 1 KB)", r"^(create|setData) \S+ 32 sessions on the leader$"),
        ("writes, 32 sessions over the 3 voters (followers forward)", r"^(create|setData) \S+ 32 sessions over 3 voters$"),
        ("reads (getData), 32 sessions over the 3 voters", r"^getData \S+ 32 sessions over 3 voters$"),
        ("reads (getData), 32 sessions over 3 voters + 1 observer", r"^getData \S+ 32 sessions over 3 voters \+ 1 observer$"),
    ]
    out = ["| | ops/s keel/Apache | p99 keel/Apache | other |", "|---|---:|---:|---|"]
    for title, pattern in kinds:
        rows = [g for g in gs if re.match(pattern, g.test)]
        if not rows:
            continue
        ops = [g for g in rows if g.metric == "ops/s"]
        p99 = [g for g in rows if g.metric == "p99 latency"]
        out.append("| %s | %s | %s | |" % (title, ratio_range(ops), ratio_range(p99)))
    for g in gs:
        if g.unit == "ratio" and "observer gain" in g.test:
            out.append("| %s | | | keel %s, Apache %s (target %s) |" % (
                g.test, fmt(g.med("keel")), fmt(g.med("apache")), g.target))
        elif g.test.startswith("leader failover") or g.test.startswith("memory per server"):
            if g.target:
                r = g.ratio()
                out.append("| %s: %s | | | %s%s, %d/%d reps (target %s) |" % (
                    g.test.split(":")[0] if g.test.startswith("leader") else "memory per server",
                    g.metric, both(g), (" = %.2fx" % r) if r is not None else "",
                    len(g.values.get("keel", [])), len(g.values.get("apache", [])), g.target))
    return out if len(out) > 2 else []


def tls_summary(gs):
    """The summary table that opens the kafka-tls section: per measure, PLAINTEXT and
    SASL_SSL side by side, keel/Apache over SASL_SSL, and each server's TLS cost."""
    measures = [
        ("produce 1 KB acks=1, MB/s", r"^produce .*, %s$", "MB/s", "produce MB/s"),
        ("consume 1 KB, MB/s", r"^consume .*, %s$", "MB/s", "consume MB/s"),
        ("broker CPU s per GB moved", r"^broker CPU per GB moved .*, %s$", "CPU per GB moved", "broker CPU per GB moved"),
        ("send-to-ack p50, ms", r"^produce latency \(send to ack\) .*, %s$", "p50", "send-to-ack p50"),
        ("send-to-ack p99, ms", r"^produce latency \(send to ack\) .*, %s$", "p99", "send-to-ack p99"),
    ]

    def find(pattern, metric):
        for g in gs:
            if g.metric == metric and re.match(pattern, g.test):
                return g
        return None

    def pair(g):
        return "%s / %s" % (fmt(g.med("keel")), fmt(g.med("apache"))) if g else "-"

    cost = {g.metric: g for g in gs if g.test.startswith("TLS cost")}
    out = ["| | PLAINTEXT keel / Apache | SASL_SSL keel / Apache | keel/Apache over SASL_SSL | target | met "
           "| TLS cost keel (SASL_SSL / PLAINTEXT) | TLS cost Apache |",
           "|---|---:|---:|---:|---|---|---:|---:|"]
    for title, pattern, metric, cost_metric in measures:
        plain, tls = find(pattern % "PLAINTEXT", metric), find(pattern % "SASL_SSL", metric)
        if plain is None and tls is None:
            continue
        r = tls.ratio() if tls else None
        met = tls.verdict()[0] if tls else None
        c = cost.get(cost_metric)
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title, pair(plain), pair(tls), ("%.2fx" % r) if r is not None else "-",
            tls.target if tls else "", {True: "yes", False: "**NO**", None: ""}[met],
            ("%.2fx" % c.med("keel")) if c and c.med("keel") is not None else "-",
            ("%.2fx" % c.med("apache")) if c and c.med("apache") is not None else "-"))
    return out if len(out) > 2 else []


def render_md(groups, notes, header, path):
    areas = OrderedDict()
    for g in groups.values():
        areas.setdefault(g.area, []).append(g)
    lines = []
    lines.extend(header or ["# Benchmark results"])
    lines.append("")
    lines.append("Medians over the repetitions; spread = min–max. keel/Apache is the ratio "
                 "of the medians; a target with an `x` is checked on that ratio, one with a "
                 "unit on keel's median. \"vs machine\": share of the machine's ceiling "
                 "(rates) or nearness to its floor (latencies), see the machine references.")
    lines.append("")
    missed = []
    for area, gs in areas.items():
        title = AREA_TITLES.get(area, area)
        machines = [g for g in gs if g.is_machine]
        servers = [g for g in gs if not g.is_machine]
        lines.append("## %s" % title)
        lines.append("")
        if area == ENSEMBLE_AREA and servers:
            summary = ensemble_summary(servers)
            if summary:
                lines.append("Summary (medians; a range is the lowest and highest ratio among the "
                             "rows of that kind; every row is in the table below):")
                lines.append("")
                lines.extend(summary)
                lines.append("")
        if area == TLS_AREA and servers:
            summary = tls_summary(servers)
            if summary:
                lines.append("Summary (medians; TLS cost: the median of each repetition's SASL_SSL / "
                             "PLAINTEXT on the same server, above 1x for latency and CPU and below 1x "
                             "for throughput is what TLS costs; every row is in the table below):")
                lines.append("")
                lines.extend(summary)
                lines.append("")
        if servers:
            lines.extend(md_table(area, servers, machines))
            lines.append("")
        if machines:
            lines.append("Machine references (%s):" % title)
            lines.append("")
            lines.append("| measurement | metric | median | spread |")
            lines.append("|---|---|---:|---|")
            for m in machines:
                metric = m.metric if not m.unit or m.unit == m.metric else "%s (%s)" % (m.metric, m.unit)
                lines.append("| %s | %s | %s | %s |" % (
                    m.test, metric, fmt(m.med("machine")), fmt_spread(m.spread("machine"))))
            lines.append("")
        for g in servers:
            met, _ = g.verdict()
            if met is False:
                r = g.ratio()
                missed.append("- %s: %s / %s: keel %s vs Apache %s %s (%s; target %s)" % (
                    title, g.test, g.metric, fmt(g.med("keel")), fmt(g.med("apache")), g.unit,
                    ("%.2fx" % r) if r is not None else "no ratio", g.target))
        if notes.get(area):
            lines.append("Notes (%s):" % title)
            lines.append("")
            lines.extend(notes[area])
            lines.append("")
    met_n = sum(1 for g in groups.values() if g.verdict()[0] is True)
    tgt_n = sum(1 for g in groups.values() if g.verdict()[0] is not None)
    lines.append("## Targets")
    lines.append("")
    lines.append("%d of %d targets met." % (met_n, tgt_n))
    if missed:
        lines.append("")
        lines.append("Missed:")
        lines.append("")
        lines.extend(missed)
    lines.append("")
    if notes.get(""):
        lines.extend(notes[""])
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def chart_kind(unit):
    if "/s" in unit:
        return "rate"
    if unit == "ms":
        return "latency"
    if unit == "MB":
        return "memory"
    return None


def render_png(groups, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = OrderedDict()
    machines = [g for g in groups.values() if g.is_machine]
    for g in groups.values():
        if g.is_machine or chart_kind(g.unit) is None:
            continue
        if g.med("keel") is None and g.med("apache") is None:
            continue
        panels.setdefault((g.area, g.unit), []).append(g)
    # first panel: every ratio target, keel/Apache against its threshold
    targeted = [g for g in groups.values()
                if g.target.strip().endswith("x") and g.ratio() is not None]
    if not panels and not targeted:
        fig, ax = plt.subplots(figsize=(8, 2))
        ax.text(0.5, 0.5, "no measurements", ha="center", va="center")
        ax.axis("off")
        fig.savefig(path, dpi=110)
        return
    heights = ([max(1.6, 0.22 * len(targeted) + 0.9)] if targeted else []) + \
        [max(1.6, 0.34 * len(gs) + 0.9) for gs in panels.values()]
    fig, axes = plt.subplots(len(heights), 1, figsize=(14, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    colors = {"keel": "#d95f02", "apache": "#1b9e77"}
    axes = list(axes[:, 0])
    if targeted:
        ax = axes.pop(0)
        ys = list(range(len(targeted)))
        ratios = [g.ratio() for g in targeted]
        oks = [g.verdict()[0] for g in targeted]
        ax.barh(ys, ratios, height=0.6, color=["#4daf4a" if ok else "#e41a1c" for ok in oks])
        for y, g in zip(ys, targeted):
            m = re.match(r"^\s*(>=|<=|>|<|=)\s*([0-9.]+)", g.target)
            if m:
                ax.plot([float(m.group(2))] * 2, [y - 0.4, y + 0.4], color="black", linewidth=1.2)
        ax.axvline(1.0, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yticks(ys)
        ax.set_yticklabels(["%s: %s — %s  [%s]" % (AREA_TITLES.get(g.area, g.area), g.test, g.metric, g.target)
                            for g in targeted], fontsize=7)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", linestyle=":", linewidth=0.5)
        ax.set_title("Targets: keel / Apache (median ratio; black tick = target; green met, red missed)",
                     fontsize=9, loc="left")
    for ax, ((area, unit), gs) in zip(axes, panels.items()):
        n = len(gs)
        ys = list(range(n))
        h = 0.38
        allv = []
        for i, s in enumerate(SERVERS):
            med = [g.med(s) for g in gs]
            lo = [(m - g.spread(s)[0]) if m is not None else 0 for g, m in zip(gs, med)]
            hi = [(g.spread(s)[1] - m) if m is not None else 0 for g, m in zip(gs, med)]
            vals = [m if m is not None else 0 for m in med]
            allv += [v for v in vals if v > 0]
            off = -h / 2 if s == "keel" else h / 2
            ax.barh([y + off for y in ys], vals, height=h, color=colors[s],
                    xerr=[lo, hi], error_kw={"elinewidth": 0.8, "capsize": 2},
                    label="keel" if s == "keel" else "Apache")
        labels = []
        for g in gs:
            r = g.ratio()
            labels.append("%s — %s%s" % (g.test, g.metric, ("  [%.2fx]" % r) if r is not None else ""))
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        refs = {}
        for g in gs:
            ref = machine_ref(g, machines)
            if ref is not None and ref.med("machine"):
                refs[ref.test] = ref.med("machine")
        for name, v in refs.items():
            ax.axvline(v, color="grey", linestyle="--", linewidth=1)
            ax.text(v, 1.0, "machine: %s " % name, fontsize=6, color="grey", va="bottom",
                    ha="right", transform=ax.get_xaxis_transform())
            allv.append(v)
        if allv and max(allv) / max(min(allv), 1e-9) > 50:
            ax.set_xscale("log")
        kind = chart_kind(unit)
        what = {"rate": "throughput (higher is better)", "latency": "latency / time (lower is better)",
                "memory": "memory (lower is better)"}[kind]
        ax.set_title("%s: %s, %s" % (AREA_TITLES.get(area, area), what, unit), fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", linestyle=":", linewidth=0.5)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: render.py RESULTS.jsonl OUT.md OUT.png")
    rows, notes, header = load(sys.argv[1])
    groups = group_rows(rows)
    render_md(groups, notes, header, sys.argv[2])
    try:
        render_png(groups, sys.argv[3])
    except ImportError:
        print("render.py: matplotlib is not installed; no chart written", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()

"""zk_metrics_check.py: the Prometheus `/metrics` of a target ZooKeeper compared with
Apache ZooKeeper 3.9.4's (PrometheusMetricsProvider), run by suites/zk-metrics.sh.

  zk_metrics_check.py standalone --target apache|keel --ref ZKPORT:METRICSPORT --tgt ZKPORT:METRICSPORT [--dump DIR]
  zk_metrics_check.py ensemble   --target apache|keel --ref Z:M,Z:M,Z:M --tgt Z:M,Z:M,Z:M [--dump DIR]

standalone: the same kazoo workload on the reference and on the target (persistent and
ephemeral znodes, set data, gets/exists/children with watches; one session kept open,
one closed), then both endpoints scraped and compared:
  1. every family the target exports, Apache exports too, with the same TYPE;
  2. the families Apache exports that the target lacks are exactly MISSING below (an
     entry the target exports, or Apache does not, is stale and fails the check);
  3. the deterministic values are equal (VALUES);
  4. GET / answers 404 and /metrics is served with Apache's content type.
ensemble: the servers' roles from `srvr`; per role (leader, follower) the same name
checks against the reference ensemble's server of that role; the leader gauges
(LEADER_GAUGES) on the leader (learners=2, synced_followers=2) and on no follower, on
both; the deterministic values equal per role (approximate_data_size less the bytes of
/zookeeper/config, which holds each ensemble's own ports; that znode is compared
separately, ports masked).
Against the apache target MISSING is not applied: the name sets must be identical.
Prints one detail line; exits 1 with the differences when a check fails.
"""

import argparse
import http.client
import math
import os
import re
import socket
import sys
import time

# The families Apache 3.9.4 (PrometheusMetricsProvider, exportJvmInfo=true) exports
# that keel does not, by reason. keel's endpoint renders its monitor values (mntr) and
# the process_* metrics; a name that keel comes to export must leave this list (the
# check fails on a stale entry), as must a name Apache no longer exports.
MISSING = {
    "the JVM's own (simpleclient_hotspot's exports; keel is no JVM)": """
        jvm_buffer_pool_capacity_bytes jvm_buffer_pool_used_buffers jvm_buffer_pool_used_bytes
        jvm_classes_loaded jvm_classes_loaded_total jvm_classes_unloaded_total
        jvm_gc_collection_seconds jvm_info jvm_memory_bytes_committed jvm_memory_bytes_init
        jvm_memory_bytes_max jvm_memory_bytes_used jvm_memory_pool_allocated_bytes_total
        jvm_memory_pool_bytes_committed jvm_memory_pool_bytes_init jvm_memory_pool_bytes_max
        jvm_memory_pool_bytes_used jvm_threads_current jvm_threads_daemon jvm_threads_deadlocked
        jvm_threads_deadlocked_monitor jvm_threads_peak jvm_threads_started_total
        jvm_threads_state
        jvm_pause_time_ms
    """,
    "Apache's request-processor chain (Prep/Sync/Commit/Final processors, session"
    " queues, throttling): stage latencies and queue sizes keel's pipeline does not"
    " measure": """
        prep_process_time prep_processor_queue_size prep_processor_queue_time_ms
        prep_processor_request_queued close_session_prep_time outstanding_changes_queued
        outstanding_changes_removed
        sync_process_time sync_processor_batch_size sync_processor_queue_and_flush_time_ms
        sync_processor_queue_flush_time_ms sync_processor_queue_size
        sync_processor_queue_time_ms sync_processor_request_queued
        commit_commit_proc_req_queued commit_process_time
        concurrent_request_processing_in_commit_processor read_commit_proc_issued
        read_commit_proc_req_queued read_commitproc_time_ms write_commit_proc_issued
        write_commit_proc_req_queued write_commitproc_time_ms
        write_batch_time_in_commit_processor
        time_waiting_empty_pool_in_commit_processor_read_ms request_commit_queued
        requests_not_forwarded_to_commit_processor skip_learner_request_to_next_processor_count
        read_final_proc_time_ms write_final_proc_time_ms local_write_committed_time_ms
        server_write_committed_time_ms
        requests_in_session_queue reads_after_write_in_session_queue
        reads_issued_from_session_queue session_queues_drained pending_session_queue_size
        learner_request_processor_queue_size
        request_throttle_queue_time_ms request_throttle_wait_count throttled_ops
        large_requests_rejected stale_requests stale_requests_dropped stale_replies
    """,
    "latency and duration summaries of operations, the txn log and snapshots (keel's"
    " mntr has avg/min/max_latency only)": """
        readlatency updatelatency fsynctime snapshottime dbinittime startup_snap_load_time
        startup_txns_load_time startup_txns_loaded snap_count
    """,
    "the quorum protocol's counters and timings (proposals, acks, commits, learner"
    " handlers, observer masters, elections, syncs, quorum SASL)": """
        ack_latency commit_propagation_latency proposal_latency proposal_ack_creation_latency
        proposal_process_time propagation_latency quorum_ack_latency proposal_count
        commit_count learner_commit_received_count learner_proposal_received_count
        learner_handler_qp_size learner_handler_qp_time_ms om_commit_process_time_ms
        om_proposal_process_time_ms observer_sync_time follower_sync_time election_time
        looking_count diff_count inflight_diff_count inflight_snap_count
        leader_unavailable_time unavailable_time quit_leading_due_to_disloyal_voter
        ensemble_auth_fail ensemble_auth_skip ensemble_auth_success
    """,
    "the connection layer's counters (NIO/Netty, TLS, connection throttling, response"
    " caches, bytes)": """
        bytes_received_count response_bytes connection_drop_count connection_rejected
        connection_request_count connection_revalidate_count revalidate_count
        connection_token_deficit cnxn_closed_without_zk_server_running
        sessionless_connections_expired stale_sessions_expired socket_closing_time
        netty_queued_buffer_capacity outstanding_tls_handshake tls_handshake_exceeded
        unsuccessful_handshake non_mtls_local_conn_count non_mtls_remote_conn_count
        insecure_admin_count response_packet_cache_hits response_packet_cache_misses
        response_packet_get_children_cache_hits response_packet_get_children_cache_misses
    """,
    "the watch manager's internals (dead-watcher cleaning, watches fired per event type,"
    " watch bytes)": """
        add_dead_watcher_stall_time dead_watchers_cleaner_latency dead_watchers_cleared
        dead_watchers_queued node_changed_watch_count node_children_watch_count
        node_created_watch_count node_deleted_watch_count watch_bytes
    """,
    "per-namespace (top-level znode) request and quota families": """
        read_per_namespace write_per_namespace quota_bytes_limit_per_namespace
        quota_bytes_usage_per_namespace quota_count_limit_per_namespace
        quota_count_usage_per_namespace quota_exceeded_error_per_namespace
    """,
    "the AdminServer's snapshot/restore commands and unrecoverable-error counters": """
        restore_error_count restore_rate_limited_count restore_time snapshot_error_count
        snapshot_rate_limited_count unrecoverable_error_count
    """,
}

# Apache's LeaderZooKeeperServer gauges: on the leader only.
LEADER_GAUGES = (
    "learners synced_followers synced_non_voting_followers pending_syncs leader_uptime "
    "last_proposal_size max_proposal_size min_proposal_size"
).split()

# Values a given workload determines (equal on the reference and the target).
VALUES = (
    "znode_count ephemerals_count watch_count global_sessions approximate_data_size "
    "local_sessions num_alive_connections outstanding_requests auth_failed_count "
    "digest_mismatches_count connection_drop_probability"
).split()
# ... and on an ensemble's leader, its quorum gauges.
LEADER_VALUES = "learners synced_followers synced_non_voting_followers synced_observers pending_syncs quorum_size".split()

ROOT = "/zkm"


def missing_names():
    names = {}
    for reason, text in MISSING.items():
        for name in text.split():
            if name in names:
                raise SystemExit(f"MISSING lists {name} twice")
            names[name] = reason
    return names


# --- Prometheus text format (0.0.4) ------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(\s+-?\d+)?$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


class Family:
    def __init__(self, name):
        self.name, self.type, self.help, self.samples = name, None, None, []


def parse_labels(text, line):
    labels = {}
    body = text[1:-1]
    pos = 0
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise ValueError(f"bad labels in: {line}")
        labels[m.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        pos = m.end()
    return labels


def parse_value(text, line):
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"bad value in: {line}") from None


def family_of(sample_name, families):
    if sample_name in families:
        return families[sample_name]
    for suffix in ("_count", "_sum", "_bucket"):
        if sample_name.endswith(suffix):
            base = families.get(sample_name[: -len(suffix)])
            if base is not None and base.type in ("summary", "histogram"):
                return base
    return None


def parse(text):
    """name -> Family; raises ValueError on a malformed exposition."""
    families = {}
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = families.setdefault(parts[2], Family(parts[2]))
                if parts[1] == "TYPE":
                    kind = parts[3].strip() if len(parts) > 3 else ""
                    if kind not in ("counter", "gauge", "summary", "histogram", "untyped"):
                        raise ValueError(f"bad TYPE: {line}")
                    if fam.type is not None:
                        raise ValueError(f"second TYPE for {parts[2]}")
                    if fam.samples:
                        raise ValueError(f"TYPE after samples of {parts[2]}")
                    fam.type = kind
                else:
                    fam.help = parts[3] if len(parts) > 3 else ""
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"bad sample line: {line}")
        name, labels, value = m.group(1), m.group(2), m.group(3)
        fam = family_of(name, families)
        if fam is None or fam.type is None:
            raise ValueError(f"sample without a TYPE line: {line}")
        fam.samples.append((name, parse_labels(labels, line) if labels else {}, parse_value(value, line)))
    for fam in families.values():
        if fam.type is None:
            raise ValueError(f"HELP without TYPE: {fam.name}")
        if fam.type == "summary":
            check_summary(fam)
    return families


def check_summary(fam):
    """Each label set of a summary has _count and _sum; its other samples carry a
    quantile label."""
    groups = {}
    for name, labels, _ in fam.samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "quantile"))
        seen = groups.setdefault(key, set())
        if name == fam.name:
            if "quantile" not in labels:
                raise ValueError(f"summary {fam.name}: a sample without quantile")
            seen.add("q")
        else:
            seen.add(name[len(fam.name):])
    for key, seen in groups.items():
        if not {"_count", "_sum"} <= seen:
            raise ValueError(f"summary {fam.name}{dict(key)}: no _count/_sum")


def plain_value(families, name):
    fam = families.get(name)
    if fam is None:
        return None
    for sample, labels, value in fam.samples:
        if sample == name and not labels:
            return value
    return None


# --- HTTP and ZooKeeper --------------------------------------------------------------


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def scrape(port):
    status, ctype, body = http_get(port, "/metrics")
    if status != 200:
        raise RuntimeError(f"GET /metrics on {port}: HTTP {status}")
    return ctype, body


def four_letter(port, cmd):
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(cmd.encode())
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    return out.decode("utf-8", "replace")


def mode(port):
    for line in four_letter(port, "srvr").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return ""


def workload(zk_port):
    """The same small workload on one server; returns the session kept open."""
    from kazoo.client import KazooClient

    other = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
    other.start(timeout=15)
    other.create(ROOT, b"root data")
    other.create(f"{ROOT}/gone", b"x", ephemeral=True)  # goes with its session
    other.create(f"{ROOT}/p0", b"")
    other.stop()
    other.close()

    keep = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
    keep.start(timeout=15)
    keep.create(f"{ROOT}/p1", b"one")
    keep.create(f"{ROOT}/p2", b"two" * 20)
    keep.create(f"{ROOT}/p2/child", b"c")
    keep.create(f"{ROOT}/e1", b"ephemeral one", ephemeral=True)
    keep.create(f"{ROOT}/e2", b"", ephemeral=True)
    keep.create(f"{ROOT}/s-", b"seq", ephemeral=True, sequence=True)
    keep.set(f"{ROOT}/p1", b"one, longer now")
    keep.set(f"{ROOT}/p2", b"short")
    keep.delete(f"{ROOT}/p0")

    def watcher(_event):
        pass

    keep.get(f"{ROOT}/p1", watch=watcher)
    keep.get(f"{ROOT}/p2", watch=watcher)
    keep.exists(f"{ROOT}/absent", watch=watcher)
    keep.get_children(ROOT, watch=watcher)
    keep.get_children(f"{ROOT}/p2", watch=watcher)
    # a fired watch is gone: set p2/child's and fire it
    keep.get(f"{ROOT}/p2/child", watch=watcher)
    keep.set(f"{ROOT}/p2/child", b"fired")
    keep.sync(ROOT)
    return keep


# --- comparisons -----------------------------------------------------------------------


def compare_names(where, ref, tgt, target_kind, missing, problems):
    """Checks 1 and 2 for one pair of scrapes; returns (exported, apache's, missing)."""
    for name, fam in sorted(tgt.items()):
        if name not in ref:
            problems.append(f"{where}: {name} ({fam.type}) is not a name Apache exports")
        elif ref[name].type != fam.type:
            problems.append(f"{where}: {name} is a {fam.type}, Apache's is a {ref[name].type}")
    lacking = set(ref) - set(tgt)
    expected = set() if target_kind == "apache" else {n for n in missing if n in ref}
    for name in sorted(lacking - expected):
        problems.append(f"{where}: Apache exports {name} ({ref[name].type}), the target does not"
                        + ("" if target_kind == "apache" else " (not in MISSING)"))
    for name in sorted(expected - lacking):
        problems.append(f"{where}: MISSING lists {name}, which the target exports: drop it")
    return len(set(tgt) & set(ref)), len(ref), len(lacking)


def compare_values(where, names, ref, tgt, problems, less=None):
    """less: name -> (subtracted from Apache's, from the target's) before comparing."""
    compared = []
    for name in names:
        rv, tv = plain_value(ref, name), plain_value(tgt, name)
        if rv is None:
            if tv is not None:
                problems.append(f"{where}: {name}={tv:g} where Apache has none")
            continue
        if tv is None:
            continue  # a missing name: compare_names judges it
        compared.append(f"{name}={rv:g}")
        r_less, t_less = (less or {}).get(name, (0, 0))
        if rv - r_less != tv - t_less:
            note = f" (less /zookeeper/config's bytes: {tv - t_less:g} and {rv - r_less:g})" if name in (less or {}) else ""
            problems.append(f"{where}: {name} is {tv:g}, Apache's is {rv:g}{note}")
    return compared


def check_http(where, port, ref_ctype, ctype, problems):
    status, _, _ = http_get(port, "/")
    if status != 404:
        problems.append(f"{where}: GET / answered {status}, not 404")
    norm = lambda c: re.sub(r"\s+", "", c.lower())  # noqa: E731
    if ref_ctype is not None and norm(ctype) != norm(ref_ctype):
        problems.append(f"{where}: /metrics Content-Type {ctype!r}, Apache's is {ref_ctype!r}")


def dump(args, label, text):
    if args.dump:
        with open(os.path.join(args.dump, f"{label}.prom"), "w") as f:
            f.write(text)


def pairs(spec):
    out = []
    for item in spec.split(","):
        zk, metrics = item.split(":")
        out.append((int(zk), int(metrics)))
    return out


def run_standalone(args, missing, problems):
    (ref_zk, ref_m), = pairs(args.ref)
    (tgt_zk, tgt_m), = pairs(args.tgt)
    keep_ref = workload(ref_zk)
    keep_tgt = workload(tgt_zk)
    try:
        time.sleep(0.5)  # let close-session and watch bookkeeping settle on both
        ref_ctype, ref_text = scrape(ref_m)
        tgt_ctype, tgt_text = scrape(tgt_m)
    finally:
        for keep in (keep_ref, keep_tgt):
            keep.stop()
            keep.close()
    dump(args, "standalone-reference", ref_text)
    dump(args, "standalone-target", tgt_text)
    ref, tgt = parse(ref_text), parse(tgt_text)
    exported, apaches, lacking = compare_names("standalone", ref, tgt, args.target, missing, problems)
    compared = compare_values("standalone", VALUES, ref, tgt, problems)
    for name in ("znode_count", "ephemerals_count", "watch_count", "global_sessions"):
        if plain_value(ref, name) in (None, 0):
            problems.append(f"standalone: Apache's {name} is {plain_value(ref, name)}: the workload did not register")
    check_http("standalone reference", ref_m, None, ref_ctype, problems)
    check_http("standalone target", tgt_m, ref_ctype, tgt_ctype, problems)
    return (f"{exported}/{apaches} of Apache's names exported ({lacking} missing"
            f"{'' if args.target == 'apache' else f', as MISSING lists ({len(missing)} entries, ensemble ones included)'}); "
            f"{len(compared)} values equal after the workload: {' '.join(compared)}; GET / 404")


def roles(servers):
    out = {}
    for zk, metrics in servers:
        out.setdefault(mode(zk), []).append(metrics)
    return out


def scrape_ensemble(args, label, servers):
    """Waits until the leader reports both followers synced; returns role -> [families]."""
    deadline = time.time() + 20
    while True:
        by_role = roles(servers)
        if len(by_role.get("leader", [])) == 1 and len(by_role.get("follower", [])) == 2:
            scraped = {role: [] for role in by_role}
            for role, ports in by_role.items():
                for port in ports:
                    ctype, text = scrape(port)
                    dump(args, f"ensemble-{label}-{role}-{port}", text)
                    scraped[role].append((port, ctype, parse(text)))
            leader = scraped["leader"][0][2]
            if plain_value(leader, "synced_followers") == 2 or time.time() > deadline:
                return scraped
        elif time.time() > deadline:
            raise RuntimeError(f"{label} ensemble: roles {sorted((r, len(p)) for r, p in by_role.items())}")
        time.sleep(0.5)


def zookeeper_config(zk_port):
    """The data of /zookeeper/config (read after the scrapes: a session of its own)."""
    from kazoo.client import KazooClient

    zk = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
    zk.start(timeout=15)
    try:
        return zk.get("/zookeeper/config")[0]
    finally:
        zk.stop()
        zk.close()


def run_ensemble(args, missing, problems):
    ref = scrape_ensemble(args, "reference", pairs(args.ref))
    tgt = scrape_ensemble(args, "target", pairs(args.tgt))
    # approximate_data_size counts /zookeeper/config, which names each ensemble's own
    # ports: compared less its length, and the config itself compared ports masked
    ref_config = zookeeper_config(pairs(args.ref)[0][0])
    tgt_config = zookeeper_config(pairs(args.tgt)[0][0])
    mask = lambda b: re.sub(rb":\d+", b":PORT", b)  # noqa: E731
    if mask(tgt_config) != mask(ref_config):
        problems.append(f"ensemble: /zookeeper/config holds {tgt_config!r} ({len(tgt_config)} bytes), Apache's "
                        f"{ref_config!r} ({len(ref_config)} bytes); approximate_data_size counts it")
    less = {"approximate_data_size": (len(ref_config), len(tgt_config))}
    ref_leader = ref["leader"][0][2]
    ref_follower = ref["follower"][0][2]
    # a MISSING entry Apache exports on no server (its followers export every name a
    # standalone does, and the quorum ones) is stale
    for name in sorted(missing):
        if name not in ref_leader and name not in ref_follower:
            problems.append(f"MISSING lists {name}, which Apache 3.9.4 does not export: drop it")
    for label, scraped in (("Apache's", ref), ("the target's", tgt)):
        _, _, leader = scraped["leader"][0]
        for name, want in (("learners", 2), ("synced_followers", 2)):
            got = plain_value(leader, name)
            if got != want and not (label == "the target's" and name in missing):
                problems.append(f"ensemble: {label} leader has {name}={got}, not {want}")
        for name in LEADER_GAUGES:
            if name not in leader and not (label == "the target's" and name in missing):
                problems.append(f"ensemble: {label} leader does not export {name}")
        for port, _, fam in scraped["follower"]:
            for name in LEADER_GAUGES:
                if name in fam:
                    problems.append(f"ensemble: {label} follower (metrics port {port}) exports the leader gauge {name}")
    # the per-role name sets and values, against Apache's server of the same role
    exported = []
    for role, ref_fam in (("leader", ref_leader), ("follower", ref_follower)):
        for port, ctype, fam in tgt[role]:
            where = f"ensemble {role} (metrics port {port})"
            n, _, _ = compare_names(where, ref_fam, fam, args.target, missing, problems)
            exported.append(n)
            values = VALUES + (LEADER_VALUES if role == "leader" else [])
            compare_values(where, values, ref_fam, fam, problems, less)
            check_http(where, port, ref["leader"][0][1], ctype, problems)
    leader_gauges = [n for n in LEADER_GAUGES if n in tgt["leader"][0][2]]
    return (f"leader exports {len(leader_gauges)} leader gauges "
            f"(learners={plain_value(tgt['leader'][0][2], 'learners'):g} "
            f"synced_followers={plain_value(tgt['leader'][0][2], 'synced_followers'):g}), followers none; "
            f"names per role {exported[0]}/{len(ref_leader)} leader, {exported[1]}/{len(ref_follower)} follower "
            f"of Apache's; values per role equal")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=("standalone", "ensemble"))
    ap.add_argument("--target", choices=("apache", "keel"), required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--tgt", required=True)
    ap.add_argument("--dump")
    args = ap.parse_args()
    missing = missing_names()
    problems = []
    try:
        detail = (run_standalone if args.part == "standalone" else run_ensemble)(args, missing, problems)
    except Exception as e:  # a malformed exposition, a server down, a kazoo error
        print(f"{args.part}: {type(e).__name__}: {e}")
        return 1
    if problems:
        for p in problems:
            print(p)
        return 1
    print(detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())

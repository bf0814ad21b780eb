"""kafka_metrics_check.py: a target Kafka broker's Prometheus `/metrics` against Apache
Kafka 3.9's, as the Prometheus JMX exporter java agent serves it with
kafka-metrics/jmx-exporter-kafka.yml; run by suites/kafka-metrics.sh.

  kafka_metrics_check.py --target apache|keel --ref BOOTSTRAP METRICS_PORT
                         --tgt BOOTSTRAP METRICS_PORT [--dump DIR]
  kafka_metrics_check.py --target apache|keel --broker ID BOOTSTRAP METRICS_PORT
                         --broker ID BOOTSTRAP METRICS_PORT [--dump DIR]

The second form is the suite's cluster part (two brokers of the target, replication
between them; see "the cluster part" below).

The first form: the same workload on the reference and on the target (kafka-python):
topic `metrics-t` (3 partitions) created, exactly RECORDS records of RECORD_BYTES bytes
produced with acks=all, all of them consumed in group `metrics-g`, which commits; then
one ApiVersions and one Metadata request of its own. Then both endpoints are scraped and
checked:
  1. every EXPECTED series (name and label names) is in Apache's output: else EXPECTED
     is wrong (Apache is the definition of these names), and the check says what Apache
     has instead;
  2. every EXPECTED series is in the target's output, with the TYPE Apache gives it;
     a name both export has the same TYPE on both;
  3. the workload moved both the same way (MOVEMENT: messagesin 500 on the topic, log end
     offsets summing to 500, one active controller, ...);
  4. how many of Apache's distinct kafka_* names the target exports (not a failure:
     keel promises EXPECTED only); both scrapes and the sorted name lists go to DIR;
  5. on a keel target: GET /ready is 200 "ready", GET of another path is 404, and
     /metrics is text/plain version 0.0.4. (The JMX exporter answers every path with
     200, so these are keel's contract only.)
Prints one detail line; exits 1 with every problem found when a check fails.
"""

import argparse
import difflib
import http.client
import math
import os
import re
import socket
import struct
import sys
import time

TOPIC = "metrics-t"
GROUP = "metrics-g"
PARTITIONS = 3
RECORDS = 500
RECORD_BYTES = 100

# The series keel promises, as Apache 3.9 + the JMX exporter name them: one per line,
# `name` (no labels) or `name{label,...}` (exactly these label names). Check 1 proves
# each line against Apache's own output. Apache registers a topic's meters when first
# marked: after this workload a topic has messagesin, bytesin, bytesout and the total
# produce/fetch requests, but failed produce/fetch requests only once one failed, so
# those two are promised for all topics (no labels) only.
EXPECTED = """
    kafka_server_brokertopicmetrics_messagesin_total
    kafka_server_brokertopicmetrics_messagesin_total{topic}
    kafka_server_brokertopicmetrics_bytesin_total
    kafka_server_brokertopicmetrics_bytesin_total{topic}
    kafka_server_brokertopicmetrics_bytesout_total
    kafka_server_brokertopicmetrics_bytesout_total{topic}
    kafka_server_brokertopicmetrics_totalproducerequests_total
    kafka_server_brokertopicmetrics_totalproducerequests_total{topic}
    kafka_server_brokertopicmetrics_totalfetchrequests_total
    kafka_server_brokertopicmetrics_totalfetchrequests_total{topic}
    kafka_server_brokertopicmetrics_failedproducerequests_total
    kafka_server_brokertopicmetrics_failedfetchrequests_total

    kafka_network_requestmetrics_requests_total{request,version}
    kafka_network_requestmetrics_errors_total{request,error}
    kafka_network_requestmetrics_totaltimems{request,quantile}
    kafka_network_requestmetrics_totaltimems_count_total{request}

    kafka_server_replicamanager_partitioncount
    kafka_server_replicamanager_leadercount
    kafka_server_replicamanager_underreplicatedpartitions
    kafka_server_replicamanager_offlinereplicacount
    kafka_server_replicamanager_underminisrpartitioncount
    kafka_server_replicamanager_atminisrpartitioncount
    kafka_server_replicamanager_isrshrinks_total
    kafka_server_replicamanager_isrexpands_total

    kafka_controller_kafkacontroller_activecontrollercount
    kafka_controller_kafkacontroller_offlinepartitionscount
    kafka_controller_kafkacontroller_globaltopiccount
    kafka_controller_kafkacontroller_globalpartitioncount
    kafka_controller_kafkacontroller_preferredreplicaimbalancecount

    kafka_log_log_size{topic,partition}
    kafka_log_log_logendoffset{topic,partition}
    kafka_log_log_logstartoffset{topic,partition}
    kafka_log_log_numlogsegments{topic,partition}

    kafka_server_kafkaserver_brokerstate

    kafka_coordinator_group_groupmetadatamanager_numgroups
    kafka_coordinator_group_groupmetadatamanager_numoffsets
"""

BTM = "kafka_server_brokertopicmetrics_"
RM = "kafka_network_requestmetrics_"
REPL = "kafka_server_replicamanager_"
CTRL = "kafka_controller_kafkacontroller_"
GMM = "kafka_coordinator_group_groupmetadatamanager_"
T = {"topic": TOPIC}

# What the workload must show on both brokers: (description, name, label filter,
# exact, how, bound). The value is the sum over the series of that name whose labels
# include the filter (exact: whose labels are exactly it); how is ==, >= or >.
MOVEMENT = [
    (f"messages in on {TOPIC}", BTM + "messagesin_total", T, False, "==", RECORDS),
    ("messages in, all topics", BTM + "messagesin_total", {}, True, ">=", RECORDS),
    (f"bytes in on {TOPIC}", BTM + "bytesin_total", T, False, ">", 0),
    (f"bytes out on {TOPIC}", BTM + "bytesout_total", T, False, ">", 0),
    (f"produce requests on {TOPIC}", BTM + "totalproducerequests_total", T, False, ">", 0),
    (f"fetch requests on {TOPIC}", BTM + "totalfetchrequests_total", T, False, ">", 0),
    ("failed produce requests, all topics", BTM + "failedproducerequests_total", {}, True, "==", 0),
    ("Produce requests", RM + "requests_total", {"request": "Produce"}, False, ">", 0),
    ("FetchConsumer requests", RM + "requests_total", {"request": "FetchConsumer"}, False, ">", 0),
    ("Metadata requests", RM + "requests_total", {"request": "Metadata"}, False, ">", 0),
    ("ApiVersions requests", RM + "requests_total", {"request": "ApiVersions"}, False, ">", 0),
    ("Produce answered with error NONE", RM + "errors_total", {"request": "Produce", "error": "NONE"}, False, ">", 0),
    # errors_total names the API (Fetch), requests_total the kind of fetcher (FetchConsumer)
    ("Fetch answered with error NONE", RM + "errors_total", {"request": "Fetch", "error": "NONE"}, False, ">", 0),
    ("Produce total times recorded", RM + "totaltimems_count_total", {"request": "Produce"}, False, ">", 0),
    (f"log end offsets of {TOPIC}", "kafka_log_log_logendoffset", T, False, "==", RECORDS),
    (f"log start offsets of {TOPIC}", "kafka_log_log_logstartoffset", T, False, "==", 0),
    (f"log sizes of {TOPIC}", "kafka_log_log_size", T, False, ">", 0),
    (f"log segments of {TOPIC}", "kafka_log_log_numlogsegments", T, False, ">=", PARTITIONS),
    ("partitions", REPL + "partitioncount", {}, True, ">=", PARTITIONS),
    ("leaders", REPL + "leadercount", {}, True, ">=", PARTITIONS),
    ("under-replicated partitions", REPL + "underreplicatedpartitions", {}, True, "==", 0),
    ("offline replicas", REPL + "offlinereplicacount", {}, True, "==", 0),
    ("active controllers", CTRL + "activecontrollercount", {}, True, "==", 1),
    ("topics (controller)", CTRL + "globaltopiccount", {}, True, ">=", 1),
    ("partitions (controller)", CTRL + "globalpartitioncount", {}, True, ">=", PARTITIONS),
    ("offline partitions", CTRL + "offlinepartitionscount", {}, True, "==", 0),
    ("broker state (3: running)", "kafka_server_kafkaserver_brokerstate", {}, True, "==", 3),
    ("consumer groups", GMM + "numgroups", {}, True, ">=", 1),
    ("committed offsets", GMM + "numoffsets", {}, True, ">=", PARTITIONS),
]


def expected_series():
    out = []
    for line in EXPECTED.split("\n"):
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"([a-z_][a-z0-9_]*)(?:\{([a-zA-Z0-9_,]*)\})?", line)
        if not m:
            raise SystemExit(f"EXPECTED: bad line {line!r}")
        labels = frozenset(x for x in (m.group(2) or "").split(",") if x)
        out.append((m.group(1), labels))
    if len(set(out)) != len(out):
        raise SystemExit("EXPECTED lists a series twice")
    return out


def show(name, labels):
    return name + ("{" + ",".join(sorted(labels)) + "}" if labels else "")


# --- Prometheus text format 0.0.4 ------------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+(\S+)([ \t]+-?\d+)?[ \t]*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}


class Scrape:
    """One exposition: TYPEs by family name, samples as (name, labels, value)."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        self.samples = []
        for raw in text.split("\n"):
            line = raw.rstrip("\r")
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    if parts[2] in self.types:
                        raise ValueError(f"second TYPE line for {parts[2]}")
                    kind = parts[3].strip()
                    if kind not in ("counter", "gauge", "summary", "histogram", "untyped"):
                        raise ValueError(f"bad TYPE: {line}")
                    self.types[parts[2]] = kind
                continue
            m = SAMPLE.match(line)
            if not m:
                raise ValueError(f"bad sample line: {line!r}")
            labels = self._labels(m.group(2), line) if m.group(2) else {}
            self.samples.append((m.group(1), labels, self._value(m.group(3), line)))
        for name, _, _ in self.samples:
            if self.type_of(name) is None:
                raise ValueError(f"sample {name} has no TYPE line")

    @staticmethod
    def _labels(text, line):
        body, pos, labels = text[1:-1], 0, {}
        while pos < len(body):
            m = LABEL.match(body, pos)
            if not m or m.end() == pos:
                raise ValueError(f"bad labels in: {line!r}")
            if m.group(1) in labels:
                raise ValueError(f"label {m.group(1)} twice in: {line!r}")
            labels[m.group(1)] = re.sub(r"\\(.)", lambda e: UNESCAPE.get(e.group(1), "\\" + e.group(1)), m.group(2))
            pos = m.end()
        return labels

    @staticmethod
    def _value(text, line):
        special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}
        if text in special:
            return special[text]
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"bad value in: {line!r}") from None

    def type_of(self, sample_name):
        """The TYPE of the family a sample belongs to: its own name's, or (a counter's
        `_total`, a summary's / histogram's `_count`, `_sum`, `_bucket`) its base's."""
        if sample_name in self.types:
            return self.types[sample_name]
        for suffix, kinds in (("_total", ("counter",)), ("_created", ("counter", "summary", "histogram")),
                              ("_count", ("summary", "histogram")), ("_sum", ("summary", "histogram")),
                              ("_bucket", ("histogram",))):
            if sample_name.endswith(suffix):
                kind = self.types.get(sample_name[: -len(suffix)])
                if kind in kinds:
                    return kind
        return None

    def label_sets(self, name):
        return {frozenset(labels) for n, labels, _ in self.samples if n == name}

    def names(self, prefix="kafka_"):
        return {n for n, _, _ in self.samples if n.startswith(prefix) and not n.endswith("_created")}

    def total(self, name, want, exact):
        """(sum, number of series) over the samples of name whose labels hold want."""
        total, n = 0.0, 0
        for sname, labels, value in self.samples:
            if sname != name:
                continue
            if (labels == want) if exact else all(labels.get(k) == v for k, v in want.items()):
                total += value
                n += 1
        return total, n


# --- the broker side: HTTP and the workload ----------------------------------------------


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


DUMP_DIR = None  # --dump: an exposition that does not parse is left there too


def scrape(label, port):
    try:
        status, ctype, body = http_get(port, "/metrics")
    except OSError as e:
        raise RuntimeError(f"{label}: GET http://127.0.0.1:{port}/metrics failed: {type(e).__name__}: {e}"
                           + (" (the keel broker serves no metrics endpoint there: does this keel build"
                              " have keel.metrics.port?)" if label.startswith("keel") else "")) from None
    if status != 200:
        raise RuntimeError(f"{label}: GET /metrics on port {port} answered HTTP {status}: {body[:200]!r}")
    try:
        return ctype, Scrape(body)
    except ValueError as e:
        kept = ""
        if DUMP_DIR:
            kept = os.path.join(DUMP_DIR, re.sub(r"\W+", "-", label) + "-unparsed.prom")
            with open(kept, "w") as f:
                f.write(body)
            kept = f" (kept in {kept})"
        raise RuntimeError(f"{label}: /metrics is not valid Prometheus text format 0.0.4: {e}{kept}") from None


def raw_call(bootstrap, key, version, body):
    """One request of our own on a fresh connection (header v1); returns the body."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        cid = b"keel-metrics-check"
        msg = struct.pack(">hhih", key, version, 7, len(cid)) + cid + body
        s.sendall(struct.pack(">i", len(msg)) + msg)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"{bootstrap} closed the connection (api key {key} v{version})")
            data += chunk
        if struct.unpack(">i", data[4:8])[0] != 7:
            raise RuntimeError(f"{bootstrap}: correlation id mismatch")
        return data[8:]


def workload(bootstrap):
    """The same workload on one broker; returns a short account of it."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    deadline = time.time() + 90
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="metrics-admin")
    try:
        admin.create_topics([NewTopic(name=TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
        while TOPIC not in admin.list_topics():
            if time.time() > deadline:
                raise RuntimeError(f"{bootstrap}: created topic {TOPIC} is not listed")
            time.sleep(0.2)
    finally:
        admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="metrics-producer")
    try:
        futures = [producer.send(TOPIC, value=(b"%08d" % i).ljust(RECORD_BYTES, b"."), partition=i % PARTITIONS)
                   for i in range(RECORDS)]
        for f in futures:
            f.get(timeout=30)
        producer.flush()
    finally:
        producer.close()

    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=GROUP, client_id="metrics-consumer",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        got = 0
        while got < RECORDS and time.time() < deadline:
            for batch in consumer.poll(timeout_ms=1000).values():
                got += len(batch)
        if got != RECORDS:
            raise RuntimeError(f"{bootstrap}: consumed {got} of {RECORDS} records")
        consumer.commit()
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        committed = sum(consumer.committed(tp) or 0 for tp in tps)
        if committed != RECORDS:
            raise RuntimeError(f"{bootstrap}: group {GROUP} committed offsets summing to {committed}, not {RECORDS}")
    finally:
        consumer.close()

    # ApiVersions v0 and Metadata v1 (topic metrics-t) of our own, whatever the client sent
    r = raw_call(bootstrap, 18, 0, b"")
    if struct.unpack(">h", r[:2])[0] != 0:
        raise RuntimeError(f"{bootstrap}: ApiVersions v0 answered error {struct.unpack('>h', r[:2])[0]}")
    topic = TOPIC.encode()
    raw_call(bootstrap, 3, 1, struct.pack(">ih", 1, len(topic)) + topic)
    return f"{RECORDS} records of {RECORD_BYTES} bytes produced (acks=all) and consumed, group committed"


# --- checks ----------------------------------------------------------------------------------


def check_reference(ref, expected, problems):
    """Check 1: Apache itself exports every EXPECTED series."""
    for name, labels in expected:
        sets = ref.label_sets(name)
        if labels in sets:
            continue
        if sets:
            have = ", ".join(sorted(show(name, s) for s in sets))
            problems.append(f"EXPECTED is wrong: Apache has no {show(name, labels)}, its {name} series are {have}")
        else:
            near = difflib.get_close_matches(name, sorted(ref.names("")), n=3, cutoff=0.75)
            problems.append(f"EXPECTED is wrong: Apache exports no {name}"
                            + (f" (nearest names: {', '.join(near)})" if near else ""))


def check_target(ref, tgt, expected, problems):
    """Check 2: the target exports every EXPECTED series with Apache's TYPE; any name both
    export has the same TYPE on both."""
    for name, labels in expected:
        sets = tgt.label_sets(name)
        if labels not in sets:
            have = (" (it has " + ", ".join(sorted(show(name, s) for s in sets)) + ")") if sets else ""
            problems.append(f"target: no {show(name, labels)}{have}")
    for name in sorted(ref.names("") & tgt.names("")):
        rt, tt = ref.type_of(name), tgt.type_of(name)
        if rt != tt:
            problems.append(f"target: {name} is a {tt}, Apache's is a {rt}")


def check_movement(label, scrape_, problems):
    ops = {"==": lambda a, b: a == b, ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}
    for desc, name, want, exact, how, bound in MOVEMENT:
        value, n = scrape_.total(name, want, exact)
        where = show(name, []) + ("{" + ",".join(f'{k}="{v}"' for k, v in want.items()) + "}" if want else "")
        if n == 0:
            problems.append(f"{label}: {desc}: no series {where}")
        elif not ops[how](value, bound):
            problems.append(f"{label}: {desc}: {where} is {value:g}, not {how} {bound}")


def check_keel_http(port, ctype, problems):
    """Check 5 (keel only): /ready, a 404, the content type of /metrics."""
    status, _, body = http_get(port, "/ready")
    if status != 200 or body.strip() != "ready":
        problems.append(f"target: GET /ready answered {status} {body.strip()[:60]!r}, not 200 'ready'")
    status, _, _ = http_get(port, "/no-such-path")
    if status != 404:
        problems.append(f"target: GET /no-such-path answered {status}, not 404")
    norm = ctype.replace(" ", "").lower()
    if not norm.startswith("text/plain") or "version=0.0.4" not in norm:
        problems.append(f"target: /metrics Content-Type is {ctype!r}, not text/plain; version=0.0.4")


def dump(args, label, scrape_):
    if not args.dump:
        return
    with open(os.path.join(args.dump, f"{label}.prom"), "w") as f:
        f.write(scrape_.text)
    with open(os.path.join(args.dump, f"{label}-names.txt"), "w") as f:
        f.write("".join(f"{n} {scrape_.type_of(n)}\n" for n in sorted(scrape_.names(""))))

# --- the cluster part: two brokers, replication ------------------------------------------
#
# --broker ID BOOTSTRAP METRICS_PORT, twice: two brokers of the target on one ZooKeeper
# (on the apache target both Apache under the agent, on keel both keel). The same
# workload and the same checks on both targets; Apache passing them is what proves them.
# Topic metrics-r with the explicit assignment {0: [A, B], 1: [B, A]}: partition 0 led by
# the first broker (A), partition 1 by the second (B), each broker the follower of the
# other's. RECORDS records (RECORDS / 2 per partition) produced with acks=all, all read
# back by a consumer with assigned partitions and no group (so no __consumer_offsets:
# the only replicated partitions are metrics-r's). Then both endpoints are scraped until
# every check holds or CLUSTER_WAIT_S pass (a follower's lag reaches 0 with its next
# fetch; some meters move only once a response is sent).

R_TOPIC = "metrics-r"
R_PARTITIONS = 2
CLUSTER_WAIT_S = 30
RT = {"topic": R_TOPIC}
LAG = "kafka_server_fetcherlagmetrics_consumerlag"
RFM = "kafka_server_replicafetchermanager_"
PART = "kafka_cluster_partition_"


def cluster_partitions(admin, topics=None):
    """{topic: {partition: (leader, replicas, isr)}} from a Metadata request."""
    out = {}
    for t in admin.describe_topics(topics):
        if t["error_code"] != 0:
            continue
        out[t["topic"]] = {p["partition"]: (p["leader"], list(p["replicas"]), sorted(p["isr"]))
                           for p in t["partitions"]}
    return out


def cluster_workload(admin, brokers):
    """Topic, records, consumer; returns a short account."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    a, b = brokers[0][0], brokers[1][0]
    assignment = {0: [a, b], 1: [b, a]}
    want = {p: (r[0], r, sorted(r)) for p, r in assignment.items()}
    boots = [x[1] for x in brokers]
    deadline = time.time() + 60
    admin.create_topics([NewTopic(name=R_TOPIC, num_partitions=-1, replication_factor=-1,
                                  replica_assignments=assignment)])
    while True:
        got = cluster_partitions(admin, [R_TOPIC]).get(R_TOPIC)
        if got == want:
            break
        if time.time() > deadline:
            raise RuntimeError(f"{R_TOPIC}: partitions (leader, replicas, isr) are {got}, not {want} after 60s")
        time.sleep(0.3)

    producer = KafkaProducer(bootstrap_servers=boots, acks="all", client_id="metrics-producer")
    try:
        futures = [producer.send(R_TOPIC, value=(b"%08d" % i).ljust(RECORD_BYTES, b"."), partition=i % R_PARTITIONS)
                   for i in range(RECORDS)]
        for f in futures:
            f.get(timeout=30)
        producer.flush()
    finally:
        producer.close()

    consumer = KafkaConsumer(bootstrap_servers=boots, group_id=None, client_id="metrics-consumer",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        tps = [TopicPartition(R_TOPIC, p) for p in range(R_PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = 0
        while got < RECORDS and time.time() < deadline + 30:
            for batch in consumer.poll(timeout_ms=1000).values():
                got += len(batch)
        if got != RECORDS:
            raise RuntimeError(f"consumed {got} of {RECORDS} records of {R_TOPIC}")
    finally:
        consumer.close()
    return (f"{R_TOPIC} replicas {assignment[0]} and {assignment[1]}, ISR full; "
            f"{RECORDS} records produced (acks=all) and consumed")


def expect(problems, label, desc, scrape_, name, want, exact, how, bound):
    """One check: the sum over the series of name whose labels hold want (exact: are
    exactly want) compared with bound by how (==, >=, >, <). Returns the sum (None when
    there is no such series)."""
    ops = {"==": lambda x, y: x == y, ">=": lambda x, y: x >= y, ">": lambda x, y: x > y,
           "<": lambda x, y: x < y}
    value, n = scrape_.total(name, want, exact)
    where = name + ("{" + ",".join(f'{k}="{v}"' for k, v in want.items()) + "}" if want else "")
    if n == 0:
        problems.append(f"{label}: {desc}: no series {where}")
        return None
    if not ops[how](value, bound):
        problems.append(f"{label}: {desc}: {where} is {value:g}, not {how} {bound:g}")
    return value


def cluster_checks(brokers, scrapes, meta, controller):
    """Every check of the cluster part on both brokers; returns (problems, figures)."""
    problems, figures = [], {}
    ids = [x[0] for x in brokers]
    active = [scrapes[i].total(CTRL + "activecontrollercount", {}, True)[0] for i in range(2)]
    if sum(active) != 1:
        problems.append(f"activecontrollercount over both brokers sums to {sum(active):g}, not 1 "
                        f"(broker {ids[0]}: {active[0]:g}, broker {ids[1]}: {active[1]:g})")
    for i, (bid, _, _) in enumerate(brokers):
        s, other, lab = scrapes[i], ids[1 - i], f"broker {bid}"
        led, followed = i, 1 - i  # partition i is led by brokers[i]
        fig = figures.setdefault(bid, {})

        # the follower side: ConsumerLag of the partition it follows, from the thread
        # fetching from the other broker; none for the partition it leads
        lag_labels = {"clientId": f"ReplicaFetcherThread-0-{other}", "topic": R_TOPIC, "partition": str(followed)}
        mine = [(labels, v) for n, labels, v in s.samples if n == LAG and labels.get("topic") == R_TOPIC]
        hit = [v for labels, v in mine if labels == lag_labels]
        if not hit:
            have = "; ".join(",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) for labels, _ in mine) or "none"
            problems.append(f"{lab}: no {LAG}{{clientId=\"{lag_labels['clientId']}\",topic=\"{R_TOPIC}\","
                            f"partition=\"{followed}\"}} (its {R_TOPIC} series: {have})")
        elif hit[0] != 0:
            problems.append(f"{lab}: {LAG} of {R_TOPIC}-{followed} (follower) is {hit[0]:g}, not 0")
        stray = [labels for labels, _ in mine if labels.get("partition") == str(led)]
        if stray:
            problems.append(f"{lab}: {LAG} for {R_TOPIC}-{led}, which it leads: {stray}")
        fig["lag"] = hit[0] if hit else None
        for metric in ("maxlag", "deadthreadcount", "failedpartitionscount"):
            expect(problems, lab, f"ReplicaFetcherManager {metric}", s, RFM + metric, {"clientId": "Replica"},
                   True, "==", 0)

        # replication traffic: it leads one partition (bytes out to the other) and
        # follows the other (bytes in from it); the followers' fetches are FetchFollower
        fig["rin"] = expect(problems, lab, "replication bytes in", s, BTM + "replicationbytesin_total", {}, True, ">", 0)
        fig["rout"] = expect(problems, lab, "replication bytes out", s, BTM + "replicationbytesout_total", {}, True, ">", 0)
        fig["ff"] = expect(problems, lab, "FetchFollower requests", s, RM + "requests_total",
                           {"request": "FetchFollower"}, False, ">", 0)
        bad = [labels for n, labels, _ in s.samples
               if n == RM + "requests_total" and labels.get("request") == "FetchFollower" and set(labels) != {"request", "version"}]
        if bad:
            problems.append(f"{lab}: {RM}requests_total FetchFollower series with labels other than request,version: {bad}")
        expect(problems, lab, "FetchFollower total times recorded", s, RM + "totaltimems_count_total",
               {"request": "FetchFollower"}, True, ">", 0)
        expect(problems, lab, "FetchConsumer requests", s, RM + "requests_total", {"request": "FetchConsumer"}, False, ">", 0)
        # Apache's RequestChannel counts a Fetch under the kind of fetcher and under the
        # API's name both (metricNames: FetchFollower or FetchConsumer, then Fetch)
        expect(problems, lab, "Fetch requests (follower and consumer fetches under the API's name too)", s,
               RM + "requests_total", {"request": "Fetch"}, False, ">", 0)
        expect(problems, lab, "Fetch total times recorded (under the API's name too)", s,
               RM + "totaltimems_count_total", {"request": "Fetch"}, True, ">", 0)

        # the Partition gauges count on the leader only
        for p, n in ((led, 2), (followed, 0)):
            where = {"topic": R_TOPIC, "partition": str(p)}
            role = "leader" if p == led else "follower"
            expect(problems, lab, f"in-sync replicas of {R_TOPIC}-{p} ({role})", s, PART + "insyncreplicascount", where, True, "==", n)
            expect(problems, lab, f"replicas of {R_TOPIC}-{p} ({role})", s, PART + "replicascount", where, True, "==", n)
            expect(problems, lab, f"{R_TOPIC}-{p} under-replicated ({role})", s, PART + "underreplicated", where, True, "==", 0)
        expect(problems, lab, "under-replicated partitions", s, REPL + "underreplicatedpartitions", {}, True, "==", 0)

        # ReplicaManager counts as the Metadata of every topic says
        leads = sum(1 for parts in meta.values() for (l, _, _) in parts.values() if l == bid)
        hosts = sum(1 for parts in meta.values() for (_, r, _) in parts.values() if bid in r)
        expect(problems, lab, f"leaders (Metadata: {leads})", s, REPL + "leadercount", {}, True, "==", leads)
        expect(problems, lab, f"partitions (Metadata: {hosts})", s, REPL + "partitioncount", {}, True, "==", hosts)

        # the controller's gauges: the cluster's figures on the controller, 0 elsewhere
        # (as Apache's KafkaController reports them when it is not active)
        ctl = bid == controller
        expect(problems, lab, f"active controller ({'the' if ctl else 'not the'} Metadata controller)", s,
               CTRL + "activecontrollercount", {}, True, "==", 1 if ctl else 0)
        expect(problems, lab, f"active brokers ({'controller' if ctl else 'not the controller'})", s,
               CTRL + "activebrokercount", {}, True, "==", 2 if ctl else 0)
        expect(problems, lab, f"partitions ({'controller' if ctl else 'not the controller'})", s,
               CTRL + "globalpartitioncount", {}, True, "==",
               sum(len(parts) for parts in meta.values()) if ctl else 0)

        # topic traffic is the clients' only: the leader counts the produced records,
        # the follower's appends are not messages in; consumer fetches are bytes out,
        # the followers' are replication bytes out only
        expect(problems, lab, f"messages in on {R_TOPIC} (the {RECORDS // 2} of the partition it leads)", s,
               BTM + "messagesin_total", RT, True, "==", RECORDS // 2)
        expect(problems, lab, f"messages in, all topics (the {RECORDS // 2} of the partition it leads)", s,
               BTM + "messagesin_total", {}, True, "==", RECORDS // 2)
        fig["out"] = expect(problems, lab, f"bytes out on {R_TOPIC}", s, BTM + "bytesout_total", RT, True, ">", 0)
        size = s.total("kafka_log_log_size", {"topic": R_TOPIC, "partition": str(led)}, True)[0]
        fig["size"] = size
        # each partition's data went to its follower, all of it: both replicas' logs end
        # at RECORDS / 2, and replication bytes cover the logs
        for p in (led, followed):
            where = {"topic": R_TOPIC, "partition": str(p)}
            expect(problems, lab, f"log end offset of {R_TOPIC}-{p}", s, "kafka_log_log_logendoffset", where, True, "==", RECORDS // 2)
            expect(problems, lab, f"log size of {R_TOPIC}-{p}", s, "kafka_log_log_size", where, True, ">", 0)
        fsize = s.total("kafka_log_log_size", {"topic": R_TOPIC, "partition": str(followed)}, True)[0]
        if size > 0:
            expect(problems, lab, f"replication bytes out at least the led partition's log ({size:g} bytes)", s,
                   BTM + "replicationbytesout_total", {}, True, ">=", size)
        if fsize > 0:
            expect(problems, lab, f"replication bytes in at least the followed partition's log ({fsize:g} bytes)", s,
                   BTM + "replicationbytesin_total", {}, True, ">=", fsize)
        if fig["out"] is not None and size > 0:
            # the consumer read the led partition once: at least its size, and less than
            # twice it (which is what a follower's fetches counted in it would make)
            expect(problems, lab, f"bytes out on {R_TOPIC} (led partition's log: {size:g} bytes) at least the log",
                   s, BTM + "bytesout_total", RT, True, ">=", size)
            expect(problems, lab, f"bytes out on {R_TOPIC} less than twice the led partition's log ({size:g} bytes)",
                   s, BTM + "bytesout_total", RT, True, "<", 2 * size)
            if fig["rout"] is not None:
                expect(problems, lab, "bytes out on the topic, less than all bytes out plus replication bytes out",
                       s, BTM + "bytesout_total", RT, True, "<",
                       s.total(BTM + "bytesout_total", {}, True)[0] + fig["rout"])
    return problems, figures


def cluster_main(args):
    from kafka import KafkaAdminClient

    brokers = [(int(i), boot, int(port)) for i, boot, port in args.broker]
    labels = [f"{args.target} broker {b[0]}" for b in brokers]
    try:
        for (bid, _, port), lab in zip(brokers, labels):
            scrape(lab, port)
        admin = KafkaAdminClient(bootstrap_servers=[b[1] for b in brokers], client_id="metrics-admin")
        try:
            done = cluster_workload(admin, brokers)
            deadline = time.time() + CLUSTER_WAIT_S
            while True:
                meta = cluster_partitions(admin)
                controller = admin.describe_cluster()["controller_id"]
                scrapes = [scrape(lab, b[2])[1] for b, lab in zip(brokers, labels)]
                problems, figures = cluster_checks(brokers, scrapes, meta, controller)
                if not problems or time.time() > deadline:
                    break
                time.sleep(1)
        finally:
            admin.close()
    except Exception as e:  # a broker down, a client error, a malformed exposition
        print(f"{type(e).__name__}: {e}")
        return 1
    if args.dump:
        for b, s in zip(brokers, scrapes):
            dump(args, f"cluster-broker-{b[0]}", s)
    if problems:
        for p in problems:
            print(p)
        return 1
    per = "; ".join(
        f"broker {bid}{' (controller)' if bid == controller else ''}: consumerlag 0, "
        f"replication bytes in {f['rin']:g} out {f['rout']:g}, FetchFollower requests {f['ff']:g}, "
        f"bytesout{{topic={R_TOPIC}}} {f['out']:g} (led log {f['size']:g})"
        for bid, f in figures.items())
    print(f"{done}; every follower/replication check passes on both: {per}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("apache", "keel"), required=True)
    ap.add_argument("--ref", nargs=2, metavar=("BOOTSTRAP", "METRICS_PORT"))
    ap.add_argument("--tgt", nargs=2, metavar=("BOOTSTRAP", "METRICS_PORT"))
    ap.add_argument("--broker", nargs=3, action="append", metavar=("ID", "BOOTSTRAP", "METRICS_PORT"),
                    help="the cluster part: twice, the two brokers (instead of --ref and --tgt)")
    ap.add_argument("--dump")
    args = ap.parse_args()
    global DUMP_DIR
    DUMP_DIR = args.dump
    if args.broker:
        if len(args.broker) != 2 or args.ref or args.tgt:
            ap.error("the cluster part takes --broker twice and neither --ref nor --tgt")
        return cluster_main(args)
    if not (args.ref and args.tgt):
        ap.error("--ref and --tgt are required (or --broker twice)")
    expected = expected_series()
    ref_boot, ref_port = args.ref[0], int(args.ref[1])
    tgt_boot, tgt_port = args.tgt[0], int(args.tgt[1])
    tgt_label = f"{args.target} target"
    problems = []
    try:
        # Before any load: the target's endpoint is up at all (a clear message early).
        scrape(tgt_label, tgt_port)
        workload(ref_boot)
        done = workload(tgt_boot)
        # A broker updates some meters only once a response is sent: scrape again for a
        # while until both show the workload.
        deadline = time.time() + 15
        while True:
            _, ref = scrape("Apache reference", ref_port)
            tgt_ctype, tgt = scrape(tgt_label, tgt_port)
            problems = []
            check_movement("Apache", ref, problems)
            check_movement("target", tgt, problems)
            if not problems or time.time() > deadline:
                break
            time.sleep(1)
    except Exception as e:  # a broker down, a client error, a malformed exposition
        print(f"{type(e).__name__}: {e}")
        return 1
    dump(args, "reference", ref)
    dump(args, "target", tgt)
    check_reference(ref, expected, problems)
    check_target(ref, tgt, expected, problems)
    if args.target == "keel":
        check_keel_http(tgt_port, tgt_ctype, problems)
    ref_names, tgt_names = ref.names(), tgt.names()
    if args.dump:
        with open(os.path.join(args.dump, "apache-names-target-lacks.txt"), "w") as f:
            f.write("".join(f"{n}\n" for n in sorted(ref_names - tgt_names)))
    if problems:
        for p in problems:
            print(p)
        return 1
    extra = len(tgt_names - ref_names)
    print(f"{len(expected)} EXPECTED series in Apache's and the target's output with Apache's TYPEs; "
          f"{done} on both, {len(MOVEMENT)} movement checks pass on both "
          f"(messagesin{{topic={TOPIC}}}={tgt.total(BTM + 'messagesin_total', T, False)[0]:g}, "
          f"logendoffset sum={tgt.total('kafka_log_log_logendoffset', T, False)[0]:g}); "
          f"{len(tgt_names & ref_names)}/{len(ref_names)} of Apache's kafka_* names"
          + (f", {extra} of its own" if extra else "")
          + ("; /ready 200, other paths 404" if args.target == "keel" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

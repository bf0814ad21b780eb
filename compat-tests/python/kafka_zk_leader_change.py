"""kafka_zk_leader_change: the client side of suites/kafka-zk-leader-change.sh.

    kafka_zk_leader_change.py stream BOOTSTRAP TOPIC CTL_DIR
        A kafka-python producer (acks=all) sends one numbered record every 20 ms and waits
        for each acknowledgement; a consumer (partition 0 assigned, from the beginning)
        reads alongside. Writes CTL_DIR/ready once a record went round. When CTL_DIR/elected
        appears (the suite saw a new ZooKeeper leader) it notes the count; when
        CTL_DIR/stop appears it stops producing, lets the consumer catch up, and checks:
        every acknowledged record consumed exactly once, offsets contiguous, and at least
        MIN_AFTER records acknowledged and consumed after the re-election.
    kafka_zk_leader_change.py roundtrip BOOTSTRAP TOPIC N
        N records produced (acks=all) to TOPIC and read back from the beginning, in order.
    kafka_zk_leader_change.py znodes HOSTS BROKER_ID OWNER|- TOPIC...
        For each ZooKeeper server in HOSTS (comma separated), over a session to that server
        alone, after sync: /brokers/ids/BROKER_ID exists, is ephemeral and (unless OWNER is
        -) still owned by the session OWNER (hex: the broker never re-registered);
        /brokers/topics/TOPIC exists for each TOPIC; /controller exists. Prints
        `owner=0x...` (the ephemeral owner seen) on success.

Prints one summary line on stdout; exits 1 with the reason on stderr on failure.
"""
import logging
import os
import sys
import threading
import time

logging.basicConfig(level=logging.ERROR)

RECORD_INTERVAL_S = 0.02
MIN_AFTER = 20            # records that must go round after the re-election
CATCH_UP_S = 60


def fail(why):
    print("kafka_zk_leader_change: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


def stream(bootstrap, topic, ctl):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    acked = []              # (n, offset, time)
    errors = []
    consumed = []           # (offset, value)
    done = threading.Event()
    stop_consumer = threading.Event()

    def produce():
        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=2147483647,
                          request_timeout_ms=30000, max_block_ms=60000, linger_ms=0)
        n = 0
        while not os.path.exists(os.path.join(ctl, "stop")):
            try:
                md = p.send(topic, value=("r-%d" % n).encode()).get(timeout=60)
                acked.append((n, md.offset, time.time()))
            except Exception as e:  # noqa: BLE001 -- any failed send is counted and reported
                errors.append("r-%d: %r" % (n, e))
            n += 1
            time.sleep(RECORD_INTERVAL_S)
        p.close(timeout=30)
        done.set()

    def consume():
        c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        while not stop_consumer.is_set():
            for _, batch in c.poll(timeout_ms=500).items():
                for r in batch:
                    consumed.append((r.offset, r.value.decode()))
        c.close()

    pt = threading.Thread(target=produce, daemon=True)
    ct = threading.Thread(target=consume, daemon=True)
    pt.start()
    ct.start()
    deadline = time.time() + 120
    while not (acked and consumed):
        if time.time() > deadline:
            fail("no record went round in 120 s (send errors: %s)" % errors[:3])
        time.sleep(0.1)
    open(os.path.join(ctl, "ready"), "w").close()

    elected_at = None
    mark = None
    while not done.is_set():
        if mark is None and os.path.exists(os.path.join(ctl, "elected")):
            mark = len(acked)
            elected_at = time.time()
        time.sleep(0.1)
    if mark is None:
        mark = len(acked)
    want = {"r-%d" % n: off for n, off, _ in acked}
    deadline = time.time() + CATCH_UP_S
    while time.time() < deadline and not set(want) <= {v for _, v in consumed}:
        time.sleep(0.2)
    stop_consumer.set()
    ct.join(10)

    times = [t for _, _, t in acked]
    gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    by_value = {}
    for off, v in consumed:
        by_value.setdefault(v, []).append(off)
    missing = [v for v in want if v not in by_value]
    twice = [v for v, offs in by_value.items() if len(offs) > 1]
    wrong = [v for v, off in want.items() if v in by_value and by_value[v][0] != off]
    offsets = sorted(off for off, _ in consumed)
    holes = [o for a, o in zip(offsets, offsets[1:]) if o != a + 1]
    after = len(acked) - mark
    after_consumed = sum(1 for n, _, _ in acked[mark:] if "r-%d" % n in by_value)
    summary = ("acked %d (%d after re-election, %d of them consumed), consumed %d, send errors %d, "
               "longest gap between acks %.1fs" % (len(acked), after, after_consumed, len(consumed),
                                                   len(errors), gap))
    print(summary, flush=True)
    if errors:
        print("send errors: %s" % errors[:5], file=sys.stderr)
    problems = []
    if missing:
        problems.append("%d acknowledged records never consumed (e.g. %s)" % (len(missing), missing[:3]))
    if twice:
        problems.append("%d records consumed twice" % len(twice))
    if wrong:
        problems.append("%d records at another offset than acknowledged" % len(wrong))
    if holes:
        problems.append("offset holes after %s" % holes[:3])
    if after < MIN_AFTER or after_consumed < MIN_AFTER:
        problems.append("only %d records acked / %d consumed after the re-election (want %d)" % (
            after, after_consumed, MIN_AFTER))
    if problems:
        fail("; ".join(problems) + " | " + summary)


def roundtrip(bootstrap, topic, n):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=2147483647,
                      request_timeout_ms=30000, max_block_ms=60000)
    for i in range(n):
        p.send(topic, value=("n-%d" % i).encode()).get(timeout=60)
    p.close(timeout=30)
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = []
    deadline = time.time() + 60
    while len(got) < n and time.time() < deadline:
        for _, batch in c.poll(timeout_ms=500).items():
            got.extend(r.value.decode() for r in batch)
    c.close()
    if got != ["n-%d" % i for i in range(n)]:
        fail("roundtrip on %s: produced %d, read back %r" % (topic, n, got[:5]))
    print("roundtrip %s: %d records produced and read back in order" % (topic, n))


def znodes(hosts, broker_id, owner, topics):
    from kazoo.client import KazooClient

    seen = set()
    for host in hosts.split(","):
        c = KazooClient(hosts=host, timeout=15)
        try:
            c.start(timeout=30)
            c.sync("/brokers/ids")
            path = "/brokers/ids/%s" % broker_id
            got = c.exists(path)
            if got is None:
                fail("%s: %s is missing" % (host, path))
            if got.ephemeralOwner == 0:
                fail("%s: %s is not ephemeral" % (host, path))
            seen.add(got.ephemeralOwner)
            if owner != "-" and got.ephemeralOwner != int(owner, 16):
                fail("%s: %s is owned by session 0x%x, was 0x%s (the broker re-registered)" % (
                    host, path, got.ephemeralOwner, owner))
            for t in topics:
                if c.exists("/brokers/topics/" + t) is None:
                    fail("%s: /brokers/topics/%s is missing" % (host, t))
            if c.exists("/controller") is None:
                fail("%s: /controller is missing" % host)
        finally:
            c.stop()
            c.close()
    if len(seen) != 1:
        fail("servers disagree on the owner of /brokers/ids/%s: %s" % (broker_id, sorted(seen)))
    print("owner=0x%x" % seen.pop())


def main():
    mode = sys.argv[1]
    if mode == "stream":
        stream(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "roundtrip":
        roundtrip(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "znodes":
        znodes(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()

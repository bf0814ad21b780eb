"""kafka_cluster: the client side of suites/kafka-cluster.sh.

    kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR [GROUP]
        An idempotent kafka-python producer (acks=all) sends numbered, keyed records
        (spread over the topic's partitions) and waits for each acknowledgement,
        through whatever the suite does to the brokers meanwhile. It writes
        CTL_DIR/acked (the count so far) as it goes. When CTL_DIR/stop appears it stops,
        then a fresh consumer reads every partition from the beginning to its end
        offset and checks: every acknowledged record is there exactly once, at the
        partition and offset it was acknowledged with, and no record was written twice
        (idempotence across leader changes). Prints `acked=N failed_sends=N records=N`.
        With GROUP, a consumer group member (subscribe, commit after every poll, as
        Logstash's kafka input does) reads along the whole time; at the end it must
        have seen every acknowledged record, its committed offsets must have reached
        the end of every partition and never gone backwards (`group_commits=N`).

Exits 1 with the reason on stderr on failure.
"""
import logging
import os
import sys
import threading
import time

logging.basicConfig(level=logging.ERROR)

RECORD_INTERVAL_S = 0.01
CATCH_UP_S = 120


def fail(why):
    print("kafka_cluster: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


def group_member(bootstrap, topic, group, ctl, state):
    """Reads TOPIC in GROUP until CTL/stop and then until caught up with state['ends']."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=30000, request_timeout_ms=40000)
    last_committed = {}
    while True:
        try:
            batches = consumer.poll(timeout_ms=500)
            for tp, messages in batches.items():
                for message in messages:
                    state["seen"].add(message.value.decode())
            if batches:
                consumer.commit()
                state["commits"] += 1
                for tp in batches:
                    committed = consumer.committed(tp)
                    if committed is not None:
                        if committed < last_committed.get(tp.partition, -1):
                            state["errors"].append("partition %d committed offset went back from %d to %d"
                                                   % (tp.partition, last_committed[tp.partition], committed))
                        last_committed[tp.partition] = committed
        except Exception as e:  # noqa: BLE001 -- retried, as a long-running consumer does
            state["retries"] += 1
            state["last_error"] = repr(e)
            time.sleep(0.5)
        ends = state.get("ends")
        if ends is not None:
            done = all(last_committed.get(p, 0) >= end for p, end in ends.items())
            if done or time.time() > state["deadline"]:
                state["committed"] = dict(last_committed)
                break
    consumer.close()


def stream(bootstrap, topic, ctl, group=None):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    acked = {}  # n -> (partition, offset)
    failed = []
    member_state = {"seen": set(), "commits": 0, "retries": 0, "errors": [], "last_error": ""}
    member = None
    if group:
        member = threading.Thread(target=group_member,
                                  args=(bootstrap, topic, group, ctl, member_state), daemon=True)
        member.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             retries=2147483647, request_timeout_ms=30000,
                             delivery_timeout_ms=120000, max_block_ms=120000, linger_ms=0,
                             max_in_flight_requests_per_connection=1)
    n = 0
    last_report = 0.0
    while not os.path.exists(os.path.join(ctl, "stop")):
        try:
            md = producer.send(topic, key=("k-%d" % n).encode(),
                               value=("r-%d" % n).encode()).get(timeout=150)
            acked[n] = (md.partition, md.offset)
        except Exception as e:  # noqa: BLE001 -- a failed send is allowed, counted
            failed.append("r-%d: %r" % (n, e))
        n += 1
        now = time.time()
        if now - last_report > 0.2:
            with open(os.path.join(ctl, "acked.tmp"), "w") as f:
                f.write("%d\n" % len(acked))
            os.replace(os.path.join(ctl, "acked.tmp"), os.path.join(ctl, "acked"))
            last_report = now
        time.sleep(RECORD_INTERVAL_S)
    producer.close(timeout=30)
    if not acked:
        fail("no record was acknowledged (%d failed: %s)" % (len(failed), failed[:3]))

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    partitions = sorted(consumer.partitions_for_topic(topic) or [])
    if not partitions:
        fail("no partitions for %s" % topic)
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    seen = {}  # value -> list of (partition, offset)
    deadline = time.time() + CATCH_UP_S
    while time.time() < deadline:
        for message in consumer:
            seen.setdefault(message.value.decode(), []).append((message.partition, message.offset))
        if all(consumer.position(tp) >= ends[tp] for tp in tps):
            break
    consumer.close()
    missing = [n for n, where in acked.items() if where not in seen.get("r-%d" % n, [])]
    if missing:
        n = missing[0]
        fail("%d acknowledged records missing, e.g. r-%d acked at %s, found at %s"
             % (len(missing), n, acked[n], seen.get("r-%d" % n)))
    twice = {v: w for v, w in seen.items() if len(w) > 1}
    if twice:
        v, w = next(iter(twice.items()))
        fail("%d records written more than once, e.g. %s at %s" % (len(twice), v, w))
    summary = "acked=%d failed_sends=%d records=%d" % (len(acked), len(failed),
                                                       sum(len(w) for w in seen.values()))
    if member is not None:
        member_state["deadline"] = time.time() + CATCH_UP_S
        member_state["ends"] = {tp.partition: ends[tp] for tp in tps}
        member.join(CATCH_UP_S + 30)
        if member_state["errors"]:
            fail("group member: " + member_state["errors"][0])
        committed = member_state.get("committed") or {}
        behind = {p: (committed.get(p), end) for p, end in member_state["ends"].items()
                  if committed.get(p, 0) < end}
        if behind:
            fail("group member's committed offsets short of the end (partition: (committed, end)): %s; last error %s"
                 % (behind, member_state["last_error"]))
        unseen = [n for n in acked if "r-%d" % n not in member_state["seen"]]
        if unseen:
            fail("group member never saw %d acknowledged records, e.g. r-%d" % (len(unseen), unseen[0]))
        summary += " group_commits=%d group_retries=%d" % (member_state["commits"],
                                                           member_state["retries"])
    print(summary)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "stream":
        stream(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        fail("usage: kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR [GROUP]")


if __name__ == "__main__":
    main()

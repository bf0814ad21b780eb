"""kafka_cluster: the client side of suites/kafka-cluster.sh.

    kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR [GROUP] [--acks1]
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
        With --acks1, a second producer sends along as Filebeat does (acks=1, not
        idempotent, retrying). Kafka promises less for those: a record acknowledged by
        a leader that is being replaced may be truncated away when the new leader
        takes over, and a retried send may land twice. So each of its acknowledged
        records must be at its acknowledged partition and offset, unless it was
        acknowledged during a broker replacement (the suite appends `START END` epoch
        seconds to CTL_DIR/replacements for each); a second copy is allowed in such a
        window only. Prints `acks1_acked=N acks1_lost=N acks1_twice=N`.

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
# A replacement window opens a little before the suite's timestamp (clocks are the
# same machine's; this covers the suite's own latency in writing it).
WINDOW_SLACK_S = 2.0


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


def acks1_producer(bootstrap, topic, ctl, state):
    """Sends `one-N` records with acks=1 until CTL/stop; state['acked'][n] = (partition, offset, time)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, retries=2147483647,
                             request_timeout_ms=30000, delivery_timeout_ms=120000,
                             max_block_ms=120000, linger_ms=0,
                             max_in_flight_requests_per_connection=1)
    n = 0
    while not os.path.exists(os.path.join(ctl, "stop")):
        try:
            md = producer.send(topic, key=("o-%d" % n).encode(),
                               value=("one-%d" % n).encode()).get(timeout=150)
            state["acked"][n] = (md.partition, md.offset, time.time())
        except Exception as e:  # noqa: BLE001 -- a failed send is allowed, counted
            state["failed"].append("one-%d: %r" % (n, e))
        n += 1
        time.sleep(RECORD_INTERVAL_S)
    producer.close(timeout=30)


def replacement_windows(ctl):
    windows = []
    try:
        with open(os.path.join(ctl, "replacements")) as f:
            for line in f:
                start, end = line.split()
                windows.append((float(start) - WINDOW_SLACK_S, float(end) + WINDOW_SLACK_S))
    except FileNotFoundError:
        pass
    return windows


def check_acks1(state, seen, windows):
    """Kafka's acks=1 promise, as module docs say; returns the summary or fails."""
    def in_window(t):
        return any(start <= t <= end for start, end in windows)

    lost = []
    for n, (partition, offset, t) in state["acked"].items():
        if (partition, offset) in seen.get("one-%d" % n, []):
            continue
        if not in_window(t):
            fail("acks=1 record one-%d acknowledged at %s, %.1fs after the run began and outside "
                 "every broker replacement, is not there (found at %s)"
                 % (n, (partition, offset), t - state["began"], seen.get("one-%d" % n)))
        lost.append(n)
    twice = 0
    for n, (_, _, t) in state["acked"].items():
        if len(seen.get("one-%d" % n, [])) > 1:
            if not in_window(t):
                fail("acks=1 record one-%d written more than once (%s) outside every broker replacement"
                     % (n, seen["one-%d" % n]))
            twice += 1
    if not state["acked"]:
        fail("no acks=1 record was acknowledged (%d failed: %s)"
             % (len(state["failed"]), state["failed"][:3]))
    return "acks1_acked=%d acks1_lost=%d acks1_twice=%d acks1_failed_sends=%d" % (
        len(state["acked"]), len(lost), twice, len(state["failed"]))


def stream(bootstrap, topic, ctl, group=None, with_acks1=False):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    acked = {}  # n -> (partition, offset)
    failed = []
    member_state = {"seen": set(), "commits": 0, "retries": 0, "errors": [], "last_error": ""}
    member = None
    if group:
        member = threading.Thread(target=group_member,
                                  args=(bootstrap, topic, group, ctl, member_state), daemon=True)
        member.start()
    acks1_state = {"acked": {}, "failed": [], "began": time.time()}
    acks1 = None
    if with_acks1:
        acks1 = threading.Thread(target=acks1_producer, args=(bootstrap, topic, ctl, acks1_state),
                                 daemon=True)
        acks1.start()
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
    if acks1 is not None:
        acks1.join(200)
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
    summary_acks1 = ""
    present_acks1 = []
    if acks1 is not None:
        summary_acks1 = " " + check_acks1(acks1_state, seen, replacement_windows(ctl))
        present_acks1 = [v for v in seen if v.startswith("one-")]
        seen = {v: w for v, w in seen.items() if not v.startswith("one-")}
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
    summary += summary_acks1
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
        unseen = [v for v in present_acks1 if v not in member_state["seen"]]
        if unseen:
            fail("group member never saw %d acks=1 records in the log, e.g. %s" % (len(unseen), unseen[0]))
        summary += " group_commits=%d group_retries=%d" % (member_state["commits"],
                                                           member_state["retries"])
    print(summary)


def main():
    args = [a for a in sys.argv[1:] if a != "--acks1"]
    if len(args) >= 4 and args[0] == "stream":
        stream(args[1], args[2], args[3], args[4] if len(args) > 4 else None,
               with_acks1="--acks1" in sys.argv)
    else:
        fail("usage: kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR [GROUP] [--acks1]")


if __name__ == "__main__":
    main()

"""kafka_cluster: the client side of suites/kafka-cluster.sh.

    kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR
        An idempotent kafka-python producer (acks=all) sends numbered, keyed records
        (spread over the topic's partitions) and waits for each acknowledgement,
        through whatever the suite does to the brokers meanwhile. It writes
        CTL_DIR/acked (the count so far) as it goes. When CTL_DIR/stop appears it stops,
        then a fresh consumer reads every partition from the beginning to its end
        offset and checks: every acknowledged record is there exactly once, at the
        partition and offset it was acknowledged with, and no record was written twice
        (idempotence across leader changes). Prints `acked=N failed_sends=N records=N`.

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


def stream(bootstrap, topic, ctl):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    acked = {}  # n -> (partition, offset)
    failed = []
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
    print("acked=%d failed_sends=%d records=%d" % (len(acked), len(failed),
                                                  sum(len(w) for w in seen.values())))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "stream":
        stream(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail("usage: kafka_cluster.py stream BOOTSTRAP TOPIC CTL_DIR")


if __name__ == "__main__":
    main()

"""kafka_fault_group: the consumer group member of the Kafka fault suite.

    python kafka_fault_group.py <bootstrap> <topic> <group> <stop-file> <log-file> <count-file>

One kafka-python KafkaConsumer in group <group> (subscribed to <topic>, auto commit
off) polls and commits what it consumed after every poll that returned records, through
whatever the suite does to the brokers. Beside it, an observer (a KafkaAdminClient)
fetches the group's committed offsets every OBSERVE_EVERY_S, as the brokers report
them: the suite checks that they never go backwards. When <stop-file> exists (the suite
stops the producer first), the member consumes on until its position reaches every
partition's end offset (at most CATCH_UP_S), commits, and the observer reads the
committed offsets a last time. Log lines, tab-separated, wall-clock ms first:

    <ms> consumed <partition> <first offset> <last offset> <records>
    <ms> commit <p>=<offset>,...             (acknowledged by the coordinator)
    <ms> commit-fail <error>
    <ms> committed <p>=<offset>,... <ms the request was sent>   (the observer)
    <ms> observe-fail <error>
    <ms> final <p>=<position>/<end offset>,...
    <ms> final-committed <p>=<offset>,... <ms the request was sent>

<count-file> holds "<records consumed> <ms of the last poll that returned records>".
"""

import logging
import os
import sys
import threading
import time

logging.basicConfig(level=logging.ERROR)

POLL_MS = 500
OBSERVE_EVERY_S = 1.0
CATCH_UP_S = 120
COMMIT_TIMEOUT_MS = 30000
FINAL_OBSERVE_TRIES_MAX = 20


def now_ms():
    return int(time.time() * 1000)


def main():
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    bootstrap, topic, group, stop_file, log_file, count_file = sys.argv[1:7]
    log = open(log_file, "a", buffering=1)
    lock = threading.Lock()
    stopping = threading.Event()

    def write(*cols):
        with lock:
            log.write("\t".join(str(c) for c in (now_ms(),) + cols) + "\n")

    def fmt(offsets):
        return ",".join("%d=%d" % (tp.partition, off) for tp, off in sorted(offsets.items(), key=lambda kv: kv[0].partition))

    def observe():
        admin = None
        final_tries = 0
        while final_tries < FINAL_OBSERVE_TRIES_MAX:
            last = stopping.is_set()
            final_tries += 1 if last else 0
            try:
                if admin is None:
                    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
                asked_ms = now_ms()
                got = admin.list_consumer_group_offsets(group)
                offsets = {tp: om.offset for tp, om in got.items() if tp.topic == topic}
                write("final-committed" if last else "committed", fmt(offsets), asked_ms)
            except Exception as e:  # noqa: BLE001 - brokers come and go here
                write("observe-fail", repr(e).replace("\t", " ").replace("\n", " "))
                if admin is not None:
                    try:
                        admin.close()
                    except Exception:  # noqa: BLE001
                        pass
                    admin = None
                if last:
                    time.sleep(OBSERVE_EVERY_S)
                    continue
            if last:
                break
            time.sleep(OBSERVE_EVERY_S)
        if admin is not None:
            admin.close()

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=3000,
                             request_timeout_ms=30000)
    observer = threading.Thread(target=observe, daemon=True)
    observer.start()
    consumed = 0
    last_ms = 0

    def poll_and_commit():
        nonlocal consumed, last_ms
        batches = consumer.poll(timeout_ms=POLL_MS)
        if not batches:
            return
        for tp, records in batches.items():
            write("consumed", tp.partition, records[0].offset, records[-1].offset, len(records))
            consumed += len(records)
        last_ms = now_ms()
        offsets = {tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in batches}
        try:
            consumer.commit(offsets, timeout_ms=COMMIT_TIMEOUT_MS)
            write("commit", fmt({tp: om.offset for tp, om in offsets.items()}))
        except Exception as e:  # noqa: BLE001 - a rebalance or a lost coordinator; the next poll retries
            write("commit-fail", repr(e).replace("\t", " ").replace("\n", " "))
        with open(count_file + ".tmp", "w") as f:
            f.write("%d %d\n" % (consumed, last_ms))
        os.replace(count_file + ".tmp", count_file)

    while not os.path.exists(stop_file):
        try:
            poll_and_commit()
        except Exception as e:  # noqa: BLE001 - keep consuming through faults
            write("poll-fail", repr(e).replace("\t", " ").replace("\n", " "))
            time.sleep(0.5)

    deadline = time.time() + CATCH_UP_S
    ends = {}
    while time.time() < deadline:
        try:
            assigned = consumer.assignment()
            if assigned:
                ends = consumer.end_offsets(list(assigned))
                if all(consumer.position(tp) >= ends[tp] for tp in assigned) and len(assigned) == len(
                        consumer.partitions_for_topic(topic) or []):
                    offsets = {tp: OffsetAndMetadata(consumer.position(tp), "", -1) for tp in assigned}
                    consumer.commit(offsets, timeout_ms=COMMIT_TIMEOUT_MS)
                    write("commit", fmt({tp: om.offset for tp, om in offsets.items()}))
                    break
            poll_and_commit()
        except Exception as e:  # noqa: BLE001
            write("poll-fail", repr(e).replace("\t", " ").replace("\n", " "))
            time.sleep(0.5)
    positions = {}
    for tp in consumer.assignment():
        try:
            positions[tp] = "%d/%d" % (consumer.position(tp), ends.get(tp, -1))
        except Exception:  # noqa: BLE001
            positions[tp] = "?/?"
    write("final", ",".join("%d=%s" % (tp.partition, v) for tp, v in sorted(positions.items(), key=lambda kv: kv[0].partition)))
    stopping.set()
    observer.join(timeout=60)
    consumer.close()
    log.close()


if __name__ == "__main__":
    main()

"""kafka_fault_writer: the producer of the Kafka fault suite (scripts/kafka-fault-suite).

    python kafka_fault_writer.py <bootstrap> <topic> <partitions> <stop-file> <log-file> <count-file>

One idempotent kafka-python producer (acks=all, unbounded retries, one request in flight
per connection) sends records key "k-<n>", value "r-<n>" until <stop-file> exists,
spreading them over the partitions round robin. Sends are asynchronous with at most
INFLIGHT_PER_PARTITION_MAX unanswered per partition, so a partition whose leader is
stuck does not stop the others: the suite sees acks=all continue on the partitions
that still have min.insync.replicas. Every outcome is logged, tab-separated, wall-clock
milliseconds first:

    <ms> ok   <n> <partition> <offset> <leader the producer's metadata named>
    <ms> fail <n> <partition> <error>
    <ms> summary acked=<n> failed=<n>

<count-file> holds "<acked> <ms of the last ack> <ms of the last ack of partition 0> ..."
(rewritten every COUNT_EVERY_S) for
the suite's progress waits. On <stop-file> the producer stops sending and waits for
every outstanding record's outcome.

Planted bugs (the suite's --plant, to prove its checks can fail):
    PLANT_FAKE_ACK=N   record N is logged as acknowledged (at the next offset of its
                       partition) without being sent
    PLANT_DUPLICATE=1  at the end a second producer (a fresh producer id) sends the
                       first acknowledged record once more
"""

import logging
import os
import sys
import threading
import time

logging.basicConfig(level=logging.ERROR)

INFLIGHT_PER_PARTITION_MAX = 5
SEND_PAUSE_S = 0.01
FULL_PAUSE_S = 0.05
COUNT_EVERY_S = 0.2
FLUSH_TIMEOUT_S = 150


def now_ms():
    return int(time.time() * 1000)


def main():
    from kafka import KafkaProducer, TopicPartition

    bootstrap, topic, partitions, stop_file, log_file, count_file = sys.argv[1:7]
    partitions = int(partitions)
    fake_ack = int(os.environ.get("PLANT_FAKE_ACK", "-1"))
    plant_duplicate = os.environ.get("PLANT_DUPLICATE") == "1"
    log = open(log_file, "a", buffering=1)
    lock = threading.Lock()
    inflight = [0] * partitions
    next_offset = [0] * partitions
    acked = {"n": 0, "last_ms": 0, "failed": 0, "first": None}
    last_ms_by_partition = [0] * partitions

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             retries=2147483647, request_timeout_ms=30000,
                             delivery_timeout_ms=120000, max_block_ms=120000, linger_ms=0,
                             max_in_flight_requests_per_connection=1)

    def leader_of(p):
        try:
            return producer._metadata.leader_for_partition(TopicPartition(topic, p))
        except Exception:  # noqa: BLE001 - only a hint in the log
            return -1

    def on_ok(n, p, md):  # kafka-python passes the callback's own arguments first
        leader = leader_of(p)
        with lock:
            inflight[p] -= 1
            acked["n"] += 1
            acked["last_ms"] = now_ms()
            last_ms_by_partition[md.partition] = acked["last_ms"]
            next_offset[p] = max(next_offset[p], md.offset + 1)
            if acked["first"] is None:
                acked["first"] = (n, p)
            log.write("%d\tok\t%d\t%d\t%d\t%s\n" % (now_ms(), n, md.partition, md.offset, leader))

    def on_fail(n, p, e):
        with lock:
            inflight[p] -= 1
            acked["failed"] += 1
            log.write("%d\tfail\t%d\t%d\t%s\n" % (now_ms(), n, p, repr(e).replace("\t", " ").replace("\n", " ")))

    def write_count():
        with lock:
            text = "%d %d %s\n" % (acked["n"], acked["last_ms"], " ".join(map(str, last_ms_by_partition)))
        with open(count_file + ".tmp", "w") as f:
            f.write(text)
        os.replace(count_file + ".tmp", count_file)

    n = 0
    p = 0
    last_count = 0.0
    while not os.path.exists(stop_file):
        if time.time() - last_count > COUNT_EVERY_S:
            write_count()
            last_count = time.time()
        with lock:
            free = [q for q in range(partitions) if inflight[(p + q) % partitions] < INFLIGHT_PER_PARTITION_MAX]
        if not free:
            time.sleep(FULL_PAUSE_S)
            continue
        p = (p + free[0]) % partitions
        if n == fake_ack:
            with lock:
                log.write("%d\tok\t%d\t%d\t%d\t%s\n" % (now_ms(), n, p, next_offset[p], "planted"))
        else:
            with lock:
                inflight[p] += 1
            try:
                fut = producer.send(topic, key=("k-%d" % n).encode(), value=("r-%d" % n).encode(), partition=p)
                fut.add_callback(on_ok, n, p)
                fut.add_errback(on_fail, n, p)
            except Exception as e:  # noqa: BLE001 - a send that cannot even be queued
                on_fail(n, p, e)
        n += 1
        p = (p + 1) % partitions
        time.sleep(SEND_PAUSE_S)

    try:
        producer.flush(timeout=FLUSH_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001
        log.write("%d\tflush-error\t%r\n" % (now_ms(), e))
    producer.close(timeout=30)
    write_count()

    if plant_duplicate and acked["first"] is not None:
        dn, dp = acked["first"]
        second = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        md = second.send(topic, key=("k-%d" % dn).encode(), value=("r-%d" % dn).encode(), partition=dp).get(timeout=60)
        second.close(timeout=30)
        log.write("%d\tplanted-duplicate\t%d\t%d\t%d\n" % (now_ms(), dn, md.partition, md.offset))

    log.write("%d\tsummary\tacked=%d\tfailed=%d\tattempted=%d\n" % (now_ms(), acked["n"], acked["failed"], n))
    log.close()


if __name__ == "__main__":
    main()

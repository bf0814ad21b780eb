"""confluent-kafka (librdkafka) against one broker: AdminClient creates a topic, a
Producer writes keyed records (delivery reports checked), a Consumer in a group reads
them all from the beginning and commits synchronously, committed offsets match the high
watermarks, the topic is deleted.

    confluent_kafka_client.py BOOTSTRAP TOPIC GROUP [RECORDS]
"""
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def fail(why):
    print("confluent-kafka: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    bootstrap, topic, group = sys.argv[1:4]
    records = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    partitions = 3
    deadline = time.time() + 90

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    md = admin.list_topics(topic, timeout=30)
    if topic not in md.topics or len(md.topics[topic].partitions) != partitions:
        fail("metadata after create: %r" % (md.topics,))
    # Every topic (no name): librdkafka's Metadata v12 request for all topics carries
    # bytes after its body, which Kafka ignores.
    every = admin.list_topics(timeout=30)
    if topic not in every.topics:
        fail("list_topics() without a name does not list %s: %r" % (topic, sorted(every.topics)))

    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg.offset())

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(records):
        producer.produce(topic, key="host-%d" % (i % 11), value="line %d" % i, on_delivery=on_delivery)
        producer.poll(0)
    if producer.flush(30) != 0 or errors or len(delivered) != records:
        fail("delivered %d, errors %r" % (len(delivered), errors[:3]))

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = set()
    while len(seen) < records and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            fail("consume: %s" % m.error())
        v = m.value().decode()
        if v in seen:
            fail("record %r consumed twice" % v)
        seen.add(v)
    if len(seen) != records:
        fail("consumed %d of %d records" % (len(seen), records))
    consumer.commit(asynchronous=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=30)}
    highs = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    consumer.close()
    if committed != highs or sum(highs.values()) != records:
        fail("committed %r, high watermarks %r" % (committed, highs))
    admin.delete_topics([topic])[topic].result(30)
    print("librdkafka %s: list_topics() lists every topic, %d records produced, consumed once each in group %s, committed = high watermarks %s"
          % (confluent_kafka.libversion()[0], records, group, sorted(highs.values())))


if __name__ == "__main__":
    main()

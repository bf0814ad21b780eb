"""kafka-python against one broker: the admin client creates a topic, a producer writes
keyed records, a consumer in a group reads them all from the beginning and commits, the
committed offsets match the end offsets, the admin client lists the group's offsets and
deletes the topic.

    kafka_python_client.py BOOTSTRAP TOPIC GROUP [RECORDS]

Prints one summary line; exits 1 with the reason on failure.
"""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def fail(why):
    print("kafka-python: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    bootstrap, topic, group = sys.argv[1:4]
    records = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    partitions = 3
    deadline = time.time() + 90

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-admin")
    admin.create_topics([NewTopic(name=topic, num_partitions=partitions, replication_factor=1)])
    # CreateTopics answers once the controller has the topic; a broker's metadata
    # (what list_topics reads) may follow a moment later, in KRaft mode above all.
    listed_by = time.time() + 30
    while topic not in admin.list_topics():
        if time.time() > listed_by:
            fail("created topic %s is not listed" % topic)
        time.sleep(0.2)
    described = admin.describe_topics([topic])
    if len(described) != 1 or len(described[0]["partitions"]) != partitions:
        fail("describe_topics: %r" % (described,))

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                             key_serializer=str.encode, value_serializer=str.encode)
    futures = [producer.send(topic, key="host-%d" % (i % 11), value="line %d" % i)
               for i in range(records)]
    for f in futures:
        md = f.get(timeout=30)
        if md.offset < 0:
            fail("record acknowledged without an offset")
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             value_deserializer=bytes.decode)
    seen = set()
    last = {}
    while len(seen) < records and time.time() < deadline:
        for tp, batch in consumer.poll(timeout_ms=1000).items():
            for r in batch:
                if r.offset <= last.get(tp.partition, -1):
                    fail("partition %d went back to offset %d" % (tp.partition, r.offset))
                last[tp.partition] = r.offset
                if r.value in seen:
                    fail("record %r consumed twice" % r.value)
                seen.add(r.value)
    if len(seen) != records:
        fail("consumed %d of %d records" % (len(seen), records))
    consumer.commit()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    ends = consumer.end_offsets(tps)
    committed = {tp: consumer.committed(tp) for tp in tps}
    consumer.close()
    if any(committed[tp] != ends[tp] for tp in tps) or sum(ends.values()) != records:
        fail("committed %r, end offsets %r" % (committed, ends))

    if hasattr(admin, "list_consumer_group_offsets"):
        listed = admin.list_consumer_group_offsets(group)
    else:
        # kafka-python 3.x renamed it: list_group_offsets({group: None}) -> {group: {tp: om}}
        listed = admin.list_group_offsets({group: None})[group]
    got = {tp.partition: om.offset for tp, om in listed.items() if tp.topic == topic}
    if got != {tp.partition: ends[tp] for tp in tps}:
        fail("list_consumer_group_offsets: %r, end offsets %r" % (got, ends))
    admin.delete_topics([topic])
    admin.close()
    print("admin create/list/describe/delete, %d records produced, consumed once each in group %s, "
          "committed = end offsets %s" % (records, group, sorted(got.values())))


if __name__ == "__main__":
    main()

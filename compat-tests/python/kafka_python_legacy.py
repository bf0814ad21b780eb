"""kafka-python speaking the protocol of old brokers, as 0.9/0.10-era applications do:
a producer pinned to api_version (0, 9) (Produce v1, message format v0) or (0, 10, 0)
(Produce v2, message format v1, timestamps), uncompressed and gzip; the end offset read
with ListOffsets v0 (a consumer pinned to (0, 9), what Burrow-era monitors send); every
record read back, in order, by a current consumer and by a consumer pinned to the same
api_version (Fetch v1 / v2: message formats v0 / v1, down-converted by the broker).

    kafka_python_legacy.py BOOTSTRAP TOPIC API_VERSION COMPRESSION [RECORDS]

API_VERSION is 0.9 or 0.10.0; COMPRESSION is none or gzip. Prints one summary line;
exits 1 with the reason on failure.
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def fail(why):
    print("kafka-python legacy: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    bootstrap, topic, api_text, compression = sys.argv[1:5]
    records = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    api_version = tuple(int(part) for part in api_text.split("."))
    with_timestamps = api_version >= (0, 10, 0)

    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=api_version, acks=1,
                             compression_type=None if compression == "none" else compression,
                             linger_ms=5, value_serializer=str.encode)
    base_ms = int(time.time() * 1000) - 60_000
    futures = []
    for i in range(records):
        kwargs = {"timestamp_ms": base_ms + i} if with_timestamps else {}
        futures.append(producer.send(topic, value="legacy line %d" % i, partition=0, **kwargs))
    offsets = [f.get(timeout=30).offset for f in futures]
    producer.flush()
    producer.close()
    if offsets != list(range(offsets[0], offsets[0] + records)):
        fail("acknowledged offsets are not contiguous: %r..." % offsets[:5])

    tp = TopicPartition(topic, 0)
    old = KafkaConsumer(bootstrap_servers=bootstrap, api_version=(0, 9))
    end = old.end_offsets([tp])[tp]
    begin = old.beginning_offsets([tp])[tp]
    old.close()
    if end != offsets[-1] + 1 or begin != 0:
        fail("ListOffsets v0 gave [%d, %d), expected [0, %d)" % (begin, end, offsets[-1] + 1))

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, value_deserializer=bytes.decode)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    got = []
    deadline = time.time() + 60
    while len(got) < records and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            got.extend(batch)
    consumer.close()
    values = [r.value for r in got]
    if values != ["legacy line %d" % i for i in range(records)]:
        fail("read back %d records, first differences: %r" % (len(values), values[:3]))
    if with_timestamps and [r.timestamp for r in got] != [base_ms + i for i in range(records)]:
        fail("timestamps were not kept: %r" % [r.timestamp for r in got][:3])
    if not with_timestamps and any(r.timestamp != -1 for r in got):
        fail("format v0 records should read back without a timestamp (-1): %r" % got[0].timestamp)
    # The same records through the old Fetch versions (v1 for 0.9, v2 for 0.10.0): the
    # broker down-converts them to message format v0 / v1.
    old_consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 value_deserializer=bytes.decode)
    old_consumer.assign([tp])
    old_consumer.seek(tp, 0)
    old_got = []
    deadline = time.time() + 60
    while len(old_got) < records and time.time() < deadline:
        for batch in old_consumer.poll(timeout_ms=1000).values():
            old_got.extend(batch)
    old_consumer.close()
    if [r.value for r in old_got] != values or [r.offset for r in old_got] != list(range(records)):
        fail("the old Fetch read %d records, first: %r" % (len(old_got), [(r.offset, r.value) for r in old_got][:3]))
    print("api_version %s %s: %d records acked at offsets 0..%d, ListOffsets v0 [%d, %d), "
          "read back in order%s by a current consumer and by an api_version %s consumer"
          % (api_text, compression, records, records - 1, begin, end,
             " with their timestamps" if with_timestamps else "", api_text))


if __name__ == "__main__":
    main()

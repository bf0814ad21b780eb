"""burrow_offsets: the consumer-side actions of the kafka-burrow suite.

    burrow_offsets.py commit BOOTSTRAP TOPIC GROUP O0,O1,...|end
        A consumer of GROUP subscribed to TOPIC (a real group member: JoinGroup,
        SyncGroup) reads each partition from the group's committed position up to the
        given offset (or to the partition's end offset), pauses it there, then commits
        exactly those offsets (OffsetCommit), and leaves. Prints "p0=O0 p1=O1 ...".
    burrow_offsets.py zk-commit ZK GROUP TOPIC O0,O1,...
        Commits offsets the way the ZooKeeper-era (Scala) consumer did:
        /consumers/GROUP/offsets/TOPIC/<partition> holds the offset in decimal,
        partitions written in order.
    burrow_offsets.py zk-rm ZK PATH...
        Deletes the znodes recursively (cleanup; missing ones are fine).
    burrow_offsets.py group-rm BOOTSTRAP GROUP
        Deletes the consumer group (cleanup, best effort).

Exits 1 with the reason on stderr on failure.
"""
import sys
import time


def fail(why):
    print("burrow_offsets: " + why, file=sys.stderr)
    sys.exit(1)


def offset_and_metadata(offset):
    """OffsetAndMetadata(offset, "", no leader epoch): kafka-python 2.1+ has the leader
    epoch field, 2.0.x (Debian bookworm's python3-kafka 2.0.2) only offset and metadata."""
    from kafka.structs import OffsetAndMetadata
    if "leader_epoch" in OffsetAndMetadata._fields:
        return OffsetAndMetadata(offset, "", -1)
    return OffsetAndMetadata(offset, "")


def commit(bootstrap, topic, group, targets_text):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             max_poll_records=50, session_timeout_ms=10000)
    deadline = time.time() + 60
    while not consumer.assignment():
        consumer.poll(timeout_ms=500)
        if time.time() > deadline:
            fail("no partition of %s assigned to the member of %s in 60 s" % (topic, group))
    tps = sorted(consumer.assignment(), key=lambda tp: tp.partition)
    if targets_text == "end":
        ends = consumer.end_offsets(tps)
        targets = {tp: ends[tp] for tp in tps}
    else:
        wanted = [int(x) for x in targets_text.split(",")]
        if len(wanted) != len(tps):
            fail("%d offsets given, %d partitions assigned" % (len(wanted), len(tps)))
        targets = {tp: wanted[tp.partition] for tp in tps}

    done = set()
    while len(done) < len(tps):
        for tp in tps:
            if tp not in done and consumer.position(tp) >= targets[tp]:
                consumer.pause(tp)
                done.add(tp)
        if len(done) == len(tps):
            break
        for tp, records in consumer.poll(timeout_ms=500).items():
            if tp in done:
                continue
            for r in records:
                if r.offset >= targets[tp]:
                    consumer.seek(tp, targets[tp])
                    break
        if time.time() > deadline:
            fail("positions %s did not reach %s in 60 s" % (
                {tp.partition: consumer.position(tp) for tp in tps},
                {tp.partition: o for tp, o in targets.items()}))
    consumer.commit({tp: offset_and_metadata(targets[tp]) for tp in tps})
    committed = {tp.partition: consumer.committed(tp) for tp in tps}
    consumer.close()
    for tp in tps:
        if committed[tp.partition] != targets[tp]:
            fail("partition %d: committed %r, expected %d" % (tp.partition, committed[tp.partition], targets[tp]))
    print(" ".join("p%d=%d" % (tp.partition, targets[tp]) for tp in tps))


def zk_client(connect):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=connect, timeout=15)
    zk.start(timeout=20)
    return zk


def zk_commit(connect, group, topic, offsets_text):
    zk = zk_client(connect)
    base = "/consumers/%s/offsets/%s" % (group, topic)
    for partition, offset in enumerate(offsets_text.split(",")):
        path = "%s/%d" % (base, partition)
        data = str(int(offset)).encode()
        if zk.exists(path):
            zk.set(path, data)
        else:
            zk.create(path, data, makepath=True)
    zk.stop()
    zk.close()


def zk_rm(connect, paths):
    zk = zk_client(connect)
    for path in paths:
        zk.delete(path, recursive=True)
    zk.stop()
    zk.close()


def group_rm(bootstrap, group):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.delete_consumer_groups([group])
    admin.close()


def main():
    if len(sys.argv) < 2:
        fail("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "commit" and len(args) == 4:
        commit(*args)
    elif cmd == "zk-commit" and len(args) == 4:
        zk_commit(*args)
    elif cmd == "zk-rm" and len(args) >= 2:
        zk_rm(args[0], args[1:])
    elif cmd == "group-rm" and len(args) == 2:
        group_rm(*args)
    else:
        fail("bad arguments: %r" % sys.argv[1:])


if __name__ == "__main__":
    main()

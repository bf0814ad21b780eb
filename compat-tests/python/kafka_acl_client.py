"""kafka_acl_client: kafka-python and confluent-kafka (librdkafka) under a broker's ACLs.

    kafka_acl_client.py kafka-python    SASL_ADDR RUN RECORDS
    kafka_acl_client.py confluent-kafka SASL_ADDR RUN RECORDS
    kafka_acl_client.py wait-consume    SASL_ADDR USER TOPIC SECONDS
    kafka_acl_client.py produce         SASL_ADDR USER TOPIC RECORDS

Every user logs in with SASL PLAIN, password "<user>-secret" (suites/kafka-acl.sh's JAAS
users); RUN is the run's suffix and the resource names are the suite's (see its header):
alice may Write+Describe+Read acl-w-RUN (literal), Read group acl-g-RUN (literal),
Read+Describe topics acl-logs-RUN-* (prefixed) except Read on acl-logs-RUN-secret
(a literal DENY), Write+Describe+Create+Read topics acl-app-RUN-* and Read groups
acl-g-RUN-* (prefixed, the --producer/--consumer forms); acl-none-RUN has no ACL; bob has
none at all. acl-logs-RUN-a holds the admin's records (the suite writes them first).

kafka-python: as alice, each client behaviour the ACLs decide (see kafka_python() below).
confluent-kafka: as alice, a producer and a consumer group on alice's own acl-app-RUN-ck /
  acl-g-RUN-ck; a produce to acl-none-RUN and to acl-logs-RUN-a (Describe, no Write) gets
  the delivery error TOPIC_AUTHORIZATION_FAILED.
wait-consume: a kafka-python consumer as USER (partition 0 assigned, no group) until it
  reads a record of TOPIC, at most SECONDS, a fresh consumer per attempt.
produce: RECORDS records to TOPIC as USER, every one acknowledged (acks=all).
Prints one summary line; exits 1 with the reason on stderr on failure.
"""
import sys
import time


def fail(why):
    print("kafka_acl_client: " + why, file=sys.stderr)
    sys.exit(1)


def kp_sec(user):
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
            "sasl_plain_username": user, "sasl_plain_password": user + "-secret"}


def ck_sec(user):
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": user, "sasl.password": user + "-secret"}


def kp_produce(bootstrap, user, topic, values):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=-1, linger_ms=5, max_block_ms=10000,
                             request_timeout_ms=10000, retries=0, **kp_sec(user))
    try:
        futures = [producer.send(topic, value=v.encode()) for v in values]
        return [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=5)


def kp_refused(what, exc_name, fn):
    """FN must raise kafka-python's EXC_NAME; returns a note."""
    try:
        fn()
    except Exception as e:  # the client's own error type is what is checked
        if type(e).__name__ != exc_name:
            fail("%s: %s: %s, expected %s" % (what, type(e).__name__, e, exc_name))
        return "%s: %s" % (what, exc_name)
    fail("%s: allowed, expected %s" % (what, exc_name))


def kp_consume(bootstrap, user, topic, want, group=None, seconds=30):
    """Reads until WANT records (partition 0 assigned, or subscribed in GROUP); commits in a group."""
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, **kp_sec(user))
    try:
        if group:
            consumer.subscribe([topic])
        else:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
        got = []
        deadline = time.time() + seconds
        while len(got) < want and time.time() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(r.value.decode() for r in batch)
        if group and got:
            consumer.commit()
        return got
    finally:
        consumer.close()


def kp_topics(bootstrap, user):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **kp_sec(user))
    try:
        return set(consumer.topics())
    finally:
        consumer.close()


def kafka_python(bootstrap, run, records):
    from kafka import KafkaAdminClient
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePattern, ResourcePatternFilter, ResourceType)
    from kafka_python_compat import KP3
    t0 = time.time()
    notes = []
    t_w, t_none, t_a, t_sec = "acl-w-" + run, "acl-none-" + run, "acl-logs-%s-a" % run, "acl-logs-%s-secret" % run

    # 1. Write on acl-w: every record acknowledged
    want = ["kafka-python alice %d" % i for i in range(records)]
    metas = kp_produce(bootstrap, "alice", t_w, want)
    notes.append("%d records to %s acknowledged" % (len(metas), t_w))
    # 2. no ACL at all: the Metadata answer refuses the topic (error 29)
    notes.append(kp_refused("produce to " + t_none, "TopicAuthorizationFailedError",
                            lambda: kp_produce(bootstrap, "alice", t_none, ["no"])))
    # 3. Describe but no Write: the Produce answer refuses it
    notes.append(kp_refused("produce to " + t_a, "TopicAuthorizationFailedError",
                            lambda: kp_produce(bootstrap, "alice", t_a, ["no"])))
    # 4. group acl-g (Read) reads acl-w back and commits
    got = kp_consume(bootstrap, "alice", t_w, records, group="acl-g-" + run)
    if got != want:
        fail("group acl-g-%s read %d of %d records back (%r...)" % (run, len(got), records, got[:3]))
    notes.append("group acl-g-%s read them back and committed" % run)
    # 5. a group without an ACL
    notes.append(kp_refused("group acl-h-" + run, "GroupAuthorizationFailedError",
                            lambda: kp_consume(bootstrap, "alice", t_w, 1, group="acl-h-" + run, seconds=15)))
    # 6. Read by the prefix acl-logs-RUN-
    got = kp_consume(bootstrap, "alice", t_a, 1)
    if not got:
        fail("%s (Read by the prefix acl-logs-%s-): no record read" % (t_a, run))
    notes.append("%s read by the prefix (%d records)" % (t_a, len(got)))
    # 7. the DENY wins over the prefix's ALLOW
    notes.append(kp_refused("read of " + t_sec + " (DENY Read)", "TopicAuthorizationFailedError",
                            lambda: kp_consume(bootstrap, "alice", t_sec, 1, seconds=15)))
    # 8. all topics: exactly those alice may Describe
    want_topics = {t_w, t_a, t_sec, "acl-app-%s-ck" % run, "acl-app-%s-c39" % run, "acl-app-%s-c22" % run}
    topics = kp_topics(bootstrap, "alice")
    if topics != want_topics:
        fail("alice's topics: %r, expected %r" % (sorted(topics), sorted(want_topics)))
    topics = kp_topics(bootstrap, "bob")
    if topics:
        fail("bob (no ACLs) sees topics %r" % sorted(topics))
    notes.append("topics() lists alice's %d topics, none for bob" % len(want_topics))
    # 9. the admin API: ACLs need the cluster; CreateTopics needs Create
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000, **kp_sec("alice"))
    try:
        any_filter = ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                               permission_type=ACLPermissionType.ANY,
                               resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        notes.append(kp_refused("describe_acls", "ClusterAuthorizationFailedError", lambda: admin.describe_acls(any_filter)))
        acl = ACL("User:alice", "*", ACLOperation.ALL, ACLPermissionType.ALLOW,
                  ResourcePattern(ResourceType.TOPIC, t_none, ACLResourcePatternType.LITERAL))
        res = admin.create_acls([acl])
        # 2.x lists (acl, error class) per failure, 3.x the error class alone
        failed = [(f if KP3 else f[1]).__name__ for f in res["failed"]]
        if res["succeeded"] or failed != ["ClusterAuthorizationFailedError"]:
            fail("create_acls as alice: %r" % res)
        notes.append("create_acls: ClusterAuthorizationFailedError")
        # CreateTopics, each topic's result: no Create for acl-new-RUN; the prefix
        # acl-app-RUN- grants Create (--producer)
        new_denied, new_ok = "acl-new-" + run, "acl-app-%s-new" % run
        if KP3:
            # 3.x: the public create_topics gives each topic's result (raise_errors=False),
            # at the CreateTopics version it negotiates with the broker
            res = admin.create_topics({new_denied: {"num_partitions": 1, "replication_factor": 1},
                                       new_ok: {"num_partitions": 1, "replication_factor": 1}},
                                      timeout_ms=30000, raise_errors=False)
            results = {t["name"]: (t["error_code"], t["error_message"]) for t in res["topics"]}
            version = "(negotiated)"
        else:
            # 2.x: its create_topics raises on the first error, so CreateTopics v3 (the
            # protocol class) sent to the controller the admin client found when it started
            from kafka.protocol.admin import CreateTopicsRequest
            req = CreateTopicsRequest[3](create_topic_requests=[(new_denied, 1, 1, [], []), (new_ok, 1, 1, [], [])],
                                         timeout=30000, validate_only=False)
            future = admin._send_request_to_node(admin._controller_id, req)
            admin._wait_for_futures([future])
            results = {t: (code, msg) for t, code, msg in future.value.topic_errors}
            version = "v3"
        if results != {new_denied: (29, "Authorization failed."), new_ok: (0, None)}:
            fail("CreateTopics %s as alice: %r, expected %s 29 'Authorization failed.' and %s created" % (version, results, new_denied, new_ok))
        notes.append("CreateTopics %s: %s error 29 'Authorization failed.', %s created (Create by the prefix)" % (version, new_denied, new_ok))
    finally:
        admin.close()
    print("kafka-python as alice: %s [%.1fs]" % ("; ".join(notes), time.time() - t0))


def confluent(bootstrap, run, records):
    from confluent_kafka import Consumer, Producer
    t0 = time.time()
    topic, group = "acl-app-%s-ck" % run, "acl-g-%s-ck" % run
    want = ["confluent-kafka alice %d" % i for i in range(records)]

    def produce(topic, values):
        done, errors = [], []

        def on_delivery(err, msg):
            (errors if err else done).append(err or msg.offset())
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                             "message.timeout.ms": 20000, **ck_sec("alice")})
        for v in values:
            producer.produce(topic, value=v.encode(), on_delivery=on_delivery)
            producer.poll(0)
        left = producer.flush(30)
        return done, errors, left

    done, errors, left = produce(topic, want)
    if errors or left or len(done) != records:
        fail("%s: %d of %d delivered, %d left, errors %r" % (topic, len(done), records, left, [str(e) for e in errors[:3]]))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, **ck_sec("alice")})
    consumer.subscribe([topic])
    got = []
    deadline = time.time() + 60
    while len(got) < records and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            fail("consumer group %s: %s" % (group, m.error()))
        got.append(m.value().decode())
    if got:
        consumer.commit(asynchronous=False)
    consumer.close()
    if got != want:
        fail("group %s read %d of %d records back" % (group, len(got), records))
    refused = []
    for t in ("acl-none-" + run, "acl-logs-%s-a" % run):
        done, errors, left = produce(t, ["must not arrive"])
        names = [e.name() for e in errors]
        if done or names != ["TOPIC_AUTHORIZATION_FAILED"]:
            fail("produce to %s: delivered %r, errors %r, expected the delivery error TOPIC_AUTHORIZATION_FAILED" % (
                t, done, [str(e) for e in errors]))
        refused.append("%s: %s (%s)" % (t, names[0], errors[0].str()))
    print("confluent-kafka as alice: %d records to %s, read back in group %s (prefixed ACLs); %s [%.1fs]" % (
        records, topic, group, "; ".join(refused), time.time() - t0))


def wait_consume(bootstrap, user, topic, seconds):
    t0 = time.time()
    last = None
    while time.time() - t0 < float(seconds):
        try:
            got = kp_consume(bootstrap, user, topic, 1, seconds=3)
            if got:
                print("kafka-python consumer as %s read %s after %.1fs" % (user, topic, time.time() - t0))
                return
            last = "no record"
        except Exception as e:
            last = "%s: %s" % (type(e).__name__, e)
        time.sleep(0.5)
    fail("kafka-python consumer as %s: no record of %s within %ss (last: %s)" % (user, topic, seconds, last))


def produce(bootstrap, user, topic, records):
    t0 = time.time()
    metas = kp_produce(bootstrap, user, topic, ["%s record %d" % (user, i) for i in range(records)])
    print("kafka-python as %s: %d records to %s acknowledged (partition %d, offsets %d..%d) [%.1fs]" % (
        user, len(metas), topic, metas[0].partition, metas[0].offset, metas[-1].offset, time.time() - t0))


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        fail(__doc__)
    if a[0] == "kafka-python":
        kafka_python(a[1], a[2], int(a[3]))
    elif a[0] == "confluent-kafka":
        confluent(a[1], a[2], int(a[3]))
    elif a[0] == "wait-consume":
        wait_consume(a[1], a[2], a[3], a[4])
    elif a[0] == "produce":
        produce(a[1], a[2], a[3], int(a[4]))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()

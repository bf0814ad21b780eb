"""kafka_sasl_client: kafka-python and confluent-kafka (librdkafka) through a SASL listener.

    kafka_sasl_client.py roundtrip CLIENT BOOTSTRAP TOPIC MECHANISM USER PASSWORD RECORDS [--acks all] [--api-version 0.10.0] [--group]
    kafka_sasl_client.py consume   CLIENT BOOTSTRAP TOPIC MECHANISM USER PASSWORD RECORDS
    kafka_sasl_client.py refused   CLIENT BOOTSTRAP TOPIC MECHANISM USER PASSWORD
    kafka_sasl_client.py create-topics BOOTSTRAP PARTITIONS REPLICATION MIN_ISR TOPIC...

CLIENT is kafka-python or confluent-kafka; MECHANISM is PLAIN, SCRAM-SHA-256,
SCRAM-SHA-512, or "none" (security protocol PLAINTEXT: no SASL at all).

roundtrip: a producer writes RECORDS records (keys and values numbered; every delivery
  acknowledged, offsets contiguous per partition), then a consumer reads them all back
  from the beginning, each once: with --group in a consumer group (subscribe), else
  assigned to every partition. With --api-version (kafka-python only) both are pinned
  to that broker version; for 0.10.0 the script also asserts that kafka-python
  authenticates with SaslHandshake v0 and unframed tokens (the legacy exchange).
consume: reads RECORDS records from the beginning of partition 0 and prints each value
  on a line.
refused: a producer that must not get one record acknowledged (wrong credentials, or
  no SASL on a SASL listener); prints the error the client gave. Exits 1 if the record
  was acknowledged.
create-topics: kafka-python's admin client (PLAINTEXT bootstrap) creates the topics,
  with min.insync.replicas=MIN_ISR.
Prints one summary line; exits 1 with the reason on stderr on failure.
"""
import logging
import sys
import time


def fail(why):
    print("kafka_sasl_client: " + why, file=sys.stderr)
    sys.exit(1)


def kp_security(mechanism, user, password):
    if mechanism == "none":
        return {"security_protocol": "PLAINTEXT"}
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
            "sasl_plain_username": user, "sasl_plain_password": password}


def ck_security(mechanism, user, password):
    if mechanism == "none":
        return {"security.protocol": "PLAINTEXT"}
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}


# --- kafka-python ---------------------------------------------------------------------------

def kp_produce(bootstrap, topic, sec, records, acks, api_version, prefix):
    from kafka import KafkaProducer
    from kafka_python_compat import client_class, connected, sasl_handshake_version
    extra = {"api_version": api_version} if api_version else {}
    clients = []

    def make_client(**config):  # the producer's kafka_client option: keep the client to look at its connections
        clients.append(client_class()(**config))
        return clients[-1]

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=acks, linger_ms=5,
                             key_serializer=str.encode, value_serializer=str.encode,
                             request_timeout_ms=30000, kafka_client=make_client, **sec, **extra)
    futures = [producer.send(topic, key="k%d" % i, value="%s %d" % (prefix, i)) for i in range(records)]
    metas = [f.get(timeout=60) for f in futures]
    # the SaslHandshake version each authenticated connection used (kafka-python's
    # BrokerConnection, 3.x's KafkaConnection, picks it from the broker's or the pinned
    # version's API table)
    handshake_versions = set()
    for client in clients:
        for conn in connected(client):
            handshake_versions.add(sasl_handshake_version(conn))
    producer.close()
    return metas, handshake_versions


def kp_consume(bootstrap, topic, sec, records, api_version, group, partitions=None):
    from kafka import KafkaConsumer, TopicPartition
    extra = {"api_version": api_version} if api_version else {}
    opts = dict(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                enable_auto_commit=False, value_deserializer=bytes.decode, **sec, **extra)
    if group:
        consumer = KafkaConsumer(group_id=group, **opts)
        consumer.subscribe([topic])
    else:
        consumer = KafkaConsumer(**opts)
        tps = [TopicPartition(topic, p) for p in (partitions or [0])]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
    got = []
    deadline = time.time() + 60
    while len(got) < records and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            got.extend(batch)
    if group and got:
        consumer.commit()
    consumer.close()
    return [r.value for r in got]


# --- confluent-kafka -----------------------------------------------------------------------

def ck_produce(bootstrap, topic, sec, records, acks, prefix):
    from confluent_kafka import Producer
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": acks,
                         "message.timeout.ms": 30000, **sec})
    for i in range(records):
        producer.produce(topic, key="k%d" % i, value="%s %d" % (prefix, i), on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(45)
    return delivered, errors, left


def ck_consume(bootstrap, topic, sec, records, group):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group or "kafka-sasl-unused",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, **sec})
    if group:
        consumer.subscribe([topic])
    else:
        consumer.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 60
    while len(got) < records and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            fail("consume: %s" % m.error())
        got.append(m.value().decode())
    if group and got:
        consumer.commit(asynchronous=False)
    consumer.close()
    return got


# --- commands --------------------------------------------------------------------------------

def roundtrip(client, bootstrap, topic, mechanism, user, password, records, opts):
    acks = opts.get("--acks", "1")
    api = tuple(int(p) for p in opts["--api-version"].split(".")) if "--api-version" in opts else None
    group = ("sasl-%s-%s" % (client, topic)) if "--group" in opts else None
    prefix = "%s %s %s" % (client, mechanism, topic)
    want = ["%s %d" % (prefix, i) for i in range(records)]
    t0 = time.time()
    note = ""
    if client == "kafka-python":
        sec = kp_security(mechanism, user, password)
        metas, hs = kp_produce(bootstrap, topic, sec, records, -1 if acks == "all" else int(acks), api, prefix)
        by_part = {}
        for m in metas:
            by_part.setdefault(m.partition, []).append(m.offset)
        if api == (0, 10, 0):
            if hs != {0}:
                fail("kafka-python pinned to 0.10.0 used SaslHandshake versions %r, expected only v0" % sorted(hs))
            note = ", SaslHandshake v0 with unframed tokens"
        elif mechanism != "none" and hs != {1}:
            fail("kafka-python used SaslHandshake versions %r, expected v1" % sorted(hs))
        got = kp_consume(bootstrap, topic, sec, records, api, group, partitions=sorted(by_part))
    else:
        sec = ck_security(mechanism, user, password)
        delivered, errors, left = ck_produce(bootstrap, topic, sec, records, acks, prefix)
        if errors or left or len(delivered) != records:
            fail("delivered %d of %d, %d left, errors %r" % (len(delivered), records, left, errors[:3]))
        by_part = {}
        for p, o in delivered:
            by_part.setdefault(p, []).append(o)
        got = ck_consume(bootstrap, topic, sec, records, group)
    for p, offs in by_part.items():
        offs.sort()
        if offs != list(range(offs[0], offs[0] + len(offs))):
            fail("partition %d: acknowledged offsets not contiguous: %r..." % (p, offs[:5]))
    if sorted(got) != sorted(want) or len(got) != records:
        missing = sorted(set(want) - set(got))
        fail("read back %d of %d records (%d missing, e.g. %r; %d duplicates)" % (
            len(got), records, len(missing), missing[:3], len(got) - len(set(got))))
    if len(by_part) == 1 and got != want:
        fail("one partition, but the records came back out of order: %r" % got[:5])
    print("%s %s as %s: %d records acks=%s to %d partition(s) and read back%s%s [%.1fs]" % (
        client, mechanism, user, records, acks, len(by_part),
        " in group %s" % group if group else "", note, time.time() - t0))


def consume(client, bootstrap, topic, mechanism, user, password, records):
    if client == "kafka-python":
        got = kp_consume(bootstrap, topic, kp_security(mechanism, user, password), records, None, None)
    else:
        got = ck_consume(bootstrap, topic, ck_security(mechanism, user, password), records, None)
    for v in got:
        print(v)


class LogGrab(logging.Handler):
    """kafka-python's own warnings and errors (it logs the broker's SaslAuthenticate
    error, then retries until the producer gives up on metadata)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def kp3_refusal(client, mechanism, user, e, sasl_seen):
    """kafka-python 3.x: every login attempt (3.x retries the bootstrap connection until
    max_block_ms; the last one may be cut short by that deadline) is a SaslHandshake
    answered with error 0, then SaslAuthenticate rounds where all but the last are
    answered with error 0 (SCRAM's client-first) and the last is refused: the broker's error 58, or (3.x drops an error response that arrives with the
    broker's close, see kafka_python_compat.record_sasl_requests) the broker closing the
    connection in answer to it. Nothing else may fail first."""
    from kafka.errors import KafkaConnectionError
    steps = [(name.split("_v")[0], out) for name, out in sasl_seen]
    why = "%s %s as %s (%s: %s; SASL requests and outcomes: %r)" % (
        client, mechanism, user, type(e).__name__, e, steps[:6])
    from kafka.errors import KafkaTimeoutError, RequestTimedOutError
    starts = [i for i, (name, _) in enumerate(steps) if name == "SaslHandshakeRequest"]
    cut = ""
    if len(starts) > 1 and isinstance(steps[-1][1], (KafkaTimeoutError, RequestTimedOutError)):
        # the last attempt cut short by the producer's own deadline (max_block_ms)
        steps = steps[:starts[-1]]
        cut = " (and a last one cut short by the client's deadline)"
    attempts = []
    for name, out in steps:
        if name == "SaslHandshakeRequest":
            if isinstance(out, Exception) or out.error_code != 0:
                fail("%s: a SaslHandshake that failed: %r" % (why, out))
            attempts.append([])
        elif name in ("SaslAuthenticateRequest", "SaslBytesRequest") and attempts:
            attempts[-1].append(out)
        else:
            fail("%s: %s before any SaslHandshake" % (why, name))
    if not attempts:
        fail("%s: refused without a SaslHandshake" % why)
    hows = set()
    for auth in attempts:
        if not auth:
            fail("%s: a login attempt without a SaslAuthenticate request" % why)
        for out in auth[:-1]:
            if isinstance(out, Exception) or out.error_code != 0:
                fail("%s: a SaslAuthenticate round before the last failed: %r" % (why, out))
        last = auth[-1]
        if isinstance(last, KafkaConnectionError):
            hows.add("connection closed by the broker (%s)" % last)
        elif isinstance(last, Exception) or last.error_code != 58:
            fail("%s: the last SaslAuthenticate outcome is not a refusal: %r" % (why, last))
        else:
            hows.add("error 58 %r" % last.error_message)
    return ", %d login attempt(s)%s of %d SaslAuthenticate round(s), each refused at the last: %s" % (
        len(attempts), cut, len(attempts[0]), "; ".join(sorted(hows)))


def refused(client, bootstrap, topic, mechanism, user, password):
    t0 = time.time()
    grab = LogGrab()
    logging.getLogger("kafka").addHandler(grab)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    sasl_seen = None
    if client == "kafka-python":
        from kafka_python_compat import KP3, record_sasl_requests
        if KP3:
            sasl_seen = record_sasl_requests()
    try:
        if client == "kafka-python":
            from kafka import KafkaProducer
            producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=5000,
                                     request_timeout_ms=5000, reconnect_backoff_max_ms=500,
                                     **kp_security(mechanism, user, password))
            producer.send(topic, value=b"must not arrive").get(timeout=10)
            producer.close(timeout=2)
        else:
            delivered, errors, left = ck_produce(bootstrap, topic, ck_security(mechanism, user, password), 1, "1", "refused")
            if not delivered:
                raise RuntimeError("%s" % (errors[0] if errors else "not delivered within 45s (%d left)" % left))
    except Exception as e:  # the client's own error type: what the test is about
        seen = ""
        if client == "kafka-python" and mechanism != "none" and sasl_seen is not None:
            seen = kp3_refusal(client, mechanism, user, e, sasl_seen)
        elif client == "kafka-python" and mechanism != "none":
            # the refusal must be the broker's authentication error, not some other failure
            auth = [line for line in grab.lines if "SaslAuthenticate error" in line]
            if not auth:
                fail("%s %s as %s: no SaslAuthenticate error logged by the client (%s: %s; its log: %r)" % (
                    client, mechanism, user, type(e).__name__, e, grab.lines[:5]))
            seen = ", after %s" % auth[0].split(": ", 1)[-1]
        print("%s %s as %s refused: %s%s [%.1fs]" % (client, mechanism, user or "-", type(e).__name__,
                                                   seen, time.time() - t0))
        return
    fail("%s %s as %s: the record was acknowledged" % (client, mechanism, user))


def create_topics(bootstrap, partitions, replication, min_isr, topics):
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka_python_compat import topic_desc
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    admin.create_topics([NewTopic(t, int(partitions), int(replication),
                                  topic_configs={"min.insync.replicas": str(min_isr)}) for t in topics])
    deadline = time.time() + 30
    while True:
        desc = {d[0]: d[1:] for d in map(topic_desc, admin.describe_topics(topics))}
        ready = all(t in desc and desc[t][0] == 0 and len(desc[t][1]) == int(partitions)
                    and all(leader >= 0 for leader in desc[t][1]) for t in topics)
        if ready:
            break
        if time.time() > deadline:
            fail("topics not ready after 30s: %r" % desc)
        time.sleep(0.3)
    admin.close()
    print("created %d topic(s), %s partition(s), replication %s, min.insync.replicas %s" % (
        len(topics), partitions, replication, min_isr))


def main():
    args = sys.argv[1:]
    if not args:
        fail(__doc__)
    cmd = args[0]
    if cmd == "create-topics":
        create_topics(args[1], args[2], args[3], args[4], args[5:])
        return
    opts, pos, i = {}, [], 1
    while i < len(args):
        if args[i] in ("--acks", "--api-version"):
            opts[args[i]] = args[i + 1]
            i += 2
        elif args[i] == "--group":
            opts["--group"] = True
            i += 1
        else:
            pos.append(args[i])
            i += 1
    if cmd == "roundtrip":
        client, bootstrap, topic, mechanism, user, password, records = pos
        roundtrip(client, bootstrap, topic, mechanism, user, password, int(records), opts)
    elif cmd == "consume":
        client, bootstrap, topic, mechanism, user, password, records = pos
        consume(client, bootstrap, topic, mechanism, user, password, int(records))
    elif cmd == "refused":
        client, bootstrap, topic, mechanism, user, password = pos
        refused(client, bootstrap, topic, mechanism, user, password)
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()

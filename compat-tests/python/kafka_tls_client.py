"""kafka_tls_client: kafka-python and confluent-kafka (librdkafka) through a TLS listener.

    kafka_tls_client.py roundtrip CLIENT BOOTSTRAP TOPIC RECORDS [SECURITY] [--acks all] [--group] [--partitions N]
    kafka_tls_client.py produce   CLIENT BOOTSTRAP TOPIC RECORDS [SECURITY] [--acks all] [--partitions N]
    kafka_tls_client.py verify    CLIENT BOOTSTRAP TOPIC RECORDS [SECURITY] [--partitions N]
    kafka_tls_client.py consume   CLIENT BOOTSTRAP TOPIC RECORDS [SECURITY]
    kafka_tls_client.py refused   CLIENT BOOTSTRAP TOPIC [SECURITY]
    kafka_tls_client.py create-topics BOOTSTRAP PARTITIONS REPLICATION MIN_ISR TOPIC...

SECURITY options (each client gets them in its own configuration keys):
    --protocol SSL|SASL_SSL|PLAINTEXT   security protocol (default SSL)
    --ca FILE                           the CA file the client trusts (PEM)
    --cert FILE --key FILE              the client's certificate and private key (PEM)
    --key-password PASSWORD             the private key's password (encrypted PKCS#8)
    --mechanism M --user U --password P SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)

CLIENT is kafka-python or confluent-kafka. Both verify the broker's certificate and its
name (kafka-python: ssl_check_hostname, default True; librdkafka 2.x:
ssl.endpoint.identification.algorithm=https by default): the broker certificate's
subjectAltName IP:127.0.0.1 must match the bootstrap host.

roundtrip: produce, then verify (the records of this run only, on a one-partition topic).
produce: a producer writes RECORDS values "<CLIENT> <TOPIC> <i>", i = 0..RECORDS-1, to
  partition 0 (--partitions N: value i to partition i % N); every delivery acknowledged,
  offsets contiguous per partition.
verify: a consumer reads the topic from the beginning (--group: in a consumer group, else
  assigned to partitions 0..N-1) and must get exactly those RECORDS values, each once, in
  order per partition (it keeps polling 1s after the last one for duplicates).
consume: reads RECORDS records from the beginning of partition 0, prints each value.
refused: a producer that must not get one record acknowledged (a TLS handshake the
  broker refuses); prints the client's error. Exits 1 if the record was acknowledged.
create-topics: kafka-python's admin client on a PLAINTEXT bootstrap creates the topics
  (min.insync.replicas=MIN_ISR) and waits until each partition has a leader.
Prints one summary line; exits 1 with the reason on stderr on failure.
"""
import logging
import sys
import time


def fail(why):
    print("kafka_tls_client: " + why, file=sys.stderr)
    sys.exit(1)


def kp_security(o):
    proto = o.get("--protocol", "SSL")
    sec = {"security_protocol": proto}
    if proto in ("SSL", "SASL_SSL"):
        sec["ssl_cafile"] = o.get("--ca")
        sec["ssl_check_hostname"] = True
        if "--cert" in o:
            sec["ssl_certfile"] = o["--cert"]
            sec["ssl_keyfile"] = o["--key"]
            if "--key-password" in o:
                sec["ssl_password"] = o["--key-password"]
    if proto.startswith("SASL_"):
        sec.update(sasl_mechanism=o["--mechanism"], sasl_plain_username=o["--user"],
                   sasl_plain_password=o["--password"])
    return sec


def ck_security(o):
    proto = o.get("--protocol", "SSL")
    sec = {"security.protocol": proto}
    if proto in ("SSL", "SASL_SSL"):
        sec["ssl.ca.location"] = o.get("--ca")
        if "--cert" in o:
            sec["ssl.certificate.location"] = o["--cert"]
            sec["ssl.key.location"] = o["--key"]
            if "--key-password" in o:
                sec["ssl.key.password"] = o["--key-password"]
    if proto.startswith("SASL_"):
        sec.update({"sasl.mechanism": o["--mechanism"], "sasl.username": o["--user"],
                    "sasl.password": o["--password"]})
    return sec


def describe(o):
    proto = o.get("--protocol", "SSL")
    what = [proto]
    if "--cert" in o:
        what.append("client certificate" + (" (encrypted key)" if "--key-password" in o else ""))
    if proto.startswith("SASL_"):
        what.append("%s as %s" % (o["--mechanism"], o["--user"]))
    return ", ".join(what)


# --- kafka-python ---------------------------------------------------------------------------

def kp_tls_seen(clients):
    """The TLS version and cipher of kafka-python's connections (SSLSocket)."""
    seen = set()
    from kafka_python_compat import connected, ssl_socket
    for client in clients:
        for conn in connected(client):
            sock = ssl_socket(conn)
            if sock is not None and hasattr(sock, "version"):
                try:
                    seen.add("%s %s" % (sock.version(), sock.cipher()[0]))
                except (OSError, TypeError, ValueError):
                    pass
    return seen


def kp_produce(bootstrap, topic, sec, values, acks, partitions):
    from kafka import KafkaProducer
    from kafka_python_compat import client_class
    clients = []

    def make_client(**config):  # keep the client to look at its connections
        clients.append(client_class()(**config))
        return clients[-1]

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=acks, linger_ms=5,
                             value_serializer=str.encode, request_timeout_ms=30000,
                             kafka_client=make_client, **sec)
    futures = [producer.send(topic, value=v, partition=i % partitions) for i, v in enumerate(values)]
    metas = [f.get(timeout=60) for f in futures]
    tls = kp_tls_seen(clients)
    producer.close()
    return [(m.partition, m.offset) for m in metas], tls


def kp_consume(bootstrap, topic, sec, records, group, extra_s=1.0, partitions=1):
    from kafka import KafkaConsumer, TopicPartition
    opts = dict(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                enable_auto_commit=False, value_deserializer=bytes.decode, **sec)
    if group:
        consumer = KafkaConsumer(group_id=group, **opts)
        consumer.subscribe([topic])
    else:
        consumer = KafkaConsumer(**opts)
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
    got = []
    deadline = time.time() + 60
    while len(got) < records and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            got.extend(batch)
    if extra_s and len(got) >= records:
        end = time.time() + extra_s
        while time.time() < end:
            for batch in consumer.poll(timeout_ms=200).values():
                got.extend(batch)
    if group and got:
        consumer.commit()
    consumer.close()
    return [(r.partition, r.value) for r in got]


# --- confluent-kafka -----------------------------------------------------------------------

def ck_produce(bootstrap, topic, sec, values, acks, partitions):
    from confluent_kafka import Producer
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": acks,
                         "message.timeout.ms": 30000, **sec})
    for i, v in enumerate(values):
        producer.produce(topic, value=v, partition=i % partitions, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(45)
    if errors or left or len(delivered) != len(values):
        fail("delivered %d of %d, %d left, errors %r" % (len(delivered), len(values), left, errors[:3]))
    return delivered, set()


def ck_consume(bootstrap, topic, sec, records, group, extra_s=1.0, partitions=1):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group or "kafka-tls-unused",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, **sec})
    if group:
        consumer.subscribe([topic])
    else:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.time() + 60
    end = None
    while time.time() < deadline:
        if len(got) >= records:
            if not extra_s:
                break
            end = end or time.time() + extra_s
            if time.time() >= end:
                break
        m = consumer.poll(0.2 if end else 1.0)
        if m is None:
            continue
        if m.error():
            fail("consume: %s" % m.error())
        got.append((m.partition(), m.value().decode()))
    if group and got:
        consumer.commit(asynchronous=False)
    consumer.close()
    return got


# --- commands --------------------------------------------------------------------------------

def values_of(client, topic, records):
    return ["%s %s %d" % (client, topic, i) for i in range(records)]


def produce(client, bootstrap, topic, records, o):
    acks = o.get("--acks", "1")
    n = int(o.get("--partitions", 1))
    values = values_of(client, topic, records)
    if client == "kafka-python":
        acked, tls = kp_produce(bootstrap, topic, kp_security(o), values, -1 if acks == "all" else int(acks), n)
    else:
        acked, tls = ck_produce(bootstrap, topic, ck_security(o), values, acks, n)
    by_part = {}
    for i, (p, off) in enumerate(acked):
        if p != i % n:
            fail("record %d acknowledged on partition %d, sent to %d" % (i, p, i % n))
        by_part.setdefault(p, []).append(off)
    ranges = []
    for p in sorted(by_part):
        offs = by_part[p]
        if offs != list(range(offs[0], offs[0] + len(offs))):
            fail("partition %d: acknowledged offsets not in order or not contiguous: %r..." % (p, offs[:5]))
        ranges.append("%s%d..%d" % (("p%d " % p) if n > 1 else "", offs[0], offs[-1]))
    return "%d records acks=%s acknowledged at offsets %s%s" % (
        records, acks, ", ".join(ranges), (" (%s)" % ", ".join(sorted(tls))) if tls else "")


def verify(client, bootstrap, topic, records, o):
    n = int(o.get("--partitions", 1))
    group = ("tls-%s-%s" % (client, topic)) if "--group" in o else None
    values = values_of(client, topic, records)
    if client == "kafka-python":
        got = kp_consume(bootstrap, topic, kp_security(o), records, group, partitions=n)
    else:
        got = ck_consume(bootstrap, topic, ck_security(o), records, group, partitions=n)
    # per partition, in the order read
    mine = sorted(range(len(got)), key=lambda k: (got[k][0], k))
    got_pp = [got[k] for k in mine]
    want_pp = sorted(((i % n, i), v) for i, v in enumerate(values))
    want_pp = [(p, v) for (p, _), v in want_pp]
    if got_pp != want_pp:
        seen = {v for _, v in got}
        missing = [v for v in values if v not in seen]
        dups = len(got) - len(seen)
        fail("read back %d records, expected the %d written, in order per partition, once each (%d missing, e.g. %r; %d duplicates; first got %r)" % (
            len(got), records, len(missing), missing[:2], dups, [v for _, v in got[:3]]))
    return "read back in order once each%s%s" % (" from %d partitions" % n if n > 1 else "",
                                               " in group %s" % group if group else "")


def consume(client, bootstrap, topic, records, o):
    if client == "kafka-python":
        got = kp_consume(bootstrap, topic, kp_security(o), records, None, extra_s=0)
    else:
        got = ck_consume(bootstrap, topic, ck_security(o), records, None, extra_s=0)
    for _, v in got:
        print(v)


class LogGrab(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def refused(client, bootstrap, topic, o):
    t0 = time.time()
    grab = LogGrab()
    logging.getLogger("kafka").addHandler(grab)
    logging.getLogger("kafka").setLevel(logging.INFO)
    try:
        if client == "kafka-python":
            from kafka import KafkaProducer
            producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=5000,
                                     request_timeout_ms=5000, reconnect_backoff_max_ms=500,
                                     **kp_security(o))
            producer.send(topic, value=b"must not arrive").get(timeout=10)
            producer.close(timeout=2)
        else:
            from confluent_kafka import Producer
            errors, delivered = [], []
            p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 5000,
                          "error_cb": lambda e: errors.append(str(e)), **ck_security(o)})
            p.produce(topic, value=b"must not arrive",
                      on_delivery=lambda err, msg: (errors if err else delivered).append(str(err) if err else msg))
            p.flush(10)
            if not delivered:
                raise RuntimeError(errors[0] if errors else "not delivered")
    except Exception as e:  # the client's own error type: what the test is about
        tls = [line for line in grab.lines
               if any(w in line.lower() for w in ("alert", "error", "fail", "closed", "reset"))]
        print("%s (%s) refused: %s: %s%s [%.1fs]" % (
            client, describe(o), type(e).__name__, str(e)[:160],
            ("; its log: %s" % tls[0][:200]) if tls else "", time.time() - t0))
        return
    fail("%s (%s): the record was acknowledged" % (client, describe(o)))


def create_topics(bootstrap, partitions, replication, min_isr, topics):
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka_python_compat import topic_desc
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    admin.create_topics([NewTopic(t, int(partitions), int(replication),
                                  topic_configs={"min.insync.replicas": str(min_isr)}) for t in topics])
    deadline = time.time() + 30
    while True:
        desc = {d[0]: d[1:] for d in map(topic_desc, admin.describe_topics(topics))}
        if all(t in desc and desc[t][0] == 0 and len(desc[t][1]) == int(partitions)
               and all(leader >= 0 for leader in desc[t][1]) for t in topics):
            break
        if time.time() > deadline:
            fail("topics not ready after 30s: %r" % desc)
        time.sleep(0.3)
    admin.close()
    print("created %d topic(s), %s partition(s), replication %s, min.insync.replicas %s" % (
        len(topics), partitions, replication, min_isr))


OPTS_WITH_VALUE = ("--protocol", "--ca", "--cert", "--key", "--key-password", "--mechanism",
                   "--user", "--password", "--acks", "--partitions")


def main():
    args = sys.argv[1:]
    if not args:
        fail(__doc__)
    cmd = args[0]
    if cmd == "create-topics":
        create_topics(args[1], args[2], args[3], args[4], args[5:])
        return
    o, pos, i = {}, [], 1
    while i < len(args):
        if args[i] in OPTS_WITH_VALUE:
            o[args[i]] = args[i + 1]
            i += 2
        elif args[i] == "--group":
            o["--group"] = True
            i += 1
        else:
            pos.append(args[i])
            i += 1
    t0 = time.time()
    if cmd in ("roundtrip", "produce", "verify"):
        client, bootstrap, topic, records = pos
        out = []
        if cmd in ("roundtrip", "produce"):
            out.append(produce(client, bootstrap, topic, int(records), o))
        if cmd in ("roundtrip", "verify"):
            out.append(verify(client, bootstrap, topic, int(records), o))
            if cmd == "verify":
                out[-1] = "%s records %s" % (records, out[-1])
        print("%s %s (%s): %s [%.1fs]" % (client, topic, describe(o), ", ".join(out), time.time() - t0))
    elif cmd == "consume":
        client, bootstrap, topic, records = pos
        consume(client, bootstrap, topic, int(records), o)
    elif cmd == "refused":
        client, bootstrap, topic = pos
        refused(client, bootstrap, topic, o)
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()

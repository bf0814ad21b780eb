"""kafka_quota_check: a broker's client quotas on raw sockets and in ZooKeeper.

    kafka_quota_check.py alter         PLAIN SASL RUN JSON
    kafka_quota_check.py wipe          PLAIN SASL RUN
    kafka_quota_check.py throttle-poll PLAIN CLIENT_ID throttled|free SECONDS TOPIC
    kafka_quota_check.py zk-check      ZK_CHROOT JSON
    kafka_quota_check.py norm-describe
    kafka_quota_check.py end-offset    PLAIN TOPIC
    kafka_quota_check.py describe      PLAIN
    kafka_quota_check.py raw           PLAIN SASL ZK_CHROOT RUN
    kafka_quota_check.py produce-throttle PLAIN SASL ZK_CHROOT RUN
    kafka_quota_check.py fetch-throttle   PLAIN SASL ZK_CHROOT RUN
    kafka_quota_check.py no-quota         PLAIN SASL ZK_CHROOT RUN
    kafka_quota_check.py user-quota       PLAIN SASL ZK_CHROOT RUN
    kafka_quota_check.py request-throttle PLAIN SASL ZK_CHROOT RUN

No client library sits between this program and the bytes: it sees each throttle_time_ms,
each error code and message, and when a response comes. The expectations are Apache
Kafka 3.9's (ZooKeeper mode), read from its source (ClientQuotaManager, QuotaUtils, Rate,
SampledStat, KafkaApis' produce/fetch/quota handlers, ZkAdminManager, AdminZkClient,
FetchSession, ConfigHandler) and confirmed against an Apache 3.9.1 broker with the
default quota.window.num=11 and quota.window.size.seconds=1; a target must answer the
same. The users are suites/kafka-quotas.sh's (SASL PLAIN, password "<user>-secret");
PLAIN is the broker's PLAINTEXT listener (principal User:ANONYMOUS), SASL its
SASL_PLAINTEXT one; RUN is the run's unique suffix.

The quota arithmetic (Rate over 11 samples of 1 s): the bytes B a client id recorded
in the window, measured over W = max(elapsed since its oldest sample, 10 whole samples)
milliseconds, i.e. W is in [10000, 11000) ms during a client's first 10 s. A request is
throttled when B / W > quota, by throttle_time_ms = (B/W - quota) / quota * W
= B / quota * 1000 - W. Produce records the request's size (header + body, the frame
without its length prefix); Fetch the size of the response it would send (4 + body).
band() turns that into a generous range (+-25% and 300 ms around [B/Q*1000 - 11000,
B/Q*1000 - 10000]); the sizes are chosen so that no check sits near a boundary.

alter: AlterClientQuotas v1 as ANONYMOUS on PLAIN with JSON = [{"entity": {"client-id":
  "x"}, "ops": {"producer_byte_rate": 10240, "consumer_byte_rate": null}}] (null: remove;
  a null entity name: the default), then settle(): waits until the broker applies it.
wipe: removes every quota the broker describes (DescribeClientQuotas, no filter), then
  settles.
throttle-poll: a Produce v9 of ~128 KB to TOPIC as CLIENT_ID (ANONYMOUS) on a new
  connection, every 0.5 s, until its throttle_time_ms is > 0 (throttled) or 0 (free).
zk-check: {"nodes": {path: {config} | null}, "changes": {entity_path: N | ">=N"}}: each
  quota znode holds exactly {"version":1,"config":{..}} (null: absent), and /config/changes
  holds N notifications {"version":2,"entity_path":..} for the entity path.
norm-describe: kafka-configs --describe output on stdin, one line per entity with its
  key=value pairs sorted ("Configs for .. are k=v,k=v" / "Quota configs for .. are ..").
end-offset: the log end offset of partition 0 (ListOffsets v1).
describe: every quota the broker describes (no filter, not strict), one line each:
  "client-id=x user=<null>: consumer_byte_rate=4096.0,producer_byte_rate=..." (sorted).
The client checks: see each function's docstring and comments.
"""
import json
import os
import re
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_sasl_check import Checks, Closed, Conn, Fail, addr, expect, login  # noqa: E402
from kafka_acl_check import R, TAGS, cstr, i8, s16, uvarint  # noqa: E402

API_PRODUCE, API_FETCH, API_LIST_OFFSETS = 0, 1, 2
API_METADATA = 3
API_DESCRIBE_CLIENT_QUOTAS, API_ALTER_CLIENT_QUOTAS = 48, 49

NONE, UNKNOWN_SERVER_ERROR, UNSUPPORTED_VERSION, INVALID_REQUEST = 0, -1, 35, 42

# DescribeClientQuotasRequest match types
EXACT, DEFAULT, SPECIFIED = 0, 1, 2

QUOTA_SAMPLES, SAMPLE_MS = 11, 1000      # quota.window.num, quota.window.size.seconds
MIN_WINDOW_MS = (QUOTA_SAMPLES - 1) * SAMPLE_MS
BIG = 104857600                          # a quota (100 MB/s) no check comes near


# --- wire ---------------------------------------------------------------------------------

def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def f64(v):
    return struct.pack(">d", v)


def zz(v):
    return uvarint((v << 1) ^ (v >> 63))


def arr(items, flex):
    if flex:
        return uvarint(len(items) + 1) + b"".join(items)
    return i32(len(items)) + b"".join(items)


def rf64(r):
    return struct.unpack(">d", r.take(8))[0]


class Client:
    """One connection with a client id of its own (the id every quota is about)."""

    def __init__(self, address, client_id, user=None, timeout=30.0):
        self.c = Conn(address, timeout=timeout)
        if user:
            login(self.c, "PLAIN", user, user + "-secret")
        self.cid = client_id.encode()

    def send(self, key, version, body, flex_header):
        """Sends a request; returns (correlation id, its size as Apache counts it:
        request header + body)."""
        self.c.corr += 1
        header = struct.pack(">hhih", key, version, self.c.corr, len(self.cid)) + self.cid
        if flex_header:
            header += TAGS
        self.c.send_raw(header + body)
        return self.c.corr, len(header) + len(body)

    def recv(self, corr, flex_header, timeout=None):
        frame = self.c.recv_frame(timeout)
        r = R(frame)
        got = r.i32()
        if got != corr:
            raise Fail("correlation id %d in the response, expected %d" % (got, corr))
        if flex_header:
            r.tags()
        return r, len(frame)

    def call(self, key, version, body, flex):
        corr, _ = self.send(key, version, body, flex)
        return self.recv(corr, flex)[0]

    def close(self):
        self.c.close()


# --- records and Produce v9 ---------------------------------------------------------------

_BATCHES = {}


def record_batch(value_size, count=1):
    """A magic-2 record batch (no compression) of COUNT records with values of VALUE_SIZE
    bytes; cached (a broker assigns the offsets, so the same bytes can be sent again)."""
    key = (value_size, count)
    if key in _BATCHES:
        return _BATCHES[key]
    from kafka.record.util import calc_crc32c
    value = (b"quota-" * (value_size // 6 + 1))[:value_size]
    recs = b""
    for i in range(count):
        body = i8(0) + zz(0) + zz(i) + zz(-1) + zz(len(value)) + value + zz(0)
        recs += zz(len(body)) + body
    ts = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, count - 1, ts, ts, -1, -1, -1, count) + recs
    tail = struct.pack(">ib", -1, 2) + struct.pack(">I", calc_crc32c(after_crc)) + after_crc
    batch = struct.pack(">qi", 0, len(tail)) + tail
    _BATCHES[key] = batch
    return batch


def produce_body(topic, records, acks=1):
    part = i32(0) + uvarint(len(records) + 1) + records + TAGS
    tdata = cstr(topic) + arr([part], True) + TAGS
    return b"\x00" + i16(acks) + i32(30000) + arr([tdata], True) + TAGS


def read_produce(r):
    """Produce v9 response: ([(topic, partition, error, base_offset)], throttle_time_ms)"""
    parts = []
    for _ in range(r.count(True)):
        name = r.str_(True)
        for _ in range(r.count(True)):
            idx, err, base = r.i32(), r.i16(), r.i64()
            r.i64(), r.i64()
            for _ in range(r.count(True)):
                r.i32(), r.str_(True)
                r.tags()
            r.str_(True)
            r.tags()
            parts.append((name, idx, err, base))
        r.tags()
    return parts, r.i32()


class Sent:
    def __init__(self, size, throttle, parts, t_sent, t_recv):
        self.size, self.throttle, self.parts = size, throttle, parts
        self.t_sent, self.t_recv = t_sent, t_recv

    @property
    def errors(self):
        return [p[2] for p in self.parts]


def produce(cl, topic, records, acks=1):
    """One Produce v9 (acks=1): a Sent with its size as the broker records it."""
    t0 = time.time()
    corr, size = cl.send(API_PRODUCE, 9, produce_body(topic, records, acks), True)
    r, _ = cl.recv(corr, True)
    parts, throttle = read_produce(r)
    return Sent(size, throttle, parts, t0, time.time())


# --- Fetch v11, ListOffsets v1 --------------------------------------------------------------

class Fetched:
    def __init__(self):
        self.throttle = self.error = self.session = None
        self.partitions = []      # (topic, partition, error, high watermark, records bytes)
        self.size = 0             # the response as Apache's quota counts it (4 + body)
        self.t_sent = self.t_recv = 0.0

    def records(self):
        return b"".join(p[4] or b"" for p in self.partitions)


def fetch(cl, topic, offset, max_bytes=1 << 20, part_max=1 << 20, max_wait=100):
    """Fetch v11, sessionless (session 0, epoch -1), partition 0 of TOPIC from OFFSET."""
    body = i32(-1) + i32(max_wait) + i32(1) + i32(max_bytes) + i8(0) + i32(0) + i32(-1)
    body += arr([s16(topic) + arr([i32(0) + i32(-1) + i64(offset) + i64(-1) + i32(part_max)], False)], False)
    body += arr([], False) + s16("")
    out = Fetched()
    out.t_sent = time.time()
    corr, _ = cl.send(API_FETCH, 11, body, False)
    r, frame_len = cl.recv(corr, False)
    out.t_recv = time.time()
    out.size = frame_len  # 4 (correlation id) + body = FetchResponse.sizeOf's 4 + body
    out.throttle, out.error, out.session = r.i32(), r.i16(), r.i32()
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            idx, err, hw = r.i32(), r.i16(), r.i64()
            r.i64(), r.i64()
            for _ in range(max(r.i32(), 0)):
                r.i64(), r.i64()
            r.i32()
            out.partitions.append((name, idx, err, hw, r.bytes32()))
    return out


def batches_in(records):
    """(complete batches, bytes of a trailing partial batch) in a records blob."""
    pos, n = 0, 0
    while pos + 12 <= len(records):
        length = struct.unpack(">i", records[pos + 8:pos + 12])[0]
        if pos + 12 + length > len(records):
            break
        pos += 12 + length
        n += 1
    return n, len(records) - pos


def end_offset(plain, topic):
    cl = Client(plain, "qz-end-offset")
    try:
        body = i32(-1) + arr([s16(topic) + arr([i32(0) + i64(-1)], False)], False)
        r = cl.call(API_LIST_OFFSETS, 1, body, False)
        for _ in range(r.i32()):
            r.string()
            for _ in range(r.i32()):
                idx, err, _, off = r.i32(), r.i16(), r.i64(), r.i64()
                if err != NONE:
                    raise Fail("ListOffsets of %s: error %d" % (topic, err))
                return off
        raise Fail("ListOffsets of %s: no partition in the response" % topic)
    finally:
        cl.close()


# --- AlterClientQuotas / DescribeClientQuotas -------------------------------------------------

def entity_key(pairs):
    """An entity as a comparable value: the sorted (type, name) pairs."""
    return tuple(sorted(pairs, key=lambda p: (p[0], p[1] or "")))


def alter_quotas(cl, entries, validate_only=False, version=1):
    """ENTRIES: [([(type, name)...], [(key, value or None for remove)...])].
    Returns {entity_key: (error, message)} and the list of raw response entries."""
    flex = version >= 1
    s = cstr if flex else s16
    tg = TAGS if flex else b""
    out = []
    for entity, ops in entries:
        ents = [s(t) + s(n) + tg for t, n in entity]
        opsb = [s(k) + f64(0.0 if v is None else float(v)) + i8(1 if v is None else 0) + tg for k, v in ops]
        out.append(arr(ents, flex) + arr(opsb, flex) + tg)
    body = arr(out, flex) + i8(1 if validate_only else 0) + tg
    r = cl.call(API_ALTER_CLIENT_QUOTAS, version, body, flex)
    r.i32()
    res = []
    for _ in range(r.count(flex)):
        err, msg = r.i16(), r.str_(flex)
        ent = []
        for _ in range(r.count(flex)):
            ent.append((r.str_(flex), r.str_(flex)))
            if flex:
                r.tags()
        if flex:
            r.tags()
        res.append((entity_key(ent), err, msg))
    return {e: (err, msg) for e, err, msg in res}, res


def describe_quotas(cl, components, strict, version=1):
    """COMPONENTS: [(entity_type, match_type, match)]. Returns (error, message,
    {entity_key: {key: value}} or None when the entries are null)."""
    flex = version >= 1
    s = cstr if flex else s16
    tg = TAGS if flex else b""
    comps = [s(t) + i8(m) + s(n) + tg for t, m, n in components]
    r = cl.call(API_DESCRIBE_CLIENT_QUOTAS, version, arr(comps, flex) + i8(1 if strict else 0) + tg, flex)
    r.i32()
    err, msg = r.i16(), r.str_(flex)
    n = r.count(flex)
    if n < 0:
        return err, msg, None
    out = {}
    for _ in range(n):
        ent = []
        for _ in range(r.count(flex)):
            ent.append((r.str_(flex), r.str_(flex)))
            if flex:
                r.tags()
        vals = {}
        for _ in range(r.count(flex)):
            k = r.str_(flex)
            vals[k] = rf64(r)
            if flex:
                r.tags()
        if flex:
            r.tags()
        key = entity_key(ent)
        if key in out:
            raise Fail("DescribeClientQuotas lists entity %r twice" % (key,))
        out[key] = vals
    return err, msg, out


_SETTLE_N = [0]


def settle(plain, sasl, run, seconds=30):
    """Waits until the broker has applied every quota change made so far: a sentinel
    quota producer_byte_rate=100 for <user erin, a new client id> (level 1: it wins over
    any other level) is written after them, and the broker applies ZooKeeper's change
    notifications in order; once erin's ~2 KB Produce with that client id is throttled,
    the earlier changes are in force too."""
    _SETTLE_N[0] += 1
    cid = "qz-sent-%d-%d-%s" % (os.getpid(), _SETTLE_N[0], run)
    admin = Client(plain, "qz-admin")
    try:
        res, _ = alter_quotas(admin, [([("user", "erin"), ("client-id", cid)], [("producer_byte_rate", 100)])])
        if list(res.values()) != [(NONE, None)]:
            raise Fail("sentinel quota for erin/%s: %r" % (cid, res))
    finally:
        admin.close()
    t0 = time.time()
    last = None
    while time.time() - t0 < seconds:
        cl = Client(sasl, cid, user="erin")
        try:
            s = produce(cl, "qz-sentinel-%s" % run, record_batch(2000))
            if s.throttle > 0:
                return time.time() - t0
            last = "throttle 0"
        except (Fail, Closed, OSError) as e:
            last = str(e)
        finally:
            cl.close()
        time.sleep(0.2)
    raise Fail("the broker did not apply a quota change within %ds (sentinel erin/%s: %s)" % (seconds, cid, last))


def alter_and_settle(plain, sasl, run, entries):
    admin = Client(plain, "qz-admin")
    try:
        res, _ = alter_quotas(admin, entries)
    finally:
        admin.close()
    bad = {e: v for e, v in res.items() if v != (NONE, None)}
    if bad or len(res) != len({entity_key(e) for e, _ in entries}):
        raise Fail("AlterClientQuotas: %r" % res)
    return settle(plain, sasl, run)


def wipe(plain, sasl, run):
    """Removes every client quota the broker describes, then settles; the last sentinel
    (erin only) is removed without waiting."""
    admin = Client(plain, "qz-admin")
    try:
        err, msg, got = describe_quotas(admin, [], False)
        if err != NONE:
            raise Fail("DescribeClientQuotas: %d %r" % (err, msg))
        entries = [(list(ent), [(k, None) for k in vals]) for ent, vals in got.items()]
        if entries:
            res, _ = alter_quotas(admin, entries)
            bad = {e: v for e, v in res.items() if v != (NONE, None)}
            if bad:
                raise Fail("removing the quotas: %r" % bad)
    finally:
        admin.close()
    settle(plain, sasl, run)
    admin = Client(plain, "qz-admin")
    try:
        err, msg, got = describe_quotas(admin, [], False)
        left = {e: v for e, v in got.items() if not any(n and n.startswith("qz-sent-") for _, n in e)}
        if left:
            raise Fail("quotas left after the wipe: %r" % left)
        alter_quotas(admin, [(list(e), [(k, None) for k in v]) for e, v in got.items()])
    finally:
        admin.close()
    return len(entries)


def band(size, quota):
    """The accepted throttle_time_ms range for SIZE bytes recorded against QUOTA in a
    fresh window: B/Q*1000 - W with W in [10000, 11000), +-25% and 300 ms."""
    base = size * 1000.0 / quota
    lo, hi = base - (MIN_WINDOW_MS + SAMPLE_MS), base - MIN_WINDOW_MS
    return max(1, int(0.75 * lo - 300)), int(1.25 * hi + 300)


def in_band(what, throttle, size, quota):
    lo, hi = band(size, quota)
    if not lo <= throttle <= hi:
        raise Fail("%s: throttle_time_ms %d, expected %d..%d (%d bytes against %d B/s: %d ms - W, W in [10000, 11000))" % (
            what, throttle, lo, hi, size, quota, size * 1000 // quota))
    return "%d ms (formula %d..%d)" % (throttle, size * 1000 // quota - 11000, size * 1000 // quota - 10000)


# --- ZooKeeper ------------------------------------------------------------------------------

def zk_connect(zk_chroot):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=zk_chroot, timeout=15)
    zk.start(timeout=15)
    return zk


def zk_changes(zk):
    """[(sequence name, doc)] of /config/changes, in order."""
    out = []
    if not zk.exists("/config/changes"):
        return out
    for name in sorted(zk.get_children("/config/changes")):
        if not re.match(r"^config_change_\d{10}$", name):
            raise Fail("/config/changes/%s: not a config_change_<10 digits> child" % name)
        data = zk.get("/config/changes/" + name)[0]
        try:
            doc = json.loads(data.decode())
        except (ValueError, AttributeError):
            raise Fail("/config/changes/%s: not JSON: %r" % (name, data))
        out.append((name, doc))
    return out


def zk_check(zk_chroot, spec):
    zk = zk_connect(zk_chroot)
    try:
        problems, seen = [], []
        for path, want in sorted(spec.get("nodes", {}).items()):
            if want is None:
                if zk.exists(path):
                    problems.append("%s exists (%r), expected absent" % (path, zk.get(path)[0]))
                else:
                    seen.append("%s absent" % path)
                continue
            if not zk.exists(path):
                problems.append("%s missing" % path)
                continue
            data = zk.get(path)[0]
            try:
                doc = json.loads(data.decode())
            except (ValueError, AttributeError):
                problems.append("%s: not JSON: %r" % (path, data))
                continue
            if doc != {"version": 1, "config": want}:
                problems.append("%s holds %s, expected %s" % (path, json.dumps(doc, sort_keys=True),
                                                              json.dumps({"version": 1, "config": want}, sort_keys=True)))
            else:
                seen.append("%s %s" % (path, json.dumps(doc, sort_keys=True)))
        changes = zk_changes(zk)
        bad = [(n, d) for n, d in changes if set(d) != {"version", "entity_path"} or d["version"] != 2]
        if bad:
            problems.append("notifications not {\"version\":2,\"entity_path\":..}: %r" % bad[:3])
        paths = [d.get("entity_path") for _, d in changes]
        for ep, want in sorted(spec.get("changes", {}).items()):
            n = paths.count(ep)
            if isinstance(want, str) and want.startswith(">="):
                ok = n >= int(want[2:])
            else:
                ok = n == int(want)
            if not ok:
                problems.append("%d notification(s) for %s, expected %s" % (n, ep, want))
            else:
                seen.append("%d notification(s) {\"version\":2,\"entity_path\":\"%s\"}" % (n, ep))
        for line in seen:
            print("ok   " + line, file=sys.stderr)
        if problems:
            print("ZooKeeper differs: " + "; ".join(problems))
            return 1
        print("ZooKeeper as expected: %d znode(s), %d notification count(s)" % (
            len(spec.get("nodes", {})), len(spec.get("changes", {}))))
        return 0
    finally:
        zk.stop()


def norm_describe(text):
    out = []
    for line in text.splitlines():
        m = re.match(r"^((?:Quota c|C)onfigs for .*) are (.*)$", line)
        if not m:
            continue
        items = [x.strip() for x in re.split(r",\s*", m.group(2)) if x.strip()]
        out.append("%s are %s" % (m.group(1), ",".join(sorted(items))))
    return "\n".join(sorted(out))


# --- raw-quota-apis ---------------------------------------------------------------------------

def raw(plain, sasl, zk_chroot, run):
    """The raw-quota-apis checks, in order; every entity name starts with qr- and ends with
    RUN (plus the IP entities 10.1.2.3 / 10.1.2.4, and the default user)."""
    ck = Checks()
    admin = Client(plain, "qz-admin")
    n = lambda x: "qr-%s-%s" % (x, run)  # noqa: E731
    special = "qr a/b*%s" % run          # sanitized as qr%20a%2Fb%2A<run>
    special_z = "qr%%20a%%2Fb%%2A%s" % run

    def ours(key):
        return all(name is None or name in ("10.1.2.3", "10.1.2.4") or (name.startswith("qr") and name.endswith(run))
                   for _, name in key)

    # 1. AlterClientQuotas v0: each entry succeeds or fails alone (ZkAdminManager.
    # alterClientQuotas: InvalidRequestException -> 42 with its message; ApiError.NONE's
    # message is null); the response has one entry per distinct entity (a Map)
    def alter_v0():
        entries = [
            ([("client-id", n("a"))], [("producer_byte_rate", 10240), ("consumer_byte_rate", 20480)]),
            ([("user", n("u"))], [("request_percentage", 50.5)]),
            ([("user", n("u")), ("client-id", n("a"))], [("producer_byte_rate", 1048576)]),
            ([("user", None), ("client-id", n("a"))], [("consumer_byte_rate", 4096)]),
            ([("client-id", special)], [("producer_byte_rate", 1048576)]),
            ([("ip", "10.1.2.3")], [("connection_creation_rate", 100)]),
            ([("client-id", n("b"))], [("foo_rate", 1)]),
            ([("client-id", n("c"))], [("producer_byte_rate", 1.5)]),
            # a negative LONG: (value + 1e-6).toLong truncates towards zero, so it fails
            # the integrality check with the same message
            ([("client-id", n("d"))], [("producer_byte_rate", -1024)]),
            ([("user", n("u2")), ("ip", "10.1.2.3")], [("producer_byte_rate", 1)]),
            ([], [("producer_byte_rate", 1)]),
            ([("foo", n("f"))], [("producer_byte_rate", 1)]),
            ([("client-id", "")], [("producer_byte_rate", 1)]),
            # a SCRAM mechanism is a user config key of type STRING: IllegalStateException
            ([("user", n("u3"))], [("SCRAM-SHA-256", 1)]),
            ([("client-id", n("e"))], [("SCRAM-SHA-256", 1)]),
            ([("ip", "10.1.2.4")], [("producer_byte_rate", 1)]),
            # removing what was never set: success; no znode, but a change notification
            ([("client-id", n("g"))], [("producer_byte_rate", None)]),
            ([("client-id", n("h"))], [("foo_rate", None)]),
            # the same entity type twice: the request's HashMap keeps the last name
            ([("user", n("dup1")), ("user", n("dup2"))], [("producer_byte_rate", 2048)]),
            # two entries for one entity: both applied, one response entry
            ([("client-id", n("i"))], [("producer_byte_rate", 1000)]),
            ([("client-id", n("i"))], [("consumer_byte_rate", 2000)]),
        ]
        got, rawres = alter_quotas(admin, entries, version=0)
        want = {
            entity_key([("client-id", n("a"))]): (NONE, None),
            entity_key([("user", n("u"))]): (NONE, None),
            entity_key([("user", n("u")), ("client-id", n("a"))]): (NONE, None),
            entity_key([("user", None), ("client-id", n("a"))]): (NONE, None),
            entity_key([("client-id", special)]): (NONE, None),
            entity_key([("ip", "10.1.2.3")]): (NONE, None),
            entity_key([("client-id", n("b"))]): (INVALID_REQUEST, "Invalid configuration key foo_rate"),
            entity_key([("client-id", n("c"))]): (INVALID_REQUEST, "Configuration producer_byte_rate must be a LONG value"),
            entity_key([("client-id", n("d"))]): (INVALID_REQUEST, "Configuration producer_byte_rate must be a LONG value"),
            entity_key([("user", n("u2")), ("ip", "10.1.2.3")]): (
                INVALID_REQUEST, "Invalid quota entity combination, IP entity should not be used with user/client ID entity."),
            entity_key([]): (INVALID_REQUEST, "Invalid empty client quota entity"),
            entity_key([("foo", n("f"))]): (INVALID_REQUEST, "Unhandled client quota entity type: foo"),
            entity_key([("client-id", "")]): (INVALID_REQUEST, "Empty client-id not supported"),
            entity_key([("user", n("u3"))]): (UNKNOWN_SERVER_ERROR, None),
            entity_key([("client-id", n("e"))]): (INVALID_REQUEST, "Invalid configuration key SCRAM-SHA-256"),
            entity_key([("ip", "10.1.2.4")]): (INVALID_REQUEST, "Invalid configuration key producer_byte_rate"),
            entity_key([("client-id", n("g"))]): (NONE, None),
            entity_key([("client-id", n("h"))]): (NONE, None),
            entity_key([("user", n("dup2"))]): (NONE, None),
            entity_key([("client-id", n("i"))]): (NONE, None),
        }
        if len(rawres) != len(want):
            raise Fail("%d response entries for %d requested (%d distinct entities): %r" % (
                len(rawres), len(entries), len(want), rawres))
        for key in sorted(set(want) | set(got), key=repr):
            if got.get(key) != want.get(key):
                raise Fail("entity %r: got %r, expected %r" % (key, got.get(key), want.get(key)))
        return "%d entries -> %d response entries: 9 successes (message null), 10 refusals with Apache's errors/messages" % (
            len(entries), len(rawres))
    ck.run("AlterClientQuotas v0", alter_v0)

    # 2. what ZkAdminManager wrote: values as their config type prints them (LONG
    # "10240", DOUBLE "50.5"), sanitized names, nothing for the refused entries, no znode
    # for a removal of what never existed (AdminZkClient.tryCleanQuotaNodes) but its
    # notification
    def zk_after_alter():
        spec = {"nodes": {
            "/config/clients/" + n("a"): {"producer_byte_rate": "10240", "consumer_byte_rate": "20480"},
            "/config/users/" + n("u"): {"request_percentage": "50.5"},
            "/config/users/%s/clients/%s" % (n("u"), n("a")): {"producer_byte_rate": "1048576"},
            "/config/users/<default>/clients/" + n("a"): {"consumer_byte_rate": "4096"},
            "/config/clients/" + special_z: {"producer_byte_rate": "1048576"},
            "/config/ips/10.1.2.3": {"connection_creation_rate": "100"},
            "/config/users/" + n("dup2"): {"producer_byte_rate": "2048"},
            "/config/clients/" + n("i"): {"producer_byte_rate": "1000", "consumer_byte_rate": "2000"},
            "/config/users/" + n("dup1"): None,
            "/config/clients/" + n("b"): None, "/config/clients/" + n("c"): None,
            "/config/clients/" + n("d"): None, "/config/clients/" + n("e"): None,
            "/config/clients/" + n("g"): None, "/config/clients/" + n("h"): None,
            "/config/users/" + n("u2"): None, "/config/users/" + n("u3"): None,
            "/config/ips/10.1.2.4": None,
        }, "changes": {
            "clients/" + n("a"): 1, "users/" + n("u"): 1, "users/%s/clients/%s" % (n("u"), n("a")): 1,
            "users/<default>/clients/" + n("a"): 1, "clients/" + special_z: 1, "ips/10.1.2.3": 1,
            "users/" + n("dup2"): 1, "clients/" + n("i"): 2, "clients/" + n("g"): 1, "clients/" + n("h"): 1,
            "users/" + n("dup1"): 0, "clients/" + n("b"): 0, "clients/" + n("c"): 0, "clients/" + n("d"): 0,
            "users/" + n("u3"): 0, "clients/" + n("e"): 0, "ips/10.1.2.4": 0,
        }}
        return zk_expect(zk_chroot, spec)
    ck.run("ZooKeeper after AlterClientQuotas", zk_after_alter)

    # 3. validate_only (v1): validated, nothing written, no notification
    def validate_only():
        got, _ = alter_quotas(admin, [
            ([("client-id", n("v"))], [("producer_byte_rate", 4096)]),
            ([("client-id", n("v2"))], [("foo", 1)]),
            # DOUBLE keys have no range: a negative request_percentage passes
            ([("client-id", n("v3"))], [("request_percentage", -5)]),
            # NaN passes the LONG integrality check (NaN comparisons are false)
            ([("client-id", n("v4"))], [("producer_byte_rate", float("nan"))]),
            ([("client-id", n("v5"))], [("producer_byte_rate", float("inf"))]),
        ], validate_only=True)
        expect("AlterClientQuotas v1 validate_only", got, {
            entity_key([("client-id", n("v"))]): (NONE, None),
            entity_key([("client-id", n("v2"))]): (INVALID_REQUEST, "Invalid configuration key foo"),
            entity_key([("client-id", n("v3"))]): (NONE, None),
            entity_key([("client-id", n("v4"))]): (NONE, None),
            entity_key([("client-id", n("v5"))]): (INVALID_REQUEST, "Configuration producer_byte_rate must be a LONG value"),
        })
        zk_expect(zk_chroot, {"nodes": {"/config/clients/" + n(x): None for x in ("v", "v3", "v4")},
                              "changes": {"clients/" + n(x): 0 for x in ("v", "v2", "v3", "v4", "v5")}})
        return "4096 ok, foo 42, request_percentage -5 ok, producer_byte_rate NaN ok, +Infinity 42; nothing written"
    ck.run("AlterClientQuotas v1 validate_only", validate_only)

    # 4. DescribeClientQuotas (ZkAdminManager.describeClientQuotas): EXACT, DEFAULT (an
    # "exact" match of the default name), SPECIFIED (any name, the default included),
    # strict (no entities with other types)
    ea = entity_key([("client-id", n("a"))])
    eu = entity_key([("user", n("u"))])
    eua = entity_key([("user", n("u")), ("client-id", n("a"))])
    eda = entity_key([("user", None), ("client-id", n("a"))])
    esp = entity_key([("client-id", special)])
    edup = entity_key([("user", n("dup2"))])
    ei = entity_key([("client-id", n("i"))])
    eip = entity_key([("ip", "10.1.2.3")])
    vals = {ea: {"producer_byte_rate": 10240.0, "consumer_byte_rate": 20480.0}, eu: {"request_percentage": 50.5},
            eua: {"producer_byte_rate": 1048576.0}, eda: {"consumer_byte_rate": 4096.0},
            esp: {"producer_byte_rate": 1048576.0}, edup: {"producer_byte_rate": 2048.0},
            ei: {"producer_byte_rate": 1000.0, "consumer_byte_rate": 2000.0}, eip: {"connection_creation_rate": 100.0}}

    def describe(label, comps, strict, want_keys, versions=(0, 1)):
        def check():
            for v in versions:
                err, msg, got = describe_quotas(admin, comps, strict, version=v)
                # a success carries an empty error_message (the field's default), not null
                expect("DescribeClientQuotas v%d (error, message)" % v, (err, msg), (NONE, ""))
                got = {k: x for k, x in got.items() if ours(k)}
                expect("DescribeClientQuotas v%d %s" % (v, label), got, {k: vals[k] for k in want_keys})
            return "%s: %d entit%s" % (label, len(want_keys), "y" if len(want_keys) == 1 else "ies")
        return check
    ck.run("Describe all", describe("no components, not strict: every user, client, user+client and ip entity",
                                    [], False, [ea, eu, eua, eda, esp, edup, ei, eip]))
    ck.run("Describe strict nothing", describe("no components, strict: nothing", [], True, []))
    ck.run("Describe user EXACT", describe("user EXACT %s, not strict" % n("u"), [("user", EXACT, n("u"))], False, [eu, eua]))
    ck.run("Describe user EXACT strict", describe("user EXACT strict", [("user", EXACT, n("u"))], True, [eu]))
    ck.run("Describe client EXACT", describe("client-id EXACT %s, not strict" % n("a"),
                                             [("client-id", EXACT, n("a"))], False, [ea, eua, eda]))
    ck.run("Describe client EXACT strict", describe("client-id EXACT strict", [("client-id", EXACT, n("a"))], True, [ea]))
    ck.run("Describe client EXACT sanitized", describe("client-id EXACT %r (znode %s)" % (special, special_z),
                                                       [("client-id", EXACT, special)], True, [esp]))
    ck.run("Describe user DEFAULT", describe("user DEFAULT, not strict", [("user", DEFAULT, None)], False, [eda]))
    ck.run("Describe user DEFAULT strict", describe("user DEFAULT strict (no <default> user quota)",
                                                    [("user", DEFAULT, None)], True, []))
    ck.run("Describe user SPECIFIED strict", describe("user SPECIFIED strict", [("user", SPECIFIED, None)], True, [eu, edup]))
    ck.run("Describe user+client SPECIFIED", describe("user SPECIFIED + client-id SPECIFIED strict",
                                                      [("user", SPECIFIED, None), ("client-id", SPECIFIED, None)], True, [eua, eda]))
    ck.run("Describe user DEFAULT + client EXACT", describe("user DEFAULT + client-id EXACT strict",
                                                            [("user", DEFAULT, None), ("client-id", EXACT, n("a"))], True, [eda]))
    ck.run("Describe client SPECIFIED", describe("client-id SPECIFIED, not strict",
                                                 [("client-id", SPECIFIED, None)], False, [ea, eua, eda, esp, ei]))
    ck.run("Describe ip EXACT", describe("ip EXACT 10.1.2.3", [("ip", EXACT, "10.1.2.3")], False, [eip]))
    ck.run("Describe ip SPECIFIED", describe("ip SPECIFIED strict", [("ip", SPECIFIED, None)], True, [eip]))

    def describe_error(label, comps, want):
        def check():
            for v in (0, 1):
                got = describe_quotas(admin, comps, False, version=v)
                expect("DescribeClientQuotas v%d %s: (error, message, entries)" % (v, label), got, want + (None,))
            return "%s: %d %r, entries null" % (label, want[0], want[1])
        return check
    ck.run("Describe duplicate user", describe_error("two user components",
                                                     [("user", EXACT, n("u")), ("user", EXACT, n("x"))],
                                                     (INVALID_REQUEST, "Duplicate user filter component entity type")))
    ck.run("Describe duplicate client", describe_error("two client-id components",
                                                       [("client-id", SPECIFIED, None), ("client-id", DEFAULT, None)],
                                                       (INVALID_REQUEST, "Duplicate client filter component entity type")))
    ck.run("Describe ip with user", describe_error("ip + user components", [("ip", SPECIFIED, None), ("user", SPECIFIED, None)], (
        INVALID_REQUEST, "Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.")))
    ck.run("Describe unknown type", describe_error("entity type foo", [("foo", SPECIFIED, None)],
                                                   (UNSUPPORTED_VERSION, "Custom entity type 'foo' not supported")))
    ck.run("Describe empty type", describe_error("entity type \"\"", [("", SPECIFIED, None)],
                                                 (INVALID_REQUEST, "Unexpected empty filter component entity type")))
    # DescribeClientQuotasRequest.filter(): IllegalArgumentException / a NullPointerException
    # (ofEntity with a null name) -> UNKNOWN_SERVER_ERROR without a message
    ck.run("Describe match type 3", describe_error("match type 3", [("user", 3, None)], (UNKNOWN_SERVER_ERROR, None)))
    ck.run("Describe EXACT null", describe_error("EXACT with a null name", [("user", EXACT, None)], (UNKNOWN_SERVER_ERROR, None)))

    # 5. removals: a key at a time; an entity's znode goes with its last key, a
    # <user, client-id> znode takes its parents along when they are empty
    # (AdminZkClient.tryCleanQuotaNodes), each removal notifies
    def removals():
        steps = []

        def rm(entity, keys, spec, label):
            got, _ = alter_quotas(admin, [(entity, [(k, None) for k in keys])])
            expect("removal %s" % label, list(got.values()), [(NONE, None)])
            zk_expect(zk_chroot, {"nodes": spec})
            steps.append(label)
        ua = "/config/users/%s/clients/%s" % (n("u"), n("a"))
        rm([("client-id", n("a"))], ["producer_byte_rate"],
           {"/config/clients/" + n("a"): {"consumer_byte_rate": "20480"}}, "clients/a one key: the other stays")
        rm([("client-id", n("a"))], ["consumer_byte_rate"], {"/config/clients/" + n("a"): None}, "clients/a last key: znode deleted")
        rm([("user", n("u")), ("client-id", n("a"))], ["producer_byte_rate"],
           {ua: None, "/config/users/%s/clients" % n("u"): None, "/config/users/" + n("u"): {"request_percentage": "50.5"}},
           "users/u/clients/a: deleted with users/u/clients, users/u (has a config) stays")
        rm([("user", n("u"))], ["request_percentage"], {"/config/users/" + n("u"): None}, "users/u last key: deleted")
        # a user with a config and a <user, client-id> child
        got, _ = alter_quotas(admin, [([("user", n("w"))], [("producer_byte_rate", 4096)]),
                                      ([("user", n("w")), ("client-id", n("x"))], [("producer_byte_rate", 8192)])])
        expect("users/w and users/w/clients/x set", sorted(got.values()), [(NONE, None), (NONE, None)])
        rm([("user", n("w"))], ["producer_byte_rate"], {"/config/users/" + n("w"): {},
                                                       "/config/users/%s/clients/%s" % (n("w"), n("x")): {"producer_byte_rate": "8192"}},
           "users/w last key while it has a child: {\"version\":1,\"config\":{}} stays")
        rm([("user", n("w")), ("client-id", n("x"))], ["producer_byte_rate"], {"/config/users/" + n("w"): None},
           "users/w/clients/x last key: the empty users/w goes with it")
        zk_expect(zk_chroot, {"changes": {"clients/" + n("a"): 3, "users/" + n("u"): 2,
                                          "users/%s/clients/%s" % (n("u"), n("a")): 2,
                                          "users/" + n("w"): 2, "users/%s/clients/%s" % (n("w"), n("x")): 2}})
        return "; ".join(steps)
    ck.run("removals and znode cleanup", removals)

    def cleanup():
        entries = [([("user", None), ("client-id", n("a"))], [("consumer_byte_rate", None)]),
                   ([("client-id", special)], [("producer_byte_rate", None)]),
                   ([("ip", "10.1.2.3")], [("connection_creation_rate", None)]),
                   ([("user", n("dup2"))], [("producer_byte_rate", None)]),
                   ([("client-id", n("i"))], [("producer_byte_rate", None), ("consumer_byte_rate", None)])]
        got, _ = alter_quotas(admin, entries)
        expect("removals", sorted(set(got.values())), [(NONE, None)])
        err, msg, left = describe_quotas(admin, [], False)
        left = {k: v for k, v in left.items() if ours(k)}
        expect("quotas left", left, {})
        zk_expect(zk_chroot, {"nodes": {"/config/users/<default>": None, "/config/ips/10.1.2.3": None,
                                        "/config/clients/" + special_z: None}})
        return "every qr- quota removed; /config/users/<default> (only the emptied clients child) deleted"
    ck.run("cleanup", cleanup)
    admin.close()
    ck.finish("client quota API")


def zk_expect(zk_chroot, spec):
    """zk_check for a check: raises Fail with the differences."""
    import io
    from contextlib import redirect_stdout, redirect_stderr
    buf, err = io.StringIO(), io.StringIO()
    with redirect_stdout(buf), redirect_stderr(err):
        rc = zk_check(zk_chroot, spec)
    if rc != 0:
        raise Fail(buf.getvalue().strip())
    return "; ".join(line[5:] for line in err.getvalue().splitlines() if line.startswith("ok   "))


# --- produce-throttle -------------------------------------------------------------------------

def produce_throttle(plain, sasl, zk_chroot, run):
    """A client id with producer_byte_rate=10240 (clients/<id>, as ANONYMOUS on the
    PLAINTEXT listener) sends ~32 KB Produce v9 requests (acks=1) back to back."""
    ck = Checks()
    q = 10240
    cx, cy = "qp-x-%s" % run, "qp-y-%s" % run
    topic = "qz-p-%s" % run
    batch = record_batch(31900)
    state = {}

    def setup():
        secs = alter_and_settle(plain, sasl, run, [([("client-id", cx)], [("producer_byte_rate", q)])])
        return "clients/%s producer_byte_rate=%d, in force after %.1fs" % (cx, q, secs)
    ck.run("quota set", setup)

    def sends():
        c1 = Client(plain, cx)
        state["c1"] = c1
        total, got = 0, []
        for i in range(3):
            s = produce(c1, topic, batch)
            total += s.size
            expect("Produce %d errors" % (i + 1), s.errors, [NONE])
            # B/W <= 96 KB / 10 s < 10240 B/s whatever W is
            if s.throttle != 0:
                raise Fail("Produce %d (%d bytes so far, %d ms at the quota < the 10 s minimum window): throttle_time_ms %d, expected 0"
                           % (i + 1, total, total * 1000 // q, s.throttle))
            got.append(0)
        s4 = produce(c1, topic, batch)
        total += s4.size
        expect("Produce 4 errors", s4.errors, [NONE])
        detail = in_band("Produce 4 (%d bytes recorded)" % total, s4.throttle, total, q)
        state.update(total=total, s4=s4)
        return "%d-byte requests: 1-3 throttle 0, 4th %s" % (s4.size, detail)
    ck.run("throttle_time_ms by the formula", sends)

    def other_connection():
        # the quota is the client id's (one sensor per client id), the mute the
        # connection's: a second connection is answered, and throttled too
        c2 = Client(plain, cx)
        try:
            s = produce(c2, topic, record_batch(900))
            state["total"] += s.size
            expect("Produce errors", s.errors, [NONE])
            detail = in_band("a ~1 KB Produce of the same client id on a new connection", s.throttle, state["total"], q)
            took = s.t_recv - s.t_sent
            if took * 1000 >= state["s4"].throttle:
                raise Fail("the new connection's Produce took %.2fs: as long as the first connection's throttle (%d ms): "
                           "only the throttled connection is muted" % (took, state["s4"].throttle))
            return "same client id, new connection: %s, answered in %.2fs (not muted)" % (detail, took)
        finally:
            c2.close()
    ck.run("same client id, other connection", other_connection)

    def muted():
        # KIP-219: the response comes at once, then the broker stops reading the
        # connection for throttle_time_ms: the next request waits
        c1, s4 = state["c1"], state["s4"]
        s5 = produce(c1, topic, batch)
        state["total"] += s5.size
        waited = (s5.t_recv - s4.t_recv) * 1000
        if waited < 0.5 * s4.throttle:
            raise Fail("the request after a %d ms throttle was answered %.0f ms after the throttled response: the "
                       "connection was not muted" % (s4.throttle, waited))
        detail = in_band("Produce 5", s5.throttle, state["total"], q)
        c1.close()
        return "after throttle_time_ms %d the next request was answered %.0f ms later; it got %s" % (s4.throttle, waited, detail)
    ck.run("muted for the throttle time", muted)

    def appended():
        off = end_offset(plain, topic)
        expect("log end offset of %s (every Produce, throttled or not, appended)" % topic, off, 6)
        return "the 6 throttled and unthrottled batches were all appended (log end offset 6)"
    ck.run("throttled data is kept", appended)

    def quota_change():
        # a new quota applies to the client id's current window (ClientQuotaManager.
        # updateQuotaMetricConfigs: the sensor keeps its samples)
        out = []
        for new_q in (BIG, 1024):
            alter_and_settle(plain, sasl, run, [([("client-id", cx)], [("producer_byte_rate", new_q)])])
            c = Client(plain, cx)
            try:
                s = produce(c, topic, record_batch(900))
            finally:
                c.close()
            state["total"] += s.size
            if new_q == BIG:
                expect("a ~1 KB Produce after the quota was raised to %d: throttle_time_ms" % BIG, s.throttle, 0)
                out.append("raised to 100M: 0")
            else:
                out.append("lowered to 1024: " + in_band("a ~1 KB Produce after the quota was lowered to 1024",
                                                         s.throttle, state["total"], 1024))
        return "same client id, new connections: %s (the %d bytes already recorded count)" % ("; ".join(out), state["total"])
    ck.run("quota changed mid-window", quota_change)

    def acks0():
        # acks=0: no response, but a throttled request mutes the connection all the same
        # (KafkaApis: throttle, then sendNoOpResponseExemptThrottle)
        cz = "qp-z-%s" % run
        alter_and_settle(plain, sasl, run, [([("client-id", cz)], [("producer_byte_rate", q)])])
        c = Client(plain, cz)
        try:
            total = 0
            for _ in range(4):
                _, size = c.send(API_PRODUCE, 9, produce_body(topic, batch, acks=0), True)
                total += size
            t4 = time.time()
            s = produce(c, topic, record_batch(900))
            total += s.size
        finally:
            c.close()
        lo = (total - s.size) * 1000 // q - (MIN_WINDOW_MS + SAMPLE_MS)
        waited = (s.t_recv - t4) * 1000
        if waited < 0.5 * lo:
            raise Fail("after 4 acks=0 Produces (the 4th throttled by at least ~%d ms) the next request was answered "
                       "%.0f ms later: the connection was not muted" % (lo, waited))
        detail = in_band("the acks=1 Produce after 4 acks=0 ones", s.throttle, total, q)
        return "4 x %d bytes acks=0 (no responses), then a ~1 KB acks=1 one: answered %.0f ms later (muted), %s" % (
            len(batch), waited, detail)
    ck.run("acks=0 muted too", acks0)

    def unquoted():
        c = Client(plain, cy)
        try:
            ts = [produce(c, topic, batch).throttle for _ in range(6)]
            expect("throttle_time_ms of a client id without a quota", ts, [0] * 6)
            return "client id %s: 6 x %d bytes back to back, throttle 0 each" % (cy, len(batch))
        finally:
            c.close()
    ck.run("a client id without quota", unquoted)
    ck.finish("produce quota")


# --- fetch-throttle ---------------------------------------------------------------------------

def fetch_throttle(plain, sasl, zk_chroot, run):
    """consumer_byte_rate=10240 for client id qf-x (ANONYMOUS): Fetch v11 (sessionless)."""
    ck = Checks()
    q = 10240
    cx, cg, cw = "qf-x-%s" % run, "qf-cap-%s" % run, "qf-w-%s" % run
    topic, topic2 = "qz-f-%s" % run, "qz-f2-%s" % run
    big = record_batch(45000)
    small = record_batch(5000)
    state = {}

    def setup():
        w = Client(plain, cw)
        try:
            for _ in range(2):
                expect("Produce errors", produce(w, topic, big).errors, [NONE])
            for _ in range(10):
                expect("Produce errors", produce(w, topic2, small).errors, [NONE])
        finally:
            w.close()
        secs = alter_and_settle(plain, sasl, run, [([("client-id", cx)], [("consumer_byte_rate", q)]),
                                                   ([("client-id", cg)], [("consumer_byte_rate", 4096)])])
        return "%s: 2 batches of %d bytes, %s: 10 of %d; consumer_byte_rate %s=%d, %s=4096 in force after %.1fs" % (
            topic, len(big), topic2, len(small), cx, q, cg, secs)
    ck.run("data and quotas", setup)

    def first():
        c = Client(plain, cx)
        state["c"] = c
        f = fetch(c, topic, 0)
        expect("Fetch 1 (throttle, error)", (f.throttle, f.error), (0, NONE))
        n, partial = batches_in(f.records())
        expect("Fetch 1 complete batches", (n, partial), (2, 0))
        state["r1"], state["rec1"] = f.size, len(f.records())
        return "offset 0: both batches (%d bytes of records, a %d-byte response: %d ms at the quota < 10 s), throttle 0" % (
            len(f.records()), f.size, f.size * 1000 // q)
    ck.run("Fetch within the quota", first)

    def throttled():
        w = Client(plain, cw)
        try:
            expect("Produce errors", produce(w, topic, big).errors, [NONE])
        finally:
            w.close()
        c = state["c"]
        f = fetch(c, topic, 2)
        # the size the response would have had (it is recorded, then unrecorded)
        would = state["r1"] - state["rec1"] + len(big)
        total = state["r1"] + would
        detail = in_band("Fetch 2 (%d bytes would make %d)" % (would, total), f.throttle, total, q)
        # FetchContext.getThrottledResponse: no error, no session, no topics at all
        expect("the throttled Fetch response (error, session_id, responses)", (f.error, f.session, f.partitions),
               (NONE, 0, []))
        state["f2"], state["total"] = f, total
        return "offset 2 (one more %d-byte batch): %s; the response is empty: error 0, session_id 0, no topics" % (len(big), detail)
    ck.run("throttled Fetch: empty response", throttled)

    def again():
        # muted for the throttle time; the throttled Fetch's bytes were taken back
        # (unrecordQuotaSensor), so the same Fetch is measured against the same total
        c, f2 = state["c"], state["f2"]
        f3 = fetch(c, topic, 2)
        waited = (f3.t_recv - f2.t_recv) * 1000
        if waited < 0.5 * f2.throttle:
            raise Fail("the Fetch after a %d ms throttle was answered %.0f ms after it: the connection was not muted" % (
                f2.throttle, waited))
        detail = in_band("Fetch 3 (the same Fetch again: the throttled one was unrecorded)", f3.throttle, state["total"], q)
        expect("Fetch 3 response (error, session_id, responses)", (f3.error, f3.session, f3.partitions), (NONE, 0, []))
        c.close()
        return "answered %.0f ms after the throttled one (muted); throttled again: %s, empty again" % (waited, detail)
    ck.run("muted, unrecorded", again)

    def cap():
        # KafkaApis.handleFetchRequest: a consumer's fetch max bytes is capped at
        # quota * (quota.window.num - 1) * quota.window.size.seconds = 4096 * 10
        c = Client(plain, cg)
        try:
            f0 = fetch(c, topic2, 10, max_wait=0)
            expect("Fetch at the log end (throttle, records)", (f0.throttle, f0.records()), (0, b""))
            time.sleep(0.5)  # W = 10000 + ~500 ms: the capped response stays under the quota
            f = fetch(c, topic2, 0)
            expect("Fetch from 0 (throttle, error)", (f.throttle, f.error), (0, NONE))
            got = len(f.records())
            n, partial = batches_in(f.records())
            if not 40960 - len(small) < got <= 40960:
                raise Fail("a Fetch for up to 1 MB got %d bytes of records (%d batches + %d); the quota caps it at 40960" % (
                    got, n, partial))
            return "max_bytes 1 MB, 50 KB in the log: %d bytes of records (%d batches + a %d-byte partial one), throttle 0" % (
                got, n, partial)
        finally:
            c.close()
    ck.run("Fetch size capped by the quota", cap)
    ck.finish("fetch quota")


# --- no-quota-unaffected ------------------------------------------------------------------------

def no_quota(plain, sasl, zk_chroot, run):
    """While a client id with producer_byte_rate=10240 is throttled and muted, other
    clients (no quota: another client id over PLAINTEXT, SASL user bob) write and read."""
    ck = Checks()
    cx, cy, cb = "qn-x-%s" % run, "qn-y-%s" % run, "qn-b-%s" % run
    topic = "qz-n-%s" % run
    batch = record_batch(31900)

    def setup():
        secs = alter_and_settle(plain, sasl, run, [([("client-id", cx)], [("producer_byte_rate", 10240)])])
        return "clients/%s producer_byte_rate=10240 in force after %.1fs" % (cx, secs)
    ck.run("quota set", setup)

    def concurrently():
        xs, errors = [], []

        def throttled_client():
            c = Client(plain, cx)
            try:
                for _ in range(5):
                    xs.append(produce(c, topic, batch))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                c.close()
        t = threading.Thread(target=throttled_client)
        t.start()
        deadline = time.time() + 10
        while not any(s.throttle > 0 for s in list(xs)) and time.time() < deadline and t.is_alive():
            time.sleep(0.05)
        first_throttle = next((s for s in list(xs) if s.throttle > 0), None)
        if first_throttle is None:
            t.join()
            raise Fail("the client with the quota was never throttled: %r %r" % ([s.throttle for s in xs], errors))
        y = Client(plain, cy)
        b = Client(sasl, cb, user="bob")
        got = []
        try:
            for i in range(8):
                s = produce(y, topic, batch)
                got.append(("PLAINTEXT %s Produce" % cy, s.throttle, s.errors, s.t_sent))
                s = produce(b, topic, batch)
                got.append(("SASL bob %s Produce" % cb, s.throttle, s.errors, s.t_sent))
            for cl, who in ((y, "PLAINTEXT " + cy), (b, "SASL bob " + cb)):
                f = fetch(cl, topic, 0)
                got.append(("%s Fetch" % who, f.throttle, [f.error], f.t_sent))
        finally:
            y.close()
            b.close()
        t.join()
        if errors:
            raise Fail("the throttled client failed: %s" % errors[0])
        bad = [(w, th, e) for w, th, e, _ in got if th != 0 or e != [NONE]]
        if bad:
            raise Fail("clients without a quota were throttled or failed: %r" % bad[:4])
        last = xs[-1].t_recv
        during = sum(1 for _, _, _, ts in got if first_throttle.t_recv <= ts <= last)
        if during == 0:
            raise Fail("no request of the other clients fell between the quota client's first throttle and its end")
        return "%s throttled (%s ms); meanwhile %d requests of %s and bob (16 x %d-byte Produce, 2 Fetch of 1 MB): throttle 0, no error" % (
            cx, "/".join(str(s.throttle) for s in xs), during, cy, len(batch))
    ck.run("others unaffected", concurrently)
    ck.finish("no-quota")


# --- user-quota -------------------------------------------------------------------------------------

def user_quota(plain, sasl, zk_chroot, run):
    """ClientQuotaManager's eight levels, most specific first:
      1 /config/users/<user>/clients/<client-id>   2 /config/users/<user>/clients/<default>
      3 /config/users/<user>                       4 /config/users/<default>/clients/<client-id>
      5 /config/users/<default>/clients/<default>  6 /config/users/<default>
      7 /config/clients/<client-id>                8 /config/clients/<default>
    Each probe is one ~128 KB Produce v9 on a new connection (SASL PLAIN as the user, or
    PLAINTEXT = User:ANONYMOUS): throttled by the band of the quota that must apply, or
    not at all when that quota is 100 MB/s. Quotas that apply at the user level (3, 6)
    are shared by all the user's client ids."""
    ck = Checks()
    n = lambda x: "qa-%s-%s" % (x, run)  # noqa: E731
    topic = "qz-u-%s" % run
    probe_batch = record_batch(127800)
    L3, L6, L8 = 10240, 6400, 9000

    def probe(user, cid, want_quota, size_before=0, batch=None):
        address = sasl if user else plain
        cl = Client(address, cid, user=user)
        try:
            s = produce(cl, topic, batch or probe_batch)
        finally:
            cl.close()
        expect("Produce errors", s.errors, [NONE])
        who = "%s/%s" % (user or "ANONYMOUS", cid)
        if want_quota is None:
            if s.throttle != 0:
                raise Fail("%s: throttle_time_ms %d, expected 0 (its quota is %d B/s)" % (who, s.throttle, BIG))
            return "%s 0" % who
        return "%s %s" % (who, in_band(who, s.throttle, size_before + s.size, want_quota))

    def phase1():
        secs = alter_and_settle(plain, sasl, run, [
            ([("user", "alice")], [("producer_byte_rate", L3)]),
            ([("user", "alice"), ("client-id", n("vip"))], [("producer_byte_rate", BIG)]),
            ([("user", "dave")], [("producer_byte_rate", L3)]),
            ([("user", "dave"), ("client-id", None)], [("producer_byte_rate", BIG)]),
            ([("user", None), ("client-id", n("dc"))], [("producer_byte_rate", BIG)]),
            ([("user", None)], [("producer_byte_rate", L6)]),
            ([("client-id", n("cl"))], [("producer_byte_rate", BIG)]),
        ])
        return ("users/alice %d, users/alice/clients/%s 100M, users/dave %d, users/dave/clients/<default> 100M, "
                "users/<default>/clients/%s 100M, users/<default> %d, clients/%s 100M: in force after %.1fs" % (
                    L3, n("vip"), L3, n("dc"), L6, n("cl"), secs))
    ck.run("phase 1 quotas", phase1)
    ck.run("level 1 beats 3", lambda: probe("alice", n("vip"), None))
    state = {}

    def level3():
        out = probe("alice", n("any"), L3)
        state["alice"] = len(probe_batch) + 200  # ~ the probe's request size
        return out
    ck.run("level 3", level3)

    def shared():
        # the user-level sensor (user=alice, client-id="") is shared: a small request of
        # another client id is throttled by the bytes before it
        cl = Client(sasl, n("any2"), user="alice")
        try:
            s = produce(cl, topic, record_batch(900))
        finally:
            cl.close()
        if s.throttle <= 0:
            raise Fail("alice/%s (~1 KB after alice's ~128 KB under a user-level quota): throttle 0" % n("any2"))
        return "alice/%s: a ~1 KB Produce throttled %d ms (alice's user quota is shared by her client ids)" % (n("any2"), s.throttle)
    ck.run("level 3 shared by client ids", shared)
    ck.run("level 2 beats 3", lambda: probe("dave", n("any"), None))
    ck.run("level 4 beats 6", lambda: probe("bob", n("dc"), None))
    ck.run("level 6", lambda: probe("bob", n("any"), L6))
    ck.run("level 6 beats 7", lambda: probe("carol", n("cl"), L6))
    ck.run("level 6 for ANONYMOUS", lambda: probe(None, n("anon"), L6))

    def phase2():
        secs = alter_and_settle(plain, sasl, run, [([("user", None), ("client-id", None)], [("producer_byte_rate", BIG)])])
        return "+ users/<default>/clients/<default> 100M: in force after %.1fs" % secs
    ck.run("phase 2 quotas", phase2)
    ck.run("level 5 beats 6", lambda: probe("bob", n("any3"), None))
    ck.run("level 5 beats 6 and 7", lambda: probe("carol", n("cl"), None))

    def phase3():
        admin = Client(plain, "qz-admin")
        try:
            got, _ = alter_quotas(admin, [([("user", None)], [("producer_byte_rate", None)]),
                                          ([("user", None), ("client-id", None)], [("producer_byte_rate", None)]),
                                          ([("user", None), ("client-id", n("dc"))], [("producer_byte_rate", None)])])
            expect("removals", sorted(set(got.values())), [(NONE, None)])
        finally:
            admin.close()
        secs = alter_and_settle(plain, sasl, run, [([("client-id", None)], [("producer_byte_rate", L8)])])
        return "users/<default>, users/<default>/clients/<default> and /%s removed, clients/<default> %d: in force after %.1fs" % (
            n("dc"), L8, secs)
    ck.run("phase 3 quotas", phase3)
    ck.run("level 8", lambda: probe("erin", n("x"), L8))
    ck.run("level 7 beats 8", lambda: probe("erin", n("cl"), None))
    ck.run("level 8 for a user without quotas", lambda: probe("bob", n("any4"), L8))
    ck.run("level 2 beats 3 and 8", lambda: probe("dave", n("y"), None))

    def cleanup():
        removed = wipe(plain, sasl, run)
        return "%d quota entities removed" % removed
    ck.run("cleanup", cleanup)
    ck.finish("quota precedence")


# --- polling --------------------------------------------------------------------------------------

def metadata_throttle(cl, topic):
    """One Metadata v8 (non-flexible) for TOPIC: (throttle_time_ms, sent, received)."""
    t0 = time.time()
    body = arr([s16(topic)], False) + i8(0) + i8(0) + i8(0)
    corr, _ = cl.send(API_METADATA, 8, body, False)
    r, _ = cl.recv(corr, False)
    return r.i32(), t0, time.time()


def request_throttle(plain, sasl, zk_chroot, run):
    """request_percentage (ClientRequestQuotaManager): a client id may keep the broker's
    request handlers busy for that percentage of one thread's time per second. A request
    records its handler time (nanos * 100 / 1e9) in the client id's sensor (the same
    11 x 1 s window as the byte rates); over the quota its answer carries throttle_time_ms
    = (rate - quota) / quota * W, capped at one sample (quota.window.size.seconds = 1000
    ms), and the connection is muted for it. The quota here, 0.01, is 0.1 ms of handler
    time per second: a few hundred requests at most exceed it on any broker."""
    ck = Checks()
    cx, cy = "qr-x-%s" % run, "qr-y-%s" % run
    topic = "qz-n-%s" % run
    state = {}

    def setup():
        secs = alter_and_settle(plain, sasl, run, [([("client-id", cx)], [("request_percentage", 0.01)])])
        return "clients/%s request_percentage=0.01, in force after %.1fs" % (cx, secs)
    ck.run("quota set", setup)

    def throttled():
        c = Client(plain, cx)
        state["c"] = c
        seen = []
        t0 = time.time()
        n = 0
        while time.time() - t0 < 60 and n < 20000:
            n += 1
            t, _, t_recv = metadata_throttle(c, topic)
            if t > 0:
                seen.append(t)
                state["last"] = (t, t_recv)
                if t >= 200:
                    break
        if not seen:
            raise Fail("%d Metadata requests in %.1fs with request_percentage=0.01: throttle_time_ms 0 each" % (n, time.time() - t0))
        if max(seen) > 1000:
            raise Fail("throttle_time_ms %r: above quota.window.size.seconds (1000 ms), which bounds a request quota's" % seen)
        if seen[-1] < 200:
            raise Fail("throttle_time_ms stayed below 200 ms over %d requests (%r)" % (n, seen[-5:]))
        return "first throttled after %d Metadata requests; throttle_time_ms %s (<= 1000)" % (
            n - len(seen) + 1, ", ".join(str(t) for t in seen[:3] + (seen[-1:] if len(seen) > 3 else [])))
    ck.run("throttled, bounded by one sample", throttled)

    def muted():
        c = state["c"]
        t, t_recv = state["last"]
        t2, _, t2_recv = metadata_throttle(c, topic)
        waited = (t2_recv - t_recv) * 1000
        if waited < 0.5 * t:
            raise Fail("the request after a %d ms throttle was answered %.0f ms later: the connection was not muted" % (t, waited))
        return "after throttle_time_ms %d the next request was answered %.0f ms later (throttle %d)" % (t, waited, t2)
    ck.run("muted for the throttle time", muted)

    def other_apis():
        # the request quota is the client id's for every API: a Produce (acks=1) carries
        # it without a byte-rate quota, and a Fetch over it is answered empty
        # (KafkaApis: max of the bandwidth and request throttles; getThrottledResponse)
        c = Client(plain, cx)
        try:
            s = produce(c, topic, record_batch(900))
            expect("Produce errors", s.errors, [NONE])
            if s.throttle <= 0:
                raise Fail("a Produce of the throttled client id: throttle_time_ms %d, expected > 0" % s.throttle)
            f = fetch(c, topic, 0)
        finally:
            c.close()
        if f.throttle <= 0:
            raise Fail("a Fetch of the throttled client id: throttle_time_ms %d, expected > 0" % f.throttle)
        if f.records():
            raise Fail("a throttled Fetch returned %d bytes of records: Kafka answers it empty" % len(f.records()))
        return "Produce (no byte-rate quota): throttle_time_ms %d, appended; Fetch: throttle_time_ms %d, no records, %d partitions" % (
            s.throttle, f.throttle, len(f.partitions))
    ck.run("Produce and Fetch carry it", other_apis)

    def unquoted():
        c = Client(plain, cy)
        try:
            ts = [metadata_throttle(c, topic)[0] for _ in range(300)]
        finally:
            c.close()
        expect("throttle_time_ms of 300 Metadata requests of a client id without a quota", sorted(set(ts)), [0])
        state["c"].close()
        return "client id %s: 300 Metadata requests back to back, throttle 0 each" % cy
    ck.run("a client id without quota", unquoted)
    ck.finish("request quota")


def throttle_poll(plain, cid, want, seconds, topic):
    t0 = time.time()
    last = None
    batch = record_batch(127800) if want == "throttled" else record_batch(900)
    while time.time() - t0 < float(seconds):
        cl = None
        try:
            cl = Client(plain, cid)
            s = produce(cl, topic, batch)
            last = "throttle_time_ms %d, errors %r" % (s.throttle, s.errors)
            if s.errors == [NONE] and ((want == "throttled") == (s.throttle > 0)):
                print("%s %s after %.1fs (%s)" % (cid, want, time.time() - t0, last))
                return 0
        except (Fail, Closed, OSError) as e:
            last = str(e)
        finally:
            if cl:
                cl.close()
        time.sleep(0.5)
    print("%s not %s within %ss (last: %s)" % (cid, want, seconds, last))
    return 1


def cmd_describe(plain):
    cl = Client(plain, "qz-admin")
    try:
        err, msg, got = describe_quotas(cl, [], False)
    finally:
        cl.close()
    if err != NONE:
        return "DescribeClientQuotas error %d %r" % (err, msg)
    lines = []
    for key, vals in got.items():
        ent = " ".join("%s=%s" % (t, "<null>" if nm is None else nm) for t, nm in key)
        lines.append("%s: %s" % (ent, ",".join("%s=%r" % kv for kv in sorted(vals.items()))))
    return "\n".join(sorted(lines))


def cmd_alter(plain, sasl, run, text):
    entries = [([(t, nm) for t, nm in e["entity"].items()], list(e["ops"].items())) for e in json.loads(text)]
    try:
        secs = alter_and_settle(addr(plain), addr(sasl), run, entries)
    except (Fail, Closed, OSError) as e:
        print("alter: %s" % e)
        return 1
    print("%d entr%s altered, in force after %.1fs" % (len(entries), "y" if len(entries) == 1 else "ies", secs))
    return 0


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd = a[0]
    checks = {"raw": raw, "produce-throttle": produce_throttle, "fetch-throttle": fetch_throttle,
              "no-quota": no_quota, "user-quota": user_quota,
              "request-throttle": request_throttle}
    if cmd in checks:
        checks[cmd](addr(a[1]), addr(a[2]), a[3], a[4])
    elif cmd == "alter":
        sys.exit(cmd_alter(a[1], a[2], a[3], a[4]))
    elif cmd == "wipe":
        try:
            print("%d quota entities removed" % wipe(addr(a[1]), addr(a[2]), a[3]))
        except (Fail, Closed, OSError) as e:
            print("wipe: %s" % e)
            sys.exit(1)
    elif cmd == "throttle-poll":
        sys.exit(throttle_poll(addr(a[1]), a[2], a[3], a[4], a[5]))
    elif cmd == "zk-check":
        sys.exit(zk_check(a[1], json.loads(a[2])))
    elif cmd == "norm-describe":
        print(norm_describe(sys.stdin.read()))
    elif cmd == "end-offset":
        print(end_offset(addr(a[1]), a[2]))
    elif cmd == "describe":
        print(cmd_describe(addr(a[1])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

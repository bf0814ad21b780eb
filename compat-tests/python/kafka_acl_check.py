"""kafka_acl_check: a broker's ACL authorizer on raw sockets and in ZooKeeper.

    kafka_acl_check.py zk-acls      ZK_CHROOT RUN
    kafka_acl_check.py zk-dump      ZK_CHROOT PATH
    kafka_acl_check.py raw          SASL_ADDR RUN ZK_CHROOT
    kafka_acl_check.py wait-fetch   SASL_ADDR USER TOPIC allowed|denied SECONDS
    kafka_acl_check.py wait-describe SASL_ADDR USER TOPIC allowed|denied SECONDS
    kafka_acl_check.py create-acls  SASL_ADDR TOPIC USER OPERATION...
    kafka_acl_check.py delete-acls  SASL_ADDR TOPIC USER

No client library sits between this program and the bytes (the SASL login is
kafka_sasl_check's), so it sees exactly which error code, message and list a broker
returns. The expectations are Apache Kafka 3.9's (ZooKeeper mode, AclAuthorizer), read
from its source (AclApis, AclAuthorizer, AuthHelper, KafkaApis, the *AclsRequest
classes, ZkData's ACL stores) and confirmed against an Apache 3.9.1 broker with
authorizer.class.name=kafka.security.authorizer.AclAuthorizer, super.users=User:admin;
User:ANONYMOUS, allow.everyone.if.no.acl.found=false; a target must return the same. The
users are suites/kafka-acl.sh's (SASL PLAIN, password "<user>-secret"); RUN is the run's
unique suffix, the resource names are the suite's (see its header).

zk-acls: the znodes the 3.9 kafka-acls tool's ACLs (the suite's acls-3.9-bootstrap
  client) left below ZK_CHROOT, compared as parsed JSON, ACL lists as sets.
zk-dump: prints "PATH DATA" for PATH and then each child (sorted), DATA as the znode
  holds it (UTF-8); exits 3 when PATH does not exist.
raw: the raw-acl-apis checks (see raw() below); every check prints a line to stderr,
  any difference fails (exit 1) and is named in the summary.
wait-fetch: polls Fetch v4 of partition 0 of TOPIC as USER until the partition's error is
  NONE (allowed) or TOPIC_AUTHORIZATION_FAILED (denied), at most SECONDS; prints the time.
wait-describe: the same with Metadata v1 for TOPIC (its error NONE, or
  TOPIC_AUTHORIZATION_FAILED).
create-acls: CreateAcls v3 as admin on exactly this broker: ALLOW USER the operations
  (READ, WRITE, DESCRIBE, ...) on the literal TOPIC, from any host.
delete-acls: DeleteAcls v3 as admin on exactly this broker: every ACL of USER on the
  literal TOPIC; prints how many matched.
"""
import json
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_sasl_check import (Checks, Closed, Conn, Fail, Reader, addr, expect,  # noqa: E402
                              login)

API_PRODUCE, API_FETCH, API_METADATA = 0, 1, 3
API_FIND_COORDINATOR, API_INIT_PRODUCER_ID = 10, 22
API_DESCRIBE_ACLS, API_CREATE_ACLS, API_DELETE_ACLS = 29, 30, 31

# org.apache.kafka.common.protocol.Errors
NONE, UNKNOWN_SERVER_ERROR, UNKNOWN_TOPIC_OR_PARTITION = 0, -1, 3
COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE = 14, 15
TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED = 29, 30, 31
INVALID_REQUEST = 42

# org.apache.kafka.common.resource.ResourceType / PatternType, org.apache.kafka.common.acl.*
R_ANY, R_TOPIC, R_GROUP, R_CLUSTER = 1, 2, 3, 4
P_ANY, P_MATCH, P_LITERAL, P_PREFIXED = 1, 2, 3, 4
OP = {"ANY": 1, "ALL": 2, "READ": 3, "WRITE": 4, "CREATE": 5, "DELETE": 6, "ALTER": 7, "DESCRIBE": 8,
      "CLUSTER_ACTION": 9, "DESCRIBE_CONFIGS": 10, "ALTER_CONFIGS": 11, "IDEMPOTENT_WRITE": 12}
PERM_ANY, DENY, ALLOW = 1, 2, 3

# Metadata's *_authorized_operations: a 32-bit field, bit N = operation code N
# (AuthHelper.authorizedOperations over AclEntry.supportedOperations). Unset: INT32_MIN.
OPS_UNSET = -2147483648


def bits(*names):
    return sum(1 << OP[n] for n in names)


ALL_TOPIC_OPS = bits("READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")
ALL_CLUSTER_OPS = bits("CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALTER", "DESCRIBE")

# AuthHelper.authorizeClusterOperation: ClusterAuthorizationException(s"Request $request is
# not authorized."), the request's toString, which Apache sends as the error message. In
# 3.9 the session is org.apache.kafka.network.Session, a Java class without toString: the
# message carries its identity hash. The buffer is null once the request's buffer was
# released (DescribeAcls), else the ByteBuffer's toString (CreateAcls, DeleteAcls: they
# complete asynchronously): "java.nio.HeapByteBuffer[pos=88 lim=88 cap=88]".
TARGET = os.environ.get("TARGET", "apache")
MSG_NOT_AUTHORIZED = re.compile(
    r"^Request Request\(processor=\d+, connectionId=127\.0\.0\.1:\d+-127\.0\.0\.1:\d+-\d+, "
    r"session=org\.apache\.kafka\.network\.Session@[0-9a-f]+, listenerName=ListenerName\(SASL_PLAINTEXT\), "
    r"securityProtocol=SASL_PLAINTEXT, buffer=(null|java\.nio\.HeapByteBuffer\[pos=\d+ lim=\d+ cap=\d+\]), "
    r"envelope=None\) is not authorized\.$")


def not_authorized_msg(msg):
    # Apache's text is the JVM's toString of its request object (an identity hash,
    # buffer positions): no client reads it. Apache must match it exactly; another
    # broker must only say the same sentence around its own request description.
    if TARGET == "apache":
        return isinstance(msg, str) and MSG_NOT_AUTHORIZED.match(msg) is not None
    return isinstance(msg, str) and msg.startswith("Request ") and msg.endswith(" is not authorized.")


# --- wire (flexible versions: compact strings and arrays, tagged fields) ----------------

def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def i8(v):
    return struct.pack(">b", v)


def s16(text):
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def cstr(text):
    if text is None:
        return b"\x00"
    raw = text.encode()
    return uvarint(len(raw) + 1) + raw


def arr(items, flexible):
    if flexible:
        return uvarint(len(items) + 1) + b"".join(items)
    return struct.pack(">i", len(items)) + b"".join(items)


TAGS = b"\x00"  # an empty tagged-field section


class R(Reader):
    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def uvarint(self):
        shift = out = 0
        while True:
            b = self.take(1)[0]
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def str_(self, flexible):
        if not flexible:
            return self.string()
        n = self.uvarint() - 1
        return None if n < 0 else self.take(n).decode()

    def count(self, flexible):
        return self.uvarint() - 1 if flexible else self.i32()


def call(c, key, version, body, flexible=False):
    """One request on Conn C (header v2 when FLEXIBLE), the response body as an R."""
    c.corr += 1
    cid = b"kafka-acl-check"
    header = struct.pack(">hhih", key, version, c.corr, len(cid)) + cid + (TAGS if flexible else b"")
    c.send_raw(header + body)
    r = R(c.recv_frame())
    corr = r.i32()
    if corr != c.corr:
        raise Fail("correlation id %d in the response, expected %d" % (corr, c.corr))
    if flexible:
        r.tags()
    return r


def connect(sasl, user):
    c = Conn(sasl)
    login(c, "PLAIN", user, user + "-secret")
    return c


# --- the ACL APIs -------------------------------------------------------------------------

def acl_filter(rtype, name, ptype, principal=None, host=None, op="ANY", perm=PERM_ANY, version=1):
    flex = version >= 2
    s = cstr if flex else s16
    body = i8(rtype) + s(name)
    if version >= 1:
        body += i8(ptype)
    return body + s(principal) + s(host) + i8(OP[op]) + i8(perm)


def describe_acls(c, version, *filt, **kw):
    """(error, message, {(rtype, name, ptype): {(principal, host, op, perm)}})"""
    flex = version >= 2
    r = call(c, API_DESCRIBE_ACLS, version, acl_filter(*filt, version=version, **kw) + (TAGS if flex else b""), flex)
    r.i32()  # throttle
    err, msg = r.i16(), r.str_(flex)
    out = {}
    for _ in range(r.count(flex)):
        rtype, name = r.i8(), r.str_(flex)
        ptype = r.i8() if version >= 1 else P_LITERAL
        acls = set()
        for _ in range(r.count(flex)):
            acls.add((r.str_(flex), r.str_(flex), r.i8(), r.i8()))
            if flex:
                r.tags()
        if flex:
            r.tags()
        if (rtype, name, ptype) in out:
            raise Fail("DescribeAcls lists resource %r twice" % ((rtype, name, ptype),))
        out[(rtype, name, ptype)] = acls
    return err, msg, out


def creation(rtype, name, ptype, principal, op, perm=ALLOW, host="*", version=1):
    flex = version >= 2
    s = cstr if flex else s16
    body = i8(rtype) + s(name) + (i8(ptype) if version >= 1 else b"")
    body += s(principal) + s(host) + i8(OP[op] if isinstance(op, str) else op) + i8(perm)
    return body + (TAGS if flex else b"")


def create_acls(c, version, creations):
    """[(error, message)] per creation"""
    flex = version >= 2
    r = call(c, API_CREATE_ACLS, version, arr(creations, flex) + (TAGS if flex else b""), flex)
    r.i32()
    out = []
    for _ in range(r.count(flex)):
        out.append((r.i16(), r.str_(flex)))
        if flex:
            r.tags()
    return out


def delete_acls(c, version, filters):
    """[(error, message, {(err, msg, rtype, name, ptype, principal, host, op, perm)})] per filter"""
    flex = version >= 2
    body = arr([f + (TAGS if flex else b"") for f in filters], flex) + (TAGS if flex else b"")
    r = call(c, API_DELETE_ACLS, version, body, flex)
    r.i32()
    out = []
    for _ in range(r.count(flex)):
        err, msg = r.i16(), r.str_(flex)
        matches = []
        for _ in range(r.count(flex)):
            m = (r.i16(), r.str_(flex), r.i8(), r.str_(flex), r.i8() if version >= 1 else P_LITERAL,
                 r.str_(flex), r.str_(flex), r.i8(), r.i8())
            if flex:
                r.tags()
            matches.append(m)
        if flex:
            r.tags()
        if len(set(matches)) != len(matches):
            raise Fail("DeleteAcls lists a matching ACL twice: %r" % matches)
        out.append((err, msg, set(matches)))
    return out


# --- other APIs ---------------------------------------------------------------------------

def metadata_v8(c, topics, auto_create=False, cluster_ops=True, topic_ops=True):
    """Metadata v8: (cluster_authorized_operations, {name: (error, is_internal, partitions, ops)});
    TOPICS None asks for all topics."""
    body = struct.pack(">i", -1) if topics is None else arr([s16(t) for t in topics], False)
    body += bytes([auto_create, cluster_ops, topic_ops])
    r = call(c, API_METADATA, 8, body)
    r.i32()
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), r.string()
    r.string()  # cluster id
    r.i32()  # controller
    topics_out = {}
    for _ in range(r.i32()):
        err, name, internal = r.i16(), r.string(), r.take(1)[0]
        parts = []
        for _ in range(r.i32()):
            perr, idx, leader, epoch = r.i16(), r.i32(), r.i32(), r.i32()
            for _ in range(3):
                [r.i32() for _ in range(r.i32())]
            parts.append((idx, perr, leader))
        topics_out[name] = (err, bool(internal), parts, r.i32())
    return r.i32(), topics_out


def metadata_v1_error(c, topic):
    r = call(c, API_METADATA, 1, arr([s16(topic)], False))
    for _ in range(r.i32()):
        r.i32(), r.string(), r.i32(), r.string()
    r.i32()
    for _ in range(r.i32()):
        err, name = r.i16(), r.string()
        r.take(1)
        for _ in range(r.i32()):
            r.i16(), r.i32(), r.i32()
            for _ in range(2):
                [r.i32() for _ in range(r.i32())]
        if name == topic:
            return err
    raise Fail("Metadata v1 for %s: the topic is not in the response" % topic)


def fetch_v4_error(c, topic):
    """Fetch v4 of TOPIC partition 0 from offset 0: (partition error, high watermark)."""
    body = struct.pack(">iiiib", -1, 0, 1, 1 << 20, 0)
    body += arr([s16(topic) + arr([struct.pack(">iqi", 0, 0, 1 << 20)], False)], False)
    r = call(c, API_FETCH, 4, body)
    r.i32()
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            part, err, hw, lso = r.i32(), r.i16(), r.i64(), r.i64()
            n = r.i32()
            for _ in range(max(n, 0)):
                r.i64(), r.i64()
            r.bytes32()
            if name == topic and part == 0:
                return err, hw
    raise Fail("Fetch v4 for %s: partition 0 is not in the response" % topic)


def init_producer_id(c):
    """InitProducerId v1 without a transactional id: (error, producer_id, epoch)."""
    r = call(c, API_INIT_PRODUCER_ID, 1, s16(None) + struct.pack(">i", 60000))
    r.i32()
    return r.i16(), r.i64(), r.i16()


def find_coordinator(c, group):
    """FindCoordinator v1 for a group: (error, message, node_id)."""
    r = call(c, API_FIND_COORDINATOR, 1, s16(group) + i8(0))
    r.i32()
    err, msg, node = r.i16(), r.string(), r.i32()
    return err, msg, node


# --- zk-acls ------------------------------------------------------------------------------

def acl_json(*acls):
    return {"version": 1, "acls": [{"principal": p, "permissionType": t, "operation": o, "host": h} for p, t, o, h in acls]}


def zk_acls(zk_chroot, run):
    """The znodes of the acls-3.9-bootstrap client's ACLs, as Apache 3.9.1 writes them
    (ZkData: LiteralAclStore, ExtendedAclStore, LiteralAclChangeStore, ExtendedAclChangeStore)."""
    from kazoo.client import KazooClient
    ck = Checks()
    zk = KazooClient(hosts=zk_chroot, timeout=15)
    zk.start(timeout=15)
    alice = "User:alice"

    def acl_node(path, want):
        def check():
            data, _ = zk.get(path)
            try:
                doc = json.loads(data.decode())
            except (ValueError, AttributeError) as e:
                raise Fail("%s: not JSON (%s): %r" % (path, e, data))
            if not isinstance(doc, dict) or set(doc) != {"version", "acls"}:
                raise Fail("%s: keys %r, expected exactly version and acls" % (path, sorted(doc) if isinstance(doc, dict) else doc))
            expect("%s version" % path, doc["version"], 1)
            got = [tuple(sorted(a.items())) for a in doc["acls"]]
            if len(set(got)) != len(got):
                raise Fail("%s: an ACL is listed twice: %r" % (path, doc["acls"]))
            wantset = {tuple(sorted(a.items())) for a in want["acls"]}
            if set(got) != wantset:
                raise Fail("%s: acls %r, expected (any order) %r" % (path, doc["acls"], want["acls"]))
            return "%d ACL(s): %s" % (len(got), ", ".join(sorted("%s %s %s %s" % (a["principal"], a["permissionType"], a["operation"], a["host"]) for a in doc["acls"])))
        return check

    w = "acl-w-%s" % run
    ck.run("/kafka-acl/Topic/" + w, acl_node("/kafka-acl/Topic/" + w, acl_json(
        (alice, "Allow", "Write", "*"), (alice, "Allow", "Describe", "*"), (alice, "Allow", "Read", "*"))))
    ck.run("/kafka-acl/Group/acl-g-" + run, acl_node("/kafka-acl/Group/acl-g-" + run, acl_json(
        (alice, "Allow", "Read", "*"))))
    ck.run("/kafka-acl/Topic/acl-logs-%s-secret" % run, acl_node("/kafka-acl/Topic/acl-logs-%s-secret" % run, acl_json(
        (alice, "Deny", "Read", "*"))))
    ck.run("/kafka-acl/Topic/acl-fb-" + run, acl_node("/kafka-acl/Topic/acl-fb-" + run, acl_json(
        ("User:filebeat", "Allow", "Write", "*"), ("User:filebeat", "Allow", "Describe", "*"),
        ("User:filebeat", "Allow", "Create", "*"))))
    pre = "/kafka-acl-extended/prefixed"
    ck.run(pre + "/Topic/acl-logs-%s-" % run, acl_node(pre + "/Topic/acl-logs-%s-" % run, acl_json(
        (alice, "Allow", "Read", "*"), (alice, "Allow", "Describe", "*"))))
    ck.run(pre + "/Topic/acl-app-%s-" % run, acl_node(pre + "/Topic/acl-app-%s-" % run, acl_json(
        (alice, "Allow", "Write", "*"), (alice, "Allow", "Describe", "*"), (alice, "Allow", "Create", "*"),
        (alice, "Allow", "Read", "*"))))
    ck.run(pre + "/Group/acl-g-%s-" % run, acl_node(pre + "/Group/acl-g-%s-" % run, acl_json(
        (alice, "Allow", "Read", "*"))))

    def type_nodes():
        # AclAuthorizer.configure -> KafkaZkClient.createAclPaths: every store's resource
        # type znodes, at the broker's start
        types = ["Cluster", "DelegationToken", "Group", "Topic", "TransactionalId", "User"]
        missing = [p for root in ("/kafka-acl", pre) for p in ("%s/%s" % (root, t) for t in types) if not zk.exists(p)]
        if missing:
            raise Fail("missing: %s" % ", ".join(missing))
        return "/kafka-acl/<type> and %s/<type> for %s" % (pre, ", ".join(types))
    ck.run("resource type znodes", type_nodes)

    def literal_changes():
        names = zk.get_children("/kafka-acl-changes")
        bad = [n for n in names if not re.match(r"^acl_changes_\d{10}$", n)]
        if bad:
            raise Fail("unexpected children %r" % bad)
        datas = [zk.get("/kafka-acl-changes/" + n)[0].decode() for n in sorted(names)]
        want = {"TOPIC:" + w, "GROUP:acl-g-" + run, "TOPIC:acl-logs-%s-secret" % run, "TOPIC:acl-fb-" + run}
        missing = want - set(datas)
        if missing:
            raise Fail("no notification %r among %r" % (sorted(missing), datas))
        # the literal topic got two separate CreateAcls (explicit ops, then --consumer):
        # one notification each
        n = datas.count("TOPIC:" + w)
        if n != 2:
            raise Fail("%d notifications TOPIC:%s, expected 2 (two CreateAcls)" % (n, w))
        return "%d sequential children acl_changes_<10 digits>, data like %r" % (len(names), "TOPIC:" + w)
    ck.run("/kafka-acl-changes", literal_changes)

    def extended_changes():
        names = zk.get_children("/kafka-acl-extended-changes")
        bad = [n for n in names if not re.match(r"^acl_changes_\d{10}$", n)]
        if bad:
            raise Fail("unexpected children %r" % bad)
        docs = [json.loads(zk.get("/kafka-acl-extended-changes/" + n)[0].decode()) for n in sorted(names)]
        want = [{"version": 1, "resourceType": "TOPIC", "name": "acl-logs-%s-" % run, "patternType": "PREFIXED"},
                {"version": 1, "resourceType": "TOPIC", "name": "acl-app-%s-" % run, "patternType": "PREFIXED"},
                {"version": 1, "resourceType": "GROUP", "name": "acl-g-%s-" % run, "patternType": "PREFIXED"}]
        for doc in want:
            if doc not in docs:
                raise Fail("no notification %r among %r" % (doc, docs))
        return "%d sequential children, JSON like %s" % (len(names), json.dumps(want[0]))
    ck.run("/kafka-acl-extended-changes", extended_changes)
    zk.stop()
    ck.finish("ZooKeeper ACL znode")


# --- raw ----------------------------------------------------------------------------------

def raw(sasl, run, zk_chroot):
    """The raw-acl-apis checks, in order; resources acl-raw-RUN*, principals User:bob and
    User:carol (neither has any other ACL)."""
    ck = Checks()
    admin = connect(sasl, "admin")
    t_raw, t_pre, t_x = "acl-raw-%s" % run, "acl-raw-%s-" % run, "acl-raw-%s-x" % run
    bob, carol = "User:bob", "User:carol"

    # 1. CreateAcls v1, one request: valid bindings succeed; each invalid one fails alone,
    # with AclApis' / AclAuthorizer's error.
    def create_v1():
        res = create_acls(admin, 1, [
            creation(R_TOPIC, t_raw, P_LITERAL, bob, "READ"),
            creation(R_TOPIC, t_raw, P_LITERAL, bob, "WRITE"),
            creation(R_TOPIC, t_pre, P_PREFIXED, bob, "DESCRIBE"),
            creation(R_TOPIC, t_x, P_LITERAL, carol, "READ", DENY, host="127.0.0.1"),
            creation(R_GROUP, t_raw, P_LITERAL, bob, "READ"),
            creation(R_CLUSTER, "kafka-cluster", P_LITERAL, carol, "DESCRIBE"),
            creation(R_CLUSTER, "my-cluster", P_LITERAL, carol, "DESCRIBE"),
            creation(R_TOPIC, "", P_LITERAL, bob, "READ"),
            creation(R_TOPIC, "acl-raw/%s" % run, P_LITERAL, bob, "READ"),
        ])
        expect("CreateAcls v1 results", res, [
            (NONE, ""), (NONE, ""), (NONE, ""), (NONE, ""), (NONE, ""), (NONE, ""),
            (INVALID_REQUEST, "The only valid name for the CLUSTER resource is kafka-cluster"),
            (INVALID_REQUEST, "Invalid empty resource name"),
            # AclAuthorizer.validateAclBinding: a '/' would make a znode path
            (INVALID_REQUEST, "Failed to create ACL"),
        ])
        return "6 created (error 0, message \"\"); cluster name my-cluster, empty name, name with '/': error 42 with Apache's messages"
    ck.run("CreateAcls v1", create_v1)

    # 2. a principal without ':' is refused when the authorizer parses it
    # (SecurityUtils.parseKafkaPrincipal inside AclAuthorizer.updateResourceAcls): that
    # fails every binding of the same resource in the request, as UNKNOWN_SERVER_ERROR
    # without a message (ApiError hides a wrapped non-API exception's text)
    def bad_principal():
        res = create_acls(admin, 1, [
            creation(R_TOPIC, "acl-raw-%s-p" % run, P_LITERAL, "bob", "READ"),
            creation(R_TOPIC, "acl-raw-%s-p" % run, P_LITERAL, bob, "WRITE"),
            creation(R_TOPIC, "acl-raw-%s-q" % run, P_LITERAL, bob, "WRITE"),
        ])
        expect("CreateAcls v1 results", res, [(UNKNOWN_SERVER_ERROR, None), (UNKNOWN_SERVER_ERROR, None), (NONE, "")])
        err, _, got = describe_acls(admin, 1, R_TOPIC, "acl-raw-%s-p" % run, P_LITERAL)
        expect("DescribeAcls of the refused resource", (err, got), (NONE, {}))
        return "principal 'bob': error -1, message null, also for the good binding on the same resource; another resource in the request created"
    ck.run("CreateAcls principal without ':'", bad_principal)

    # 3. bindings a ResourcePattern / AccessControlEntry cannot hold: the handler's
    # conversion throws IllegalArgumentException for the whole request
    def not_concrete(what, *cr):
        def check():
            res = create_acls(admin, 1, [creation(*cr), creation(R_TOPIC, "acl-raw-%s-n" % run, P_LITERAL, bob, "READ")])
            expect("CreateAcls v1 results", res, [(UNKNOWN_SERVER_ERROR, None), (UNKNOWN_SERVER_ERROR, None)])
            err, _, got = describe_acls(admin, 1, R_TOPIC, "acl-raw-%s-n" % run, P_LITERAL)
            expect("DescribeAcls of the good binding in that request", (err, got), (NONE, {}))
            return "%s: every result error -1 with a null message, nothing created" % what
        return check
    ck.run("CreateAcls resource type ANY", not_concrete("resource type ANY", R_ANY, t_raw, P_LITERAL, bob, "READ"))
    ck.run("CreateAcls pattern type MATCH", not_concrete("pattern type MATCH", R_TOPIC, t_raw, P_MATCH, bob, "READ"))
    ck.run("CreateAcls pattern type ANY", not_concrete("pattern type ANY", R_TOPIC, t_raw, P_ANY, bob, "READ"))
    ck.run("CreateAcls operation ANY", not_concrete("operation ANY", R_TOPIC, t_raw, P_LITERAL, bob, "ANY"))
    ck.run("CreateAcls permission ANY", not_concrete("permission ANY", R_TOPIC, t_raw, P_LITERAL, bob, "READ", PERM_ANY))

    # 4. UNKNOWN (code 0) elements fail the request's parsing: no answer, a close
    def unknown_code():
        c = connect(sasl, "admin")
        try:
            c.send_raw(struct.pack(">hhih", API_CREATE_ACLS, 1, 99, 3) + b"raw" +
                       arr([creation(0, t_raw, P_LITERAL, bob, "READ")], False))
            c.closed_within(5)
            return "resource type 0 (UNKNOWN): closed without an answer"
        finally:
            c.close()
    ck.run("CreateAcls resource type UNKNOWN", unknown_code)

    # 5. CreateAcls v3 (flexible)
    def create_v3():
        res = create_acls(admin, 3, [
            creation(R_GROUP, t_pre, P_PREFIXED, carol, "READ", version=3),
            creation(R_CLUSTER, "x", P_LITERAL, carol, "ALTER", version=3),
        ])
        expect("CreateAcls v3 results", res, [
            (NONE, ""), (INVALID_REQUEST, "The only valid name for the CLUSTER resource is kafka-cluster")])
        return "flexible: one created, one error 42"
    ck.run("CreateAcls v3", create_v3)

    acl_read = (bob, "*", OP["READ"], ALLOW)
    acl_write = (bob, "*", OP["WRITE"], ALLOW)
    acl_pre = (bob, "*", OP["DESCRIBE"], ALLOW)
    acl_deny = (carol, "127.0.0.1", OP["READ"], DENY)

    # 6. DescribeAcls: the resource pattern filter semantics (ResourcePatternFilter.matches)
    def describe(version, label, want, *filt, **kw):
        def check():
            err, msg, got = describe_acls(admin, version, *filt, **kw)
            expect("DescribeAcls v%d (error, message)" % version, (err, msg), (NONE, ""))
            expect("DescribeAcls v%d resources" % version, got, want)
            return "%s: %d resource(s)" % (label, len(got))
        return check
    ck.run("DescribeAcls v1 LITERAL", describe(1, "LITERAL %s" % t_raw, {(R_TOPIC, t_raw, P_LITERAL): {acl_read, acl_write}},
                                              R_TOPIC, t_raw, P_LITERAL))
    ck.run("DescribeAcls v3 MATCH", describe(3, "MATCH %s: the literal and the prefix" % t_x, {
        (R_TOPIC, t_x, P_LITERAL): {acl_deny}, (R_TOPIC, t_pre, P_PREFIXED): {acl_pre}}, R_TOPIC, t_x, P_MATCH))
    ck.run("DescribeAcls v1 PREFIXED", describe(1, "PREFIXED %s" % t_pre, {(R_TOPIC, t_pre, P_PREFIXED): {acl_pre}},
                                                R_TOPIC, t_pre, P_PREFIXED))
    ck.run("DescribeAcls v1 PREFIXED other name", describe(1, "PREFIXED %s: no prefix is named so" % t_x, {},
                                                           R_TOPIC, t_x, P_PREFIXED))
    ck.run("DescribeAcls v3 ANY name", describe(3, "ANY pattern type, name %s: only that name" % t_pre, {
        (R_TOPIC, t_pre, P_PREFIXED): {acl_pre}, (R_GROUP, t_pre, P_PREFIXED): {(carol, "*", OP["READ"], ALLOW)}},
        R_ANY, t_pre, P_ANY))
    ck.run("DescribeAcls v1 principal", describe(1, "any resource, principal %s" % carol, {
        (R_TOPIC, t_x, P_LITERAL): {acl_deny}, (R_CLUSTER, "kafka-cluster", P_LITERAL): {(carol, "*", OP["DESCRIBE"], ALLOW)},
        (R_GROUP, t_pre, P_PREFIXED): {(carol, "*", OP["READ"], ALLOW)}}, R_ANY, None, P_ANY, principal=carol))
    ck.run("DescribeAcls v3 host and operation", describe(3, "host 127.0.0.1, operation READ, DENY", {
        (R_TOPIC, t_x, P_LITERAL): {acl_deny}}, R_ANY, None, P_ANY, host="127.0.0.1", op="READ", perm=DENY))
    # v0 knows no pattern types: DescribeAclsRequest turns ANY into LITERAL
    ck.run("DescribeAcls v0", describe(0, "v0, principal %s: the literal resources only" % carol, {
        (R_TOPIC, t_x, P_LITERAL): {acl_deny}, (R_CLUSTER, "kafka-cluster", P_LITERAL): {(carol, "*", OP["DESCRIBE"], ALLOW)}},
        R_ANY, None, P_ANY, principal=carol))
    ck.run("DescribeAcls v1 no match", describe(1, "principal User:nobody", {}, R_ANY, None, P_ANY, principal="User:nobody"))

    # 7. DeleteAcls: each filter's matching ACLs, error 0 and a null message each
    def delete_v1():
        res = delete_acls(admin, 1, [
            acl_filter(R_TOPIC, t_raw, P_LITERAL, bob, None, "WRITE"),
            acl_filter(R_GROUP, "acl-none-%s" % run, P_LITERAL),
        ])
        expect("DeleteAcls v1 results", res, [
            (NONE, None, {(NONE, None, R_TOPIC, t_raw, P_LITERAL, bob, "*", OP["WRITE"], ALLOW)}),
            (NONE, None, set())])
        err, _, got = describe_acls(admin, 1, R_TOPIC, t_raw, P_LITERAL)
        expect("DescribeAcls afterwards", got, {(R_TOPIC, t_raw, P_LITERAL): {acl_read}})
        return "one ACL matched and deleted, the other filter matched none (error 0, empty list)"
    ck.run("DeleteAcls v1", delete_v1)

    def delete_v3_match():
        res = delete_acls(admin, 3, [acl_filter(R_TOPIC, t_x, P_MATCH, version=3)])
        expect("DeleteAcls v3 results", res, [(NONE, None, {
            (NONE, None, R_TOPIC, t_x, P_LITERAL, carol, "127.0.0.1", OP["READ"], DENY),
            (NONE, None, R_TOPIC, t_pre, P_PREFIXED, bob, "*", OP["DESCRIBE"], ALLOW)})])
        return "MATCH %s deleted the literal ACL and the prefixed one" % t_x
    ck.run("DeleteAcls v3 MATCH", delete_v3_match)

    def delete_rest():
        res = delete_acls(admin, 1, [
            acl_filter(R_ANY, t_raw, P_ANY),
            acl_filter(R_ANY, None, P_ANY, carol),
            acl_filter(R_ANY, "acl-raw-%s-q" % run, P_LITERAL),
        ])
        expect("DeleteAcls v1 results", res, [
            (NONE, None, {(NONE, None, R_TOPIC, t_raw, P_LITERAL, bob, "*", OP["READ"], ALLOW),
                          (NONE, None, R_GROUP, t_raw, P_LITERAL, bob, "*", OP["READ"], ALLOW)}),
            (NONE, None, {(NONE, None, R_CLUSTER, "kafka-cluster", P_LITERAL, carol, "*", OP["DESCRIBE"], ALLOW),
                          (NONE, None, R_GROUP, t_pre, P_PREFIXED, carol, "*", OP["READ"], ALLOW)}),
            (NONE, None, {(NONE, None, R_TOPIC, "acl-raw-%s-q" % run, P_LITERAL, bob, "*", OP["WRITE"], ALLOW)}),
        ])
        for principal in (bob, carol):
            err, _, got = describe_acls(admin, 3, R_ANY, None, P_ANY, principal=principal)
            expect("DescribeAcls of %s afterwards" % principal, (err, got), (NONE, {}))
        return "resource type ANY + pattern ANY by name, and by principal: every remaining raw ACL deleted"
    ck.run("DeleteAcls v1 ANY", delete_rest)

    # 8. the ACL APIs need Describe (DescribeAcls) / Alter (CreateAcls, DeleteAcls) on the
    # cluster: alice has neither; ClusterAuthorizationException's message is the request
    def not_authorized():
        c = connect(sasl, "alice")
        try:
            err, msg, got = describe_acls(c, 1, R_ANY, None, P_ANY)
            if err != CLUSTER_AUTHORIZATION_FAILED or not not_authorized_msg(msg) or got:
                raise Fail("DescribeAcls as alice: error %d %r, %d resources; expected 31 with a message like %r" % (
                    err, msg, len(got), MSG_NOT_AUTHORIZED.pattern))
            res = create_acls(c, 3, [creation(R_TOPIC, t_raw, P_LITERAL, "User:alice", "ALL", version=3),
                                     creation(R_CLUSTER, "kafka-cluster", P_LITERAL, "User:alice", "ALL", version=3)])
            if len(res) != 2 or any(e != CLUSTER_AUTHORIZATION_FAILED or not not_authorized_msg(m) for e, m in res):
                raise Fail("CreateAcls v3 as alice: %r, expected 31 with the message for both" % res)
            res = delete_acls(c, 1, [acl_filter(R_ANY, None, P_ANY)])
            if len(res) != 1 or res[0][0] != CLUSTER_AUTHORIZATION_FAILED or res[0][2] or not not_authorized_msg(res[0][1]):
                raise Fail("DeleteAcls v1 as alice: %r, expected 31 with the message and no matches" % res)
            err, _, got = describe_acls(admin, 1, R_ANY, None, P_ANY, principal="User:alice", op="ALL")
            expect("alice's ALL ACLs afterwards", got, {})
            return "DescribeAcls, CreateAcls (each result), DeleteAcls (each filter): error 31 %r" % msg
        finally:
            c.close()
    ck.run("ACL APIs as alice", not_authorized)

    # 9. Metadata v8 with the authorized operations; the topics a principal may not
    # Describe are hidden when all topics are asked for, refused (29) when named
    t_w, t_sec, t_none = "acl-w-%s" % run, "acl-logs-%s-secret" % run, "acl-none-%s" % run

    def metadata_admin():
        cluster_ops, topics = metadata_v8(admin, [t_w, t_none])
        expect("cluster_authorized_operations (super user)", cluster_ops, ALL_CLUSTER_OPS)
        for t in (t_w, t_none):
            err, internal, parts, ops = topics[t]
            expect("%s: error" % t, err, NONE)
            expect("%s topic_authorized_operations" % t, ops, ALL_TOPIC_OPS)
        return "cluster_authorized_operations 0x%x, topic_authorized_operations 0x%x" % (cluster_ops, ALL_TOPIC_OPS)
    ck.run("Metadata v8 as admin", metadata_admin)

    def metadata_alice():
        c = connect(sasl, "alice")
        try:
            nope = "acl-logs-%s-nope" % run
            cluster_ops, topics = metadata_v8(c, [t_w, t_sec, t_none, nope], auto_create=False)
            expect("cluster_authorized_operations (no Describe on the cluster)", cluster_ops, 0)
            expect("topics", sorted(topics), sorted([t_w, t_sec, t_none, nope]))
            got = {t: (v[0], v[3]) for t, v in topics.items()}
            expect("(error, topic_authorized_operations)", got, {
                t_w: (NONE, bits("READ", "WRITE", "DESCRIBE")),
                t_sec: (NONE, bits("DESCRIBE")),
                # not disclosed: no partitions, operations left unset
                t_none: (TOPIC_AUTHORIZATION_FAILED, OPS_UNSET),
                # Describe by the prefix, not there, no auto-creation asked for
                nope: (UNKNOWN_TOPIC_OR_PARTITION, bits("READ", "DESCRIBE")),
            })
            expect("%s partitions" % t_none, topics[t_none][2], [])
            _, topics = metadata_v8(c, [nope], auto_create=True, cluster_ops=False, topic_ops=False)
            # auto-creation asked for, but no Create on the cluster nor on the topic
            expect("%s with allow_auto_topic_creation" % nope, topics[nope][0], TOPIC_AUTHORIZATION_FAILED)
            _, everything = metadata_v8(c, None, cluster_ops=False, topic_ops=False)
            hidden = [t for t in everything if not t.startswith(("acl-w-%s" % run, "acl-logs-%s-" % run, "acl-app-%s-" % run))]
            if hidden or t_w not in everything or t_sec not in everything:
                raise Fail("all topics as alice: %r (expected only alice's acl-w / acl-logs- / acl-app- topics)" % sorted(everything))
            return ("cluster ops 0; %s 0x%x, %s 0x%x (Describe only: Read is denied), %s error 29 ops unset, "
                    "%s error 3 (auto-creation: 29); all topics: %d, alice's only" % (
                        t_w, got[t_w][1], t_sec, got[t_sec][1], t_none, nope, len(everything)))
        finally:
            c.close()
    ck.run("Metadata v8 as alice", metadata_alice)

    def metadata_bob():
        c = connect(sasl, "bob")
        try:
            cluster_ops, topics = metadata_v8(c, None)
            expect("all topics as bob (no ACLs)", (cluster_ops, topics), (0, {}))
            return "no topics, cluster ops 0"
        finally:
            c.close()
    ck.run("Metadata v8 as bob", metadata_bob)

    # 10. InitProducerId without a transactional id (KIP-679, Kafka 3.0+): IdempotentWrite
    # on the cluster, or Write on any topic
    def idempotent():
        c = connect(sasl, "alice")
        try:
            # the first answers may be COORDINATOR_LOAD_IN_PROGRESS (14): a ZooKeeper-mode
            # 3.9 broker asks the controller for a block of producer ids first
            # (AllocateProducerIds), retriable
            deadline = time.time() + 20
            while True:
                err, pid, epoch = init_producer_id(c)
                if err != COORDINATOR_LOAD_IN_PROGRESS or time.time() > deadline:
                    break
                time.sleep(0.3)
            if err != NONE or pid < 0:
                raise Fail("alice (Write on topics only): error %d, producer id %d" % (err, pid))
        finally:
            c.close()
        c = connect(sasl, "bob")
        try:
            expect("bob (no Write anywhere): (error, producer id, epoch)", init_producer_id(c),
                   (CLUSTER_AUTHORIZATION_FAILED, -1, -1))
        finally:
            c.close()
        return "alice: producer id %d epoch %d; bob: error 31" % (pid, epoch)
    ck.run("InitProducerId", idempotent)

    # 11. FindCoordinator: Describe on the group
    def coordinator():
        c = connect(sasl, "alice")
        try:
            # FindCoordinatorResponse.prepareResponse: the message is the error's own
            # (Errors.message()), also "NONE" on success
            # COORDINATOR_NOT_AVAILABLE (15, "The coordinator is not available.") until
            # __consumer_offsets exists: this request creates it if no group did yet
            deadline = time.time() + 30
            while True:
                err, msg, node = find_coordinator(c, "acl-g-%s" % run)
                if err != COORDINATOR_NOT_AVAILABLE or time.time() > deadline:
                    break
                time.sleep(0.5)
            expect("acl-g: (error, message)", (err, msg), (NONE, "NONE"))
            got = find_coordinator(c, "acl-h-%s" % run)
            expect("acl-h (no ACL): (error, message, node)", got, (GROUP_AUTHORIZATION_FAILED, "Group authorization failed.", -1))
            return "acl-g: error 0 'NONE', coordinator %d; acl-h: error 30 'Group authorization failed.', node -1" % node
        finally:
            c.close()
    ck.run("FindCoordinator", coordinator)

    # 12. enforcement by host, wildcard principal and wildcard resource (AclAuthorizer.
    # matchingAcls / matchingAclExists), on a topic that does not exist: Metadata v8
    # without auto-creation answers UNKNOWN_TOPIC_OR_PARTITION when bob may Describe it,
    # TOPIC_AUTHORIZATION_FAILED when not
    t_h = "acl-raw-%s-h" % run

    def bob_describe(c, topic):
        return metadata_v8(c, [topic], auto_create=False, cluster_ops=False, topic_ops=False)[1][topic][0]

    def hosts_and_wildcards():
        c = connect(sasl, "bob")
        steps = []
        try:
            for label, cr, want in (
                    ("ALLOW from host 10.1.2.3 only", creation(R_TOPIC, t_h, P_LITERAL, bob, "DESCRIBE", host="10.1.2.3"), TOPIC_AUTHORIZATION_FAILED),
                    ("+ ALLOW from host 127.0.0.1", creation(R_TOPIC, t_h, P_LITERAL, bob, "DESCRIBE", host="127.0.0.1"), UNKNOWN_TOPIC_OR_PARTITION),
                    ("+ DENY User:* from any host", creation(R_TOPIC, t_h, P_LITERAL, "User:*", "DESCRIBE", DENY), TOPIC_AUTHORIZATION_FAILED)):
                expect("CreateAcls v1 %s" % label, create_acls(admin, 1, [cr]), [(NONE, "")])
                expect("bob's Metadata of %s after %s" % (t_h, label), bob_describe(c, t_h), want)
                steps.append("%s: %d" % (label, want))
            res = delete_acls(admin, 1, [acl_filter(R_TOPIC, t_h, P_LITERAL)])
            expect("DeleteAcls of %s: matches" % t_h, len(res[0][2]), 3)
            # ALLOW User:* Describe on the literal resource "*": every topic, internal ones too
            expect("CreateAcls v1 User:* on topic *", create_acls(admin, 1, [
                creation(R_TOPIC, "*", P_LITERAL, "User:*", "DESCRIBE")]), [(NONE, "")])
            _, everything = metadata_v8(c, None, cluster_ops=False, topic_ops=False)
            if t_w not in everything or t_none not in everything or "__consumer_offsets" not in everything:
                raise Fail("with User:* Describe on topic '*', bob sees only %r" % sorted(everything))
            n_all = len(everything)
            res = delete_acls(admin, 3, [acl_filter(R_TOPIC, "*", P_LITERAL, "User:*", version=3)])
            expect("DeleteAcls v3 of User:* on topic *", res, [
                (NONE, None, {(NONE, None, R_TOPIC, "*", P_LITERAL, "User:*", "*", OP["DESCRIBE"], ALLOW)})])
            _, everything = metadata_v8(c, None, cluster_ops=False, topic_ops=False)
            expect("bob's topics after the wildcard ACL's deletion", everything, {})
            return "; ".join(steps) + "; User:* Describe on topic '*': bob sees all %d topics (__consumer_offsets too), none after its deletion" % n_all
        finally:
            c.close()
    ck.run("host, wildcard principal and wildcard resource", hosts_and_wildcards)

    # 13. in ZooKeeper: a resource's znode goes when its last ACL does, and every
    # change (one per resource and request) left a notification
    def znodes():
        from kazoo.client import KazooClient
        zk = KazooClient(hosts=zk_chroot, timeout=15)
        zk.start(timeout=15)
        try:
            left = [p for p in ("/kafka-acl/Topic/" + t_raw, "/kafka-acl/Topic/" + t_x, "/kafka-acl/Group/" + t_raw,
                                "/kafka-acl/Topic/" + t_h, "/kafka-acl/Topic/*",
                                "/kafka-acl-extended/prefixed/Topic/" + t_pre, "/kafka-acl-extended/prefixed/Group/" + t_pre)
                    if zk.exists(p)]
            if left:
                raise Fail("znodes of resources without ACLs left: %r" % left)
            lit = [zk.get("/kafka-acl-changes/" + n)[0].decode() for n in zk.get_children("/kafka-acl-changes")]
            ext = [json.loads(zk.get("/kafka-acl-extended-changes/" + n)[0].decode())
                   for n in zk.get_children("/kafka-acl-extended-changes")]
            counts = {"TOPIC:" + t_raw: lit.count("TOPIC:" + t_raw), "GROUP:" + t_raw: lit.count("GROUP:" + t_raw),
                      "TOPIC:" + t_x: lit.count("TOPIC:" + t_x), "TOPIC:" + t_h: lit.count("TOPIC:" + t_h),
                      "TOPIC:*": lit.count("TOPIC:*"),
                      "prefixed TOPIC:" + t_pre: ext.count({"version": 1, "resourceType": "TOPIC", "name": t_pre, "patternType": "PREFIXED"}),
                      "prefixed GROUP:" + t_pre: ext.count({"version": 1, "resourceType": "GROUP", "name": t_pre, "patternType": "PREFIXED"})}
            # created in 1 (both ACLs of the topic in one request), one deleted in 7, the
            # last in 7's third request; -h: three creations, one deletion; the others:
            # created once, deleted once
            expect("change notifications per resource", counts, {
                "TOPIC:" + t_raw: 3, "GROUP:" + t_raw: 2, "TOPIC:" + t_x: 2, "TOPIC:" + t_h: 4, "TOPIC:*": 2,
                "prefixed TOPIC:" + t_pre: 2, "prefixed GROUP:" + t_pre: 2})
            # the cluster resource is not the run's own: at least its creation and deletion
            n = lit.count("CLUSTER:kafka-cluster")
            if n < 2:
                raise Fail("%d notifications CLUSTER:kafka-cluster, expected at least 2" % n)
            return "resource znodes deleted with their last ACL; notifications: %s" % ", ".join(
                "%s %d" % kv for kv in sorted(counts.items()))
        finally:
            zk.stop()
    ck.run("ZooKeeper after the raw ACL changes", znodes)

    admin.close()
    ck.finish("raw ACL API")


# --- polling ------------------------------------------------------------------------------

def wait(what, sasl, user, topic, want, seconds):
    want_err = NONE if want == "allowed" else TOPIC_AUTHORIZATION_FAILED
    fn = fetch_v4_error if what == "fetch" else lambda c, t: (metadata_v1_error(c, t), None)
    t0 = time.time()
    last = None
    while time.time() - t0 < float(seconds):
        c = None
        try:
            c = connect(sasl, user)
            err, _ = fn(c, topic)
            if err == want_err:
                print("%s of %s as %s %s (error %d) after %.1fs" % (what, topic, user, want, err, time.time() - t0))
                return 0
            last = "error %d" % err
        except (Fail, Closed, OSError) as e:
            last = str(e)
        finally:
            if c:
                c.close()
        time.sleep(0.3)
    print("%s of %s as %s not %s within %ss (last: %s)" % (what, topic, user, want, seconds, last))
    return 1


def cmd_create(sasl, topic, user, ops):
    c = connect(sasl, "admin")
    res = create_acls(c, 3, [creation(R_TOPIC, topic, P_LITERAL, user, op.upper(), version=3) for op in ops])
    c.close()
    if any(e != NONE for e, _ in res):
        print("CreateAcls v3: %r" % res)
        return 1
    print("CreateAcls v3: %s %s on %s" % (user, "+".join(ops), topic))
    return 0


def cmd_delete(sasl, topic, user):
    c = connect(sasl, "admin")
    res = delete_acls(c, 3, [acl_filter(R_TOPIC, topic, P_LITERAL, user, version=3)])
    c.close()
    err, msg, matches = res[0]
    if err != NONE or not matches or any(m[0] != NONE for m in matches):
        print("DeleteAcls v3: %r" % res)
        return 1
    print("DeleteAcls v3: %d ACL(s) of %s on %s deleted" % (len(matches), user, topic))
    return 0


def zk_dump(zk_chroot, path):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=zk_chroot, timeout=15)
    zk.start(timeout=15)
    try:
        if not zk.exists(path):
            print("%s does not exist" % path)
            return 3
        for p in [path] + ["%s/%s" % (path.rstrip("/"), c) for c in sorted(zk.get_children(path))]:
            data = zk.get(p)[0]
            print("%s %s" % (p, "" if data is None else data.decode()))
        return 0
    finally:
        zk.stop()


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if a[0] == "zk-acls":
        zk_acls(a[1], a[2])
    elif a[0] == "zk-dump":
        sys.exit(zk_dump(a[1], a[2]))
    elif a[0] == "raw":
        raw(addr(a[1]), a[2], a[3])
    elif a[0] in ("wait-fetch", "wait-describe"):
        sys.exit(wait(a[0][5:], addr(a[1]), a[2], a[3], a[4], a[5]))
    elif a[0] == "create-acls":
        sys.exit(cmd_create(addr(a[1]), a[2], a[3], a[4:]))
    elif a[0] == "delete-acls":
        sys.exit(cmd_delete(addr(a[1]), a[2], a[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""kafka_corpus: record Kafka requests from real clients, replay them to two brokers
and compare the answers (Apache Kafka 3.9.1 is the oracle).

    kafka_corpus.py record --listen PORT --upstream HOST:PORT --out DIR
    kafka_corpus.py diff --reference HOST:PORT --target HOST:PORT --corpus DIR
                         [--target-kind keel|apache] [--no-edge | --edge-only]
                         [--sessions PATTERNS] [--json FILE]

Message layouts come from Apache's own message specs (common/message/*.json), read at
run time from the kafka-clients 3.9.1 jar of the harness's Maven cache (--jar, or
KAFKA_CLIENTS_JAR; nothing of Apache's is copied into this repository). One generic
codec decodes and re-encodes every request and response of every version: flexible
versions (compact strings/arrays/bytes, tagged fields, unknown tags kept as raw bytes),
request header v1/v2, response header v0/v1 (ApiVersions answers with v0 always).

record: a transparent TCP proxy on 127.0.0.1:PORT in front of one broker. Every
client connection becomes DIR/conn-NNN.jsonl: one JSON line per request frame and per
response frame, raw bytes in base64, with a corpus-wide sequence number (the order
the proxy saw them). The port in Metadata, FindCoordinator and DescribeCluster
answers is rewritten to the proxy's, so clients come back through the proxy.
Stops on SIGTERM/SIGINT.

diff: every directory under --corpus holding conn-*.jsonl files is a session (one
client run). Its requests are replayed in recorded order, each recorded connection
on a connection of its own to each broker, one request at a time (a Produce with
acks=0 waits for no answer). Made replayable per replay, the same on both sides:
- topic, group and transactional names: recording tokens `zq` + 10 hex digits
  (record.sh puts one in every name) become a fresh token of the same length, in
  every string and bytes field (never inside record batches);
- ids each server hands out: member ids, generation ids, producer ids and epochs,
  fetch session ids and topic ids, learnt by walking the recorded answer beside each
  server's answer, substituted into later requests (producer ids inside record
  batches too, with the batch CRC recomputed). Nothing had to be dropped; DROPPED
  names any API the replay skips and the output says so.
Then edge cases generated from the corpus (one base request per API and version,
group-membership APIs excepted), each on a fresh connection: as recorded, with
trailing bytes after the body, with an unknown tagged field in the header and in
the body (flexible versions), with a null client id, with a truncated body, with an
API version above and below the reference's advertised range, plus an unknown API
key and length prefixes of zero, negative and beyond socket.request.max.bytes.

Compared for every request: answered / closed the connection / no answer in time;
every error code at every level; the shape (fields present, nulls, array lengths,
unknown tags); values, except those ignored by rule (IGNORED_FIELDS: throttle times,
node ids, hosts, ports, cluster ids, member ids, generations, producer ids, session
ids, topic ids, timestamps, error message texts) and, in edge cases, every value that
is not an error code (edge cases test parsing, not data). Arrays compare as multisets.

A difference is keyed `<session> <Api> v<version> <case> <path>`; KNOWN_DIFFERENCES
below allows named ones against a keel target, each with the reason. With
--target-kind keel an entry that matches nothing fails the run (so the list only
shrinks); with --target-kind apache no difference at all is allowed. Prints a summary;
exits 1 when a difference is not allowed.
"""
import argparse
import base64
import concurrent.futures
import copy
import fnmatch
import glob
import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import zipfile

# --- differences keel still has against Apache 3.9.1 ------------------------------------
# Each: (pattern of the key `<session> <Api> v<version> <case> <path>`, where only `*` is
# a wildcard; the reason: the request, and what each side answers). The first entry
# that matches a difference takes it, so specific entries come before general ones.
# These are keel bugs or gaps to fix, not accepted behaviour: drop an entry when its
# difference is gone (the run fails on an entry that matches nothing).
KNOWN_DIFFERENCES = [
    ("* ApiVersions v* .ApiKeys[len]",
     "ApiVersions v2-v4 (every client): keel announces 37 APIs, Apache 3.9.1 62; the "
     "ones keel lacks are named API by API in api_versions_diff.py (NOT_SERVED) and "
     "checked by the kafka-api-versions suite; keel also announces DescribeTopicPartitions(75)"),
]

# APIs the replay skips (api key -> why). Empty: every recorded API replays.
DROPPED = {}

# Response fields whose values are not compared (their presence and nullness are).
IGNORED_FIELDS = {
    "ThrottleTimeMs": "throttle time",
    "NodeId": "node id", "BrokerId": "node id", "ControllerId": "node id",
    "LeaderId": "node id", "ReplicaNodes": "node ids", "IsrNodes": "node ids",
    "OfflineReplicas": "node ids", "EligibleLeaderReplicas": "node ids",
    "LastKnownElr": "node ids", "PreferredReadReplica": "node id",
    "Host": "host", "Port": "port", "ClusterId": "cluster id",
    "MemberId": "member id", "Leader": "member id", "GenerationId": "generation",
    "ProducerId": "producer id", "SessionId": "fetch session id", "TopicId": "topic id",
    "ErrorMessage": "message text", "ClientHost": "client address",
    "FinalizedFeaturesEpoch": "feature epoch",
    "ZkMigrationReady": "migration state",
}
# Names ending so are timestamps.
TIMESTAMP_SUFFIXES = ("TimeMs", "Timestamp", "TimestampMs")
# Broker configs whose values are per-server (ports, paths, the ZooKeeper chroot).
PER_SERVER_CONFIGS = {"listeners", "advertised.listeners", "log.dirs", "log.dir",
                      "zookeeper.connect", "broker.id", "advertised.host.name",
                      "advertised.port", "port", "host.name"}

# Fields whose values a server hands out, substituted into later requests.
ID_CLASSES = {
    "MemberId": "member", "Leader": "member", "GenerationId": "generation",
    "GenerationIdOrMemberEpoch": "generation", "ProducerId": "producer",
    "ProducerEpoch": "producer-epoch", "SessionId": "session", "TopicId": "topic",
}

# API keys whose requests are not used as edge-case bases (they join, leave or
# depend on a live group member).
EDGE_SKIP = {11, 12, 13, 14, 22, 24, 25, 26, 28}

# Errors a client retries (not ready yet): LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER,
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
# UNKNOWN_TOPIC_OR_PARTITION (a topic its broker has not heard of yet), REBALANCE_IN_PROGRESS.
TRANSIENT_ERRORS = {5, 6, 14, 15, 16, 3, 27}
# ... of which these are never a final answer: resent even when the recording had them
# (a fresh broker creating __consumer_offsets, a topic's first leader election).
ALWAYS_TRANSIENT = {5, 14, 15}
SETTLE_S = 8.0
TOKEN_RE = re.compile(rb"zq[0-9a-f]{10}")
REPLAY_TIMEOUT_S = 20.0
EDGE_TIMEOUT_S = 4.0
MAX_REQUEST_BYTES = 104857600  # socket.request.max.bytes of both brokers

ERROR_NAMES = {
    -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION", 5: "LEADER_NOT_AVAILABLE", 6: "NOT_LEADER_OR_FOLLOWER",
    7: "REQUEST_TIMED_OUT", 10: "MESSAGE_TOO_LARGE", 14: "COORDINATOR_LOAD_IN_PROGRESS",
    15: "COORDINATOR_NOT_AVAILABLE", 16: "NOT_COORDINATOR", 17: "INVALID_TOPIC_EXCEPTION",
    22: "ILLEGAL_GENERATION", 25: "UNKNOWN_MEMBER_ID", 27: "REBALANCE_IN_PROGRESS",
    35: "UNSUPPORTED_VERSION", 36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS",
    38: "INVALID_REPLICATION_FACTOR", 41: "NOT_CONTROLLER", 42: "INVALID_REQUEST",
    45: "OUT_OF_ORDER_SEQUENCE_NUMBER", 46: "DUPLICATE_SEQUENCE_NUMBER",
    59: "UNKNOWN_PRODUCER_ID", 69: "GROUP_ID_NOT_FOUND", 70: "FETCH_SESSION_ID_NOT_FOUND",
    71: "INVALID_FETCH_SESSION_EPOCH", 74: "FENCED_LEADER_EPOCH", 75: "UNKNOWN_LEADER_EPOCH",
    76: "UNSUPPORTED_COMPRESSION_TYPE", 79: "MEMBER_ID_REQUIRED", 87: "INVALID_RECORD",
    100: "UNKNOWN_TOPIC_ID",
}


# --- specs -------------------------------------------------------------------------------

def vrange(text):
    if text is None or text == "none":
        return (1, 0)
    if text.endswith("+"):
        return (int(text[:-1]), 32767)
    if "-" in text:
        low, high = text.split("-")
        return (int(low), int(high))
    return (int(text), int(text))


def within(bounds, version):
    return bounds[0] <= version <= bounds[1]


PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64",
              "string", "bytes", "records", "uuid"}


class Field:
    __slots__ = ("name", "array", "base", "versions", "nullable", "tag", "tagged", "children")

    def __init__(self, raw, structs):
        self.name = raw["name"]
        kind = raw["type"]
        self.array = kind.startswith("[]")
        self.base = kind[2:] if self.array else kind
        self.versions = vrange(raw.get("versions"))
        self.nullable = vrange(raw.get("nullableVersions"))
        self.tag = raw.get("tag")
        self.tagged = vrange(raw.get("taggedVersions"))
        if "fields" in raw:
            self.children = [Field(f, structs) for f in raw["fields"]]
        elif self.base in PRIMITIVES:
            self.children = None
        else:
            self.children = structs(self.base)


class Api:
    def __init__(self, request, response):
        self.key = request["apiKey"]
        self.name = request["name"][:-len("Request")]
        self.valid = vrange(request["validVersions"])
        self.flexible = vrange(request.get("flexibleVersions"))
        self.request = self._fields(request)
        self.response = self._fields(response)

    @staticmethod
    def _fields(message):
        raw = {s["name"]: s["fields"] for s in message.get("commonStructs", [])}
        done = {}

        def struct_of(name):
            if name not in done:
                if name not in raw:
                    raise ValueError("%s: unknown type %s" % (message["name"], name))
                done[name] = [Field(f, struct_of) for f in raw[name]]
            return done[name]

        return [Field(f, struct_of) for f in message["fields"]]

    def is_flexible(self, version):
        return within(self.flexible, version)


APIS = {}


def find_jar(explicit):
    here = os.path.dirname(os.path.abspath(__file__))
    version = os.environ.get("KAFKA_ZK_VERSION", "3.9.1")
    rel = "org/apache/kafka/kafka-clients/%s/kafka-clients-%s.jar" % (version, version)
    candidates = [explicit, os.environ.get("KAFKA_CLIENTS_JAR")]
    for cache in (os.environ.get("CACHE_DIR"), os.path.join(here, "..", ".cache")):
        if cache:
            candidates.append(os.path.join(cache, "m2", rel))
    candidates.append(os.path.expanduser("~/.m2/repository/" + rel))
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    raise SystemExit("kafka_corpus: no kafka-clients %s jar (pass --jar; the harness's "
                     "Maven cache has it once a kafka-3.9 set was resolved)" % version)


def load_specs(jar):
    messages = {}
    with zipfile.ZipFile(jar) as zf:
        for name in zf.namelist():
            if name.startswith("common/message/") and name.endswith(".json"):
                text = zf.read(name).decode()
                text = "\n".join(line for line in text.splitlines()
                                 if not line.lstrip().startswith("//"))
                message = json.loads(text)
                if message.get("type") in ("request", "response"):
                    messages[(message["apiKey"], message["type"])] = message
    for (key, kind), message in messages.items():
        if kind == "request" and (key, "response") in messages:
            APIS[key] = Api(message, messages[(key, "response")])
    if 18 not in APIS or 3 not in APIS:
        raise SystemExit("kafka_corpus: %s holds no usable message specs" % jar)


def api_name(key):
    return APIS[key].name if key in APIS else "Api%d" % key


# --- codec -------------------------------------------------------------------------------

class Short(Exception):
    pass


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Short("needs %d bytes at %d of %d" % (n, self.pos, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def fmt(self, f):
        return struct.unpack(f, self.take(struct.calcsize(f)))[0]

    def uvarint(self):
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 35:
                raise Short("varint too long")

    def remaining(self):
        return len(self.data) - self.pos


def put_uvarint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


FIXED = {"bool": ">?", "int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i",
         "uint32": ">I", "int64": ">q", "float64": ">d"}


def decode_struct(r, fields, v, flex):
    out = {}
    tagged = {}
    for f in fields:
        if not within(f.versions, v):
            continue
        if f.tag is not None and within(f.tagged, v):
            if flex:
                tagged[f.tag] = f
            continue
        out[f.name] = decode_value(r, f, v, flex)
    if flex:
        unknown = []
        for _ in range(r.uvarint()):
            tag, size = r.uvarint(), r.uvarint()
            raw = r.take(size)
            if tag in tagged:
                out[tagged[tag].name] = decode_value(Reader(raw), tagged[tag], v, flex)
            else:
                unknown.append([tag, raw])
        if unknown:
            out["_unknown_tags"] = unknown
    return out


def decode_value(r, f, v, flex):
    if f.array:
        n = r.uvarint() - 1 if flex else r.fmt(">i")
        if n < 0:
            return None
        if n > r.remaining():
            raise Short("array of %d in %d bytes" % (n, r.remaining()))
        return [decode_one(r, f, v, flex, False) for _ in range(n)]
    return decode_one(r, f, v, flex, within(f.nullable, v))


def decode_one(r, f, v, flex, nullable):
    if f.children is not None:
        if nullable and r.fmt(">b") < 0:
            return None
        return decode_struct(r, f.children, v, flex)
    kind = f.base
    if kind in FIXED:
        return r.fmt(FIXED[kind])
    if kind == "uuid":
        return r.take(16)
    if kind == "string":
        n = r.uvarint() - 1 if flex else r.fmt(">h")
        return None if n < 0 else r.take(n).decode("utf-8", "surrogateescape")
    if kind in ("bytes", "records"):
        n = r.uvarint() - 1 if flex else r.fmt(">i")
        return None if n < 0 else r.take(n)
    raise ValueError("unknown type " + kind)


def encode_struct(value, fields, v, flex):
    out = bytearray()
    tags = []
    for f in fields:
        if not within(f.versions, v):
            continue
        if f.tag is not None and within(f.tagged, v):
            if flex and f.name in value:
                tags.append((f.tag, encode_value(value[f.name], f, v, flex)))
            continue
        out += encode_value(value.get(f.name), f, v, flex)
    if flex:
        tags += [(tag, bytes(raw)) for tag, raw in value.get("_unknown_tags", [])]
        tags.sort(key=lambda t: t[0])
        out += put_uvarint(len(tags))
        for tag, raw in tags:
            out += put_uvarint(tag) + put_uvarint(len(raw)) + raw
    return bytes(out)


def encode_value(value, f, v, flex):
    if f.array:
        if value is None:
            return b"\x00" if flex else struct.pack(">i", -1)
        head = put_uvarint(len(value) + 1) if flex else struct.pack(">i", len(value))
        return head + b"".join(encode_one(x, f, v, flex, False) for x in value)
    return encode_one(value, f, v, flex, within(f.nullable, v))


def encode_one(value, f, v, flex, nullable):
    if f.children is not None:
        if nullable:
            if value is None:
                return struct.pack(">b", -1)
            return b"\x01" + encode_struct(value, f.children, v, flex)
        return encode_struct(value or {}, f.children, v, flex)
    kind = f.base
    if kind in FIXED:
        return struct.pack(FIXED[kind], value if value is not None else 0)
    if kind == "uuid":
        return bytes(value) if value is not None else bytes(16)
    if kind in ("string", "bytes", "records"):
        if value is None:
            if flex:
                return b"\x00"
            return struct.pack(">h" if kind == "string" else ">i", -1)
        raw = value.encode("utf-8", "surrogateescape") if kind == "string" else bytes(value)
        if flex:
            return put_uvarint(len(raw) + 1) + raw
        return struct.pack(">h" if kind == "string" else ">i", len(raw)) + raw
    raise ValueError("unknown type " + kind)


def read_tags(r):
    return [[r.uvarint(), r.take(r.uvarint())] for _ in range(r.uvarint())]


def write_tags(tags):
    out = put_uvarint(len(tags))
    for tag, raw in tags:
        out += put_uvarint(tag) + put_uvarint(len(raw)) + bytes(raw)
    return out


class Request:
    """A request frame (without its length prefix), decoded."""

    def __init__(self, payload):
        r = Reader(payload)
        self.key, self.version, self.corr = r.fmt(">h"), r.fmt(">h"), r.fmt(">i")
        n = r.fmt(">h")
        self.client_id = None if n < 0 else r.take(n).decode("utf-8", "surrogateescape")
        api = APIS.get(self.key)
        self.flexible = bool(api and api.is_flexible(self.version))
        self.header_tags = read_tags(r) if self.flexible else []
        self.body_raw = payload[r.pos:]
        self.body = None
        self.trailing = b""
        if api and within(api.valid, self.version):
            self.body = decode_struct(r, api.request, self.version, self.flexible)
            self.trailing = payload[r.pos:]

    def encode(self, header_tags=None, client_id=Ellipsis, version=None):
        version = self.version if version is None else version
        api = APIS.get(self.key)
        flexible = bool(api and api.is_flexible(version))
        cid = self.client_id if client_id is Ellipsis else client_id
        out = struct.pack(">hhi", self.key, version, self.corr)
        if cid is None:
            out += struct.pack(">h", -1)
        else:
            raw = cid.encode("utf-8", "surrogateescape")
            out += struct.pack(">h", len(raw)) + raw
        if flexible:
            out += write_tags(self.header_tags if header_tags is None else header_tags)
        if self.body is None:
            return out + self.body_raw
        return out + encode_struct(self.body, api.request, self.version, self.flexible) + self.trailing

    def expects_response(self):
        return not (self.key == 0 and self.body is not None and self.body.get("Acks") == 0)


def response_header_flexible(key, version):
    return key != 18 and key in APIS and APIS[key].is_flexible(version)


def decode_response(key, version, payload):
    """-> (correlation id, body dict); raises on bytes that do not parse or are left over."""
    r = Reader(payload)
    corr = r.fmt(">i")
    api = APIS[key]
    if response_header_flexible(key, version):
        read_tags(r)
    try:
        body = decode_struct(r, api.response, version, api.is_flexible(version))
        if r.remaining():
            raise Short("%d bytes left over after the body" % r.remaining())
        return corr, body
    except Short:
        if key == 18 and version != 0:
            # an ApiVersions version the broker does not serve is answered in v0
            r = Reader(payload, 4)
            body = decode_struct(r, api.response, 0, False)
            if not r.remaining():
                body["_answered_as_v0"] = True
                return corr, body
        raise


def encode_response(key, version, corr, body, header_tags=()):
    api = APIS[key]
    out = struct.pack(">i", corr)
    if response_header_flexible(key, version):
        out += write_tags(list(header_tags))
    return out + encode_struct(body, api.response, version, api.is_flexible(version))


# --- record batches -------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def batches(records):
    """Yields (start, end, magic) of each complete batch/message; end=None for a partial tail."""
    pos = 0
    while pos + 17 <= len(records):
        size = struct.unpack_from(">i", records, pos + 8)[0]
        end = pos + 12 + size
        if size < 0 or end > len(records):
            yield pos, None, None
            return
        yield pos, end, records[pos + 16]
        pos = end
    if pos < len(records):
        yield pos, None, None


def rewrite_producer_ids(records, producers, epochs):
    if not records or not producers:
        return records
    out = bytearray(records)
    for start, end, magic in batches(records):
        if end is None or magic != 2 or end - start < 61:
            continue
        pid = struct.unpack_from(">q", out, start + 43)[0]
        if pid in producers:
            epoch = struct.unpack_from(">h", out, start + 51)[0]
            struct.pack_into(">qh", out, start + 43, producers[pid], epochs.get(epoch, epoch))
            struct.pack_into(">I", out, start + 17, crc32c(out[start + 21:end]))
    return bytes(out)


def records_digest(records):
    """Record batches without the per-server parts (leader epoch, producer id, CRC)."""
    if records is None:
        return None
    out = []
    for start, end, magic in batches(records):
        if end is None:
            out.append("partial batch of %d bytes" % (len(records) - start))
        elif magic == 2 and end - start >= 61:
            base, = struct.unpack_from(">q", records, start)
            attrs, last, first_ts, max_ts = struct.unpack_from(">hiqq", records, start + 21)
            seq, count = struct.unpack_from(">ii", records, start + 53)
            body = hashlib.sha1(records[start + 61:end]).hexdigest()[:12]
            out.append("batch offset=%d last_delta=%d count=%d attrs=%d seq=%d records=%s"
                       % (base, last, count, attrs, seq, body))
        else:
            out.append("message magic=%s %s" % (magic, hashlib.sha1(records[start:end]).hexdigest()[:12]))
    return out


# --- walking decoded messages ---------------------------------------------------------------

def walk_strings(value, fields, v, fn):
    """Applies fn to every string and bytes value (not records) of a decoded struct."""
    for f in fields:
        if f.name not in value or value[f.name] is None:
            continue
        item = value[f.name]
        items = item if f.array else [item]
        if f.children is not None:
            for x in items:
                if x is not None:
                    walk_strings(x, f.children, v, fn)
        elif f.base in ("string", "bytes"):
            new = [fn(x) if x is not None else None for x in items]
            value[f.name] = new if f.array else new[0]


def rename_tokens(value, fields, v, tokens):
    def fn(x):
        if isinstance(x, str):
            for old, new in tokens.items():
                x = x.replace(old, new)
            return x
        raw = bytes(x)
        for old, new in tokens.items():
            raw = raw.replace(old.encode(), new.encode())
        return raw
    walk_strings(value, fields, v, fn)


def substitute_ids(value, fields, v, ids):
    for f in fields:
        if f.name not in value or value[f.name] is None:
            continue
        item = value[f.name]
        if f.children is not None:
            for x in (item if f.array else [item]):
                if x is not None:
                    substitute_ids(x, f.children, v, ids)
            continue
        cls = ID_CLASSES.get(f.name)
        if cls and not f.array:
            key = bytes(item) if isinstance(item, (bytes, bytearray)) else item
            if key in ids.get(cls, {}):
                value[f.name] = ids[cls][key]
        if f.base == "records" and item:
            value[f.name] = rewrite_producer_ids(item, ids.get("producer", {}),
                                                 ids.get("producer-epoch", {}))


def learn_ids(recorded, live, ids):
    """Walks a recorded answer beside a server's: the ids the server handed out."""
    if isinstance(recorded, dict) and isinstance(live, dict):
        for name, value in recorded.items():
            if name not in live:
                continue
            cls = ID_CLASSES.get(name)
            other = live[name]
            if cls and not isinstance(value, (dict, list)):
                if value in (None, "", -1) or value == bytes(16):
                    continue
                if type(value) is not type(other):
                    continue
                ids.setdefault(cls, {})[value] = other
            else:
                learn_ids(value, other, ids)
    elif isinstance(recorded, list) and isinstance(live, list):
        def key(x):
            if isinstance(x, dict):
                for k in ("Name", "Topic", "GroupId", "PartitionIndex"):
                    if k in x:
                        return x[k]
            return None
        by_key = {key(x): x for x in live if key(x) is not None}
        for i, x in enumerate(recorded):
            k = key(x)
            if k is not None and k in by_key:
                learn_ids(x, by_key[k], ids)
            elif k is None and i < len(live):
                learn_ids(x, live[i], ids)


def canonical(value, fields, v, edge, nested_key=None):
    """A comparable tree of a decoded response: ignored values replaced by a marker."""
    out = {}
    names = {f.name for f in fields}
    per_server = (value.get("Name") in PER_SERVER_CONFIGS and "Value" in names)
    for f in fields:
        if f.name not in value:
            continue
        item = value[f.name]
        if item is None:
            out[f.name] = None
            continue
        if f.children is not None:
            if f.array:
                out[f.name] = [canonical(x, f.children, v, edge) for x in item]
            else:
                out[f.name] = canonical(item, f.children, v, edge)
            continue
        ignored = (f.name in IGNORED_FIELDS or f.name.endswith(TIMESTAMP_SUFFIXES)
                   or (per_server and f.name == "Value")
                   or (edge and f.name != "ErrorCode"))
        if f.array:
            out[f.name] = ["<ignored>" for _ in item] if ignored else [show(x) for x in item]
        elif ignored:
            out[f.name] = "<ignored>"
        elif f.base == "records":
            out[f.name] = records_digest(item) if not edge else "<records>"
        else:
            out[f.name] = show(item, f.name)
    if "_unknown_tags" in value:
        out["_unknown_tags"] = sorted(tag for tag, _ in value["_unknown_tags"])
    if value.get("_answered_as_v0"):
        out["_answered_as_v0"] = True
    return out


def show(x, name=None):
    if isinstance(x, (bytes, bytearray)):
        if len(x) <= 64:
            return "0x" + bytes(x).hex()
        return "%d bytes sha1 %s" % (len(x), hashlib.sha1(x).hexdigest()[:12])
    if name and name.endswith("ErrorCode") and isinstance(x, int):
        return "%d %s" % (x, ERROR_NAMES.get(x, "")) if x in ERROR_NAMES else x
    return x


def error_codes(body):
    codes = set()

    def collect(x):
        if isinstance(x, dict):
            for k, val in x.items():
                if k.endswith("ErrorCode") and isinstance(val, int):
                    codes.add(val)
                else:
                    collect(val)
        elif isinstance(x, list):
            for y in x:
                collect(y)
    collect(body)
    return codes


def key_of(x):
    return json.dumps(x, sort_keys=True, default=str)


IDENTITY_KEYS = ("Name", "ApiKey", "Topic", "GroupId", "PartitionIndex", "ResourceName", "Key")


def identity(x):
    if isinstance(x, dict):
        for k in IDENTITY_KEYS:
            if k in x and not isinstance(x[k], (dict, list)):
                return "%s=%s" % (k, re.sub(r"zq[0-9a-f]{10}", "<T>", str(x[k])))
    return None


def tree_diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append((path + "." + k, "present" if k in a else "absent",
                            "present" if k in b else "absent"))
            else:
                tree_diff(a[k], b[k], path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list):
        ids_a, ids_b = [identity(x) for x in a], [identity(x) for x in b]
        if (a or b) and None not in ids_a + ids_b and len(set(ids_a)) == len(a) and len(set(ids_b)) == len(b):
            by_b = dict(zip(ids_b, b))
            only_a = [i for i in ids_a if i not in by_b]
            only_b = [i for i in ids_b if i not in set(ids_a)]
            if only_a or only_b:
                out.append((path + "[len]", "%d, only here: %s" % (len(a), ", ".join(only_a) or "-"),
                            "%d, only here: %s" % (len(b), ", ".join(only_b) or "-")))
            for i, x in zip(ids_a, a):
                if i in by_b:
                    tree_diff(x, by_b[i], "%s[%s]" % (path, i), out)
            return
        if len(a) != len(b):
            only_a = [x for x in a if x not in b][:2]
            only_b = [x for x in b if x not in a][:2]
            out.append((path + "[len]", "%d %s" % (len(a), brief(only_a)),
                        "%d %s" % (len(b), brief(only_b))))
            return
        sa, sb = sorted(a, key=key_of), sorted(b, key=key_of)
        if sa == sb:
            return
        rest_a = [x for x in sa if x not in sb]
        rest_b = [x for x in sb if x not in sa]
        if len(rest_a) == len(rest_b):
            for x, y in zip(rest_a, rest_b):
                tree_diff(x, y, path + "[]", out)
        else:
            out.append((path + "[]", brief(rest_a), brief(rest_b)))
    elif a != b:
        out.append((path, brief(a), brief(b)))


def brief(x):
    text = x if isinstance(x, str) else json.dumps(x, sort_keys=True, default=str)
    return text if len(text) <= 600 else text[:600] + "..."


# --- connections ----------------------------------------------------------------------------

def recv_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def read_frame(sock):
    size = struct.unpack(">i", recv_exactly(sock, 4))[0]
    return recv_exactly(sock, size)


class Outcome:
    def __init__(self, kind, payload=None, detail=""):
        self.kind, self.payload, self.detail = kind, payload, detail


def exchange(sock, frame, corr, want_answer, timeout):
    """Sends one frame; -> Outcome answer|closed|timeout|sent."""
    try:
        sock.sendall(frame)
    except OSError:
        return Outcome("closed", detail="closed before the request was sent")
    if not want_answer:
        return Outcome("sent")
    deadline = time.time() + timeout
    try:
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout
            sock.settimeout(left)
            payload = read_frame(sock)
            if len(payload) >= 4 and struct.unpack_from(">i", payload)[0] == corr:
                return Outcome("answer", payload)
    except socket.timeout:
        return Outcome("timeout", detail="no answer in %gs" % timeout)
    except (EOFError, ConnectionError, OSError):
        return Outcome("closed")


def connect(address):
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# --- record ---------------------------------------------------------------------------------

class Recorder:
    def __init__(self, listen, upstream, out):
        self.listen, self.upstream, self.out = listen, upstream, out
        self.up_port = int(upstream.rsplit(":", 1)[1])
        self.lock = threading.Lock()
        self.seq = 0
        self.conns = 0
        os.makedirs(out, exist_ok=True)

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def serve(self):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen))
        server.listen(64)
        print("kafka_corpus record: 127.0.0.1:%d -> %s, into %s" % (self.listen, self.upstream, self.out),
              flush=True)
        while True:
            client, _ = server.accept()
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self.handle, args=(client, n), daemon=True).start()

    def handle(self, client, n):
        try:
            upstream = connect(self.upstream)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        path = os.path.join(self.out, "conn-%03d.jsonl" % n)
        log = []  # opened at the first frame: a connection that sends nothing leaves no file
        pending = {}
        lock = threading.Lock()

        def write(kind, key, version, corr, payload, seq):
            line = json.dumps({"seq": seq, "kind": kind, "api": key, "version": version,
                               "corr": corr, "frame": base64.b64encode(payload).decode()})
            with lock:
                if not log:
                    log.append(open(path, "a"))
                log[0].write(line + "\n")
                log[0].flush()

        def requests():
            try:
                while True:
                    payload = read_frame(client)
                    seq = self.next_seq()
                    key, version, corr = struct.unpack_from(">hhi", payload) if len(payload) >= 8 else (-1, -1, -1)
                    with lock:
                        pending[corr] = (key, version)
                    write("request", key, version, corr, payload, seq)
                    upstream.sendall(struct.pack(">i", len(payload)) + payload)
            except (EOFError, OSError):
                pass
            for s in (upstream, client):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        thread = threading.Thread(target=requests, daemon=True)
        thread.start()
        try:
            while True:
                payload = read_frame(upstream)
                seq = self.next_seq()
                corr = struct.unpack_from(">i", payload)[0]
                with lock:
                    key, version = pending.pop(corr, (-1, -1))
                write("response", key, version, corr, payload, seq)
                client.sendall(struct.pack(">i", len(payload)) + self.rewrite(key, version, payload))
        except (EOFError, OSError):
            pass
        for s in (upstream, client):
            try:
                s.close()
            except OSError:
                pass
        thread.join(5)
        for f in log:
            f.close()

    def rewrite(self, key, version, payload):
        """Broker ports in answers that name brokers become the proxy's."""
        if key not in (3, 10, 60):
            return payload
        try:
            r = Reader(payload, 4)
            tags = read_tags(r) if response_header_flexible(key, version) else []
            corr, body = decode_response(key, version, payload)
        except (Short, ValueError, KeyError):
            return payload

        def fix(x):
            if isinstance(x, dict):
                for k, val in x.items():
                    if k == "Port" and val == self.up_port:
                        x[k] = self.listen
                    else:
                        fix(val)
            elif isinstance(x, list):
                for y in x:
                    fix(y)
        fix(body)
        return encode_response(key, version, corr, body, tags)


def cmd_record(args):
    load_specs(find_jar(args.jar))
    recorder = Recorder(args.listen, args.upstream, args.out)

    def stop(*_):
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    recorder.serve()


# --- diff -----------------------------------------------------------------------------------

def new_token():
    return "zq" + "".join(random.choice("0123456789abcdef") for _ in range(10))


class Side:
    def __init__(self, name, address):
        self.name, self.address = name, address
        self.conns = {}
        self.ids = {}

    def reset(self):
        for sock in self.conns.values():
            try:
                sock.close()
            except OSError:
                pass
        self.conns = {}
        self.ids = {}

    def send(self, conn, req, tokens, timeout):
        req = copy.deepcopy(req)
        if req.body is not None:
            api = APIS[req.key]
            substitute_ids(req.body, api.request, req.version, self.ids)
            rename_tokens(req.body, api.request, req.version, tokens)
        if req.client_id:
            for old, new in tokens.items():
                req.client_id = req.client_id.replace(old, new)
        payload = req.encode()
        sock = self.conns.get(conn)
        if sock is None:
            try:
                sock = self.conns[conn] = connect(self.address)
            except OSError as e:
                return Outcome("closed", detail="connect failed: %s" % e)
        outcome = exchange(sock, struct.pack(">i", len(payload)) + payload, req.corr,
                           req.expects_response(), timeout)
        if outcome.kind in ("closed", "timeout"):
            sock.close()
            del self.conns[conn]
        return outcome


def load_session(directory):
    events, responses = [], {}
    for path in sorted(glob.glob(os.path.join(directory, "conn-*.jsonl"))):
        conn = os.path.basename(path)[:-len(".jsonl")]
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                payload = base64.b64decode(rec["frame"])
                if rec["kind"] == "request":
                    events.append((rec["seq"], conn, payload))
                else:
                    responses[(conn, rec["corr"])] = (rec["api"], rec["version"], payload)
    events.sort()
    return events, responses


class Differ:
    def __init__(self, reference, target):
        self.sides = [Side("reference", reference), Side("target", target)]
        self.pool = concurrent.futures.ThreadPoolExecutor(4)
        self.differences = []  # (key, reference, target, where)
        self.stats = {"requests": 0, "compared": 0, "skipped": 0, "edge": 0, "retried": 0, "sessions": 0}
        self.dropped = {}
        self.covered = {}
        self.edge_tally = {}  # case -> {reference outcome: count}
        self.unfaithful = []  # replayed answers of the reference whose errors differ from the recording

    def both(self, fn):
        futures = [self.pool.submit(fn, side) for side in self.sides]
        return [f.result() for f in futures]

    def note(self, session, api, version, case, path, ref, tgt, where):
        key = "%s %s v%s %s %s" % (session, api, version, case, path)
        self.differences.append((key, ref, tgt, where))

    def compare(self, session, req, outcomes, case, where, edge):
        api = api_name(req.key)
        ref, tgt = outcomes
        if ref.kind != tgt.kind:
            desc = {"answer": "answered", "closed": "closed the connection",
                    "timeout": "did not answer", "sent": "(no answer expected)"}
            ra, ta = desc[ref.kind], desc[tgt.kind]
            if ref.kind == "answer":
                ra += " " + self.summary(req, ref.payload)
            if tgt.kind == "answer":
                ta += " " + self.summary(req, tgt.payload)
            self.note(session, api, req.version, case, "outcome", ra, ta, where)
            return None
        if ref.kind != "answer":
            return None
        decoded = []
        for o in outcomes:
            try:
                decoded.append(decode_response(req.key, req.version, o.payload)[1])
            except (Short, ValueError, UnicodeDecodeError) as e:
                decoded.append(e)
        if any(isinstance(d, Exception) for d in decoded):
            texts = ["does not parse: %s" % d if isinstance(d, Exception) else "parses"
                     for d in decoded]
            if texts[0] != texts[1] or len(outcomes[0].payload) != len(outcomes[1].payload):
                self.note(session, api, req.version, case, "response", texts[0], texts[1], where)
            return None
        fields = APIS[req.key].response
        trees = [canonical(d, fields, req.version, edge) for d in decoded]
        out = []
        tree_diff(trees[0], trees[1], "", out)
        for path, a, b in out:
            self.note(session, api, req.version, case, path or ".", a, b, where)
        return decoded

    @staticmethod
    def summary(req, payload):
        try:
            body = decode_response(req.key, req.version, payload)[1]
        except Exception:  # noqa: BLE001 - any bytes
            return "(%d bytes, not parsed)" % len(payload)
        codes = []

        def collect(x):
            if isinstance(x, dict):
                for k, val in x.items():
                    if k.endswith("ErrorCode") and isinstance(val, int):
                        codes.append(val)
                    else:
                        collect(val)
            elif isinstance(x, list):
                for y in x:
                    collect(y)
        collect(body)
        return "(error codes %s)" % sorted(set(codes))

    def replay(self, session, directory):
        events, responses = load_session(directory)
        tokens = {}
        for _, _, payload in events:
            for t in TOKEN_RE.findall(payload):
                tokens.setdefault(t.decode(), new_token())
        for side in self.sides:
            side.reset()
        for seq, conn, payload in events:
            self.stats["requests"] += 1
            try:
                req = Request(payload)
            except Short:
                self.stats["skipped"] += 1
                continue
            if req.key in DROPPED or req.key not in APIS:
                self.dropped.setdefault(api_name(req.key), DROPPED.get(req.key, "unknown API"))
                self.stats["skipped"] += 1
                continue
            self.covered.setdefault(api_name(req.key), set()).add(req.version)
            timeout = REPLAY_TIMEOUT_S
            wait = req.body.get("MaxWaitMs") if req.body else None
            if isinstance(wait, int) and wait > 0:
                timeout = max(timeout, wait / 1000.0 + 10)
            rec_body = None
            recorded = responses.get((conn, req.corr))
            if recorded and req.body is not None:
                try:
                    rec_body = decode_response(req.key, req.version, recorded[2])[1]
                    rename_tokens(rec_body, APIS[req.key].response, req.version, tokens)
                except (Short, ValueError):
                    rec_body = None
            outcomes = self.both(lambda side: self.send_settled(side, conn, req, tokens, timeout, rec_body))
            where = "%s %s seq %d" % (session, conn, seq)
            decoded = self.compare(session, req, outcomes, "replay", where, edge=False)
            self.stats["compared"] += 1
            if decoded and rec_body is not None:
                for side, live in zip(self.sides, decoded):
                    learn_ids(rec_body, live, side.ids)
                if error_codes(decoded[0]) != error_codes(rec_body):
                    # not a difference between the brokers: how faithful the replay is
                    self.unfaithful.append("%s %s v%d: recorded errors %s, reference now %s"
                                           % (where, api_name(req.key), req.version,
                                              sorted(error_codes(rec_body)), sorted(error_codes(decoded[0]))))
        for side in self.sides:
            side.reset()
        return tokens

    def send_settled(self, side, conn, req, tokens, timeout, rec_body):
        """Sends; while the answer carries a transient error (a partition or coordinator
        not ready yet) the recorded answer did not, sends again as a client would: the
        replay runs faster than the recording did, on a broker that just made the topic."""
        deadline = time.time() + SETTLE_S
        while True:
            outcome = side.send(conn, req, tokens, timeout)
            if outcome.kind != "answer" or time.time() > deadline:
                return outcome
            try:
                live = decode_response(req.key, req.version, outcome.payload)[1]
            except (Short, ValueError, UnicodeDecodeError):
                return outcome
            codes = error_codes(live)
            new = codes - error_codes(rec_body) if rec_body is not None else set()
            if not (new & TRANSIENT_ERRORS or codes & ALWAYS_TRANSIENT):
                return outcome
            self.stats["retried"] += 1
            time.sleep(0.2)

    # -- edge cases --

    def advertised(self):
        sock = connect(self.sides[0].address)
        try:
            payload = struct.pack(">hhih", 18, 0, 1, 4) + b"edge"
            outcome = exchange(sock, struct.pack(">i", len(payload)) + payload, 1, True, 10)
        finally:
            sock.close()
        body = decode_response(18, 0, outcome.payload)[1]
        return {k["ApiKey"]: (k["MinVersion"], k["MaxVersion"]) for k in body["ApiKeys"]}

    def edge_one(self, frame, corr, want_answer):
        def run(side):
            try:
                sock = connect(side.address)
            except OSError as e:
                return Outcome("closed", detail=str(e))
            try:
                return exchange(sock, frame, corr, want_answer, EDGE_TIMEOUT_S)
            finally:
                sock.close()
        return self.both(run)

    def edge_cases(self, corpus_sessions):
        session = "edge-cases"
        tokens = {}
        bases = {}
        for _, directory in corpus_sessions:
            events, _ = load_session(directory)
            for _, _, payload in events:
                for t in TOKEN_RE.findall(payload):
                    tokens.setdefault(t.decode(), new_token())
                try:
                    req = Request(payload)
                except Short:
                    continue
                if (req.body is None or req.key in EDGE_SKIP or req.key in DROPPED
                        or not req.expects_response()):
                    continue
                bases.setdefault((req.key, req.version), req)
        ranges = self.advertised()
        cases = []
        for (key, version), base in sorted(bases.items()):
            req = copy.deepcopy(base)
            api = APIS[key]
            rename_tokens(req.body, api.request, version, tokens)
            if req.client_id:
                for old, new in tokens.items():
                    req.client_id = req.client_id.replace(old, new)
            if isinstance(req.body.get("MaxWaitMs"), int):
                req.body["MaxWaitMs"] = min(req.body["MaxWaitMs"], 100)
            plain = req.encode()
            cases.append((req, "as-recorded", plain))
            cases.append((req, "trailing-bytes", plain + b"\x00\x01\x02\xfe\xff"))
            if req.flexible:
                cases.append((req, "header-unknown-tag",
                              req.encode(header_tags=req.header_tags + [[77, b"keel"]])))
                tagged = copy.deepcopy(req)
                tagged.body.setdefault("_unknown_tags", []).append([77, b"keel"])
                cases.append((req, "body-unknown-tag", tagged.encode()))
            cases.append((req, "null-client-id", req.encode(client_id=None)))
            body = encode_struct(req.body, api.request, version, req.flexible)
            if len(body) > 1:
                header_len = len(plain) - len(body) - len(req.trailing)
                cases.append((req, "truncated-body", plain[:header_len + len(body) // 2]))
            low, high = ranges.get(key, api.valid)
            if version == max(v for (k, v) in bases if k == key):
                for case, other in (("version-above-range", high + 1), ("version-below-range", low - 1)):
                    sent = copy.copy(req)
                    payload = req.encode(version=other)
                    sent.version = other
                    cases.append((sent, case, payload))
        frames = [(case, req, struct.pack(">i", len(payload)) + payload)
                  for req, case, payload in cases]
        raw = struct.pack(">hhih", 32000, 0, 7, 4) + b"edge" + b"\x00\x00\x00\x00"
        unknown = Request(raw)
        frames.append(("unknown-api-key", unknown, struct.pack(">i", len(raw)) + raw))
        probe = Request(struct.pack(">hhih", 18, 0, 9, 4) + b"edge")
        frames.append(("length-zero", probe, struct.pack(">i", 0)))
        frames.append(("length-negative", probe, struct.pack(">i", -5) + probe.encode()))
        frames.append(("length-above-max", probe,
                       struct.pack(">i", MAX_REQUEST_BYTES + 1) + probe.encode()))
        for case, req, frame in frames:
            self.stats["edge"] += 1
            outcomes = self.edge_one(frame, req.corr, True)
            self.compare(session, req, outcomes, case, session, edge=True)
            tally = self.edge_tally.setdefault(case, {})
            kind = outcomes[0].kind
            tally[kind] = tally.get(kind, 0) + 1


def sessions_of(corpus):
    found = []
    for root, _dirs, files in os.walk(corpus):
        if any(f.startswith("conn-") and f.endswith(".jsonl") for f in files):
            found.append((os.path.relpath(root, corpus), root))
    return sorted(found)


def cmd_diff(args):
    load_specs(find_jar(args.jar))
    differ = Differ(args.reference, args.target)
    sessions = sessions_of(args.corpus)
    if not sessions:
        raise SystemExit("kafka_corpus: no conn-*.jsonl under %s" % args.corpus)
    t0 = time.time()
    for name, directory in sessions:
        if args.edge_only:
            break
        if args.sessions and not any(fnmatch.fnmatch(name, p) for p in args.sessions.split(",")):
            continue
        t = time.time()
        differ.stats["sessions"] += 1
        differ.replay(name, directory)
        print("replayed %s in %.1fs" % (name, time.time() - t), file=sys.stderr, flush=True)
    if not args.no_edge:
        t = time.time()
        differ.edge_cases(sessions)
        print("edge cases in %.1fs" % (time.time() - t), file=sys.stderr, flush=True)
    return report(differ, args, time.time() - t0)


def glob_match(pattern, text):
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text) is not None


def report(differ, args, seconds):
    allow = [] if args.target_kind != "keel" else [
        (pattern, reason) for pattern, reason in KNOWN_DIFFERENCES
        if not (args.edge_only and " replay " in pattern)
        and not (args.no_edge and pattern.startswith("edge-cases "))]
    used = set()
    failures, allowed = [], []
    grouped = {}
    for key, ref, tgt, where in differ.differences:
        grouped.setdefault((key, ref, tgt), []).append(where)
    for (key, ref, tgt), wheres in sorted(grouped.items()):
        line = "%s: reference %s | target %s  (%d times, first %s)" % (key, ref, tgt, len(wheres), wheres[0])
        hit = next((i for i, (pattern, _) in enumerate(allow) if glob_match(pattern, key)), None)
        if hit is None:
            failures.append(line)
        else:
            used.add(hit)
            allowed.append((allow[hit][0], line))
    stale = [pattern for i, (pattern, _) in enumerate(allow) if i not in used]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"differences": [{"key": k, "reference": r, "target": t, "where": w}
                                       for k, r, t, w in differ.differences],
                       "stats": differ.stats}, f, indent=1)
    for pattern, line in allowed:
        print("allowed [%s]: %s" % (pattern, line), file=sys.stderr)
    for i in sorted(used):
        print("known keel difference: %s -- %s" % allow[i], file=sys.stderr)
    for line in failures:
        print("DIFFERENCE: " + line, file=sys.stderr)
    for pattern in stale:
        print("STALE allow-list entry (no longer differs, drop it): " + pattern, file=sys.stderr)
    for line in differ.unfaithful:
        print("replay note (reference vs recording, not a difference): " + line, file=sys.stderr)
    print("edge cases, the reference's outcomes: " + "; ".join(
        "%s %s" % (case, ", ".join("%s %d" % kv for kv in sorted(t.items())))
        for case, t in sorted(differ.edge_tally.items())), file=sys.stderr)
    covered = ", ".join("%s v%s" % (name, "/".join(str(v) for v in sorted(vs)))
                        for name, vs in sorted(differ.covered.items()))
    verdict = ("%d differences not allowed, %d allowed (%d allow-list entries), %d stale entries"
               % (len(failures), len(allowed), len(allow), len(stale)))
    parts = []
    if differ.stats["requests"]:
        parts.append("replayed %d requests of %d sessions (%d resent after transient errors; "
                     "dropped APIs: %s; covered: %s)"
                     % (differ.stats["requests"], differ.stats["sessions"], differ.stats["retried"],
                        ", ".join("%s (%s)" % kv for kv in sorted(differ.dropped.items())) or "none",
                        covered))
    if differ.stats["edge"]:
        parts.append("%d edge cases (Apache: %s)" % (differ.stats["edge"], ", ".join(
            "%s %s" % (case, "/".join("%s %d" % kv for kv in sorted(t.items())))
            for case, t in sorted(differ.edge_tally.items()))))
    print("%s; %s [%.0fs]" % ("; ".join(parts), verdict, seconds))
    return 1 if failures or stale else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jar", help="kafka-clients 3.9.1 jar (the message specs)")
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--listen", type=int, required=True)
    rec.add_argument("--upstream", required=True)
    rec.add_argument("--out", required=True)
    diff = sub.add_parser("diff")
    diff.add_argument("--reference", required=True)
    diff.add_argument("--target", required=True)
    diff.add_argument("--corpus", required=True)
    diff.add_argument("--target-kind", choices=("keel", "apache"), default="keel")
    diff.add_argument("--sessions", help="comma-separated fnmatch patterns of sessions to replay")
    diff.add_argument("--no-edge", action="store_true", help="replay the corpus only")
    diff.add_argument("--edge-only", action="store_true", help="the edge cases only")
    diff.add_argument("--json", help="write every difference to this file")
    args = parser.parse_args()
    if args.command == "record":
        cmd_record(args)
    else:
        sys.exit(cmd_diff(args))


if __name__ == "__main__":
    main()

"""legacy_admin_diff: the admin request versions Kafka 3.9 serves and Kafka 4 dropped,
sent to Apache 3.9 (the reference) and to the target, answers compared.

    legacy_admin_diff.py REFERENCE_BOOTSTRAP TARGET_BOOTSTRAP

On each: CreateTopics v0 (a topic with retention.ms set) and v1, the same v0 again
(TOPIC_ALREADY_EXISTS), DescribeConfigs v0 of the first topic, DescribeLogDirs v0,
DeleteTopics v0 of the second; the group offsets of 0.8-0.9 consumers: OffsetCommit
v0 (kept in ZooKeeper by a 3.9 broker; with an unknown partition, an unknown topic and
metadata over offset.metadata.max.bytes) read back with OffsetFetch v0, OffsetCommit
v1 (to the group coordinator) read back with OffsetFetch v1, each version seeing only
its own store; OffsetForLeaderEpoch v0 and v1 for the current epoch, a future one and
an unknown topic. Compared: every error code, the response layouts
(each is parsed whole, nothing may be left over), and for DescribeConfigs the
(value, read_only, is_default, is_sensitive) of retention.ms, cleanup.policy and
segment.bytes. Prints a summary line; exits 1 with the differences on stderr. With
LEGACY_DIFF_LOG=FILE, every compared answer of both sides is written to FILE.
"""
import os
import socket
import struct
import sys
import time
import uuid


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        value = self.data[self.at:self.at + n].decode()
        self.at += n
        return value

    def done(self, what):
        if self.at != len(self.data):
            raise ValueError("%s: %d bytes left over" % (what, len(self.data) - self.at))


def string(text):
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


class Conn:
    def __init__(self, bootstrap):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.correlation = 0

    def call(self, api, version, body):
        self.correlation += 1
        payload = struct.pack(">hhi", api, version, self.correlation) + string("legacy-admin-diff") + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", self.recv(4))[0]
        frame = self.recv(size)
        assert struct.unpack_from(">i", frame, 0)[0] == self.correlation
        return frame[4:]

    def recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ValueError("connection closed")
            data += chunk
        return data


def create_topics(conn, version, name):
    body = struct.pack(">i", 1) + string(name) + struct.pack(">ihi", 1, 1, 0)
    body += struct.pack(">i", 1) + string("retention.ms") + string("3600000")
    body += struct.pack(">i", 30000) + (b"\x00" if version >= 1 else b"")
    r = Reader(conn.call(19, version, body))
    out = []
    for _ in range(r.take(">i")):
        topic, error = r.string(), r.take(">h")
        message = r.string() if version >= 1 else None
        out.append((topic == name, error, message is not None if version >= 1 else None))
    r.done("CreateTopics v%d" % version)
    return out


def describe_configs(conn, name):
    body = struct.pack(">i", 1) + struct.pack(">b", 2) + string(name) + struct.pack(">i", -1)
    r = Reader(conn.call(32, 0, body))
    r.take(">i")  # throttle
    results = []
    for _ in range(r.take(">i")):
        error, message, kind, resource = r.take(">h"), r.string(), r.take(">b"), r.string()
        configs = {}
        for _ in range(r.take(">i")):
            key, value = r.string(), r.string()
            flags = (r.take(">?"), r.take(">?"), r.take(">?"))
            configs[key] = (value,) + flags
        results.append((error, message, kind, resource == name, configs))
    r.done("DescribeConfigs v0")
    return results


def describe_log_dirs(conn):
    r = Reader(conn.call(35, 0, struct.pack(">i", -1)))
    r.take(">i")  # throttle
    dirs = []
    for _ in range(r.take(">i")):
        error, _path = r.take(">h"), r.string()
        topics = 0
        for _ in range(r.take(">i")):
            r.string()
            for _ in range(r.take(">i")):
                r.take(">i"), r.take(">q"), r.take(">q"), r.take(">?")
            topics += 1
        dirs.append(error)
    r.done("DescribeLogDirs v0")
    return dirs


def delete_topics(conn, name):
    r = Reader(conn.call(20, 0, struct.pack(">i", 1) + string(name) + struct.pack(">i", 30000)))
    out = [(r.string() == name, r.take(">h")) for _ in range(r.take(">i"))]
    r.done("DeleteTopics v0")
    return out


def offset_commit(conn, version, group, commits):
    """commits: [(topic, partition, offset, metadata)]; answers [(topic, partition, error)]."""
    body = string(group)
    if version >= 1:
        body += struct.pack(">i", -1) + string("")  # no generation, no member: a simple commit
    by_topic = {}
    for topic, partition, offset, metadata in commits:
        by_topic.setdefault(topic, []).append((partition, offset, metadata))
    body += struct.pack(">i", len(by_topic))
    for topic, partitions in by_topic.items():
        body += string(topic) + struct.pack(">i", len(partitions))
        for partition, offset, metadata in partitions:
            body += struct.pack(">iq", partition, offset)
            if version >= 1:
                body += struct.pack(">q", -1)
            body += string(metadata)
    r = Reader(conn.call(8, version, body))
    out = []
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            out.append((topic, r.take(">i"), r.take(">h")))
    r.done("OffsetCommit v%d" % version)
    return sorted(out)


def offset_fetch(conn, version, group, wanted):
    """wanted: [(topic, partition)]; answers [(topic, partition, offset, metadata, error)]."""
    by_topic = {}
    for topic, partition in wanted:
        by_topic.setdefault(topic, []).append(partition)
    body = string(group) + struct.pack(">i", len(by_topic))
    for topic, partitions in by_topic.items():
        body += string(topic) + struct.pack(">i", len(partitions))
        body += b"".join(struct.pack(">i", p) for p in partitions)
    r = Reader(conn.call(9, version, body))
    out = []
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            out.append((topic, r.take(">i"), r.take(">q"), r.string(), r.take(">h")))
    r.done("OffsetFetch v%d" % version)
    return sorted(out)


def find_coordinator(conn, group):
    """FindCoordinator v0 until it names one (the first creates __consumer_offsets)."""
    deadline = time.time() + 60
    while True:
        r = Reader(conn.call(10, 0, string(group)))
        error = r.take(">h")
        if error == 0 or time.time() > deadline:
            return error
        time.sleep(0.5)


def until_coordinator_ready(call):
    """Retries while the group coordinator is loading or not there yet (errors 14, 15,
    16; OffsetFetch v1 has no group-level error code and answers no topics then)."""
    deadline = time.time() + 60
    while True:
        answer = call()
        settled = answer and not any(entry[-1] in (14, 15, 16) for entry in answer)
        if settled or time.time() > deadline:
            return answer
        time.sleep(0.5)


def offset_for_leader_epoch(conn, version, asked):
    """asked: [(topic, partition, leader_epoch)]; answers [(topic, partition, error, epoch, end)]."""
    by_topic = {}
    for topic, partition, epoch in asked:
        by_topic.setdefault(topic, []).append((partition, epoch))
    body = struct.pack(">i", len(by_topic))
    for topic, partitions in by_topic.items():
        body += string(topic) + struct.pack(">i", len(partitions))
        body += b"".join(struct.pack(">ii", p, e) for p, e in partitions)
    r = Reader(conn.call(23, version, body))
    out = []
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            error, partition = r.take(">h"), r.take(">i")
            epoch = r.take(">i") if version >= 1 else None
            out.append((topic, partition, error, epoch, r.take(">q")))
    r.done("OffsetForLeaderEpoch v%d" % version)
    return sorted(out)


def group_offsets(conn, topic, tag):
    """OffsetCommit/OffsetFetch v0 (ZooKeeper) and v1 (coordinator) on `topic`
    (one partition); topic names in the answers are reduced to their role."""
    def roles(answer):
        return [("topic" if entry[0] == topic else "unknown",) + tuple(entry[1:])
                for entry in answer]
    unknown = "legacy-none-%s" % tag
    zk_group, coordinator_group = "legacy-zk-%s" % tag, "legacy-coord-%s" % tag
    result = {}
    result["commit v0"] = roles(offset_commit(conn, 0, zk_group, [
        (topic, 0, 5, "zk"), (topic, 7, 1, ""), (unknown, 0, 1, "")]))
    result["commit v0 metadata too large"] = roles(offset_commit(conn, 0, zk_group, [
        (topic, 0, 6, "x" * 5000)]))
    result["fetch v0"] = roles(offset_fetch(conn, 0, zk_group, [(topic, 0), (topic, 7), (unknown, 0)]))
    result["fetch v0 other group"] = roles(offset_fetch(conn, 0, "legacy-never-%s" % tag, [(topic, 0)]))
    result["find coordinator v0"] = [find_coordinator(conn, coordinator_group),
                                     find_coordinator(conn, zk_group)]
    result["commit v1"] = roles(until_coordinator_ready(
        lambda: offset_commit(conn, 1, coordinator_group, [(topic, 0, 9, "coord")])))
    result["fetch v1"] = roles(until_coordinator_ready(
        lambda: offset_fetch(conn, 1, coordinator_group, [(topic, 0)])))
    result["fetch v1 of the v0 group"] = roles(until_coordinator_ready(
        lambda: offset_fetch(conn, 1, zk_group, [(topic, 0)])))
    result["fetch v0 of the v1 group"] = roles(offset_fetch(conn, 0, coordinator_group, [(topic, 0)]))
    for version in (0, 1):
        result["leader epoch v%d" % version] = roles(offset_for_leader_epoch(conn, version, [
            (topic, 0, 0), (topic, 1, 0), (unknown, 0, 0)]))
        result["leader epoch v%d future epoch" % version] = roles(
            offset_for_leader_epoch(conn, version, [(topic, 0, 5)]))
    return result


def run(bootstrap, tag):
    conn = Conn(bootstrap)
    first, second = "legacy-a-%s" % tag, "legacy-b-%s" % tag
    result = {
        "create v0": create_topics(conn, 0, first),
        "create v1": create_topics(conn, 1, second),
        "create v0 again": create_topics(conn, 0, first),
    }
    time.sleep(3)  # the topics' partitions reach the broker
    described = describe_configs(conn, first)
    result["describe v0"] = [(error, kind, same) for error, _m, kind, same, _c in described]
    configs = described[0][4] if described else {}
    for key in ("retention.ms", "cleanup.policy", "segment.bytes"):
        result["config " + key] = configs.get(key)
    result["log dirs v0 errors"] = describe_log_dirs(conn)
    result.update(group_offsets(conn, first, tag))
    result["delete v0"] = delete_topics(conn, second)
    return result


def main():
    reference_bootstrap, target_bootstrap = sys.argv[1:3]
    tag = uuid.uuid4().hex[:8]
    reference = run(reference_bootstrap, tag)
    target = run(target_bootstrap, tag)
    if os.environ.get("LEGACY_DIFF_LOG"):
        with open(os.environ["LEGACY_DIFF_LOG"], "w") as log:
            for key in sorted(reference):
                log.write("%s: reference %r, target %r\n" % (key, reference[key], target.get(key)))
    differences = ["%s: reference %r, target %r" % (key, reference[key], target.get(key))
                   for key in reference if reference[key] != target.get(key)]
    if differences:
        for line in differences:
            print("legacy_admin_diff: " + line, file=sys.stderr)
        sys.exit(1)
    print("CreateTopics v0/v1, DescribeConfigs v0, DescribeLogDirs v0, DeleteTopics v0, "
          "OffsetCommit v0/v1, OffsetFetch v0/v1, OffsetForLeaderEpoch v0/v1: "
          "identical answers (%s)" % "; ".join("%s %s" % (k, v) for k, v in sorted(reference.items())
                                               if k.startswith("create")))


if __name__ == "__main__":
    main()

"""legacy_admin_diff: the admin request versions Kafka 3.9 serves and Kafka 4 dropped,
sent to Apache 3.9 (the reference) and to the target, answers compared.

    legacy_admin_diff.py REFERENCE_BOOTSTRAP TARGET_BOOTSTRAP

On each: CreateTopics v0 (a topic with retention.ms set) and v1, the same v0 again
(TOPIC_ALREADY_EXISTS), DescribeConfigs v0 of the first topic, DescribeLogDirs v0,
DeleteTopics v0 of the second. Compared: every error code, the response layouts
(each is parsed whole, nothing may be left over), and for DescribeConfigs the
(value, read_only, is_default, is_sensitive) of retention.ms, cleanup.policy and
segment.bytes. Prints a summary line; exits 1 with the differences on stderr.
"""
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
    result["delete v0"] = delete_topics(conn, second)
    return result


def main():
    reference_bootstrap, target_bootstrap = sys.argv[1:3]
    tag = uuid.uuid4().hex[:8]
    reference = run(reference_bootstrap, tag)
    target = run(target_bootstrap, tag)
    differences = ["%s: reference %r, target %r" % (key, reference[key], target.get(key))
                   for key in reference if reference[key] != target.get(key)]
    if differences:
        for line in differences:
            print("legacy_admin_diff: " + line, file=sys.stderr)
        sys.exit(1)
    print("CreateTopics v0/v1, DescribeConfigs v0, DescribeLogDirs v0, DeleteTopics v0: "
          "identical answers (%s)" % "; ".join("%s %s" % (k, v) for k, v in sorted(reference.items())
                                               if k.startswith("create")))


if __name__ == "__main__":
    main()

"""Broker loggers (KIP-412) on the wire: the requests kafka-configs never sends.

    kafka_broker_loggers.py HOST:PORT BROKER_ID MODULE CHILD [--dump]

DescribeConfigs v1, IncrementalAlterConfigs v0 and AlterConfigs v0 on resource type
BROKER_LOGGER (8), written with struct (no client library: kafka-python has neither
the resource type nor IncrementalAlterConfigs), so the broker's own error codes and
messages are seen as they are. MODULE is a logger the broker lists (kafka on Apache,
keel.kafka on keel), CHILD one below it that it lists too (kafka.server.KafkaApis,
keel.kafka.apis). Prints one line per check ("ok ..." or "FAIL ..."), then a summary;
exits 1 if any check failed. --dump prints every response as decoded.

Every level the checks change is set back (root INFO, MODULE and CHILD unset) before
exiting, failed checks included.
"""

import socket
import struct
import sys

BROKER_LOGGER = 8
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3
NONE, INVALID_CONFIG, INVALID_REQUEST = 0, 40, 42
DYNAMIC_BROKER_LOGGER_CONFIG = 6  # DescribeConfigs' config_source
# Apache's error_message when all went well: null in IncrementalAlterConfigs
# (ApiError.NONE), "" in DescribeConfigs.
OK_ALTER, OK_DESCRIBE = (NONE, None), (NONE, "")
LEVELS_MESSAGE = "Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN"


class Conn:
    def __init__(self, bootstrap):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=15)
        self.corr = 0

    def call(self, key, version, body):
        self.corr += 1
        cid = b"keel-compat-broker-loggers"
        msg = struct.pack(">hhih", key, version, self.corr, len(cid)) + cid + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        if struct.unpack(">i", data[:4])[0] != self.corr:
            raise SystemExit("correlation id mismatch")
        return Reader(data[4:])

    def _recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise SystemExit("the broker closed the connection")
            out += chunk
        return out


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def _take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def i8(self):
        return self._take(">b")

    def i16(self):
        return self._take(">h")

    def i32(self):
        return self._take(">i")

    def boolean(self):
        return self._take(">b") != 0

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        value = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return value

    def array(self, item):
        n = self.i32()
        return [] if n < 0 else [item() for _ in range(n)]


def s(text):
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def arr(items):
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(items)


def describe(conn, name, keys=None):
    """DescribeConfigs v1 of one BROKER_LOGGER resource: (error, message, {logger: entry})."""
    body = arr([struct.pack(">b", BROKER_LOGGER) + s(name)
                + arr(None if keys is None else [s(k) for k in keys])]) + b"\x00"
    r = conn.call(32, 1, body)
    r.i32()  # throttle_time_ms

    def config():
        entry = {"name": r.string(), "value": r.string(), "read_only": r.boolean(),
                 "source": r.i8(), "sensitive": r.boolean()}
        entry["synonyms"] = r.array(lambda: (r.string(), r.string(), r.i8()))
        return entry

    def result():
        err, msg, rtype, rname = r.i16(), r.string(), r.i8(), r.string()
        return err, msg, rtype, rname, r.array(config)

    results = r.array(result)
    if len(results) != 1:
        raise SystemExit("DescribeConfigs: %d results for one resource" % len(results))
    err, msg, rtype, rname, configs = results[0]
    return err, msg, {c["name"]: c for c in configs}


def incremental(conn, name, ops, validate_only=False):
    """IncrementalAlterConfigs v0, one BROKER_LOGGER resource; ops: (logger, op, value)."""
    configs = [s(k) + struct.pack(">b", op) + s(v) for k, op, v in ops]
    body = arr([struct.pack(">b", BROKER_LOGGER) + s(name) + arr(configs)])
    body += b"\x01" if validate_only else b"\x00"
    r = conn.call(44, 0, body)
    r.i32()
    results = r.array(lambda: (r.i16(), r.string(), r.i8(), r.string()))
    if len(results) != 1:
        raise SystemExit("IncrementalAlterConfigs: %d results for one resource" % len(results))
    return results[0][0], results[0][1]


def legacy_alter(conn, name, pairs):
    """AlterConfigs v0, one BROKER_LOGGER resource: (error, message)."""
    configs = [s(k) + s(v) for k, v in pairs]
    body = arr([struct.pack(">b", BROKER_LOGGER) + s(name) + arr(configs)]) + b"\x00"
    r = conn.call(33, 0, body)
    r.i32()
    results = r.array(lambda: (r.i16(), r.string(), r.i8(), r.string()))
    if len(results) != 1:
        raise SystemExit("AlterConfigs: %d results for one resource" % len(results))
    return results[0][0], results[0][1]


def main():
    args = [a for a in sys.argv[1:] if a != "--dump"]
    dump = "--dump" in sys.argv[1:]
    if len(args) != 4:
        raise SystemExit(__doc__)
    bootstrap, broker, module, child = args
    other = str(int(broker) + 100)
    conn = Conn(bootstrap)
    failures, passed = [], []

    def show(what, value):
        if dump:
            print("  %s -> %r" % (what, value))

    def check(desc, got, want):
        """want: (code, message), exactly, or a callable on got."""
        ok = want(got) if callable(want) else tuple(got) == want
        if ok:
            passed.append(desc)
            print("ok   %s" % desc)
        else:
            failures.append(desc)
            print("FAIL %s: got %r, want %r" % (desc, got, want if not callable(want) else "(see check)"))

    def level(logger):
        err, msg, configs = describe(conn, broker, [logger])
        show("describe %s" % logger, (err, msg, configs))
        if err != NONE or logger not in configs:
            return None
        return configs[logger]["value"]

    try:
        # --- DescribeConfigs ---
        err, msg, configs = describe(conn, broker)
        show("describe all", (err, msg, sorted((k, v["value"]) for k, v in configs.items())))
        check("describe all: no error", (err, msg), OK_DESCRIBE)
        check("describe all: root, %s and %s listed" % (module, child), sorted(configs),
              lambda names: {"root", module, child} <= set(names))
        bad = sorted(k for k, v in configs.items()
                     if v["value"] not in ("DEBUG", "ERROR", "FATAL", "INFO", "TRACE", "WARN", "OFF")
                     or v["read_only"] or v["sensitive"] or v["source"] != DYNAMIC_BROKER_LOGGER_CONFIG)
        check("describe all: each a level, source DYNAMIC_BROKER_LOGGER_CONFIG (6), "
              "neither read-only nor sensitive", bad, lambda b: b == [])

        err, msg, configs = describe(conn, broker, ["root"])
        show("describe [root]", (err, msg, configs))
        check("describe [root]: root alone", (err, msg, sorted(configs)),
              lambda g: g == OK_DESCRIBE + (["root"],))

        for name, desc, message in (
                (other, "another broker id",
                 "Unexpected broker id, expected %s but received %s" % (broker, other)),
                ("not-a-number", "a non-integer id",
                 "Broker id must be an integer, but it is: not-a-number"),
                ("", "an empty id", "Broker id must not be empty")):
            err, msg, _ = describe(conn, name)
            show("describe %r" % name, (err, msg))
            check("describe %s: INVALID_REQUEST" % desc, (err, msg), (INVALID_REQUEST, message))

        # --- IncrementalAlterConfigs ---
        r = incremental(conn, broker, [(module, OP_SET, "DEBUG")], validate_only=True)
        show("validate-only SET", r)
        check("validate-only SET %s=DEBUG: no error" % module, r, OK_ALTER)
        check("validate-only SET changed nothing", level(module), lambda v: v == "INFO")

        r = incremental(conn, broker, [(module, OP_SET, "DEBUG")])
        show("SET", r)
        check("SET %s=DEBUG: no error" % module, r, OK_ALTER)
        check("%s is DEBUG" % module, level(module), lambda v: v == "DEBUG")
        check("%s (below it) is DEBUG" % child, level(child), lambda v: v == "DEBUG")
        check("root is still INFO", level("root"), lambda v: v == "INFO")

        r = incremental(conn, broker, [(child, OP_SET, "TRACE")])
        show("SET child", r)
        check("SET %s=TRACE: no error" % child, r, OK_ALTER)
        check("%s is TRACE" % child, level(child), lambda v: v == "TRACE")
        r = incremental(conn, broker, [(child, OP_DELETE, None)])
        check("DELETE %s: no error" % child, r, OK_ALTER)
        check("%s is DEBUG again (its parent's)" % child, level(child), lambda v: v == "DEBUG")

        r = incremental(conn, broker, [(module, OP_DELETE, None)])
        show("DELETE", r)
        check("DELETE %s: no error" % module, r, OK_ALTER)
        check("%s is INFO again" % module, level(module), lambda v: v == "INFO")

        r = incremental(conn, broker, [("root", OP_SET, "WARN")])
        check("SET root=WARN: no error", r, OK_ALTER)
        check("root is WARN", level("root"), lambda v: v == "WARN")
        r = incremental(conn, broker, [("root", OP_SET, "INFO")])
        check("SET root=INFO: no error", r, OK_ALTER)
        check("root is INFO", level("root"), lambda v: v == "INFO")

        cases = [
            ("SET no.such.logger=DEBUG", [("no.such.logger", OP_SET, "DEBUG")],
             (INVALID_CONFIG, "Logger no.such.logger does not exist!")),
            ("DELETE no.such.logger", [("no.such.logger", OP_DELETE, None)],
             (INVALID_CONFIG, "Logger no.such.logger does not exist!")),
            ("SET root=LOUD", [("root", OP_SET, "LOUD")],
             (INVALID_CONFIG, "Cannot set the log level of root to LOUD as it is not a "
                              "supported log level. " + LEVELS_MESSAGE)),
            ("SET %s=debug (lower case)" % module, [(module, OP_SET, "debug")],
             (INVALID_CONFIG, "Cannot set the log level of %s to debug as it is not a "
                              "supported log level. %s" % (module, LEVELS_MESSAGE))),
            ("DELETE root", [("root", OP_DELETE, None)],
             (INVALID_REQUEST, "Removing the log level of the root logger is not allowed")),
            ("APPEND %s=DEBUG" % module, [(module, OP_APPEND, "DEBUG")],
             (INVALID_REQUEST, "APPEND operation is not allowed for the BROKER_LOGGER resource")),
            ("SUBTRACT %s=DEBUG" % module, [(module, OP_SUBTRACT, "DEBUG")],
             (INVALID_REQUEST, "SUBTRACT operation is not allowed for the BROKER_LOGGER resource")),
        ]
        for desc, ops, want in cases:
            r = incremental(conn, broker, ops)
            show(desc, r)
            check("%s: %s" % (desc, {40: "INVALID_CONFIG", 42: "INVALID_REQUEST"}[want[0]]), r, want)

        r = incremental(conn, other, [(module, OP_SET, "DEBUG")])
        show("SET on broker %s" % other, r)
        # (Apache's message names its own id twice: ConfigAdminManager's, kept as it is)
        check("SET on another broker id (%s): INVALID_REQUEST" % other, r,
              (INVALID_REQUEST, "Unexpected node id. Expected %s, but received %s" % (broker, broker)))
        r = incremental(conn, "not-a-number", [(module, OP_SET, "DEBUG")])
        show("SET on a non-integer id", r)
        check("SET on a non-integer id: INVALID_REQUEST", r,
              (INVALID_REQUEST, "Node id must be an integer, but it is: not-a-number"))

        # a request with a bad op changes nothing, even the good ops before it
        r = incremental(conn, broker, [(module, OP_SET, "DEBUG"), ("no.such.logger", OP_SET, "DEBUG")])
        show("SET good + unknown", r)
        check("SET %s=DEBUG with an unknown logger: INVALID_CONFIG" % module, r,
              (INVALID_CONFIG, "Logger no.such.logger does not exist!"))
        check("%s is still INFO (nothing applied)" % module, level(module), lambda v: v == "INFO")

        # --- AlterConfigs (legacy) ---
        # Apache 3.9 in ZooKeeper mode (ZkAdminManager.alterConfigs) knows no type 8 there;
        # "AlterConfigs is deprecated and does not support the resource type BROKER_LOGGER"
        # is what a broker answers that forwards the request to a KRaft controller.
        r = legacy_alter(conn, broker, [(module, "DEBUG")])
        show("AlterConfigs", r)
        check("AlterConfigs on BROKER_LOGGER: INVALID_REQUEST", r,
              (INVALID_REQUEST, "Unknown resource type 8"))
        check("%s is still INFO after AlterConfigs" % module, level(module), lambda v: v == "INFO")
    finally:
        incremental(conn, broker, [("root", OP_SET, "INFO")])
        incremental(conn, broker, [(child, OP_DELETE, None)])
        incremental(conn, broker, [(module, OP_DELETE, None)])

    print("%d checks passed, %d failed%s" % (
        len(passed), len(failures), (": " + "; ".join(failures)) if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

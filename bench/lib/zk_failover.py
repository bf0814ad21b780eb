#!/usr/bin/env python3
"""zk_failover.py: how long an ensemble takes writes no more after its leader dies.

    zk_failover.py --servers H:P,H:P,H:P --kill-pid PID [--load-seconds 2]
                   [--rate-per-writer 100] [--timeout-seconds 60]

One writer per server of the ensemble (a thread with its own ZooKeeper session, begun
on that server) sets the data of its own znode at a fixed pace (--rate-per-writer
setData/s, 100 B, one request in flight). After --load-seconds of this paced load it
sends SIGKILL to --kill-pid (the leader) and takes the time of the kill. A writer whose
connection breaks, or whose request gets no answer within REQUEST_TIMEOUT_S, moves to
the next server of its list (its own server first, then the others in order; a real
client's connect string) and resumes its session (session id + password + last zxid
seen, as Apache's client does; if the session has expired it opens a new one). It
retries every RECONNECT_PAUSE_S, and once connected it writes at once, without waiting
for its next paced slot, so the measurement follows the servers, not the pace.

Measured (printed as one JSON object on stdout):
  first_ack_ms     kill -> the first acknowledged write sent after the kill, over all
                   writers: how long the ensemble accepted no write at all
  all_acked_ms     kill -> the moment every writer has had a write sent after the kill
                   acknowledged (the writer on the killed leader included)
  new_leader_ms    kill -> the first `srvr` of a survivor answering "Mode: leader",
                   polled every LEADER_POLL_S
  before_p50_ms / before_p99_ms / writes_before   latency of the paced writes before
                   the kill (a sanity check that the load was served)
Only writes *sent* after the kill count: one in flight at the kill may have been
committed by the old leader just before it died.

The ZooKeeper protocol is spoken directly (no client library: the same bytes for keel
and Apache, and no client-side reconnect back-off, which in Apache's Java client adds
a random 0-1 s sleep before every reconnect and would swamp the figure). Exits 1 if
some writer never got a write acknowledged after the kill within --timeout-seconds.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import struct
import sys
import threading
import time

# Bounds and pauses (seconds) of the writers.
CONNECT_TIMEOUT_S = 0.5
HANDSHAKE_TIMEOUT_S = 1.0
REQUEST_TIMEOUT_S = 5.0
RECONNECT_PAUSE_S = 0.002
LEADER_POLL_S = 0.01
SESSION_TIMEOUT_MS = 30000
MAX_FRAME_BYTES = 1 << 20
VALUE = b"v" * 100

OP_CREATE = 1
OP_SET_DATA = 5
ERR_NODE_EXISTS = -110
XID_PING = -2
XID_WATCH = -1


def pack_string(text):
    raw = text.encode()
    return struct.pack(">i", len(raw)) + raw


def pack_buffer(raw):
    return struct.pack(">i", len(raw)) + raw


class Broken(Exception):
    """The connection is unusable: closed, reset, timed out or refused."""


def recv_exact(sock, count, deadline):
    out = bytearray()
    while len(out) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Broken("timed out")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(count - len(out))
        except (socket.timeout, OSError) as error:
            raise Broken(str(error))
        if not chunk:
            raise Broken("closed by the server")
        out += chunk
    return bytes(out)


def recv_frame(sock, deadline):
    (length,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    if length < 0 or length > MAX_FRAME_BYTES:
        raise Broken("frame of %d bytes" % length)
    return recv_exact(sock, length, deadline)


def send_frame(sock, body):
    try:
        sock.settimeout(REQUEST_TIMEOUT_S)
        sock.sendall(struct.pack(">i", len(body)) + body)
    except (socket.timeout, OSError) as error:
        raise Broken(str(error))


class Writer(threading.Thread):
    def __init__(self, index, servers, rate, shared):
        super().__init__(daemon=True)
        self.index = index
        # its own server first, then the others: a connect string starting there
        self.servers = servers[index:] + servers[:index]
        self.next_server = 0
        self.interval = 1.0 / rate
        self.shared = shared
        self.path = "/keel-failover/w%d" % index
        self.sock = None
        self.session_id = 0
        self.password = b"\0" * 16
        self.last_zxid = 0
        self.xid = 0
        self.samples_before = []       # latency (s) of writes acked before the kill
        self.first_ack_after = None    # monotonic time of the first post-kill ack
        self.sessions_expired = 0
        self.reconnects = 0
        self.ready = threading.Event()
        self.error = None

    # --- protocol ------------------------------------------------------------------
    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def handshake(self, host, port):
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = struct.pack(">iqiq", 0, self.last_zxid, SESSION_TIMEOUT_MS, self.session_id)
        body += pack_buffer(self.password) + b"\0"
        try:
            send_frame(sock, body)
            reply = recv_frame(sock, time.monotonic() + HANDSHAKE_TIMEOUT_S)
        except Broken:
            sock.close()
            raise
        if len(reply) < 20:
            sock.close()
            raise Broken("short ConnectResponse")
        _, timeout_ms, session_id, pw_len = struct.unpack(">iiqi", reply[:20])
        if timeout_ms <= 0:
            # The session expired: what a client does is start a new one.
            sock.close()
            self.sessions_expired += 1
            self.session_id, self.password = 0, b"\0" * 16
            raise Broken("session expired")
        self.session_id = session_id
        self.password = reply[20:20 + max(pw_len, 0)]
        self.sock = sock

    def connect(self, stop_at):
        while time.monotonic() < stop_at and not self.shared["stop"].is_set():
            host, port = self.servers[self.next_server]
            try:
                self.handshake(host, port)
                return True
            except (Broken, OSError):
                self.next_server = (self.next_server + 1) % len(self.servers)
                time.sleep(RECONNECT_PAUSE_S)
        return False

    def request(self, op, payload):
        """Sends one request, returns (err, answered_at); raises Broken."""
        self.xid += 1
        xid = self.xid
        send_frame(self.sock, struct.pack(">ii", xid, op) + payload)
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while True:
            frame = recv_frame(self.sock, deadline)
            answered_at = time.monotonic()
            if len(frame) < 16:
                raise Broken("short reply")
            reply_xid, zxid, err = struct.unpack(">iqi", frame[:16])
            if reply_xid in (XID_PING, XID_WATCH):
                continue
            if reply_xid != xid:
                raise Broken("reply xid %d, expected %d" % (reply_xid, xid))
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            return err, answered_at

    def set_data(self):
        return self.request(OP_SET_DATA, pack_string(self.path) + pack_buffer(VALUE) + struct.pack(">i", -1))

    def create(self, path):
        acl = struct.pack(">ii", 1, 31) + pack_string("world") + pack_string("anyone")
        return self.request(OP_CREATE, pack_string(path) + pack_buffer(b"") + acl + struct.pack(">i", 0))

    # --- the paced loop ----------------------------------------------------------------
    def run(self):
        try:
            self.loop()
        except Exception as error:  # a bug here must not hang the bench
            self.error = repr(error)
            self.ready.set()

    def loop(self):
        shared = self.shared
        if not self.connect(time.monotonic() + 30):
            self.error = "could not connect to %s" % (self.servers[0],)
            self.ready.set()
            return
        for path in ("/keel-failover", self.path):
            err, _ = self.create(path)
            if err not in (0, ERR_NODE_EXISTS):
                self.error = "create %s: error %d" % (path, err)
                self.ready.set()
                return
        self.ready.set()
        shared["go"].wait()
        next_slot = time.monotonic()
        while not shared["stop"].is_set():
            now = time.monotonic()
            if self.sock is not None and now < next_slot:
                time.sleep(min(next_slot - now, 0.05))
                continue
            next_slot = max(next_slot + self.interval, now)
            if self.sock is None:
                self.reconnects += 1
                if not self.connect(shared["deadline"]):
                    return
                # connected again: write at once, the pace waits
            sent_at = time.monotonic()
            try:
                err, answered_at = self.set_data()
            except Broken:
                self.close()
                self.next_server = (self.next_server + 1) % len(self.servers)
                continue
            if err != 0:
                # e.g. ConnectionLoss relayed by a server losing its leader: not acked
                continue
            kill_at = shared["kill_at"]
            if kill_at is None:
                self.samples_before.append(answered_at - sent_at)
            elif sent_at >= kill_at and self.first_ack_after is None:
                self.first_ack_after = answered_at
                shared["acked"].release()


def srvr_mode(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2) as sock:
            sock.sendall(b"srvr")
            out = b""
            sock.settimeout(0.5)
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                out += chunk
    except OSError:
        return ""
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return ""


def watch_new_leader(survivors, shared, found):
    while not shared["stop"].is_set():
        for host, port in survivors:
            if srvr_mode(host, port) == "leader":
                found.append(time.monotonic())
                return
        time.sleep(LEADER_POLL_S)


def quantile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", required=True, help="host:port,... of every server")
    parser.add_argument("--kill-pid", type=int, required=True)
    parser.add_argument("--kill-port", type=int, help="client port of the killed server")
    parser.add_argument("--load-seconds", type=float, default=2.0)
    parser.add_argument("--rate-per-writer", type=float, default=100.0)
    parser.add_argument("--timeout-seconds", type=float, default=60.0)
    args = parser.parse_args()
    servers = []
    for item in args.servers.split(","):
        host, port = item.rsplit(":", 1)
        servers.append((host, int(port)))

    shared = {"go": threading.Event(), "stop": threading.Event(), "kill_at": None,
              "deadline": time.monotonic() + 3600, "acked": threading.Semaphore(0)}
    writers = [Writer(i, servers, args.rate_per_writer, shared) for i in range(len(servers))]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.ready.wait(40)
        if writer.error or not writer.ready.is_set():
            shared["stop"].set()
            sys.exit("zk_failover: writer %d: %s" % (writer.index, writer.error or "not ready"))
    shared["go"].set()
    time.sleep(args.load_seconds)

    survivors = [s for s in servers if s[1] != args.kill_port]
    found = []
    kill_at = time.monotonic()
    shared["kill_at"] = kill_at
    shared["deadline"] = kill_at + args.timeout_seconds
    os.kill(args.kill_pid, signal.SIGKILL)
    watcher = threading.Thread(target=watch_new_leader, args=(survivors, shared, found), daemon=True)
    watcher.start()

    acked = 0
    while acked < len(writers):
        if not shared["acked"].acquire(timeout=max(0.0, shared["deadline"] - time.monotonic())):
            break
        acked += 1
    # give the leader watcher a moment if the writes came back before its poll did
    watcher.join(timeout=2.0)
    shared["stop"].set()

    firsts = [w.first_ack_after for w in writers if w.first_ack_after is not None]
    before = [s for w in writers for s in w.samples_before]
    ms = lambda t: None if t is None else round((t - kill_at) * 1000.0, 1)
    out = {
        "first_ack_ms": ms(min(firsts)) if firsts else None,
        "all_acked_ms": ms(max(firsts)) if len(firsts) == len(writers) else None,
        "new_leader_ms": ms(found[0]) if found else None,
        "writes_before": len(before),
        "before_p50_ms": round(1000 * statistics.median(before), 3) if before else None,
        "before_p99_ms": round(1000 * quantile(before, 0.99), 3) if before else None,
        "writers": [{"server": "%s:%d" % w.servers[0], "ack_ms": ms(w.first_ack_after),
                     "reconnects": w.reconnects, "sessions_expired": w.sessions_expired,
                     "error": w.error} for w in writers],
    }
    print(json.dumps(out))
    sys.exit(0 if len(firsts) == len(writers) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""startwatch.py: time from a server's fork to its first served Kafka request.

    startwatch.py PORT T0_FILE READY_FILE [TIMEOUT_S]

Started *before* the server: it writes READY_FILE once Python is up (so its own start
costs nothing in the measurement), then waits for T0_FILE, in which the caller writes
bash's $EPOCHREALTIME taken just before it forked the server. From then on it tries
127.0.0.1:PORT every 2 ms; once a connection is accepted it sends a raw ApiVersions v0
request (no client library: the same bytes for keel and Apache) and waits for the
answer. A connection the server closes or resets is retried. Prints the milliseconds
from T0 to the complete answer; exits 1 on timeout.
"""
import os
import socket
import struct
import sys
import time


def api_versions_v0(corr):
    cid = b"keel-bench-start"
    body = struct.pack(">hhih", 18, 0, corr, len(cid)) + cid
    return struct.pack(">i", len(body)) + body


def recv_exact(s, n, deadline):
    out = b""
    while len(out) < n:
        s.settimeout(max(0.001, deadline - time.time()))
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def main():
    port = int(sys.argv[1])
    t0_file, ready_file = sys.argv[2], sys.argv[3]
    timeout_s = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    with open(ready_file, "w") as f:
        f.write("ready\n")
    give_up = time.time() + timeout_s + 30
    while not os.path.exists(t0_file) or os.path.getsize(t0_file) == 0:
        if time.time() > give_up:
            sys.exit("startwatch: no T0 written")
        time.sleep(0.0005)
    with open(t0_file) as f:
        t0 = float(f.read().strip())
    deadline = t0 + timeout_s
    corr = 0
    while time.time() < deadline:
        corr += 1
        s = socket.socket()
        try:
            s.settimeout(0.05)
            s.connect(("127.0.0.1", port))
            s.sendall(api_versions_v0(corr))
            size = struct.unpack(">i", recv_exact(s, 4, deadline))[0]
            data = recv_exact(s, size, deadline)
            t1 = time.time()
            if struct.unpack(">i", data[:4])[0] != corr:
                raise ConnectionError("correlation id mismatch")
            print("%.1f" % ((t1 - t0) * 1000.0))
            return
        except (OSError, ConnectionError):
            pass
        finally:
            s.close()
        time.sleep(0.002)
    sys.exit("startwatch: no ApiVersions answer on port %d within %.0f s" % (port, timeout_s))


if __name__ == "__main__":
    main()

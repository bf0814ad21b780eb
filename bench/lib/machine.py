#!/usr/bin/env python3
"""machine.py: what the machine itself can do, as the ceiling/floor for the servers.

    machine.py loopback SECONDS
        TCP bandwidth over 127.0.0.1: one process sends 1 MiB buffers with sendall, a
        second process receives them with recv_into, for SECONDS; prints MB/s (10^6 B)
        as the receiver saw it. A plain socket copy, no protocol: an upper bound for
        any server that moves bytes from one socket to another on this host.
    machine.py fsync DIR SECONDS
        4 KiB pwrite + fdatasync in a loop on a 64 MiB file preallocated in DIR (as a
        ZooKeeper transaction log is preallocated, so no write changes the file size);
        prints "p50_ms p99_ms ops": the disk's floor for a durable write.
"""
import multiprocessing
import os
import socket
import sys
import time

BUF = 1 << 20


def _receiver(port_conn, seconds, result_conn):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port_conn.send(srv.getsockname()[1])
    conn, _ = srv.accept()
    buf = bytearray(BUF)
    view = memoryview(buf)
    total = 0
    start = None
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        if start is None:
            start = time.perf_counter()
        total += n
    elapsed = time.perf_counter() - start
    result_conn.send(total / elapsed / 1e6)


def loopback(seconds):
    port_r, port_w = multiprocessing.Pipe(False)
    res_r, res_w = multiprocessing.Pipe(False)
    p = multiprocessing.Process(target=_receiver, args=(port_w, seconds, res_w))
    p.start()
    port = port_r.recv()
    s = socket.create_connection(("127.0.0.1", port))
    data = memoryview(bytes(BUF))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        s.sendall(data)
    s.close()
    mbs = res_r.recv()
    p.join()
    print("%.1f" % mbs)


def fsync(directory, seconds):
    path = os.path.join(directory, "fsync-probe.%d" % os.getpid())
    size = 64 << 20
    block = b"\xa5" * 4096
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        chunk = b"\0" * (1 << 20)
        for _ in range(size // len(chunk)):
            os.write(fd, chunk)
        os.fsync(fd)
        lat = []
        off = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            os.pwrite(fd, block, off)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1000.0)
            off = (off + 4096) % size
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()

    def pct(q):
        return lat[max(0, min(len(lat) - 1, int(-(-q * len(lat) // 1)) - 1))]

    print("%.3f %.3f %d" % (pct(0.50), pct(0.99), len(lat)))


def main():
    if sys.argv[1] == "loopback":
        loopback(float(sys.argv[2]))
    elif sys.argv[1] == "fsync":
        fsync(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("usage: machine.py loopback SECONDS | fsync DIR SECONDS")


if __name__ == "__main__":
    main()

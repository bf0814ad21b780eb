#!/usr/bin/env python3
"""conn_holder.py: holds N idle Kafka client connections open against one broker.

    conn_holder.py HOST:PORT N READY_FILE

Opens N TCP connections (at most 200 handshakes in flight, so the broker's accept
backlog is not the thing measured), and on each one does what every Kafka client does
first: ApiVersions v0, then Metadata v1 for no topics. Then each connection stays open
and idle, the way thousands of Filebeat/Logstash/application clients sit on a broker
between requests. When all are set up, writes "opened=N failed=F seconds=S" to
READY_FILE. On SIGTERM or SIGINT prints one line "held=H of N dropped=D" (H: still
open; D: closed by the broker meanwhile) and exits.

Raw sockets and asyncio, no client library: one Python process holds thousands of
connections cheaply, and the bytes are the same for keel and Apache. Raises its own
RLIMIT_NOFILE to the hard limit.
"""
import asyncio
import resource
import signal
import struct
import sys
import time

CLIENT_ID = b"keel-bench-holder"


def request(key, version, corr, body=b""):
    hdr = struct.pack(">hhih", key, version, corr, len(CLIENT_ID)) + CLIENT_ID
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


async def call(reader, writer, key, version, corr, body=b""):
    writer.write(request(key, version, corr, body))
    await writer.drain()
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    data = await reader.readexactly(size)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise ConnectionError("correlation id mismatch")
    return data


class Holder:
    def __init__(self, host, port, n):
        self.host, self.port, self.n = host, port, n
        self.open = 0
        self.failed = 0
        self.dropped = 0
        self.writers = []

    async def one(self, gate):
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), 30)
                await asyncio.wait_for(call(reader, writer, 18, 0, 1), 30)
                # Metadata v1, topics = [] (no topics: brokers and controller only)
                await asyncio.wait_for(call(reader, writer, 3, 1, 2, struct.pack(">i", 0)), 30)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                self.failed += 1
                return None
        self.open += 1
        self.writers.append(writer)
        return reader

    async def watch(self, reader):
        # Idle until the broker closes the connection (or we stop).
        try:
            data = await reader.read(1)
        except OSError:
            data = b""
        if not data:
            self.open -= 1
            self.dropped += 1


async def main():
    target, n, ready_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    host, port = target.rsplit(":", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    holder = Holder(host, int(port), n)
    gate = asyncio.Semaphore(200)
    t0 = time.time()
    readers = await asyncio.gather(*(holder.one(gate) for _ in range(n)))
    watchers = [asyncio.ensure_future(holder.watch(r)) for r in readers if r is not None]
    with open(ready_file, "w") as f:
        f.write("opened=%d failed=%d seconds=%.1f\n" % (holder.open, holder.failed, time.time() - t0))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    print("held=%d of %d dropped=%d" % (holder.open, n, holder.dropped), flush=True)
    for w in watchers:
        w.cancel()
    for w in holder.writers:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())

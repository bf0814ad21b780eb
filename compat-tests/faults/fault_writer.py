"""fault_writer: the kazoo workload of the fault suite (scripts/zk-fault-suite).

    python fault_writer.py <connect> <base> <stop-file> <log-file> [pause-ms]

One KazooClient (its connect string names all three servers) creates <base>/n-<seq>
one after another until <stop-file> exists, each create tried once (no command retry),
so every attempt is either acknowledged or failed. Acknowledged paths must be present
on every server at the end (fault_report.py checks). Log lines, tab-separated, wall-clock
milliseconds first:

    <ms> ok   <path>
    <ms> fail <path> <error>
    <ms> summary acked=<n> failures=<n>

PLANT_LOST_ACK=N in the environment (the suite's --plant, to prove the checks can fail):
attempt N is logged as acknowledged without being sent.
"""

import os
import sys
import time

from kazoo.client import KazooClient

CONNECT, BASE, STOP_FILE, LOG_FILE = sys.argv[1:5]
PAUSE_S = (int(sys.argv[5]) if len(sys.argv) > 5 else 20) / 1000.0
SESSION_TIMEOUT_S = 15
PAUSE_AFTER_FAILURE_S = 0.2
PLANTED_LOST_ACK_SEQ = int(os.environ.get("PLANT_LOST_ACK", "-1"))


def now_ms():
    return int(time.time() * 1000)


def main():
    log = open(LOG_FILE, "a", buffering=1)
    client = KazooClient(
        hosts=CONNECT,
        timeout=SESSION_TIMEOUT_S,
        connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
    )
    client.start(timeout=60)
    client.ensure_path(BASE)
    acked = failures = seq = 0
    while not os.path.exists(STOP_FILE):
        seq += 1
        path = "%s/n-%08d" % (BASE, seq)
        if seq == PLANTED_LOST_ACK_SEQ:
            log.write("%d\tok\t%s\n" % (now_ms(), path))
            continue
        try:
            client.create(path, ("create %d" % seq).encode())
            acked += 1
            log.write("%d\tok\t%s\n" % (now_ms(), path))
            time.sleep(PAUSE_S)
        except Exception as e:  # noqa: BLE001 - every failure is a data point
            failures += 1
            log.write("%d\tfail\t%s\t%s\n" % (now_ms(), path, type(e).__name__))
            time.sleep(PAUSE_AFTER_FAILURE_S)
    log.write("%d\tsummary\tacked=%d\tfailures=%d\n" % (now_ms(), acked, failures))
    client.stop()
    client.close()


if __name__ == "__main__":
    main()

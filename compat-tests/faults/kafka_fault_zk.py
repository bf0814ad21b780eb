"""kafka_fault_zk: the Kafka fault suite's view of the cluster, read from ZooKeeper.

    python kafka_fault_zk.py watch <zk> <topic> <state-file> <log-file> <stop-file>

In ZooKeeper mode the znodes are the ground truth the controller writes: /controller
({"brokerid": N}), /brokers/ids (one ephemeral child per registered broker) and
/brokers/topics/<topic>/partitions/<p>/state ({"leader": N, "isr": [...],
"leader_epoch": N}). This polls them every POLL_S until <stop-file> exists and

  - rewrites <state-file> (atomically) after every poll, in lines the suite's shell
    reads with awk:
        ms <wall-clock ms of the poll>
        controller <id or -1>
        live <ids, comma separated>
        p<partition> <leader> <isr, comma separated> <leader epoch>
  - appends a line to <log-file> whenever anything changed:
        <ms> TAB <controller> TAB <live> TAB p0=<leader>/<isr>/<epoch> TAB p1=... ...
    (the report derives failover times and ISR changes from it).
"""

import json
import os
import sys
import time

from kazoo.client import KazooClient

POLL_S = 0.2
SESSION_TIMEOUT_S = 30


def now_ms():
    return int(time.time() * 1000)


def read_json(client, path):
    try:
        data, _ = client.get(path)
        return json.loads(data.decode()) if data else None
    except Exception:  # noqa: BLE001 - absent or unreadable means "none" here
        return None


def snapshot(client, topic):
    ctl = read_json(client, "/controller")
    try:
        live = sorted(int(b) for b in client.get_children("/brokers/ids"))
    except Exception:  # noqa: BLE001
        live = []
    parts = {}
    try:
        names = client.get_children("/brokers/topics/%s/partitions" % topic)
    except Exception:  # noqa: BLE001 - the topic may not exist yet
        names = []
    for p in sorted(int(n) for n in names):
        st = read_json(client, "/brokers/topics/%s/partitions/%d/state" % (topic, p)) or {}
        parts[p] = (st.get("leader", -1), tuple(st.get("isr", [])), st.get("leader_epoch", -1))
    return (ctl.get("brokerid", -1) if ctl else -1), tuple(live), parts


def watch(zk, topic, state_file, log_file, stop_file):
    client = KazooClient(hosts=zk, timeout=SESSION_TIMEOUT_S,
                         connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
                         command_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0})
    client.start(timeout=60)
    last = None
    with open(log_file, "a", buffering=1) as log:
        while not os.path.exists(stop_file):
            ms = now_ms()
            ctl, live, parts = snapshot(client, topic)
            lines = ["ms %d" % ms, "controller %d" % ctl, "live %s" % ",".join(map(str, live))]
            for p, (leader, isr, epoch) in sorted(parts.items()):
                lines.append("p%d %d %s %d" % (p, leader, ",".join(map(str, isr)) or "-", epoch))
            tmp = state_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, state_file)
            if (ctl, live, parts) != last:
                cols = ["%d" % ms, "%d" % ctl, ",".join(map(str, live)) or "-"]
                cols += ["p%d=%d/%s/%d" % (p, l, ",".join(map(str, i)) or "-", e) for p, (l, i, e) in sorted(parts.items())]
                log.write("\t".join(cols) + "\n")
                last = (ctl, live, parts)
            time.sleep(POLL_S)
    client.stop()
    client.close()


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "watch":
        watch(*sys.argv[2:7])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

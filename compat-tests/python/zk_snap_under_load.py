"""A learner synced by SNAP while writes go on (zk-mixed-ensemble, snap-under-load).

The leader streams its tree to a learner that lost its data while clients keep
writing, so the stream is fuzzy (Apache's LearnerHandler serialises it while
commits go on; keel's leader walks it a step at a time between requests). The
learner must end with exactly the leader's tree.

  fill HOSTPORT COUNT          create /snap/n0..n<COUNT-1> with 1 KB each
  write HOSTPORT SECONDS FILE  creates, setData and deletes under /snap for SECONDS;
                               every acknowledged create / delete goes to FILE
  compare FILE HOSTPORT...     after sync, every server holds the same /snap
                               (paths, data, Stat) and the acknowledged writes
"""

import json
import random
import sys
import time

from kazoo.client import KazooClient

ROOT = "/snap"
FILL_DATA = b"f" * 1024


def connect(hostport):
    client = KazooClient(hosts=hostport, timeout=15)
    client.start(timeout=30)
    return client


def fill(hostport, count):
    client = connect(hostport)
    client.ensure_path(ROOT)
    pending = []
    for index in range(count):
        pending.append(client.create_async(f"{ROOT}/n{index}", FILL_DATA))
        if len(pending) >= 200:
            for result in pending:
                result.get(timeout=30)
            pending = []
    for result in pending:
        result.get(timeout=30)
    client.stop()
    print(f"filled {count} nodes")


def write(hostport, seconds, acked_file):
    client = connect(hostport)
    rng = random.Random(7)
    created, deleted, updated = [], [], 0
    deadline = time.time() + seconds
    serial = 0
    # Each run's creates get names of their own (runs follow one another).
    run = int(time.time() * 1000)
    while time.time() < deadline:
        batch = []
        for _ in range(20):
            serial += 1
            choice = rng.random()
            if choice < 0.4:
                path = f"{ROOT}/w{run}-{serial}"
                batch.append(("create", path, client.create_async(path, b"w" * rng.randint(0, 2000))))
            elif choice < 0.8:
                path = f"{ROOT}/n{rng.randrange(1000)}"
                batch.append(("set", path, client.set_async(path, str(serial).encode() * 40)))
            elif created:
                path = created.pop(rng.randrange(len(created)))
                batch.append(("delete", path, client.delete_async(path)))
        for kind, path, result in batch:
            result.get(timeout=30)
            if kind == "create":
                created.append(path)
            elif kind == "delete":
                deleted.append(path)
            else:
                updated += 1
    client.stop()
    with open(acked_file, "w") as out:
        json.dump({"created": created, "deleted": deleted, "updated": updated}, out)
    print(f"acknowledged {len(created)} creates kept, {len(deleted)} deletes, {updated} setData")


def tree_of(hostport):
    client = connect(hostport)
    client.sync(ROOT)
    nodes = {}
    stack = [ROOT]
    while stack:
        path = stack.pop()
        data, stat = client.get(path)
        children = client.get_children(path)
        nodes[path] = (
            data,
            stat.czxid,
            stat.mzxid,
            stat.pzxid,
            stat.version,
            stat.cversion,
            stat.numChildren,
        )
        stack.extend(f"{path}/{child}" for child in children)
    client.stop()
    return nodes


def compare(acked_file, hostports):
    with open(acked_file) as source:
        acked = json.load(source)
    trees = [tree_of(hostport) for hostport in hostports]
    failures = []
    reference = trees[0]
    for hostport, tree in zip(hostports[1:], trees[1:]):
        if tree != reference:
            missing = sorted(set(reference) - set(tree))[:5]
            extra = sorted(set(tree) - set(reference))[:5]
            differing = sorted(p for p in set(tree) & set(reference) if tree[p] != reference[p])[:5]
            failures.append(
                f"{hostport} differs from {hostports[0]}: missing {missing} extra {extra} "
                f"differing {differing}"
            )
    lost = [path for path in acked["created"] if path not in reference][:5]
    revived = [path for path in acked["deleted"] if path in reference][:5]
    if lost:
        failures.append(f"acknowledged creates lost: {lost}")
    if revived:
        failures.append(f"acknowledged deletes undone: {revived}")
    if failures:
        print("; ".join(failures))
        sys.exit(1)
    print(
        f"{len(hostports)} servers hold the same {len(reference)} nodes under {ROOT}; "
        f"{len(acked['created'])} acknowledged creates and {len(acked['deleted'])} deletes present as acknowledged"
    )


def main():
    command = sys.argv[1]
    if command == "fill":
        fill(sys.argv[2], int(sys.argv[3]))
    elif command == "write":
        write(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    elif command == "compare":
        compare(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()

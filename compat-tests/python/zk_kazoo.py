"""zk_kazoo: kazoo's recipes and watches against a ZooKeeper target.

    python zk_kazoo.py <connect>

Several KazooClient instances (one session each) exercise: Lock (contended counter),
Election (one leader at a time, hand-over), Queue and LockingQueue (priority order,
across clients), Party and ShallowParty (membership, seen from another client),
DataWatch / ChildrenWatch / one-shot watches, and transactions. Prints ok/FAIL lines;
exit 0 iff every check passed.
"""

import os
import random
import sys
import threading
import time

import kazoo
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, LockTimeout, NoNodeError, NodeExistsError
from kazoo.protocol.states import EventType

CONNECT = sys.argv[1]
BASE = "/keel-compat-kazoo-%d-%d" % (os.getpid(), random.randint(0, 10**6))
FAILURES = []


def check(cond, what, why=""):
    if cond:
        print("ok   " + what, flush=True)
    else:
        FAILURES.append(what)
        print("FAIL %s: %s" % (what, why), flush=True)


def client():
    c = KazooClient(hosts=CONNECT, timeout=15)
    c.start(timeout=20)
    return c


def eventually(cond, secs=10.0):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_lock(clients):
    path = BASE + "/lock"
    counter = BASE + "/counter"
    clients[0].create(counter, b"0", makepath=True)
    holders = []
    overlaps = []
    errors = []
    rounds = 20

    def worker(i, c):
        try:
            lock = c.Lock(path, "worker-%d" % i)
            for _ in range(rounds):
                with lock:
                    holders.append(i)
                    if len(holders) > 1:
                        overlaps.append(list(holders))
                    v = int(c.get(counter)[0])
                    time.sleep(0.001)
                    c.set(counter, str(v + 1).encode())
                    holders.remove(i)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    want = rounds * len(clients)
    got = int(clients[0].get(counter)[0])
    check(not errors, "Lock: workers ran without errors", errors)
    check(got == want, "Lock: contended counter is exactly %d" % want, "got %d" % got)
    check(not overlaps, "Lock: never two holders", overlaps[:3])

    # contenders and a blocking acquire with timeout
    a = clients[0].Lock(path, "holder-a")
    b = clients[1].Lock(path, "holder-b")
    check(a.acquire(timeout=10), "Lock: acquire")
    check(a.contenders() == ["holder-a"], "Lock: contenders lists the holder", a.contenders())
    try:
        got_it = b.acquire(timeout=0.5)
    except LockTimeout:
        got_it = False
    check(not got_it, "Lock: other session times out while held")
    a.release()
    check(b.acquire(timeout=10), "Lock: other session acquires after release")
    b.release()


def test_election(clients):
    path = BASE + "/election"
    leaders_now = []
    history = []
    release = {i: threading.Event() for i in range(len(clients))}
    bad = []

    def run(i, c):
        election = c.Election(path, "cand-%d" % i)

        def lead():
            leaders_now.append(i)
            if len(leaders_now) > 1:
                bad.append(list(leaders_now))
            history.append(i)
            release[i].wait(30)
            leaders_now.remove(i)

        election.run(lead)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    observer = clients[0].Election(path)
    check(eventually(lambda: len(observer.contenders()) == len(clients)), "Election: all candidates contend",
          observer.contenders())
    for n in range(len(clients)):
        check(eventually(lambda: len(history) == n + 1), "Election: leader #%d elected" % (n + 1), history)
        time.sleep(0.3)
        check(len(leaders_now) == 1, "Election: exactly one leader (#%d)" % (n + 1), leaders_now)
        if history:
            release[history[-1]].set()
    for t in threads:
        t.join(30)
    check(not bad, "Election: never two leaders", bad)
    check(sorted(history) == list(range(len(clients))), "Election: every candidate led once, in turn", history)


def test_queue(a, b):
    q = a.Queue(BASE + "/queue")
    q2 = b.Queue(BASE + "/queue")
    q.put(b"low-1", priority=200)
    q.put(b"high", priority=10)
    q.put(b"low-2", priority=200)
    q.put(b"mid-1", priority=100)
    q.put(b"mid-2", priority=100)
    check(len(q2) == 5, "Queue: length seen from another session", len(q2))
    got = [q2.get() for _ in range(5)]
    check(got == [b"high", b"mid-1", b"mid-2", b"low-1", b"low-2"], "Queue: priority then FIFO order", got)
    check(q2.get() is None, "Queue: empty queue returns None")

    lq = a.LockingQueue(BASE + "/lqueue")
    lq2 = b.LockingQueue(BASE + "/lqueue")
    lq.put_all([b"job-1"])
    lq.put(b"job-2", priority=1)
    item = lq2.get(timeout=10)
    check(item == b"job-2", "LockingQueue: get takes the highest priority", item)
    check(lq2.holds_lock(), "LockingQueue: consumer holds the item's lock")
    other = lq.get(timeout=10)
    check(other == b"job-1", "LockingQueue: a locked item is skipped by another consumer", other)
    check(lq2.consume(), "LockingQueue: consume")
    check(lq.release(), "LockingQueue: release puts it back")
    again = lq2.get(timeout=10)
    check(again == b"job-1", "LockingQueue: released item is delivered again", again)
    lq2.consume()
    check(len(lq) == 0, "LockingQueue: empty at the end", len(lq))


def test_party(a, b, c):
    path = BASE + "/party"
    p1 = a.Party(path, "alpha")
    p2 = b.Party(path, "beta")
    view = c.Party(path)
    p1.join()
    p2.join()
    check(eventually(lambda: sorted(view) == ["alpha", "beta"]), "Party: members seen from a third session",
          list(view))
    check(len(view) == 2, "Party: len", len(view))
    p1.leave()
    check(eventually(lambda: list(view) == ["beta"]), "Party: leave", list(view))
    sp = a.ShallowParty(BASE + "/shallow", "gamma")
    sp.join()
    check(list(c.ShallowParty(BASE + "/shallow")) == ["gamma"], "ShallowParty: join seen",
          list(c.ShallowParty(BASE + "/shallow")))
    sp.leave()
    p2.leave()


def test_watches(a, b):
    path = BASE + "/watched"
    data_calls = []
    child_calls = []

    @b.DataWatch(path)
    def on_data(data, stat, event=None):
        data_calls.append((data, stat.version if stat else None, event.type if event else None))

    a.create(path, b"one")
    check(eventually(lambda: data_calls and data_calls[-1][0] == b"one"), "DataWatch: sees the create",
          data_calls)
    a.set(path, b"two")
    check(eventually(lambda: data_calls[-1][:2] == (b"two", 1)), "DataWatch: sees the change", data_calls)

    @b.ChildrenWatch(path)
    def on_children(children):
        child_calls.append(sorted(children))

    a.create(path + "/c1", b"")
    a.create(path + "/c2", b"")
    check(eventually(lambda: child_calls[-1] == ["c1", "c2"]), "ChildrenWatch: sees both children", child_calls)
    a.delete(path + "/c1")
    check(eventually(lambda: child_calls[-1] == ["c2"]), "ChildrenWatch: sees the removal", child_calls)

    fired = []
    ev = threading.Event()

    def once(event):
        fired.append((event.type, event.path))
        ev.set()

    b.get(path, watch=once)
    a.set(path, b"three")
    ev.wait(10)
    check(fired == [(EventType.CHANGED, path)], "one-shot get watch: CHANGED", fired)
    a.set(path, b"four")
    time.sleep(0.3)
    check(len(fired) == 1, "one-shot watch does not fire twice", fired)

    ev2 = threading.Event()
    created = []

    def on_exists(event):
        created.append((event.type, event.path))
        ev2.set()

    check(b.exists(path + "/later", watch=on_exists) is None, "exists watch on a missing node")
    a.create(path + "/later", b"x")
    ev2.wait(10)
    check(created == [(EventType.CREATED, path + "/later")], "exists watch: CREATED", created)

    a.delete(path, recursive=True)
    check(eventually(lambda: data_calls[-1][0] is None), "DataWatch: sees the delete", data_calls[-1:])


def test_transaction(a):
    path = BASE + "/txn"
    a.create(path, b"0")
    t = a.transaction()
    t.create(path + "/a", b"a")
    t.set_data(path, b"1", version=0)
    t.check(path, 1)
    results = t.commit()
    check(results[0] == path + "/a" and results[2] is True, "transaction: commit results", results)
    t = a.transaction()
    t.create(path + "/b", b"b")
    t.set_data(path, b"2", version=0)  # stale version: the whole transaction fails
    results = t.commit()
    check(isinstance(results[1], BadVersionError), "transaction: failing op reports BadVersion", results)
    check(a.exists(path + "/b") is None and a.get(path)[0] == b"1", "transaction: all or nothing")
    try:
        a.create(path + "/a", b"")
        check(False, "NodeExistsError")
    except NodeExistsError:
        check(True, "NodeExistsError")
    try:
        a.get(path + "/none")
        check(False, "NoNodeError")
    except NoNodeError:
        check(True, "NoNodeError")
    seq1 = a.create(path + "/s-", b"", sequence=True)
    seq2 = a.create(path + "/s-", b"", sequence=True, ephemeral=True)
    check(len(seq1.rsplit("-", 1)[1]) == 10 and int(seq2.rsplit("-", 1)[1]) == int(seq1.rsplit("-", 1)[1]) + 1,
          "sequence nodes: 10 digits, consecutive", (seq1, seq2))


def main():
    print("kazoo %s against %s, base %s" % (kazoo.version.__version__ if hasattr(kazoo, "version") else "?",
                                            CONNECT, BASE), flush=True)
    clients = [client() for _ in range(3)]
    a, b, c = clients
    try:
        a.ensure_path(BASE)
        for name, fn in [("lock", lambda: test_lock(clients)),
                         ("election", lambda: test_election(clients)),
                         ("queue", lambda: test_queue(a, b)),
                         ("party", lambda: test_party(a, b, c)),
                         ("watches", lambda: test_watches(a, b)),
                         ("transaction", lambda: test_transaction(a))]:
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                import traceback
                traceback.print_exc(file=sys.stdout)
                check(False, "%s: unexpected exception" % name, repr(e))
    finally:
        try:
            a.delete(BASE, recursive=True)
        except Exception as e:  # noqa: BLE001
            print("cleanup: %r" % e)
        for cl in clients:
            cl.stop()
            cl.close()
    print("%d failed" % len(FAILURES))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()

"""zk_migration_load: client load that runs through a rolling ZooKeeper migration.

    python zk_migration_load.py <connect> <base> <ctl_dir>

Used by suites/zk-rolling-migration.sh while it replaces the servers of a three-server
ensemble one at a time. Three kinds of kazoo sessions run until told to stop:

- a writer: acknowledged creates of sequential znodes (<base>/seq/bNNN/n-...), each
  carrying a unique token as its data. A create that returns a path is acknowledged
  and recorded; a create that fails with a connection loss or timeout has an unknown
  outcome: its token is kept apart and looked for afterwards, never counted.
- two lockers: each takes kazoo's Lock on <base>/lock, creates the ephemeral marker
  <base>/holder (which must be absent: someone else's marker means two holders),
  increments the counter <base>/counter by a versioned read-modify-write, deletes the
  marker, releases the lock, and records every increment that took effect (a set whose
  reply was lost is resolved under the lock by re-reading the counter's version).
- a verifier (at checkpoints only).

Every session counts its reconnects (SUSPENDED -> CONNECTED) and expiries (LOST).

Control is by files in <ctl_dir>, written by the suite:
- the program writes `ready` once the load runs;
- `checkpoint-<name>`: the program verifies, while the load keeps running, that every
  create acknowledged so far exists with its token on each server (a session to that
  server alone, after sync), and, holding the lock itself, that the counter equals the
  increments recorded so far; it writes `<name>.result` = `pass|fail <figures>` with
  the figures of the phase since the previous checkpoint;
- `stop`: the load stops; a last, quiescent check (`final.result`) also requires that
  the three servers hold the same children, that no znode appeared that no create
  asked for, and says how many creates of unknown outcome landed.
"""

import json
import logging
import os
import sys
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (
    BadVersionError,
    ConnectionLoss,
    KazooException,
    LockTimeout,
    NodeExistsError,
    NoNodeError,
    OperationTimeoutError,
    SessionExpiredError,
)

CONNECT, BASE, CTL = sys.argv[1], sys.argv[2], sys.argv[3]
HOSTS = CONNECT.split(",")
SESSION_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 60.0
WRITE_PAUSE_S = 0.01            # the writer's pace: ~100 creates/s at most
SEQ_PER_BUCKET = 2000           # children per parent, so that one getChildren stays small
LOCK_TIMEOUT_S = 90.0
LOCKERS = 2
VERIFY_READ_BATCH = 500         # async getData calls in flight per server during a check
UNSURE = (ConnectionLoss, OperationTimeoutError)

# kazoo logs every dropped connection; the listener below counts them instead
logging.basicConfig(level=logging.ERROR)

STOP = threading.Event()
STATS_LOCK = threading.Lock()


class Stats:
    """Counters of one session (all sessions share STATS_LOCK)."""

    def __init__(self, name):
        self.name = name
        self.suspended = 0
        self.reconnects = 0
        self.expiries = 0
        self.errors = []

    def listener(self, state):
        # (removed before the client's own stop(), which also reports LOST)
        with STATS_LOCK:
            if state == KazooState.SUSPENDED:
                self.suspended += 1
            elif state == KazooState.CONNECTED and self.suspended > self.reconnects:
                self.reconnects += 1
            elif state == KazooState.LOST:
                self.expiries += 1
        log("session %s: %s" % (self.name, state))
        return False


SESSIONS = {}


def close(c, name):
    """Stops a tracked client without counting its own stop as a session loss."""
    st = SESSIONS.get(name)
    if st is not None:
        c.remove_listener(st.listener)
    c.stop()
    c.close()


def client(name, hosts=CONNECT, track=True):
    c = KazooClient(
        hosts=hosts,
        timeout=SESSION_TIMEOUT_S,
        connection_retry={"max_tries": -1, "delay": 0.1, "backoff": 1.5, "max_delay": 1.0},
        command_retry={"max_tries": -1, "delay": 0.1, "backoff": 1.5, "max_delay": 1.0, "deadline": 120},
    )
    c.start(timeout=CONNECT_TIMEOUT_S)
    if track:
        st = Stats(name)
        SESSIONS[name] = st
        c.add_listener(st.listener)
    return c


LOG_LOCK = threading.Lock()


def log(msg):
    with LOG_LOCK:
        print("[load %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# --- the writer -------------------------------------------------------------------

ACKED = {}          # token -> path (acknowledged creates)
UNKNOWN = []        # tokens of creates whose outcome is unknown
ACK_TIMES = []      # time of each acknowledged create, in order


def bucket_path(n):
    return "%s/seq/b%03d" % (BASE, n // SEQ_PER_BUCKET)


def writer():
    c = client("writer")
    st = SESSIONS["writer"]
    n = 0
    while not STOP.is_set():
        if n % SEQ_PER_BUCKET == 0:
            try:
                c.retry(c.ensure_path, bucket_path(n))
            except KazooException as e:
                st.errors.append("ensure_path: %r" % e)
                time.sleep(0.5)
                continue
        token = "w-%d" % n
        try:
            path = c.create(bucket_path(n) + "/n-", token.encode(), sequence=True)
            with STATS_LOCK:
                ACKED[token] = path
                ACK_TIMES.append(time.time())
        except UNSURE:
            with STATS_LOCK:
                UNKNOWN.append(token)
        except SessionExpiredError:
            with STATS_LOCK:
                UNKNOWN.append(token)
            time.sleep(0.5)
        except KazooException as e:
            st.errors.append("create %s: %r" % (token, e))
            time.sleep(0.2)
        n += 1
        time.sleep(WRITE_PAUSE_S)
    close(c, "writer")


# --- the lockers ------------------------------------------------------------------

INCREMENTS = [0] * LOCKERS
UNSURE_SETS_RESOLVED = [0] * LOCKERS
HOLDERS = set()
OVERLAPS = []       # what each observed double holding looked like
ANOMALIES = []      # counter changed by someone else while we held the lock, etc.


def marker_take(c, token):
    """Creates the holder marker; returns False (and records why) if another holder's is there."""
    while True:
        try:
            c.create(BASE + "/holder", token.encode(), ephemeral=True)
            return True
        except UNSURE:
            continue            # our create may have landed: NodeExists with our token says so
        except NodeExistsError:
            try:
                data, _ = c.retry(c.get, BASE + "/holder")
            except NoNodeError:
                continue
            if data.decode() == token:
                return True
            with STATS_LOCK:
                OVERLAPS.append("%s found marker %s" % (token, data.decode()))
            return False


def marker_drop(c, token):
    try:
        data, stat = c.retry(c.get, BASE + "/holder")
        if data.decode() == token:
            c.retry(c.delete, BASE + "/holder", version=stat.version)
    except (NoNodeError, BadVersionError):
        pass


def increment(idx, c):
    """One versioned increment under the lock; returns True if it took effect."""
    data, stat = c.retry(c.get, BASE + "/counter")
    value = int(data)
    try:
        c.set(BASE + "/counter", str(value + 1).encode(), version=stat.version)
        return True
    except UNSURE:
        # the reply was lost: the version says whether it landed (nobody else may write)
        data2, stat2 = c.retry(c.get, BASE + "/counter")
        UNSURE_SETS_RESOLVED[idx] += 1
        if stat2.version == stat.version:
            return False
        if stat2.version == stat.version + 1 and int(data2) == value + 1:
            return True
        with STATS_LOCK:
            ANOMALIES.append("locker-%d: counter %d v%d became %s v%d" % (idx, value, stat.version, data2, stat2.version))
        return False
    except BadVersionError:
        with STATS_LOCK:
            ANOMALIES.append("locker-%d: counter written by another holder (version moved past %d)" % (idx, stat.version))
        return False


def locker(idx):
    name = "locker-%d" % idx
    c = client(name)
    st = SESSIONS[name]
    lock = c.Lock(BASE + "/lock", name)
    n = 0
    while not STOP.is_set():
        try:
            if not lock.acquire(timeout=LOCK_TIMEOUT_S):
                st.errors.append("lock not acquired in %ds" % LOCK_TIMEOUT_S)
                continue
        except LockTimeout:
            st.errors.append("lock not acquired in %ds" % LOCK_TIMEOUT_S)
            continue
        except KazooException as e:
            st.errors.append("acquire: %r" % e)
            time.sleep(0.2)
            continue
        token = "%s-%d" % (name, n)
        n += 1
        try:
            with STATS_LOCK:
                HOLDERS.add(name)
                if len(HOLDERS) > 1:
                    OVERLAPS.append("in-process holders at once: %s" % sorted(HOLDERS))
            if marker_take(c, token):
                try:
                    if increment(idx, c):
                        with STATS_LOCK:
                            INCREMENTS[idx] += 1
                finally:
                    marker_drop(c, token)
        except KazooException as e:
            st.errors.append("under the lock: %r" % e)
        finally:
            with STATS_LOCK:
                HOLDERS.discard(name)
            try:
                lock.release()
            except KazooException as e:
                st.errors.append("release: %r" % e)
        time.sleep(0.005)
    close(c, name)


# --- checks -----------------------------------------------------------------------

def read_server(host):
    """Every child of <base>/seq/* on one server, after sync: {path: token}."""
    c = client("check-" + host, hosts=host, track=False)
    try:
        c.sync(BASE)
        out = {}
        buckets = sorted(c.get_children(BASE + "/seq"))
        for b in buckets:
            parent = BASE + "/seq/" + b
            c.sync(parent)
            kids = ["%s/%s" % (parent, k) for k in c.get_children(parent)]
            for i in range(0, len(kids), VERIFY_READ_BATCH):
                batch = kids[i:i + VERIFY_READ_BATCH]
                pending = [(p, c.get_async(p)) for p in batch]
                for p, res in pending:
                    out[p] = res.get(timeout=60)[0].decode()
        return out
    finally:
        c.stop()
        c.close()


def figures():
    with STATS_LOCK:
        return {
            "acked": len(ACKED),
            "unknown": len(UNKNOWN),
            "increments": sum(INCREMENTS),
            "reconnects": sum(s.reconnects for s in SESSIONS.values()),
            "expiries": sum(s.expiries for s in SESSIONS.values()),
            "errors": sum(len(s.errors) for s in SESSIONS.values()),
            "ack_times": len(ACK_TIMES),
        }


def max_write_gap_s(since_index):
    with STATS_LOCK:
        times = ACK_TIMES[max(since_index - 1, 0):]
    gaps = [b - a for a, b in zip(times, times[1:])]
    return max(gaps) if gaps else 0.0


def check(name, verifier, prev, final):
    fails = []
    t0 = time.time()
    # the counter, holding the lock ourselves: no increment is in flight then
    lock = verifier.Lock(BASE + "/lock", "verifier")
    counter = incs = None
    if lock.acquire(timeout=LOCK_TIMEOUT_S):
        try:
            if verifier.exists(BASE + "/holder") is not None:
                fails.append("marker present while the verifier holds the lock")
            counter = int(verifier.retry(verifier.get, BASE + "/counter")[0])
            with STATS_LOCK:
                incs = sum(INCREMENTS)
        finally:
            lock.release()
        if counter != incs:
            fails.append("counter %d != %d recorded increments" % (counter, incs))
    else:
        fails.append("verifier did not get the lock")
    with STATS_LOCK:
        acked = dict(ACKED)
        unknown = list(UNKNOWN)
        overlaps = list(OVERLAPS)
        anomalies = list(ANOMALIES)
    if overlaps:
        fails.append("double holding seen %d times: %s" % (len(overlaps), overlaps[:3]))
    if anomalies:
        fails.append("counter anomalies: %s" % anomalies[:3])

    contents = {}
    for host in HOSTS:
        try:
            got = read_server(host)
        except Exception as e:  # noqa: BLE001 -- a server that cannot be read is a failure
            fails.append("%s unreadable: %r" % (host, e))
            continue
        contents[host] = got
        missing = [t for t, p in acked.items() if got.get(p) != t]
        if missing:
            fails.append("%s lacks %d acknowledged creates (e.g. %s)" % (
                host, len(missing), ["%s@%s=%s" % (t, acked[t], got.get(acked[t])) for t in missing[:3]]))
    landed = None
    if final and len(contents) == len(HOSTS):
        views = list(contents.values())
        if any(v != views[0] for v in views[1:]):
            fails.append("servers differ: %s" % [len(v) for v in views])
        tokens = set(views[0].values())
        asked = set(acked) | set(unknown)
        phantom = tokens - asked
        if phantom:
            fails.append("%d znodes no create asked for: %s" % (len(phantom), sorted(phantom)[:3]))
        if len(tokens) != len(views[0]):
            fails.append("a token appears twice")
        landed = len(set(unknown) & tokens)

    f = figures()
    errors = []
    for s in SESSIONS.values():
        errors.extend("%s: %s" % (s.name, e) for e in s.errors)
    if f["expiries"] > prev["expiries"]:
        fails.append("%d session expiries" % (f["expiries"] - prev["expiries"]))
    per_session = " ".join("%s=%d" % (s.name, s.reconnects) for s in SESSIONS.values())
    detail = ("writes acked %d (total %d), unknown-outcome %d%s, increments %d (total %d; under the verifier's lock: counter %s = %s recorded), "
              "double holding %d, reconnects %d (run totals: %s), expiries %d, longest write gap %.1fs, check %.1fs" % (
                  f["acked"] - prev["acked"], f["acked"], f["unknown"] - prev["unknown"],
                  "" if landed is None else " (%d of %d landed)" % (landed, len(unknown)),
                  f["increments"] - prev["increments"], f["increments"], counter, incs,
                  len(overlaps), f["reconnects"] - prev["reconnects"], per_session, f["expiries"] - prev["expiries"],
                  max_write_gap_s(prev["ack_times"]), time.time() - t0))
    if errors:
        log("client errors so far (%d): %s" % (len(errors), errors[-10:]))
    verdict = "fail" if fails else "pass"
    if fails:
        detail = "; ".join(fails) + " | " + detail
    with open(os.path.join(CTL, name + ".result.tmp"), "w") as fh:
        fh.write("%s %s\n" % (verdict, detail))
    os.rename(os.path.join(CTL, name + ".result.tmp"), os.path.join(CTL, name + ".result"))
    log("checkpoint %s: %s %s" % (name, verdict, detail))
    return f, not fails


def main():
    setup = client("setup", track=False)
    setup.ensure_path(BASE + "/seq")
    setup.create(BASE + "/counter", b"0")
    setup.stop()
    setup.close()
    threads = [threading.Thread(target=writer, name="writer")]
    threads += [threading.Thread(target=locker, args=(i,), name="locker-%d" % i) for i in range(LOCKERS)]
    for t in threads:
        t.start()
    verifier = client("verifier")
    open(os.path.join(CTL, "ready"), "w").close()
    log("load running on %s under %s" % (CONNECT, BASE))
    prev = figures()
    done = set()
    ok = True
    last_report = time.time()
    while True:
        if os.path.exists(os.path.join(CTL, "stop")):
            break
        for fn in sorted(os.listdir(CTL)):
            if fn.startswith("checkpoint-") and fn not in done:
                done.add(fn)
                prev, good = check(fn[len("checkpoint-"):], verifier, prev, final=False)
                ok = ok and good
        if time.time() - last_report > 10:
            last_report = time.time()
            log("progress %s" % json.dumps({k: v for k, v in figures().items() if k != "ack_times"}))
        time.sleep(0.2)
    STOP.set()
    for t in threads:
        t.join(120)
    _, good = check("final", verifier, prev, final=True)
    ok = ok and good
    # no cleanup of the znodes: the ensemble is the suite's own and goes with its run dir
    close(verifier, "verifier")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

// ZkCrash: the client half of the ZooKeeper crash test (compat-tests/suites/zk-crash.sh),
// on the ZooKeeper 3.9 Java client.
//
//   java ZkCrash write  <connect> <root> <ack-file> <stop-file> <session-timeout-ms>
//   java ZkCrash verify <connect> <root> <ack-file>
//
// write: one session (long timeout) owning the ephemeral <root>/eph, writing until
//   <stop-file> exists: batches of pipelined async creates (persistent <root>/p-N and
//   persistent_sequential <root>/seq/s-), then setData with versions on some of them.
//   Every acknowledged write becomes a line of <ack-file>, flushed at once:
//     session <hex-id> <negotiated-timeout>
//     create <path> <data> <version> | set <path> <data> <version> | seq <path> <data> <version>
//     uncertain <path>      (a write in flight when the connection broke: it may or may not
//                            have been applied, so only its node's existence is checked)
//     reconnected <n> <hex-id>   (the n-th reconnection after a loss, same session)
//   The server is killed and restarted under it (by the suite); the client must reconnect
//   with the same session. At the end it checks its ephemeral survived (same owner) and
//   prints "ok"/"FAIL" lines; exit 0 iff all passed. Session expiry is a failure.
// verify: a fresh session reads everything back: every acknowledged create/setData is
//   there with its data and version (at least that version for uncertain ones); every
//   acknowledged sequential node is there with its data, no name acknowledged twice;
//   sequential names after each reconnection are greater than every one before; a new
//   sequential create gets a name greater than every acknowledged one.

import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class ZkCrash {
    static final Object lock = new Object();
    static KeeperState state = KeeperState.Disconnected;
    static int connects = 0;
    static boolean expired = false;
    static int failures = 0;
    static PrintWriter ack;

    static final Watcher WATCHER = (WatchedEvent e) -> {
        if (e.getType() != Watcher.Event.EventType.None) return;
        synchronized (lock) {
            state = e.getState();
            if (state == KeeperState.SyncConnected) connects++;
            if (state == KeeperState.Expired) expired = true;
            lock.notifyAll();
        }
    };

    static void awaitConnected(long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        synchronized (lock) {
            while (state != KeeperState.SyncConnected) {
                if (expired) throw new IllegalStateException("session expired");
                long left = end - System.currentTimeMillis();
                if (left <= 0) throw new TimeoutException("not connected after " + ms + " ms (state " + state + ")");
                lock.wait(left);
            }
        }
    }

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static synchronized void acked(String line) {
        ack.println(line);
        ack.flush();
    }

    static void ok(String what) { System.out.println("ok   " + what); }

    static void fail(String what) {
        failures++;
        System.out.println("FAIL " + what);
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 4 && args[0].equals("write")) {
            System.exit(write(args[1], args[2], Paths.get(args[3]), Paths.get(args[4]), Integer.parseInt(args[5])));
        } else if (args.length >= 4 && args[0].equals("verify")) {
            System.exit(verify(args[1], args[2], Paths.get(args[3])));
        }
        System.err.println("usage: ZkCrash write <connect> <root> <ack-file> <stop-file> <timeout-ms> | verify <connect> <root> <ack-file>");
        System.exit(2);
    }

    // --- write ---------------------------------------------------------------------------

    static final int BATCH = 8;

    static int write(String connect, String root, Path ackFile, Path stop, int timeoutMs) throws Exception {
        ack = new PrintWriter(new FileWriter(ackFile.toFile(), true));
        ZooKeeper zk = new ZooKeeper(connect, timeoutMs, WATCHER);
        awaitConnected(30000);
        long session = zk.getSessionId();
        String sid = Long.toHexString(session);
        acked("session " + sid + " " + zk.getSessionTimeout());
        zk.create(root, bytes("root"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(root + "/seq", bytes(""), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(root + "/eph", bytes(sid), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        System.out.println("session 0x" + sid + " negotiated " + zk.getSessionTimeout() + " ms; writing under " + root);

        int reported = 0;
        int next = 0;
        long acks = 0, uncertain = 0;
        while (!Files.exists(stop)) {
            try {
                awaitConnected(2L * timeoutMs);
            } catch (IllegalStateException e) {
                fail("session 0x" + sid + " expired while the server was down");
                return 1;
            }
            synchronized (lock) {
                while (reported < connects - 1) {
                    reported++;
                    acked("reconnected " + reported + " " + Long.toHexString(zk.getSessionId()));
                }
            }
            // A batch of pipelined async creates: several writes in flight when the kill lands.
            int first = next;
            next += BATCH;
            CountDownLatch done = new CountDownLatch(BATCH + BATCH / 2);
            boolean[] created = new boolean[BATCH];
            int[] lost = new int[1];
            for (int k = 0; k < BATCH; k++) {
                final int idx = k;
                final String path = root + "/p-" + (first + k);
                final String data = "c" + (first + k);
                zk.create(path, bytes(data), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT,
                    (AsyncCallback.Create2Callback) (rc, p, ctx, name, stat) -> {
                        if (rc == KeeperException.Code.OK.intValue()) {
                            created[idx] = true;
                            acked("create " + path + " " + data + " " + stat.getVersion());
                        } else {
                            acked("uncertain " + path);
                            synchronized (lost) { lost[0]++; }
                        }
                        done.countDown();
                    }, null);
                if (k % 2 == 0) {
                    final String sdata = "q" + (first + k);
                    zk.create(root + "/seq/s-", bytes(sdata), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                        CreateMode.PERSISTENT_SEQUENTIAL,
                        (AsyncCallback.Create2Callback) (rc, p, ctx, name, stat) -> {
                            if (rc == KeeperException.Code.OK.intValue()) {
                                acked("seq " + name + " " + sdata + " " + stat.getVersion());
                            } else {
                                acked("uncertain-seq " + p);
                                synchronized (lost) { lost[0]++; }
                            }
                            done.countDown();
                        }, null);
                }
            }
            if (!done.await(2L * timeoutMs, TimeUnit.MILLISECONDS)) {
                fail("a batch of creates got no answer in " + 2 * timeoutMs + " ms");
                return 1;
            }
            synchronized (lost) { uncertain += lost[0]; }
            // setData with versions on the nodes just made: version 0 -> 1 (-> 2).
            for (int k = 0; k < BATCH; k += 2) {
                if (!created[k]) continue;
                String path = root + "/p-" + (first + k);
                try {
                    Stat stat = zk.setData(path, bytes("s" + (first + k)), 0);
                    acked("set " + path + " s" + (first + k) + " " + stat.getVersion());
                    acks++;
                    if (k % 4 == 0) {
                        stat = zk.setData(path, bytes("t" + (first + k)), 1);
                        acked("set " + path + " t" + (first + k) + " " + stat.getVersion());
                        acks++;
                    }
                } catch (KeeperException.ConnectionLossException e) {
                    acked("uncertain " + path);
                    uncertain++;
                    break;
                } catch (KeeperException.SessionExpiredException e) {
                    fail("session 0x" + sid + " expired");
                    return 1;
                }
            }
        }
        synchronized (lock) {
            while (reported < connects - 1) {
                reported++;
                acked("reconnected " + reported + " " + Long.toHexString(zk.getSessionId()));
            }
        }
        awaitConnected(2L * timeoutMs);
        System.out.println("stopped after " + next + " persistent creates; " + reported
            + " reconnection(s); " + uncertain + " write(s) in flight at a connection loss");
        if (zk.getSessionId() == session && !expired) {
            ok("the session 0x" + sid + " survived " + reported + " server restart(s)");
        } else {
            fail("session changed: 0x" + sid + " -> 0x" + Long.toHexString(zk.getSessionId()));
        }
        Stat stat = zk.exists(root + "/eph", false);
        if (stat != null && stat.getEphemeralOwner() == session) {
            ok("its ephemeral " + root + "/eph is still there, owner 0x" + sid);
        } else {
            fail("ephemeral " + root + "/eph " + (stat == null ? "is gone" : "has owner 0x" + Long.toHexString(stat.getEphemeralOwner())));
        }
        // One more write on the resumed session must work.
        zk.setData(root, bytes("end"), -1);
        zk.close();
        ack.close();
        return failures == 0 ? 0 : 1;
    }

    // --- verify --------------------------------------------------------------------------

    static final class Expect {
        String data;
        int version;
        boolean uncertain;
    }

    static long seqNumber(String path) {
        return Long.parseLong(path.substring(path.length() - 10));
    }

    static int verify(String connect, String root, Path ackFile) throws Exception {
        ZooKeeper zk = new ZooKeeper(connect, 30000, WATCHER);
        awaitConnected(30000);
        Map<String, Expect> nodes = new LinkedHashMap<>();
        Map<String, String> seqs = new LinkedHashMap<>();
        Set<String> uncertainNodes = new HashSet<>();
        List<Long> maxBeforeEpoch = new ArrayList<>();   // max seq number acked in each epoch
        List<Long> minInEpoch = new ArrayList<>();
        maxBeforeEpoch.add(-1L);
        minInEpoch.add(Long.MAX_VALUE);
        int epoch = 0, lines = 0;
        for (String line : Files.readAllLines(ackFile, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            lines++;
            switch (f[0]) {
                case "create": {
                    Expect e = new Expect();
                    e.data = f[2];
                    e.version = Integer.parseInt(f[3]);
                    nodes.put(f[1], e);
                    break;
                }
                case "set": {
                    Expect e = nodes.get(f[1]);
                    if (e == null) { fail("ack file: set before create of " + f[1]); break; }
                    e.data = f[2];
                    e.version = Integer.parseInt(f[3]);
                    break;
                }
                case "uncertain":
                    uncertainNodes.add(f[1]);
                    break;
                case "seq": {
                    if (seqs.containsKey(f[1])) fail("sequential name " + f[1] + " acknowledged twice");
                    seqs.put(f[1], f[2]);
                    long n = seqNumber(f[1]);
                    maxBeforeEpoch.set(epoch, Math.max(maxBeforeEpoch.get(epoch), n));
                    minInEpoch.set(epoch, Math.min(minInEpoch.get(epoch), n));
                    break;
                }
                case "reconnected":
                    epoch++;
                    maxBeforeEpoch.add(Math.max(-1L, maxBeforeEpoch.get(epoch - 1)));
                    minInEpoch.add(Long.MAX_VALUE);
                    break;
                default:
                    break;
            }
        }
        int missing = 0, wrong = 0, checked = 0;
        for (Map.Entry<String, Expect> en : nodes.entrySet()) {
            String path = en.getKey();
            Expect e = en.getValue();
            Stat stat = new Stat();
            byte[] data;
            try {
                data = zk.getData(path, false, stat);
            } catch (KeeperException.NoNodeException ex) {
                if (missing++ < 10) fail("acknowledged node " + path + " is missing");
                continue;
            }
            checked++;
            String got = new String(data, StandardCharsets.UTF_8);
            if (uncertainNodes.contains(path)) {
                if (stat.getVersion() < e.version) {
                    if (wrong++ < 10) fail(path + ": version " + stat.getVersion() + " < acknowledged " + e.version);
                }
            } else if (!got.equals(e.data) || stat.getVersion() != e.version) {
                if (wrong++ < 10) fail(path + ": data '" + got + "' version " + stat.getVersion()
                    + ", acknowledged '" + e.data + "' version " + e.version);
            }
        }
        if (missing == 0 && wrong == 0) {
            ok("all " + checked + " acknowledged persistent nodes present with their data and version ("
                + uncertainNodes.size() + " writes were in flight at a crash: for those only what was acknowledged before is required)");
        }
        int seqMissing = 0, seqWrong = 0;
        for (Map.Entry<String, String> en : seqs.entrySet()) {
            try {
                String got = new String(zk.getData(en.getKey(), false, null), StandardCharsets.UTF_8);
                if (!got.equals(en.getValue()) && seqWrong++ < 10) {
                    fail(en.getKey() + ": data '" + got + "', acknowledged '" + en.getValue() + "'");
                }
            } catch (KeeperException.NoNodeException ex) {
                if (seqMissing++ < 10) fail("acknowledged sequential node " + en.getKey() + " is missing");
            }
        }
        if (seqMissing == 0 && seqWrong == 0) ok("all " + seqs.size() + " acknowledged sequential nodes present with their data");
        for (int k = 1; k <= epoch; k++) {
            long before = maxBeforeEpoch.get(k - 1), after = minInEpoch.get(k);
            if (after == Long.MAX_VALUE) {
                if (k == epoch) fail("no sequential create acknowledged after the last reconnection");
                else ok("(reconnection " + k + " followed at once by another)");
            } else if (after <= before) {
                fail("after reconnection " + k + " the sequence restarted: " + after + " <= " + before);
            } else {
                ok("after reconnection " + k + " the first sequential number " + after + " > " + before + " before it");
            }
        }
        long max = maxBeforeEpoch.get(epoch);
        String fresh = zk.create(root + "/seq/s-", bytes("fresh"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        if (seqNumber(fresh) > max) ok("a new sequential create gets " + fresh + ", after every acknowledged one (max " + max + ")");
        else fail("a new sequential create got " + fresh + ", not after the acknowledged max " + max);
        Stat parent = zk.exists(root + "/seq", false);
        if (parent != null && parent.getNumChildren() >= seqs.size() + 1) {
            ok(root + "/seq has " + parent.getNumChildren() + " children, cversion " + parent.getCversion());
        } else {
            fail(root + "/seq has " + (parent == null ? "no node" : parent.getNumChildren() + " children") + ", expected >= " + (seqs.size() + 1));
        }
        if (epoch == 0) fail("the ack file records no reconnection: the server was never restarted under the writer");
        zk.close();
        System.out.println(lines + " ack lines, " + epoch + " reconnection(s), " + failures + " failure(s)");
        return failures == 0 ? 0 : 1;
    }
}

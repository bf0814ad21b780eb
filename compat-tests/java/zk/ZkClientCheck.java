// ZkClientCheck: one JVM that drives org.apache.zookeeper.ZooKeeper through the API a
// ZooKeeper application uses. One source, compiled against the 3.9.x and the 3.4.14
// client jars (only API present in both), Java 11 language level.
//
//   java ZkClientCheck <connect-string> <label>
//
// Prints "ok <check>" / "FAIL <check>: <why>" lines and exits 0 iff every check passed.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class ZkClientCheck {
    static int failures = 0;
    static int passes = 0;
    static String connect;

    static void ok(String what) {
        passes++;
        System.out.println("ok   " + what);
    }

    static void fail(String what, String why) {
        failures++;
        System.out.println("FAIL " + what + ": " + why);
    }

    static void check(boolean cond, String what, String why) {
        if (cond) ok(what); else fail(what, why);
    }

    interface Body { void run() throws Exception; }

    /** Runs body, which must throw a KeeperException with the given code. */
    static void expectCode(String what, KeeperException.Code code, Body body) {
        try {
            body.run();
            fail(what, "no exception, expected " + code);
        } catch (KeeperException e) {
            check(e.code() == code, what, "got " + e.code() + ", expected " + code);
        } catch (Exception e) {
            fail(what, "unexpected " + e);
        }
    }

    /** A watcher that queues every event it sees. */
    static class Queue implements Watcher {
        final BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        public void process(WatchedEvent e) { events.add(e); }
        WatchedEvent next(long ms) throws InterruptedException { return events.poll(ms, TimeUnit.MILLISECONDS); }
    }

    /** A session, connected when returned. */
    static ZooKeeper session(Queue defaultWatcher) throws Exception {
        final CountDownLatch connected = new CountDownLatch(1);
        final Queue q = defaultWatcher;
        ZooKeeper zk = new ZooKeeper(connect, 15000, new Watcher() {
            public void process(WatchedEvent e) {
                    if (q != null) q.process(e);
                if (e.getState() == KeeperState.SyncConnected && e.getType() == EventType.None) connected.countDown();
            }
        });
        if (!connected.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no SyncConnected within 20 s");
        return zk;
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    static void deleteTree(ZooKeeper zk, String path) throws Exception {
        List<String> children;
        try {
            children = zk.getChildren(path, false);
        } catch (KeeperException.NoNodeException e) {
            return;
        }
        for (String c : children) deleteTree(zk, path + "/" + c);
        try {
            zk.delete(path, -1);
        } catch (KeeperException.NoNodeException e) {
            // gone already
        }
    }

    /** Expects the next event on q to have the type and path; nothing else before it. */
    static void expectEvent(String what, Queue q, EventType type, String path) throws InterruptedException {
        WatchedEvent e = q.next(10000);
        while (e != null && e.getType() == EventType.None) e = q.next(10000); // connection state
        if (e == null) { fail(what, "no event within 10 s, expected " + type + " " + path); return; }
        check(e.getType() == type && path.equals(e.getPath()), what,
              "got " + e.getType() + " " + e.getPath() + ", expected " + type + " " + path);
    }

    static void expectNoEvent(String what, Queue q, long ms) throws InterruptedException {
        WatchedEvent e = q.next(ms);
        check(e == null, what, "unexpected event " + (e == null ? "" : e.getType() + " " + e.getPath()));
    }

    public static void main(String[] args) throws Exception {
        connect = args[0];
        String label = args.length > 1 ? args[1] : "java";
        String base = "/keel-compat-java-" + label + "-" + System.currentTimeMillis() + "-" + (int) (Math.random() * 1e6);
        System.out.println("client " + label + " against " + connect + ", base " + base);
        ZooKeeper zk = session(null);
        try {
            run(zk, base);
        } catch (Throwable t) {
            fail("unexpected exception", t.toString());
            t.printStackTrace(System.out);
        } finally {
            try {
                zk.addAuthInfo("digest", b("keel:secret")); // for nodes an aborted ACL check left closed
                deleteTree(zk, base);
                check(zk.exists(base, false) == null, "cleanup", base + " still exists");
            } catch (Exception e) {
                fail("cleanup", e.toString());
            }
            zk.close();
        }
        System.out.println(passes + " checks passed, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }

    static void run(ZooKeeper zk, final String base) throws Exception {
        final List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;

        // ---- CRUD ------------------------------------------------------------------
        String created = zk.create(base, b("v0"), open, CreateMode.PERSISTENT);
        check(base.equals(created), "create returns path", created);
        Stat st = new Stat();
        byte[] data = zk.getData(base, false, st);
        check("v0".equals(s(data)), "getData", "got " + s(data));
        check(st.getVersion() == 0 && st.getDataLength() == 2 && st.getNumChildren() == 0
              && st.getEphemeralOwner() == 0 && st.getCzxid() > 0 && st.getCzxid() == st.getMzxid()
              && st.getCtime() > 0, "stat of new node", st.toString());
        Stat st1 = zk.setData(base, b("v1"), 0);
        check(st1.getVersion() == 1 && st1.getMzxid() > st.getMzxid(), "setData with matching version", st1.toString());
        Stat st2 = zk.setData(base, b("v2"), -1);
        check(st2.getVersion() == 2, "setData with version -1", st2.toString());
        Stat ex = zk.exists(base, false);
        check(ex != null && ex.getVersion() == 2 && ex.getDataLength() == 2, "exists", String.valueOf(ex));
        check(zk.exists(base + "/none", false) == null, "exists on missing node is null", "not null");
        zk.create(base + "/b", b("b"), open, CreateMode.PERSISTENT);
        zk.create(base + "/a", b("a"), open, CreateMode.PERSISTENT);
        zk.create(base + "/c", new byte[0], open, CreateMode.PERSISTENT);
        List<String> kids = new ArrayList<>(zk.getChildren(base, false));
        Collections.sort(kids);
        check(kids.equals(Arrays.asList("a", "b", "c")), "getChildren", kids.toString());
        Stat pst = new Stat();
        zk.getChildren(base, false, pst);
        check(pst.getNumChildren() == 3 && pst.getCversion() == 3, "getChildren stat (numChildren, cversion)", pst.toString());
        check(zk.getData(base + "/c", false, null).length == 0, "empty data", "not empty");
        zk.delete(base + "/c", 0);
        check(zk.exists(base + "/c", false) == null, "delete", "still exists");

        // ---- errors ----------------------------------------------------------------
        expectCode("setData with stale version -> BADVERSION", KeeperException.Code.BADVERSION,
                   () -> zk.setData(base, b("x"), 1));
        expectCode("delete with wrong version -> BADVERSION", KeeperException.Code.BADVERSION,
                   () -> zk.delete(base + "/a", 7));
        expectCode("getData on missing -> NONODE", KeeperException.Code.NONODE,
                   () -> zk.getData(base + "/missing", false, null));
        expectCode("setData on missing -> NONODE", KeeperException.Code.NONODE,
                   () -> zk.setData(base + "/missing", b("x"), -1));
        expectCode("delete missing -> NONODE", KeeperException.Code.NONODE,
                   () -> zk.delete(base + "/missing", -1));
        expectCode("create under missing parent -> NONODE", KeeperException.Code.NONODE,
                   () -> zk.create(base + "/missing/child", b("x"), open, CreateMode.PERSISTENT));
        expectCode("create existing -> NODEEXISTS", KeeperException.Code.NODEEXISTS,
                   () -> zk.create(base + "/a", b("x"), open, CreateMode.PERSISTENT));
        expectCode("delete non-empty -> NOTEMPTY", KeeperException.Code.NOTEMPTY,
                   () -> zk.delete(base, -1));
        check("v2".equals(s(zk.getData(base, false, null))), "failed writes changed nothing", "data changed");
        try {
            zk.create(base + "/bad//path", b("x"), open, CreateMode.PERSISTENT);
            fail("invalid path refused", "accepted");
        } catch (IllegalArgumentException e) {
            ok("invalid path refused (client side)");
        }

        // ---- sequential nodes ------------------------------------------------------
        zk.create(base + "/seq", new byte[0], open, CreateMode.PERSISTENT);
        String s1 = zk.create(base + "/seq/n-", b("1"), open, CreateMode.PERSISTENT_SEQUENTIAL);
        String s2 = zk.create(base + "/seq/n-", b("2"), open, CreateMode.PERSISTENT_SEQUENTIAL);
        String s3 = zk.create(base + "/seq/e-", b("3"), open, CreateMode.EPHEMERAL_SEQUENTIAL);
        check(s1.equals(base + "/seq/n-0000000000"), "first sequential name has 10 digits from 0", s1);
        check(s2.equals(base + "/seq/n-0000000001"), "second sequential name", s2);
        check(s3.equals(base + "/seq/e-0000000002"), "ephemeral sequential shares the parent counter", s3);

        // ---- watches ---------------------------------------------------------------
        Queue w = new Queue();
        zk.getData(base + "/a", w, null);
        zk.setData(base + "/a", b("a1"), -1);
        expectEvent("data watch fires NodeDataChanged", w, EventType.NodeDataChanged, base + "/a");
        zk.setData(base + "/a", b("a2"), -1);
        expectNoEvent("data watch is one-shot", w, 300);

        Queue we = new Queue();
        check(zk.exists(base + "/w", we) == null, "exists watch on missing node", "exists");
        zk.create(base + "/w", b("w"), open, CreateMode.PERSISTENT);
        expectEvent("exists watch fires NodeCreated", we, EventType.NodeCreated, base + "/w");

        Queue wc = new Queue();
        zk.getChildren(base + "/w", wc);
        zk.create(base + "/w/k", b("k"), open, CreateMode.PERSISTENT);
        expectEvent("child watch fires NodeChildrenChanged", wc, EventType.NodeChildrenChanged, base + "/w");
        zk.setData(base + "/w/k", b("k1"), -1);
        expectNoEvent("child watch ignores a child's data change", wc, 300);

        Queue wd = new Queue();
        zk.getData(base + "/w/k", wd, null);
        Queue wdc = new Queue();
        zk.getChildren(base + "/w", wdc);
        zk.delete(base + "/w/k", -1);
        expectEvent("data watch fires NodeDeleted", wd, EventType.NodeDeleted, base + "/w/k");
        expectEvent("child watch fires on child delete", wdc, EventType.NodeChildrenChanged, base + "/w");

        // default watcher (watch=true)
        Queue dw = new Queue();
        ZooKeeper zw = session(dw);
        try {
            dw.events.clear();
            zw.exists(base + "/dflt", true);
            zk.create(base + "/dflt", new byte[0], open, CreateMode.PERSISTENT);
            expectEvent("default watcher (watch=true) fires NodeCreated", dw, EventType.NodeCreated, base + "/dflt");
        } finally {
            zw.close();
        }

        // ---- ephemerals ------------------------------------------------------------
        ZooKeeper other = session(null);
        long otherId = other.getSessionId();
        other.create(base + "/eph", b("e"), open, CreateMode.EPHEMERAL);
        Stat es = zk.exists(base + "/eph", false);
        check(es != null && es.getEphemeralOwner() == otherId, "ephemeral owner is the creating session",
              es == null ? "missing" : Long.toHexString(es.getEphemeralOwner()) + " vs " + Long.toHexString(otherId));
        expectCode("ephemeral cannot have children -> NOCHILDRENFOREPHEMERALS",
                   KeeperException.Code.NOCHILDRENFOREPHEMERALS,
                   () -> zk.create(base + "/eph/kid", b("x"), open, CreateMode.PERSISTENT));
        Queue weph = new Queue();
        zk.exists(base + "/eph", weph);
        other.close();
        expectEvent("ephemeral deleted when its session closes (watch fires NodeDeleted)", weph,
                    EventType.NodeDeleted, base + "/eph");
        check(zk.exists(base + "/eph", false) == null, "ephemeral is gone after close", "still exists");

        // ---- multi -----------------------------------------------------------------
        try {
            zk.multi(Arrays.asList(
                Op.create(base + "/m1", b("1"), open, CreateMode.PERSISTENT),
                Op.create(base + "/m2", b("2"), open, CreateMode.PERSISTENT),
                Op.setData(base, b("nope"), 99)));
            fail("multi with a failing op", "succeeded");
        } catch (KeeperException e) {
            check(e.code() == KeeperException.Code.BADVERSION, "multi fails with the failing op's code", e.code().toString());
            List<OpResult> rs = e.getResults();
            boolean shape = rs != null && rs.size() == 3 && rs.get(2) instanceof OpResult.ErrorResult
                && ((OpResult.ErrorResult) rs.get(2)).getErr() == KeeperException.Code.BADVERSION.intValue();
            check(shape, "multi error results", String.valueOf(rs));
        }
        check(zk.exists(base + "/m1", false) == null && zk.exists(base + "/m2", false) == null,
              "multi is all-or-nothing", "partial writes visible");
        List<OpResult> rs = zk.multi(Arrays.asList(
            Op.create(base + "/m1", b("1"), open, CreateMode.PERSISTENT),
            Op.create(base + "/m2", b("2"), open, CreateMode.PERSISTENT),
            Op.setData(base + "/m1", b("1b"), 0),
            Op.check(base + "/m2", 0),
            Op.delete(base + "/m2", 0)));
        check(rs.size() == 5 && rs.get(0) instanceof OpResult.CreateResult
              && ((OpResult.CreateResult) rs.get(0)).getPath().equals(base + "/m1")
              && rs.get(2) instanceof OpResult.SetDataResult
              && ((OpResult.SetDataResult) rs.get(2)).getStat().getVersion() == 1
              && rs.get(3) instanceof OpResult.CheckResult
              && rs.get(4) instanceof OpResult.DeleteResult, "multi success results", String.valueOf(rs));
        check("1b".equals(s(zk.getData(base + "/m1", false, null))) && zk.exists(base + "/m2", false) == null,
              "multi applied every op", "state differs");

        // ---- ACL: digest auth ----------------------------------------------------------
        String digest = DigestAuthenticationProvider.generateDigest("keel:secret");
        List<ACL> secret = Collections.singletonList(new ACL(ZooDefs.Perms.ALL, new Id("digest", digest)));
        ZooKeeper owner = session(null);
        ZooKeeper stranger = session(null);
        ZooKeeper wrong = session(null);
        try {
            owner.addAuthInfo("digest", b("keel:secret"));
            wrong.addAuthInfo("digest", b("keel:wrong"));
            owner.create(base + "/acl", b("private"), secret, CreateMode.PERSISTENT);
            check("private".equals(s(owner.getData(base + "/acl", false, null))), "digest owner reads", "no");
            expectCode("no auth -> NOAUTH on read", KeeperException.Code.NOAUTH,
                       () -> stranger.getData(base + "/acl", false, null));
            expectCode("wrong password -> NOAUTH on write", KeeperException.Code.NOAUTH,
                       () -> wrong.setData(base + "/acl", b("x"), -1));
            expectCode("no auth -> NOAUTH on create child", KeeperException.Code.NOAUTH,
                       () -> stranger.create(base + "/acl/kid", b("x"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
            // Apache 3.9 checks READ on exists, getChildren and getACL too
            expectCode("no auth -> NOAUTH on exists", KeeperException.Code.NOAUTH,
                       () -> stranger.exists(base + "/acl", false));
            expectCode("no auth -> NOAUTH on getChildren", KeeperException.Code.NOAUTH,
                       () -> stranger.getChildren(base + "/acl", false));
            expectCode("no auth -> NOAUTH on getACL", KeeperException.Code.NOAUTH,
                       () -> stranger.getACL(base + "/acl", new Stat()));
            Stat as = new Stat();
            List<ACL> got = owner.getACL(base + "/acl", as);
            check(got.size() == 1 && got.get(0).getId().getScheme().equals("digest")
                  && got.get(0).getId().getId().equals(digest) && got.get(0).getPerms() == ZooDefs.Perms.ALL,
                  "getACL returns the digest ACL", String.valueOf(got));
            owner.create(base + "/acl2", b("c"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
            List<ACL> got2 = owner.getACL(base + "/acl2", new Stat());
            check(got2.size() == 1 && got2.get(0).getId().getId().equals(digest),
                  "CREATOR_ALL_ACL becomes the creator's digest", String.valueOf(got2));
            expectCode("CREATOR_ALL_ACL without auth -> INVALIDACL", KeeperException.Code.INVALIDACL,
                       () -> stranger.create(base + "/acl3", b("c"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
            owner.setACL(base + "/acl", ZooDefs.Ids.OPEN_ACL_UNSAFE, -1);
            check("private".equals(s(stranger.getData(base + "/acl", false, null))), "setACL opens the node", "no");
            owner.setACL(base + "/acl2", ZooDefs.Ids.OPEN_ACL_UNSAFE, -1);
        } finally {
            owner.close();
            stranger.close();
            wrong.close();
        }

        // ---- sizes -----------------------------------------------------------------------
        byte[] big = new byte[1000 * 1000];
        Arrays.fill(big, (byte) 'k');
        zk.create(base + "/big", big, open, CreateMode.PERSISTENT);
        byte[] back = zk.getData(base + "/big", false, null);
        check(back.length == big.length && Arrays.equals(back, big), "1,000,000-byte node round-trips",
              "length " + back.length);
        byte[] tooBig = new byte[1024 * 1024 + 1];
        try {
            zk.create(base + "/toobig", tooBig, open, CreateMode.PERSISTENT);
            fail("node over 1 MB refused", "accepted");
        } catch (KeeperException e) {
            ok("node over 1 MB refused (" + e.code() + ")");
        }
        // the client reconnects (same session) after the server dropped the connection
        long deadline = System.currentTimeMillis() + 20000;
        Stat tb = null;
        boolean answered = false;
        while (!answered && System.currentTimeMillis() < deadline) {
            try {
                tb = zk.exists(base + "/toobig", false);
                answered = true;
            } catch (KeeperException.ConnectionLossException e) {
                Thread.sleep(200);
            }
        }
        check(answered && tb == null, "over-size node was not created and the session lives on",
              answered ? "exists" : "no answer");
    }
}

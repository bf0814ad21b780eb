// EnsembleCheck: what a client sees of a three-server ZooKeeper ensemble, each session
// pinned to one server (connect string with a single host:port).
//
//   java EnsembleCheck write   <base> <hostport1> <hostport2> <hostport3>
//       writes through server 1; servers 2 and 3 (after sync) read the same data,
//       children and stat; a write through server 2 is read by its own session at
//       once and by server 3 after sync; a watch held on server 3 fires for a write
//       through server 1; an ephemeral node made through server 3 is seen on server 1.
//   java EnsembleCheck survive <base> <hostportA> <hostportB>
//       after a server died: both survivors still hold everything, and accept writes.
//   java EnsembleCheck rejoin  <base> <hostport> <all-three-connect>
//       the restarted server caught up with the writes made while it was down; then
//       the base tree is deleted.
//
// Prints ok/FAIL lines; exit 0 iff every check passed.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class EnsembleCheck {
    static int failures = 0;
    static final int CHILDREN = 50;

    static void check(boolean cond, String what, String why) {
        if (cond) {
            System.out.println("ok   " + what);
        } else {
            failures++;
            System.out.println("FAIL " + what + ": " + why);
        }
    }

    static ZooKeeper session(String connect) throws Exception {
        final CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, 15000, e -> {
            if (e.getState() == KeeperState.SyncConnected) connected.countDown();
        });
        if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no session on " + connect);
        return zk;
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    /** sync(path), waiting for its callback: the server catches up with the leader. */
    static void sync(ZooKeeper zk, String path) throws Exception {
        final CountDownLatch done = new CountDownLatch(1);
        final int[] rc = {-1};
        zk.sync(path, (AsyncCallback.VoidCallback) (r, p, ctx) -> { rc[0] = r; done.countDown(); }, null);
        if (!done.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("sync timed out");
        if (rc[0] != 0) throw KeeperException.create(KeeperException.Code.get(rc[0]), path);
    }

    static List<String> sorted(List<String> l) {
        List<String> c = new ArrayList<>(l);
        Collections.sort(c);
        return c;
    }

    static void write(String base, String[] servers) throws Exception {
        ZooKeeper z1 = session(servers[0]), z2 = session(servers[1]), z3 = session(servers[2]);
        try {
            z1.create(base, b("ensemble"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            z1.create(base + "/data", b("v1"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            for (int i = 0; i < CHILDREN; i++)
                z1.create(base + "/data/c" + i, b("c" + i), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            Stat w = z1.setData(base + "/data", b("v2"), 0);

            for (int n = 1; n < 3; n++) {
                ZooKeeper z = n == 1 ? z2 : z3;
                sync(z, base + "/data");
                Stat st = new Stat();
                String v = s(z.getData(base + "/data", false, st));
                check("v2".equals(v) && st.getVersion() == 1 && st.getMzxid() == w.getMzxid()
                      && st.getNumChildren() == CHILDREN,
                      "server " + (n + 1) + " reads the write made through server 1 (data, version, mzxid, children)",
                      v + " " + st);
                List<String> kids = z.getChildren(base + "/data", false);
                check(kids.size() == CHILDREN, "server " + (n + 1) + " lists all " + CHILDREN + " children",
                      kids.size() + "");
                check("c17".equals(s(z.getData(base + "/data/c17", false, null))),
                      "server " + (n + 1) + " reads a child", "");
            }

            // read-your-writes on a session of another server
            z2.create(base + "/via2", b("two"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            check("two".equals(s(z2.getData(base + "/via2", false, null))),
                  "a session reads its own write at once (server 2)", "");
            sync(z3, base + "/via2");
            check("two".equals(s(z3.getData(base + "/via2", false, null))), "server 3 reads it after sync", "");

            // a watch held on server 3 fires for a write through server 1
            final BlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();
            z3.getData(base + "/data", (Watcher) q::add, null);
            z1.setData(base + "/data", b("v3"), -1);
            WatchedEvent e = q.poll(15, TimeUnit.SECONDS);
            check(e != null && e.getType() == EventType.NodeDataChanged && (base + "/data").equals(e.getPath()),
                  "a watch on server 3 fires for a write through server 1", String.valueOf(e));

            // an ephemeral node made through server 3, seen on server 1, gone when its session ends
            ZooKeeper z3b = session(servers[2]);
            z3b.create(base + "/eph", b("e"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
            sync(z1, base + "/eph");
            Stat es = z1.exists(base + "/eph", false);
            check(es != null && es.getEphemeralOwner() == z3b.getSessionId(),
                  "server 1 sees an ephemeral made through server 3, with its owner", String.valueOf(es));
            final BlockingQueue<WatchedEvent> q2 = new LinkedBlockingQueue<>();
            z1.exists(base + "/eph", (Watcher) q2::add);
            z3b.close();
            WatchedEvent gone = q2.poll(15, TimeUnit.SECONDS);
            check(gone != null && gone.getType() == EventType.NodeDeleted,
                  "its deletion on session close reaches server 1", String.valueOf(gone));

            // session ids carry the id of the server that made them (top byte), as in Apache
            long[] ids = {z1.getSessionId(), z2.getSessionId(), z3.getSessionId()};
            System.out.println("session ids: " + Long.toHexString(ids[0]) + " " + Long.toHexString(ids[1]) + " "
                               + Long.toHexString(ids[2]));
            check((ids[0] >>> 56) != (ids[1] >>> 56) && (ids[1] >>> 56) != (ids[2] >>> 56)
                  && (ids[0] >>> 56) != (ids[2] >>> 56), "session ids differ in the server id byte", "");
        } finally {
            z1.close();
            z2.close();
            z3.close();
        }
    }

    static void survive(String base, String a, String bb) throws Exception {
        ZooKeeper za = session(a), zb = session(bb);
        try {
            int n = 0;
            for (ZooKeeper z : new ZooKeeper[] {za, zb}) {
                String who = n++ == 0 ? a : bb;
                sync(z, base + "/data");
                check("v3".equals(s(z.getData(base + "/data", false, null)))
                      && z.getChildren(base + "/data", false).size() == CHILDREN
                      && "two".equals(s(z.getData(base + "/via2", false, null))),
                      "survivor " + who + " holds every write made before the leader died", "");
            }
            za.create(base + "/after-a", b("a"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            zb.create(base + "/after-b", b("b"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            zb.setData(base + "/data", b("v4"), -1);
            sync(za, base);
            check(sorted(za.getChildren(base, false)).containsAll(List.of("after-a", "after-b", "data", "via2"))
                  && "v4".equals(s(za.getData(base + "/data", false, null))),
                  "the two survivors accept writes and agree", sorted(za.getChildren(base, false)).toString());
        } finally {
            za.close();
            zb.close();
        }
    }

    static void rejoin(String base, String server, String all) throws Exception {
        ZooKeeper z = session(server);
        try {
            sync(z, base);
            check(sorted(z.getChildren(base, false)).equals(List.of("after-a", "after-b", "data", "via2"))
                  && "v4".equals(s(z.getData(base + "/data", false, null)))
                  && z.getChildren(base + "/data", false).size() == CHILDREN,
                  "the restarted server caught up with writes made while it was down",
                  sorted(z.getChildren(base, false)).toString());
        } finally {
            z.close();
        }
        ZooKeeper za = session(all);
        try {
            for (String c : za.getChildren(base + "/data", false)) za.delete(base + "/data/" + c, -1);
            for (String c : za.getChildren(base, false)) za.delete(base + "/" + c, -1);
            za.delete(base, -1);
            check(za.exists(base, false) == null, "cleanup", "");
        } finally {
            za.close();
        }
    }

    public static void main(String[] args) {
        try {
            switch (args[0]) {
                case "write": write(args[1], new String[] {args[2], args[3], args[4]}); break;
                case "survive": survive(args[1], args[2], args[3]); break;
                case "rejoin": rejoin(args[1], args[2], args[3]); break;
                default: throw new IllegalArgumentException(args[0]);
            }
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL unexpected exception: " + e);
            e.printStackTrace(System.out);
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}

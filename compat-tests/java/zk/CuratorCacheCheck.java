// CuratorCacheCheck: shared configuration with Curator's CuratorCache (built on
// ZooKeeper 3.6+ persistent recursive watches). One writer session updates a tree of
// config nodes many times; two reader sessions, caching the tree from before the first
// write, must end with every final value, learned from listener events alone; a third
// reader started afterwards must load the same tree. Then the raw API under it:
// ZooKeeper.addWatch(PERSISTENT_RECURSIVE) fires on every change below the path, more
// than once, until removed.
//
//   java CuratorCacheCheck <connect> <base>

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.ZooKeeper;

public class CuratorCacheCheck {
    static int failures = 0;

    static void check(boolean cond, String what, String why) {
        if (cond) {
            System.out.println("ok   " + what);
        } else {
            failures++;
            System.out.println("FAIL " + what + ": " + why);
        }
    }

    static CuratorFramework client(String connect) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 15000, 15000,
            new ExponentialBackoffRetry(200, 10));
        c.start();
        if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        return c;
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? "" : new String(b, StandardCharsets.UTF_8); }

    /** A reader: a CuratorCache whose listener keeps path -> last value from events. */
    static class Reader {
        final String name;
        final CuratorCache cache;
        final Map<String, String> seen = new ConcurrentHashMap<>();
        final AtomicInteger events = new AtomicInteger();
        final CountDownLatch initialized = new CountDownLatch(1);

        Reader(String name, CuratorFramework c, String root) {
            this.name = name;
            cache = CuratorCache.build(c, root);
            cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> { seen.put(n.getPath(), s(n.getData())); events.incrementAndGet(); })
                .forChanges((o, n) -> { seen.put(n.getPath(), s(n.getData())); events.incrementAndGet(); })
                .forDeletes(o -> { seen.remove(o.getPath()); events.incrementAndGet(); })
                .forInitialized(initialized::countDown)
                .build());
            cache.start();
        }

        Map<String, String> snapshot() { return new TreeMap<>(seen); }

        Map<String, String> cacheContents() {
            Map<String, String> m = new TreeMap<>();
            cache.stream().forEach((ChildData d) -> m.put(d.getPath(), s(d.getData())));
            return m;
        }
    }

    static boolean eventually(java.util.function.BooleanSupplier cond, long ms) throws InterruptedException {
        long deadline = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < deadline) {
            if (cond.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return cond.getAsBoolean();
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0], base = args[1];
        CuratorFramework writer = client(connect);
        CuratorFramework r1c = client(connect);
        CuratorFramework r2c = client(connect);
        CuratorFramework r3c = client(connect);
        try {
            run(connect, writer, r1c, r2c, r3c, base);
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL unexpected exception: " + e);
            e.printStackTrace(System.out);
        } finally {
            try {
                if (writer.checkExists().forPath(base) != null) writer.delete().deletingChildrenIfNeeded().forPath(base);
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
            r1c.close();
            r2c.close();
            r3c.close();
            writer.close();
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    static void run(String connect, CuratorFramework w, CuratorFramework r1c, CuratorFramework r2c,
                    CuratorFramework r3c, String base) throws Exception {
        String root = base + "/config";
        w.create().creatingParentsIfNeeded().forPath(root, b("root"));
        Reader r1 = new Reader("reader-1", r1c, root);
        Reader r2 = new Reader("reader-2", r2c, root);
        check(r1.initialized.await(20, TimeUnit.SECONDS) && r2.initialized.await(20, TimeUnit.SECONDS),
              "readers' caches initialize", "no initialized event");

        // the writer: creates, many updates, nested nodes, deletes
        Map<String, String> want = new TreeMap<>();
        want.put(root, "root");
        String[] keys = {"db/url", "db/pool", "feature/x", "feature/y/z", "log/level"};
        for (String k : keys) {
            w.create().creatingParentsIfNeeded().forPath(root + "/" + k, b("init"));
        }
        int rounds = 25;
        for (int i = 1; i <= rounds; i++) {
            for (String k : keys) w.setData().forPath(root + "/" + k, b(k + "=v" + i));
        }
        w.delete().forPath(root + "/feature/x");
        w.create().forPath(root + "/late", b("late=1"));
        w.setData().forPath(root, b("root=2"));
        // what the tree holds now, read back by the writer
        want.clear();
        want.put(root, "root=2");
        for (String p : new String[] {"db", "feature", "feature/y", "log"}) want.put(root + "/" + p, "");
        for (String k : keys) if (!k.equals("feature/x")) want.put(root + "/" + k, k + "=v" + rounds);
        want.put(root + "/late", "late=1");
        // parents made by creatingParentsIfNeeded carry empty data
        for (Map.Entry<String, String> e : want.entrySet())
            check(s(w.getData().forPath(e.getKey())).equals(e.getValue()), "writer reads back " + e.getKey(),
                  s(w.getData().forPath(e.getKey())));

        for (Reader r : new Reader[] {r1, r2}) {
            boolean same = eventually(() -> r.snapshot().equals(want), 20000);
            check(same, r.name + " sees every final value through listener events",
                  "want " + want + " got " + r.snapshot());
            check(r.cacheContents().equals(want), r.name + " cache contents match", r.cacheContents().toString());
            check(r.events.get() >= keys.length * 2 + 3, r.name + " got events for creates, changes and deletes",
                  r.events.get() + " events");
        }

        Reader r3 = new Reader("reader-3", r3c, root);
        check(r3.initialized.await(20, TimeUnit.SECONDS), "late reader initializes", "no initialized event");
        check(eventually(() -> r3.snapshot().equals(want), 10000), "late reader loads the whole tree",
              r3.snapshot().toString());
        r1.cache.close();
        r2.cache.close();
        r3.cache.close();

        // ---- the protocol under CuratorCache: persistent recursive watches ---------------
        ZooKeeper zk = r1c.getZookeeperClient().getZooKeeper();
        final BlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();
        Watcher watcher = q::add;
        zk.addWatch(root, watcher, AddWatchMode.PERSISTENT_RECURSIVE);
        w.setData().forPath(root + "/db/url", b("a"));
        w.setData().forPath(root + "/db/url", b("b"));
        w.create().forPath(root + "/db/new", b("n"));
        w.delete().forPath(root + "/db/new");
        String[] wantEv = {"NodeDataChanged " + root + "/db/url", "NodeDataChanged " + root + "/db/url",
                           "NodeCreated " + root + "/db/new", "NodeDeleted " + root + "/db/new"};
        StringBuilder got = new StringBuilder();
        boolean match = true;
        for (String we : wantEv) {
            WatchedEvent e = q.poll(10, TimeUnit.SECONDS);
            String ge = e == null ? "none" : e.getType() + " " + e.getPath();
            got.append(ge).append("; ");
            if (!ge.equals(we)) match = false;
        }
        check(match, "addWatch PERSISTENT_RECURSIVE: every change below, repeatedly, no child events", got.toString());
        zk.removeWatches(root, watcher, Watcher.WatcherType.Any, false);
        w.setData().forPath(root + "/db/url", b("c"));
        WatchedEvent after = q.poll(500, TimeUnit.MILLISECONDS);
        while (after != null && after.getType().name().endsWith("WatchRemoved")) after = q.poll(500, TimeUnit.MILLISECONDS);
        check(after == null, "removeWatches stops it",
              after == null ? "" : after.getType() + " " + after.getPath());

        // persistent (non-recursive) watch: the node itself and its children list
        q.clear();
        zk.addWatch(root + "/db", watcher, AddWatchMode.PERSISTENT);
        w.create().forPath(root + "/db/p", b("p"));
        w.setData().forPath(root + "/db/pool", b("x")); // a child's data: no event for a PERSISTENT watch
        w.setData().forPath(root + "/db", b("d"));
        WatchedEvent e1 = q.poll(10, TimeUnit.SECONDS), e2 = q.poll(10, TimeUnit.SECONDS);
        check(e1 != null && e1.getType() == EventType.NodeChildrenChanged && e2 != null
              && e2.getType() == EventType.NodeDataChanged && (root + "/db").equals(e2.getPath()),
              "addWatch PERSISTENT: children and data of the node only",
              (e1 == null ? "none" : e1.getType() + " " + e1.getPath()) + "; " + (e2 == null ? "none" : e2.getType() + " " + e2.getPath()));
        zk.removeAllWatches(root + "/db", Watcher.WatcherType.Any, false);
        w.setData().forPath(root + "/db", b("e"));
        WatchedEvent e3 = q.poll(500, TimeUnit.MILLISECONDS);
        while (e3 != null && e3.getType().name().endsWith("WatchRemoved")) e3 = q.poll(500, TimeUnit.MILLISECONDS);
        check(e3 == null, "removeAllWatches stops it", e3 == null ? "" : e3.getType() + " " + e3.getPath());
    }
}

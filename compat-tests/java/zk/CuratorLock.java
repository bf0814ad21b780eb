// CuratorLock: Curator's InterProcessMutex as the seed uses it (a distributed lock),
// with several JVM processes contending for one lock to increment a shared counter
// znode by read-modify-write. Lost updates or two holders at once show a broken lock.
//
//   java CuratorLock lead   <connect> <base> <workers> <increments>   (also a worker)
//   java CuratorLock worker <connect> <base> <id> <increments>
//
// The lead creates <base>, waits until every worker is ready, starts them all at once,
// works itself, waits until all are done, then checks the counter and the overlap
// count. Prints ok/FAIL lines; exit 0 iff all checks passed.

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorLock {
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

    static void waitChildren(CuratorFramework c, String path, int n, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        while (true) {
            List<String> kids = c.getChildren().forPath(path);
            if (kids.size() >= n) return;
            if (System.currentTimeMillis() > deadline)
                throw new IllegalStateException(path + " has " + kids.size() + " children after " + ms + " ms, want " + n);
            Thread.sleep(50);
        }
    }

    /** The contended section: increments the counter; returns how many overlaps it saw. */
    static int work(CuratorFramework c, String base, String id, int increments) throws Exception {
        InterProcessMutex mutex = new InterProcessMutex(c, base + "/lock");
        int overlaps = 0;
        for (int i = 0; i < increments; i++) {
            if (!mutex.acquire(60, TimeUnit.SECONDS)) throw new IllegalStateException(id + ": lock not acquired in 60 s");
            try {
                try {
                    c.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/holder", b(id));
                } catch (KeeperException.NodeExistsException e) {
                    overlaps++;
                    System.out.println("OVERLAP: " + id + " holds the lock while "
                        + new String(c.getData().forPath(base + "/holder"), StandardCharsets.UTF_8) + " does");
                }
                int v = Integer.parseInt(new String(c.getData().forPath(base + "/counter"), StandardCharsets.UTF_8));
                if (i % 3 == 0) Thread.sleep(2); // widen the window a lost update would need
                c.setData().forPath(base + "/counter", b(Integer.toString(v + 1)));
                c.delete().guaranteed().forPath(base + "/holder");
            } finally {
                mutex.release();
            }
        }
        return overlaps;
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0], connect = args[1], base = args[2];
        if (mode.equals("worker")) {
            String id = args[3];
            int increments = Integer.parseInt(args[4]);
            CuratorFramework c = client(connect);
            try {
                long deadline = System.currentTimeMillis() + 60000;
                while (c.checkExists().forPath(base + "/ready") == null) {
                    if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no " + base);
                    Thread.sleep(50);
                }
                c.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/ready/" + id);
                while (c.checkExists().forPath(base + "/go") == null) Thread.sleep(20);
                int overlaps = work(c, base, id, increments);
                c.create().forPath(base + "/done/" + id, b(Integer.toString(overlaps)));
                System.out.println("worker " + id + " done, overlaps " + overlaps);
            } finally {
                c.close();
            }
            return;
        }

        int workers = Integer.parseInt(args[3]);
        int increments = Integer.parseInt(args[4]);
        CuratorFramework c = client(connect);
        try {
            c.create().creatingParentsIfNeeded().forPath(base + "/counter", b("0"));
            c.create().forPath(base + "/done");
            c.create().forPath(base + "/ready");
            waitChildren(c, base + "/ready", workers, 60000);
            c.create().forPath(base + "/go");
            long t0 = System.nanoTime();
            int overlaps = work(c, base, "lead", increments);
            c.create().forPath(base + "/done/lead", b(Integer.toString(overlaps)));
            waitChildren(c, base + "/done", workers + 1, 120000);
            long ms = (System.nanoTime() - t0) / 1000000;
            int total = 0;
            for (String d : c.getChildren().forPath(base + "/done"))
                total += Integer.parseInt(new String(c.getData().forPath(base + "/done/" + d), StandardCharsets.UTF_8));
            int want = (workers + 1) * increments;
            int got = Integer.parseInt(new String(c.getData().forPath(base + "/counter"), StandardCharsets.UTF_8));
            System.out.println((workers + 1) + " processes x " + increments + " increments in " + ms + " ms");
            check(got == want, "counter is exactly " + want, "counter is " + got);
            check(total == 0, "no two holders at once", total + " overlaps");
            check(c.getChildren().forPath(base + "/lock").isEmpty(), "lock znode has no leftover children",
                  c.getChildren().forPath(base + "/lock").toString());

            // reentrancy, and a second client timing out while the lock is held
            InterProcessMutex m1 = new InterProcessMutex(c, base + "/lock");
            CuratorFramework other = client(connect);
            try {
                InterProcessMutex m2 = new InterProcessMutex(other, base + "/lock");
                check(m1.acquire(10, TimeUnit.SECONDS), "acquire", "timed out");
                check(m1.acquire(1, TimeUnit.SECONDS), "re-entrant acquire in the same thread", "timed out");
                check(!m2.acquire(500, TimeUnit.MILLISECONDS), "other client times out while held", "acquired");
                m1.release();
                check(!m2.acquire(300, TimeUnit.MILLISECONDS), "still held after one of two releases", "acquired");
                m1.release();
                check(m2.acquire(10, TimeUnit.SECONDS), "other client acquires after full release", "timed out");
                m2.release();
            } finally {
                other.close();
            }
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL unexpected exception: " + e);
            e.printStackTrace(System.out);
        } finally {
            try {
                c.delete().deletingChildrenIfNeeded().forPath(base);
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
            c.close();
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}

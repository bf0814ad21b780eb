// CuratorSecure: Apache Curator (CuratorFramework and its recipes, on the ZooKeeper 3.9
// client) on a secured ZooKeeper, for the zk-tls and zk-sasl suites. Every Curator
// client is built with CuratorFrameworkFactory.builder().zkClientConfig(cfg): its own
// ZKClientConfig carries the TLS or SASL settings, so one JVM holds secured and
// unsecured sessions side by side.
//
//   java CuratorSecure tls SECURE PLAIN BASE CERTS PASSWORD X509_ID
//       clients A and B on the TLS port SECURE (cfg: zookeeper.client.secure=true,
//       zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty,
//       zookeeper.ssl.keyStore.location=CERTS/client.jks (type JKS),
//       zookeeper.ssl.trustStore.location=CERTS/truststore.p12 (type PKCS12), both
//       with PASSWORD); client P on the plain port PLAIN.
//       whoAmI of A holds x509: X509_ID (and ip: 127.0.0.1); P's holds no x509 id.
//   java -Dzookeeper.fips-mode=false -Djava.security.auth.login.config=JAAS CuratorSecure sasl CONNECT BASE
//       JAAS sections Client (alice) and ClientKafka (kafka), picked per client with
//       zookeeper.sasl.clientconfig. Clients A and B log in as alice; their ACLProvider
//       gives every znode they create the ACL sasl:alice:cdrwa. Client K logs in as
//       kafka, client N has zookeeper.sasl.client=false (no SASL at all).
//       whoAmI: A [sasl: alice, ip], K [sasl: kafka, ip], N [ip] only.
//
// The common part (both modes), under BASE (a unique path):
//   1. A: create().creatingParentsIfNeeded() of BASE/config/data ("v1"); B reads "v1"
//      (sasl: getACL of BASE/config/data and of BASE, a parent Curator made, are exactly
//      [sasl:alice:cdrwa]; tls: P reads "v1" on the plain port).
//   2. B: a CuratorCache on BASE/config/data gets its initial data, then A's setData
//      "v2" fires the cache's change listener with "v2" within 10 s.
//   3. InterProcessMutex on BASE/lock: A acquires; B's acquire(1 s) times out (and
//      leaves no lock node behind: one child under BASE/lock); B's acquire(15 s) in a
//      thread is woken when A releases; after B's release BASE/lock has no children
//      (sasl: K's acquire while A holds it -> NoAuthException).
//   4. DistributedAtomicLong BASE/counter: A increments 3 times (post values 1, 2, 3),
//      then A and B increment 5 times each in two threads at once (retrying an
//      increment that lost the optimistic race): A's and B's get() -> 13 and the 10
//      concurrent post values are 4..13, each once (tls: P reads the counter's 8 bytes
//      as 13 on the plain port; sasl: K and N get NoAuthException on BASE/config/data
//      and BASE/counter, K's setData too, and A still reads "v2").
//   5. A: delete().deletingChildrenIfNeeded() of BASE; B: checkExists(BASE) -> null.
//
// Prints "ok <check>" / "FAIL <check>: <why>" ("info ..." lines record what was seen),
// then "CuratorSecure <mode>: all passed" or "CuratorSecure <mode>: N failed"; exits 0
// iff every check passed.

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;

public class CuratorSecure {
    static int failures = 0;
    static final List<CuratorFramework> clients = new ArrayList<>();

    static void ok(String what) { System.out.println("ok   " + what); }
    static void info(String what) { System.out.println("info " + what); }

    static void fail(String what, String why) {
        failures++;
        System.out.println("FAIL " + what + ": " + why);
    }

    static void check(boolean cond, String what, String why) {
        if (cond) ok(what); else fail(what, why);
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] v) { return v == null ? "null" : new String(v, StandardCharsets.UTF_8); }

    static CuratorFramework start(String name, String connect, ZKClientConfig cfg, ACLProvider acl) throws Exception {
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
            .connectString(connect)
            .sessionTimeoutMs(15000)
            .connectionTimeoutMs(15000)
            .retryPolicy(new RetryNTimes(3, 500))
            .zkClientConfig(cfg);
        if (acl != null) builder.aclProvider(acl);
        CuratorFramework c = builder.build();
        clients.add(c);
        c.start();
        if (!c.blockUntilConnected(20, TimeUnit.SECONDS))
            throw new IllegalStateException(name + ": not connected to " + connect + " in 20 s");
        ok(name + ": connected to " + connect);
        return c;
    }

    static List<String> whoAmI(CuratorFramework c) throws Exception {
        List<String> ids = new ArrayList<>();
        for (ClientInfo ci : c.getZookeeperClient().getZooKeeper().whoAmI())
            ids.add(ci.getAuthScheme() + ": " + ci.getUser());
        return ids;
    }

    /** Runs op; passes iff it throws KeeperException.NoAuthException. */
    static void expectNoAuth(String what, Callable<?> op) {
        try {
            Object r = op.call();
            fail(what, "succeeded (" + (r instanceof byte[] ? s((byte[]) r) : String.valueOf(r)) + "), want NoAuthException");
        } catch (KeeperException.NoAuthException e) {
            ok(what + " -> " + e.getMessage());
        } catch (Exception e) {
            fail(what, "threw " + e + ", want NoAuthException");
        }
    }

    static long increment(DistributedAtomicLong counter) throws Exception {
        for (int attempt = 0; attempt < 200; attempt++) {
            AtomicValue<Long> v = counter.increment();
            if (v.succeeded()) return v.postValue();
        }
        throw new IllegalStateException("increment did not succeed in 200 attempts");
    }

    interface Extra { void run() throws Exception; }

    /**
     * The common part. afterCreate / duringLock / afterCounter: the mode's own checks,
     * run at those points.
     */
    static void exercise(CuratorFramework a, CuratorFramework bc, String base,
                         Extra afterCreate, Extra duringLock, Extra afterCounter) throws Exception {
        String data = base + "/config/data";
        // 1. create with parents; a second client sees it
        a.create().creatingParentsIfNeeded().forPath(data, b("v1"));
        ok("A: create().creatingParentsIfNeeded() " + data);
        String got = s(bc.getData().forPath(data));
        check("v1".equals(got), "B: getData " + data + " -> v1", "got " + got);
        afterCreate.run();

        // 2. CuratorCache on B fires on A's change
        BlockingQueue<String> changes = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(bc, data);
        cache.listenable().addListener(CuratorCacheListener.builder()
            .forChanges((before, after) -> changes.add(after.getPath() + "=" + s(after.getData())))
            .forInitialized(initialized::countDown)
            .build());
        cache.start();
        check(initialized.await(10, TimeUnit.SECONDS), "B: CuratorCache on " + data + " initialized", "not in 10 s");
        got = cache.get(data).map(d -> s(d.getData())).orElse("(absent)");
        check("v1".equals(got), "B: CuratorCache holds v1", "holds " + got);
        a.setData().forPath(data, b("v2"));
        got = changes.poll(10, TimeUnit.SECONDS);
        check((data + "=v2").equals(got), "B: CuratorCache change listener fired for A's setData v2", "got " + got);
        cache.close();

        // 3. InterProcessMutex
        String lock = base + "/lock";
        InterProcessMutex ma = new InterProcessMutex(a, lock);
        InterProcessMutex mb = new InterProcessMutex(bc, lock);
        check(ma.acquire(10, TimeUnit.SECONDS), "A: InterProcessMutex " + lock + " acquired", "not in 10 s");
        check(ma.isAcquiredInThisProcess(), "A: isAcquiredInThisProcess", "false");
        boolean bGot = mb.acquire(1, TimeUnit.SECONDS);
        check(!bGot, "B: acquire(1 s) while A holds the lock times out", "B acquired it");
        if (bGot) mb.release();
        List<String> kids = a.getChildren().forPath(lock);
        check(kids.size() == 1, "one lock node under " + lock + " (B's timed-out attempt removed its own)", "children " + kids);
        duringLock.run();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        // an InterProcessMutex belongs to the thread that acquired it: B acquires and
        // releases in the same thread
        Future<Boolean> waiter = pool.submit(() -> {
            if (!mb.acquire(15, TimeUnit.SECONDS)) return false;
            try {
                check(mb.isAcquiredInThisProcess(), "B: holds the lock after A's release", "isAcquiredInThisProcess false");
            } finally {
                mb.release();
            }
            return true;
        });
        Thread.sleep(500);
        check(!waiter.isDone(), "B: acquire(15 s) waits while A holds the lock", "returned early");
        long t0 = System.nanoTime();
        ma.release();
        boolean woke = waiter.get(20, TimeUnit.SECONDS);
        check(woke, "B: acquire woken by A's release (" + (System.nanoTime() - t0) / 1000000 + " ms), then released", "B's acquire returned false");
        kids = a.getChildren().forPath(lock);
        check(kids.isEmpty(), "no lock nodes under " + lock + " after both released", "children " + kids);

        // 4. DistributedAtomicLong
        String counterPath = base + "/counter";
        DistributedAtomicLong ca = new DistributedAtomicLong(a, counterPath, new RetryNTimes(10, 10));
        DistributedAtomicLong cb = new DistributedAtomicLong(bc, counterPath, new RetryNTimes(10, 10));
        List<Long> seq = new ArrayList<>();
        for (int i = 0; i < 3; i++) seq.add(increment(ca));
        check(seq.equals(List.of(1L, 2L, 3L)), "A: DistributedAtomicLong " + counterPath + " increments -> 1, 2, 3", "got " + seq);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<Long>>> runs = new ArrayList<>();
        for (DistributedAtomicLong c : List.of(ca, cb)) {
            runs.add(pool.submit(() -> {
                go.await();
                List<Long> mine = new ArrayList<>();
                for (int i = 0; i < 5; i++) mine.add(increment(c));
                return mine;
            }));
        }
        go.countDown();
        List<Long> all = new ArrayList<>();
        List<Long> fromA = runs.get(0).get(60, TimeUnit.SECONDS);
        List<Long> fromB = runs.get(1).get(60, TimeUnit.SECONDS);
        all.addAll(fromA);
        all.addAll(fromB);
        Collections.sort(all);
        List<Long> want = new ArrayList<>();
        for (long v = 4; v <= 13; v++) want.add(v);
        check(all.equals(want), "A and B: 5 concurrent increments each -> post values 4..13 each once",
            "A " + fromA + " B " + fromB);
        info("concurrent post values: A " + fromA + ", B " + fromB);
        AtomicValue<Long> va = ca.get(), vb = cb.get();
        check(va.succeeded() && va.postValue() == 13, "A: get() -> 13", "got " + va.postValue());
        check(vb.succeeded() && vb.postValue() == 13, "B: get() -> 13", "got " + vb.postValue());
        pool.shutdownNow();
        afterCounter.run();

        // 5. delete what was made
        a.delete().deletingChildrenIfNeeded().forPath(base);
        ok("A: delete().deletingChildrenIfNeeded() " + base);
        check(bc.checkExists().forPath(base) == null, "B: checkExists " + base + " -> null after the delete", "still there");
    }

    static ZKClientConfig tlsConfig(String certs, String pw) throws Exception {
        ZKClientConfig cfg = new ZKClientConfig();
        cfg.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        cfg.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        cfg.setProperty("zookeeper.ssl.keyStore.location", certs + "/client.jks");
        cfg.setProperty("zookeeper.ssl.keyStore.password", pw);
        cfg.setProperty("zookeeper.ssl.keyStore.type", "JKS");
        cfg.setProperty("zookeeper.ssl.trustStore.location", certs + "/truststore.p12");
        cfg.setProperty("zookeeper.ssl.trustStore.password", pw);
        cfg.setProperty("zookeeper.ssl.trustStore.type", "PKCS12");
        return cfg;
    }

    static void tls(String[] args) throws Exception {
        String secure = args[1], plain = args[2], base = args[3], certs = args[4], pw = args[5], x509 = args[6];
        CuratorFramework a = start("A (TLS)", secure, tlsConfig(certs, pw), null);
        CuratorFramework bc = start("B (TLS)", secure, tlsConfig(certs, pw), null);
        CuratorFramework p = start("P (plain)", plain, new ZKClientConfig(), null);
        List<String> ids = whoAmI(a);
        check(ids.contains("x509: " + x509) && ids.contains("ip: 127.0.0.1"), "A: whoAmI " + ids, "want x509: " + x509 + " and ip: 127.0.0.1");
        ids = whoAmI(p);
        check(ids.stream().noneMatch(i -> i.startsWith("x509")), "P: whoAmI " + ids + " (no x509 id)", "has an x509 id");
        exercise(a, bc, base,
            () -> {
                String got = s(p.getData().forPath(base + "/config/data"));
                check("v1".equals(got), "P: getData " + base + "/config/data on the plain port -> v1", "got " + got);
            },
            () -> { },
            () -> {
                byte[] raw = p.getData().forPath(base + "/counter");
                long v = raw != null && raw.length == 8 ? ByteBuffer.wrap(raw).getLong() : -1;
                check(v == 13, "P: " + base + "/counter on the plain port holds 13 (8 bytes)",
                    "got " + (raw == null ? "null" : raw.length + " bytes, " + v));
            });
    }

    static ZKClientConfig saslConfig(String section) throws Exception {
        ZKClientConfig cfg = new ZKClientConfig();
        cfg.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
        return cfg;
    }

    static void sasl(String[] args) throws Exception {
        String connect = args[1], base = args[2];
        // a mutable list: ZooKeeper.validateACL asks contains(null), which List.of refuses
        List<ACL> aliceOnly = new ArrayList<>(List.of(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "alice"))));
        ACLProvider aliceAcl = new ACLProvider() {
            public List<ACL> getDefaultAcl() { return aliceOnly; }
            public List<ACL> getAclForPath(String path) { return aliceOnly; }
        };
        CuratorFramework a = start("A (sasl alice)", connect, saslConfig("Client"), aliceAcl);
        CuratorFramework bc = start("B (sasl alice)", connect, saslConfig("Client"), aliceAcl);
        CuratorFramework k = start("K (sasl kafka)", connect, saslConfig("ClientKafka"), null);
        ZKClientConfig none = new ZKClientConfig();
        none.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        CuratorFramework n = start("N (no SASL)", connect, none, null);
        List<String> ids = whoAmI(a);
        check(ids.equals(List.of("sasl: alice", "ip: 127.0.0.1")), "A: whoAmI " + ids, "want [sasl: alice, ip: 127.0.0.1]");
        ids = whoAmI(k);
        check(ids.equals(List.of("sasl: kafka", "ip: 127.0.0.1")), "K: whoAmI " + ids, "want [sasl: kafka, ip: 127.0.0.1]");
        ids = whoAmI(n);
        check(ids.equals(List.of("ip: 127.0.0.1")), "N: whoAmI " + ids, "want [ip: 127.0.0.1]");
        String data = base + "/config/data";
        exercise(a, bc, base,
            () -> {
                List<ACL> acl = a.getACL().forPath(data);
                check(acl.equals(aliceOnly), "A: getACL " + data + " -> " + acl, "want " + aliceOnly);
                acl = bc.getACL().forPath(base);
                check(acl.equals(aliceOnly), "B: getACL " + base + " (a parent Curator created) -> " + acl, "want " + aliceOnly);
                expectNoAuth("K: getData " + data, () -> k.getData().forPath(data));
                expectNoAuth("N: getData " + data, () -> n.getData().forPath(data));
            },
            () -> {
                InterProcessMutex mk = new InterProcessMutex(k, base + "/lock");
                expectNoAuth("K: InterProcessMutex " + base + "/lock acquire", () -> mk.acquire(5, TimeUnit.SECONDS));
            },
            () -> {
                expectNoAuth("K: getData " + base + "/counter", () -> k.getData().forPath(base + "/counter"));
                expectNoAuth("N: getData " + base + "/counter", () -> n.getData().forPath(base + "/counter"));
                expectNoAuth("K: setData " + data, () -> k.setData().forPath(data, b("kafka")));
                String got = s(a.getData().forPath(data));
                check("v2".equals(got), "A: getData " + data + " still v2", "got " + got);
            });
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        try {
            switch (mode) {
                case "tls": tls(args); break;
                case "sasl": sasl(args); break;
                default:
                    System.err.println("usage: CuratorSecure tls SECURE PLAIN BASE CERTS PASSWORD X509_ID | sasl CONNECT BASE");
                    System.exit(2);
            }
        } catch (Exception e) {
            fail("unexpected exception", e.toString());
            e.printStackTrace(System.out);
        } finally {
            for (CuratorFramework c : clients) {
                try { c.close(); } catch (Exception ignored) { }
            }
        }
        System.out.println("CuratorSecure " + mode + ": " + (failures == 0 ? "all passed" : failures + " failed"));
        System.exit(failures == 0 ? 0 : 1);
    }
}

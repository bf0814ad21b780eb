// ZkTlsOldClient: an older ZooKeeper Java client line ($ZOOKEEPER_TLS_OLD_VERSION, the 3.5
// series: its Netty client builds its own SSLEngine from X509Util.createSSLContext, not
// from Netty's SslContextBuilder as 3.9's does) over the TLS client port, for the zk-tls
// suite. Only the 3.5 API is used (no whoAmI, no getEphemerals).
//
//   java ZkTlsOldClient SECURE_CONNECT PLAIN_CONNECT CERT_DIR NODE CLIENT_DN
//
// The TLS session: zookeeper.client.secure=true, ClientCnxnSocketNetty, a JKS key store
// (client.jks) and a PKCS12 trust store (truststore.p12), types inferred from the file
// extensions, passwords given. A 3.5 client offers TLSv1.2 only unless told otherwise
// (X509Util.DEFAULT_PROTOCOL "TLSv1.2", enabled protocols = { the context's protocol }),
// and its default cipher list has no TLS 1.3 suites: it connects only to a server that
// enables TLSv1.2 (the suite's ssl.enabledProtocols=TLSv1.3,TLSv1.2).
// Checks: the TLS session connects (SyncConnected); NODE created over TLS is read on the
// plain port, a plain setData is read over TLS (version 1), a versioned setData over TLS
// is read on the plain port; a child made on the plain port is listed over TLS; a data
// watch set over TLS fires on a plain setData; NODE/x509 with ACL x509:CLIENT_DN:cdrwa
// (made over TLS) is read over TLS, its ACL is [x509:CLIENT_DN:31], and the plain session
// gets NoAuth; everything is deleted over TLS and the plain port sees NODE gone.
// Prints ok/FAIL/info lines; exits 0 iff every check passed.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Version;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class ZkTlsOldClient {
    static int failures = 0;

    static void ok(String what) { System.out.println("ok   " + what); }
    static void info(String what) { System.out.println("info " + what); }

    static void fail(String what, String why) {
        failures++;
        System.out.println("FAIL " + what + ": " + why);
    }

    static void check(boolean cond, String what, String why) {
        if (cond) ok(what); else fail(what, why);
    }

    static void equal(Object want, Object got, String what) {
        check(String.valueOf(want).equals(String.valueOf(got)), what + " = " + want, "got " + got);
    }

    interface Body { Object run() throws Exception; }

    static void expectCode(String what, KeeperException.Code code, Body body) {
        try {
            Object r = body.run();
            fail(what, "no exception (returned " + r + "), expected " + code);
        } catch (KeeperException e) {
            if (e.code() != code) fail(what, "got " + e.code() + " (" + e.getMessage() + "), expected " + code);
            else ok(what + " -> " + e.getMessage());
        } catch (Exception e) {
            fail(what, "unexpected " + e);
        }
    }

    static Object expectOk(String what, Body body) {
        try {
            Object r = body.run();
            ok(what);
            return r;
        } catch (Exception e) {
            fail(what, "unexpected " + e);
            return null;
        }
    }

    static class Session implements Watcher {
        final BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        ZooKeeper zk;

        public void process(WatchedEvent e) { events.add(e); }

        WatchedEvent await(EventType type, String path, KeeperState state) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 15000;
            long left;
            while ((left = deadline - System.currentTimeMillis()) > 0) {
                WatchedEvent e = events.poll(left, TimeUnit.MILLISECONDS);
                if (e == null) return null;
                if (e.getType() == type && (path == null || path.equals(e.getPath()))
                        && (state == null || e.getState() == state)) return e;
                info("event on the way: " + e);
            }
            return null;
        }
    }

    static Session open(String label, String connect, ZKClientConfig conf) throws Exception {
        Session s = new Session();
        s.zk = new ZooKeeper(connect, 30000, s, conf);
        WatchedEvent e = s.await(EventType.None, null, KeeperState.SyncConnected);
        check(e != null, label + ": session connected (SyncConnected)", "no SyncConnected within 15 s");
        return s;
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static String str(Object bytes) {
        return bytes == null ? "null" : new String((byte[]) bytes, StandardCharsets.UTF_8);
    }

    static String acls(List<ACL> acl) {
        List<String> out = new ArrayList<>();
        for (ACL a : acl) out.add(a.getId().getScheme() + ":" + a.getId().getId() + ":" + a.getPerms());
        return String.join(", ", out);
    }

    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    public static void main(String[] args) throws Exception {
        String secure = args[0], plain = args[1], certs = args[2], node = args[3], dn = args[4];
        String password = args.length > 5 ? args[5] : "zk-store-secret";
        info("client " + Version.getFullVersion());
        ZKClientConfig tc = new ZKClientConfig();
        tc.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        tc.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        tc.setProperty("zookeeper.ssl.keyStore.location", certs + "/client.jks");
        tc.setProperty("zookeeper.ssl.keyStore.password", password);
        tc.setProperty("zookeeper.ssl.trustStore.location", certs + "/truststore.p12");
        tc.setProperty("zookeeper.ssl.trustStore.password", password);
        Session tls = open("tls (JKS key store, PKCS12 trust store)", secure, tc);
        Session pl = open("plain", plain, new ZKClientConfig());
        ZooKeeper t = tls.zk, p = pl.zk;
        if (t.getState() != ZooKeeper.States.CONNECTED) {
            System.out.println("ZkTlsOldClient: 1 failed (no TLS session)");
            System.exit(1);
        }

        expectOk("tls: create " + node, () -> t.create(node, b("old-tls"), OPEN, CreateMode.PERSISTENT));
        equal("old-tls", str(expectOk("plain: getData", () -> p.getData(node, false, null))), "plain: data written over TLS");
        expectOk("plain: setData version 0", () -> p.setData(node, b("old-plain"), 0));
        Stat st = new Stat();
        equal("old-plain", str(expectOk("tls: getData", () -> t.getData(node, false, st))), "tls: data written on the plain port");
        equal(1, st.getVersion(), "tls: stat version after one setData");
        expectOk("tls: setData version 1", () -> t.setData(node, b("old-tls-2"), 1));
        equal("old-tls-2", str(expectOk("plain: getData", () -> p.getData(node, false, null))), "plain: data of the setData over TLS");
        expectOk("plain: create " + node + "/child", () -> p.create(node + "/child", b("c"), OPEN, CreateMode.PERSISTENT));
        equal("[child]", expectOk("tls: getChildren", () -> t.getChildren(node, false)), "tls: children");

        t.getData(node, true, null);
        p.setData(node, b("watched"), -1);
        check(tls.await(EventType.NodeDataChanged, node, null) != null,
            "tls: data watch fires on a plain-port setData (NodeDataChanged " + node + ")", "no event within 15 s");

        final String x = node + "/x509";
        final List<ACL> mine = new ArrayList<>(Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("x509", dn))));
        expectOk("tls: create " + x + " with ACL x509:" + dn + ":cdrwa", () -> t.create(x, b("secret"), mine, CreateMode.PERSISTENT));
        equal("secret", str(expectOk("tls: getData " + x, () -> t.getData(x, false, null))), "tls: data of " + x);
        equal("x509:" + dn + ":31", expectOk("tls: getACL", () -> acls(t.getACL(x, new Stat()))), "tls: ACL of " + x);
        expectCode("plain: getData " + x, KeeperException.Code.NOAUTH, () -> p.getData(x, false, null));

        for (String c : new String[] {"/x509", "/child", ""}) {
            final String path = node + c;
            expectOk("tls: delete " + path, () -> { t.delete(path, -1); return null; });
        }
        check(p.exists(node, false) == null, "plain: " + node + " is gone", "still there");
        t.close();
        p.close();
        System.out.println(failures == 0 ? "ZkTlsOldClient: all passed" : "ZkTlsOldClient: " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}

// ZkTlsCheck: the ZooKeeper 3.9 Java client over the TLS client port (secureClientPort), for
// the zk-tls suite. One JVM opens sessions with their own ZKClientConfig each: a TLS
// session (zookeeper.client.secure=true, ClientCnxnSocketNetty) with a client certificate
// from a PEM key store (key + certificate in one .pem file, no password) and a PEM trust
// store (the CA's .pem), and a plain session on clientPort.
//
//   java ZkTlsCheck mtls SECURE_CONNECT PLAIN_CONNECT CERT_DIR NODE CLIENT_DN
//   java ZkTlsCheck enforce SECURE_CONNECT PLAIN_CONNECT CERT_DIR NODE CLIENT_DN
//       (a server with enforce.auth.enabled=true, enforce.auth.schemes=x509: the TLS
//       session is served; a plain session's requests, also after a digest addAuthInfo,
//       throw SessionClosedRequireAuthException and the server closes the connection, the
//       client reconnecting to the same session; see enforce() below and zk-tls.sh)
//
// CLIENT_DN is the id Apache's X509AuthenticationProvider gives the certificate:
// X509Certificate.getSubjectX500Principal().getName(), the subject in RFC 2253 form, last
// RDN first, no spaces after the commas. For the suite's client certificate (openssl
// -subj "/C=NL/L=Amsterdam/O=keel compat/OU=zk-tls/CN=zk-client") that is
//   CN=zk-client,OU=zk-tls,O=keel compat,L=Amsterdam,C=NL
// Checks (each prints "ok ..." or "FAIL ...: why"; "info ..." lines record what was seen):
//   - the TLS session connects (SyncConnected); whoAmI = [x509: CLIENT_DN, ip: 127.0.0.1]
//     (in that order: the server's auth-id set iterates by the ids' hash buckets);
//     the plain session's whoAmI = [ip: 127.0.0.1];
//   - NODE created over TLS is read over the plain port; a setData on the plain port is
//     read over TLS with version 1; a versioned setData over TLS is read on the plain
//     port; a child made on the plain port is listed over TLS; a stale version over TLS
//     -> BadVersion;
//   - a data watch set over TLS fires (NodeDataChanged NODE) when the plain session
//     writes; a child watch set on the plain port fires when TLS creates a child;
//   - NODE/x509 with ACL x509:CLIENT_DN:cdrwa (made over TLS): TLS reads it and its ACL
//     [x509:CLIENT_DN:31]; the plain session gets NoAuth for getData, setData, getACL
//     and create under it; NODE/creator made over TLS with CREATOR_ALL_ACL is stored as
//     x509:CLIENT_DN:31; the plain session's CREATOR_ALL_ACL -> InvalidACL (ip is not an
//     authenticated scheme); an ACL x509:CN=zk-client (only the CN) and one with the RDNs
//     in openssl's order (C=NL,L=..,CN=zk-client) are valid X.500 names but not this
//     client: TLS gets NoAuth; an ACL x509:<not a distinguished name> -> InvalidACL;
//   - two EPHEMERAL nodes made over TLS: getEphemerals(NODE) over TLS lists both (order
//     recorded as info, compared sorted), getEphemerals("/") of the TLS session holds
//     them, the plain session's getEphemerals(NODE) is empty; one is deleted over TLS, the
//     other vanishes when the TLS session closes (seen from the plain port);
//   - everything else is deleted over TLS (NODE by a second TLS session); the plain port
//     sees NODE gone.
// Exits 0 iff every check passed.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class ZkTlsCheck {
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

    /** As expectCode, and the exception's message must be exactly message. */
    static void expectCode(String what, KeeperException.Code code, String message, Body body) {
        try {
            Object r = body.run();
            fail(what, "no exception (returned " + r + "), expected " + code);
        } catch (KeeperException e) {
            if (e.code() != code) fail(what, "got " + e.code() + " (" + e.getMessage() + "), expected " + code);
            else if (!message.equals(e.getMessage())) fail(what, "message '" + e.getMessage() + "', expected '" + message + "'");
            else ok(what + " -> " + e.getClass().getSimpleName() + ": " + e.getMessage());
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

    /** A session; its default watcher's events (state changes and node events) in a queue. */
    static class Session implements Watcher {
        final BlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        ZooKeeper zk;

        public void process(WatchedEvent e) { events.add(e); }

        /** The first event (within 15 s) matching type and path (type None: a state). */
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

    static ZKClientConfig tlsConfig(String certs) {
        ZKClientConfig c = new ZKClientConfig();
        c.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        c.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        c.setProperty("zookeeper.ssl.keyStore.location", certs + "/client-keystore.pem");
        c.setProperty("zookeeper.ssl.trustStore.location", certs + "/ca.pem");
        return c;
    }

    static String whoAmI(ZooKeeper zk) throws Exception {
        List<String> out = new ArrayList<>();
        for (ClientInfo ci : zk.whoAmI()) out.add(ci.getAuthScheme() + ": " + ci.getUser());
        return String.join(", ", out);
    }

    static String acls(List<ACL> acl) {
        List<String> out = new ArrayList<>();
        for (ACL a : acl) out.add(a.getId().getScheme() + ":" + a.getId().getId() + ":" + a.getPerms());
        return String.join(", ", out);
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static String str(Object bytes) {
        return bytes == null ? "null" : new String((byte[]) bytes, StandardCharsets.UTF_8);
    }

    /** A mutable list: ZooKeeper.validateACL calls contains(null), which List.of refuses. */
    static List<ACL> aclList(ACL... acl) { return new ArrayList<>(Arrays.asList(acl)); }

    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        if (mode.equals("mtls")) mtls(args[1], args[2], args[3], args[4], args[5]);
        else if (mode.equals("enforce")) enforce(args[1], args[2], args[3], args[4], args[5]);
        else throw new IllegalArgumentException("mode " + mode);
        System.out.println(failures == 0 ? "ZkTlsCheck " + mode + ": all passed" : "ZkTlsCheck " + mode + ": " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }

    static void mtls(String secure, String plain, String certs, String node, String dn) throws Exception {
        Session tls = open("tls (PEM key store and trust store)", secure, tlsConfig(certs));
        Session pl = open("plain", plain, new ZKClientConfig());
        ZooKeeper t = tls.zk, p = pl.zk;
        if (t.getState() != ZooKeeper.States.CONNECTED) {
            System.out.println("ZkTlsCheck mtls: 1 failed (no TLS session)");
            System.exit(1);
        }

        equal("x509: " + dn + ", ip: 127.0.0.1", whoAmI(t), "tls: whoAmI (the server's order)");
        equal("ip: 127.0.0.1", whoAmI(p), "plain: whoAmI");

        // --- data across the two ports ---------------------------------------------------
        expectOk("tls: create " + node, () -> t.create(node, b("tls-data"), OPEN, CreateMode.PERSISTENT));
        equal("tls-data", str(expectOk("plain: getData", () -> p.getData(node, false, null))), "plain: data written over TLS");
        expectOk("plain: setData version 0", () -> p.setData(node, b("plain-data"), 0));
        Stat st = new Stat();
        equal("plain-data", str(expectOk("tls: getData", () -> t.getData(node, false, st))), "tls: data written on the plain port");
        equal(1, st.getVersion(), "tls: stat version after one setData");
        expectOk("tls: setData version 1", () -> t.setData(node, b("tls-data-2"), 1));
        equal("tls-data-2", str(expectOk("plain: getData", () -> p.getData(node, false, null))), "plain: data of the versioned setData over TLS");
        expectCode("tls: setData with stale version 1", KeeperException.Code.BADVERSION, () -> t.setData(node, b("x"), 1));
        expectOk("plain: create " + node + "/from-plain", () -> p.create(node + "/from-plain", b("p"), OPEN, CreateMode.PERSISTENT));
        equal("[from-plain]", expectOk("tls: getChildren", () -> t.getChildren(node, false)), "tls: children");
        check(t.exists(node + "/from-plain", false) != null, "tls: exists " + node + "/from-plain", "null");

        // --- watches -----------------------------------------------------------------------
        t.getData(node, true, null);
        p.setData(node, b("watched"), -1);
        WatchedEvent we = tls.await(EventType.NodeDataChanged, node, null);
        check(we != null, "tls: data watch fires on a plain-port setData (NodeDataChanged " + node + ")", "no event within 15 s");
        p.getChildren(node, true);
        t.create(node + "/from-tls", b("t"), OPEN, CreateMode.PERSISTENT);
        we = pl.await(EventType.NodeChildrenChanged, node, null);
        check(we != null, "plain: child watch fires on a TLS create (NodeChildrenChanged " + node + ")", "no event within 15 s");

        // --- the x509 scheme -------------------------------------------------------------------
        final String x = node + "/x509";
        final List<ACL> mine = aclList(new ACL(ZooDefs.Perms.ALL, new Id("x509", dn)));
        expectOk("tls: create " + x + " with ACL x509:" + dn + ":cdrwa", () -> t.create(x, b("secret"), mine, CreateMode.PERSISTENT));
        equal("secret", str(expectOk("tls: getData " + x, () -> t.getData(x, false, null))), "tls: data of " + x);
        equal("x509:" + dn + ":31", expectOk("tls: getACL", () -> acls(t.getACL(x, new Stat()))), "tls: ACL of " + x);
        expectCode("plain: getData " + x, KeeperException.Code.NOAUTH, () -> p.getData(x, false, null));
        expectCode("plain: setData " + x, KeeperException.Code.NOAUTH, () -> p.setData(x, b("no"), -1));
        expectCode("plain: getACL " + x, KeeperException.Code.NOAUTH, () -> p.getACL(x, new Stat()));
        expectCode("plain: create under " + x, KeeperException.Code.NOAUTH, () -> p.create(x + "/c", b("no"), OPEN, CreateMode.PERSISTENT));
        final String creator = node + "/creator";
        expectOk("tls: create " + creator + " with CREATOR_ALL_ACL",
            () -> t.create(creator, b("c"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        equal("x509:" + dn + ":31", expectOk("tls: getACL " + creator, () -> acls(t.getACL(creator, new Stat()))),
            "tls: CREATOR_ALL_ACL stored as");
        expectCode("plain: create with CREATOR_ALL_ACL", KeeperException.Code.INVALIDACL,
            () -> p.create(node + "/plain-creator", b("c"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        final String cnOnly = node + "/cn-only";
        expectOk("tls: create " + cnOnly + " with ACL x509:CN=zk-client:cdrwa",
            () -> t.create(cnOnly, b("n"), aclList(new ACL(ZooDefs.Perms.ALL, new Id("x509", "CN=zk-client"))), CreateMode.PERSISTENT));
        expectCode("tls: getData " + cnOnly + " (the CN alone is not the id)", KeeperException.Code.NOAUTH, () -> t.getData(cnOnly, false, null));
        final String reversed = node + "/openssl-order";
        final String opensslOrder = "C=NL,L=Amsterdam,O=keel compat,OU=zk-tls,CN=zk-client";
        expectOk("tls: create " + reversed + " with ACL x509:" + opensslOrder + ":cdrwa",
            () -> t.create(reversed, b("n"), aclList(new ACL(ZooDefs.Perms.ALL, new Id("x509", opensslOrder))), CreateMode.PERSISTENT));
        expectCode("tls: getData " + reversed + " (RDNs in the other order are another id)", KeeperException.Code.NOAUTH,
            () -> t.getData(reversed, false, null));
        expectCode("tls: create with ACL x509:<not a distinguished name>", KeeperException.Code.INVALIDACL,
            () -> t.create(node + "/bad-acl", b("n"), aclList(new ACL(ZooDefs.Perms.ALL, new Id("x509", "not a distinguished name"))), CreateMode.PERSISTENT));

        // --- ephemerals ------------------------------------------------------------------------
        expectOk("tls: create two EPHEMERAL nodes", () -> {
            t.create(node + "/eph-b", b("e"), OPEN, CreateMode.EPHEMERAL);
            return t.create(node + "/eph-a", b("e"), OPEN, CreateMode.EPHEMERAL);
        });
        List<String> eph = t.getEphemerals(node);
        info("tls: getEphemerals(" + node + ") returned " + eph);
        List<String> sorted = new ArrayList<>(eph);
        Collections.sort(sorted);
        equal("[" + node + "/eph-a, " + node + "/eph-b]", sorted, "tls: getEphemerals(" + node + "), sorted");
        List<String> all = t.getEphemerals("/");
        check(all.containsAll(eph) && all.size() == eph.size(), "tls: getEphemerals(/) = the same two", "got " + all);
        equal("[]", p.getEphemerals(node), "plain: getEphemerals(" + node + ") (another session's)");

        // --- clean up over TLS -----------------------------------------------------------------
        for (String c : new String[] {"/from-plain", "/from-tls", "/x509", "/creator", "/cn-only", "/openssl-order", "/eph-a"}) {
            final String path = node + c;
            expectOk("tls: delete " + path, () -> { t.delete(path, -1); return null; });
        }
        tls.zk.close();
        check(p.exists(node + "/eph-b", false) == null, "plain: the closed TLS session's ephemeral " + node + "/eph-b is gone",
            "still there");
        Session again = open("tls, a second session", secure, tlsConfig(certs));
        expectOk("tls (second session): delete " + node, () -> { again.zk.delete(node, -1); return null; });
        check(p.exists(node, false) == null, "plain: " + node + " is gone", "still there");
        again.zk.close();
        pl.zk.close();
    }

    /** The connection states (events of type None) that arrive within ms. */
    static List<KeeperState> states(Session s, long ms) throws InterruptedException {
        List<KeeperState> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + ms;
        long left;
        while ((left = deadline - System.currentTimeMillis()) > 0) {
            WatchedEvent e = s.events.poll(left, TimeUnit.MILLISECONDS);
            if (e != null && e.getType() == EventType.None) out.add(e.getState());
        }
        return out;
    }

    /**
     * enforce: a server with enforce.auth.enabled=true, enforce.auth.schemes=x509 (the
     * secure port's certificate gives the x509 id; the plain port gives none).
     */
    static void enforce(String secure, String plain, String certs, String node, String dn) throws Exception {
        final String refused = "KeeperErrorCode = Session closed because client failed to authenticate for " + node;
        Session tls = open("tls", secure, tlsConfig(certs));
        ZooKeeper t = tls.zk;
        if (t.getState() != ZooKeeper.States.CONNECTED) {
            System.out.println("ZkTlsCheck enforce: 1 failed (no TLS session)");
            System.exit(1);
        }
        equal("x509: " + dn + ", ip: 127.0.0.1", whoAmI(t), "tls: whoAmI");
        expectOk("tls: create " + node, () -> t.create(node, b("enforced"), OPEN, CreateMode.PERSISTENT));
        expectOk("tls: setData " + node, () -> t.setData(node, b("enforced-2"), 0));
        equal("enforced-2", str(expectOk("tls: getData", () -> t.getData(node, false, null))), "tls: data");

        // a plain session: opened, then its first request is refused and the connection closed
        Session pl = open("plain", plain, new ZKClientConfig());
        ZooKeeper p = pl.zk;
        expectCode("plain: getData " + node, KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH, refused,
            () -> p.getData(node, false, null));
        WatchedEvent gone = pl.await(EventType.None, null, KeeperState.Disconnected);
        check(gone != null, "plain: the server closes the connection (Disconnected)", "no Disconnected within 15 s");
        // the client reconnects: the session was not closed, only the connection
        WatchedEvent back = pl.await(EventType.None, null, KeeperState.SyncConnected);
        check(back != null, "plain: the client reconnects to the same session (SyncConnected, not Expired)",
            "no SyncConnected within 15 s");
        if (back != null) {
            expectCode("plain, reconnected: getData " + node, KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH, refused,
                () -> p.getData(node, false, null));
        }
        List<KeeperState> after = states(pl, 500);
        info("plain: connection states after the second refusal: " + after);
        p.close();

        // a plain session with a digest id (addAuthInfo succeeds: digest is not an enforced scheme)
        Session dg = open("plain + digest", plain, new ZKClientConfig());
        ZooKeeper d = dg.zk;
        d.addAuthInfo("digest", b("bob:bob-secret"));
        expectCode("plain + digest addAuthInfo: getData " + node, KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH,
            refused, () -> d.getData(node, false, null));
        List<KeeperState> dAfter = states(dg, 500);
        info("plain + digest: connection states after the refusal: " + dAfter);
        check(!dAfter.contains(KeeperState.AuthFailed), "plain + digest: no AuthFailed (the digest auth itself succeeded)",
            "states " + dAfter);
        d.close();

        // the TLS session is still served
        equal("enforced-2", str(expectOk("tls: getData after the refusals", () -> t.getData(node, false, null))),
            "tls: data after the refusals");
        equal("[]", expectOk("tls: getChildren", () -> t.getChildren(node, false)), "tls: children");
        expectOk("tls: delete " + node, () -> { t.delete(node, -1); return null; });
        check(t.exists(node, false) == null, "tls: " + node + " is gone", "still there");
        t.close();
    }
}

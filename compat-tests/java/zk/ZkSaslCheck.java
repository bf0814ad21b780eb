// ZkSaslCheck: ZooKeeper client SASL (DIGEST-MD5) through org.apache.zookeeper.ZooKeeper
// 3.9.x, for the zk-sasl suite. Each session picks its JAAS section with ZKClientConfig's
// zookeeper.sasl.clientconfig, so one JVM logs in as several users. DIGEST-MD5 needs
// -Dzookeeper.fips-mode=false on a 3.9 client (FIPS mode is on by default there and
// refuses DIGEST-MD5 before anything is sent).
//
//   java [-Djava.security.auth.login.config=JAAS] ZkSaslCheck users CONNECT ALICE_PATH DIGEST_PATH SUPERUSER
//       JAAS sections Client (alice), ClientKafka (kafka), ClientSuper (super).
//       ALICE_PATH exists with ACL sasl:alice:cdrwa and data "hello"; DIGEST_PATH is
//       created here (by alice) when missing, ACL digest:bob:<hash>:cdrwa.
//       SUPERUSER: true when the server runs with -Dzookeeper.superUser=super.
//   java ZkSaslCheck anonymous CONNECT ALICE_PATH          (no JAAS file: no SASL at all)
//   java -Djava.security.auth.login.config=JAAS ZkSaslCheck refused CONNECT PATH SECTION...
//       each SECTION holds credentials the server must refuse.
//   java -Djava.security.auth.login.config=JAAS ZkSaslCheck required CONNECT PATH SECTION...
//       a server with sessionRequireClientSASLAuth=true: alice (section Client) creates
//       and reads PATH; without SASL every request throws SessionClosedRequireAuthException
//       (the connection is closed, the client reconnects to the same session); each
//       SECTION's refused login ends in AuthFailed as in `refused`.
//
// Prints "ok <check>" / "FAIL <check>: <why>" (and "info ..." lines that record what the
// server answered) and exits 0 iff every check passed.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class ZkSaslCheck {
    static int failures = 0;
    static String connect;

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

    /** body must throw a KeeperException with this code (and this message, if given). */
    static void expectCode(String what, KeeperException.Code code, String message, Body body) {
        try {
            Object r = body.run();
            fail(what, "no exception (returned " + r + "), expected " + code);
        } catch (KeeperException e) {
            if (e.code() != code) {
                fail(what, "got " + e.code() + " (" + e.getMessage() + "), expected " + code);
            } else if (message != null && !message.equals(e.getMessage())) {
                fail(what, "message '" + e.getMessage() + "', expected '" + message + "'");
            } else {
                ok(what + " -> " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        } catch (Exception e) {
            fail(what, "unexpected " + e);
        }
    }

    /** body must succeed; returns its value (null after a failure). */
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

    /** A session and the connection states its default watcher saw, in order. */
    static class Session implements Watcher {
        final BlockingQueue<KeeperState> states = new LinkedBlockingQueue<>();
        final List<KeeperState> seen = new ArrayList<>();
        ZooKeeper zk;

        public void process(WatchedEvent e) {
            if (e.getType() == Event.EventType.None) states.add(e.getState());
        }

        /** Waits until one of the given states (or 15s); returns it (null on time-out). */
        KeeperState await(KeeperState... until) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 15000;
            while (true) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) return null;
                KeeperState s = states.poll(left, TimeUnit.MILLISECONDS);
                if (s == null) return null;
                seen.add(s);
                if (Arrays.asList(until).contains(s)) return s;
            }
        }

        /** States that arrive within the next ms. */
        void drain(long ms) throws InterruptedException {
            long deadline = System.currentTimeMillis() + ms;
            long left;
            while ((left = deadline - System.currentTimeMillis()) > 0) {
                KeeperState s = states.poll(left, TimeUnit.MILLISECONDS);
                if (s != null) seen.add(s);
            }
        }
    }

    /** Opens a session logging in with JAAS section `section` (null: SASL off). */
    static Session open(String section) throws Exception {
        ZKClientConfig conf = new ZKClientConfig();
        if (section == null) {
            conf.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        } else {
            conf.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, section);
        }
        Session s = new Session();
        s.zk = new ZooKeeper(connect, 30000, s, conf);
        return s;
    }

    /** Opens a session that must authenticate: SyncConnected, then SaslAuthenticated. */
    static Session login(String section, String who) throws Exception {
        Session s = open(section);
        KeeperState last = s.await(KeeperState.SaslAuthenticated, KeeperState.AuthFailed);
        check(last == KeeperState.SaslAuthenticated
                && s.seen.equals(Arrays.asList(KeeperState.SyncConnected, KeeperState.SaslAuthenticated)),
            who + ": events SyncConnected, SaslAuthenticated", "saw " + s.seen);
        return s;
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

    static String str(Object bytes) {
        return bytes == null ? "null" : new String((byte[]) bytes, StandardCharsets.UTF_8);
    }

    static final List<ACL> CREATOR_ALL = ZooDefs.Ids.CREATOR_ALL_ACL;

    /** A mutable list: ZooKeeper.validateACL calls contains(null), which List.of refuses. */
    static List<ACL> aclList(ACL... acl) { return new ArrayList<>(Arrays.asList(acl)); }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        connect = args[1];
        switch (mode) {
            case "users": users(args[2], args[3], Boolean.parseBoolean(args[4])); break;
            case "anonymous": anonymous(args[2]); break;
            case "refused": refused(args[2], Arrays.copyOfRange(args, 3, args.length)); break;
            case "required": required(args[2], Arrays.copyOfRange(args, 3, args.length)); break;
            default: throw new IllegalArgumentException("mode " + mode);
        }
        System.out.println(failures == 0 ? "ZkSaslCheck " + mode + ": all passed" : "ZkSaslCheck " + mode + ": " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }

    static void users(String alicePath, String digestPath, boolean superUser) throws Exception {
        final String bobDigest = DigestAuthenticationProvider.generateDigest("bob:bob-secret");
        final List<ACL> bobOnly = aclList(new ACL(ZooDefs.Perms.ALL, new Id("digest", bobDigest)));
        String tag = superUser ? " [zookeeper.superUser=super]" : "";

        // alice: the owner of ALICE_PATH
        Session alice = login("Client", "alice" + tag);
        ZooKeeper za = alice.zk;
        equal("sasl: alice, ip: 127.0.0.1", whoAmI(za), "alice: whoAmI (the server's order)");
        equal("hello", str(expectOk("alice: getData " + alicePath, () -> za.getData(alicePath, false, null))),
            "alice: data of " + alicePath);
        equal("sasl:alice:31", acls(za.getACL(alicePath, new Stat())), "alice: getACL " + alicePath);
        if (!superUser) {
            // CREATOR_ALL_ACL (auth::cdrwa) expands to the session's authenticated id
            String mine = alicePath + "/creator-all";
            expectOk("alice: create " + mine + " with CREATOR_ALL_ACL",
                () -> za.create(mine, "c".getBytes(StandardCharsets.UTF_8), CREATOR_ALL, CreateMode.PERSISTENT));
            equal("sasl:alice:31", acls(za.getACL(mine, new Stat())), "alice: auth ACL expanded");
            // a sasl id must parse as a Kerberos name
            expectCode("alice: create with ACL sasl:a@b@c", KeeperException.Code.INVALIDACL,
                "KeeperErrorCode = InvalidACL for " + alicePath + "/bad-acl",
                () -> za.create(alicePath + "/bad-acl", new byte[0],
                    aclList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "a@b@c"))), CreateMode.PERSISTENT));
            expectOk("alice: create " + digestPath + " with ACL digest:bob:<hash>:cdrwa",
                () -> za.create(digestPath, "bob's".getBytes(StandardCharsets.UTF_8), bobOnly, CreateMode.PERSISTENT));
            expectCode("alice: getData " + digestPath + " (digest:bob only)", KeeperException.Code.NOAUTH,
                "KeeperErrorCode = NoAuth for " + digestPath, () -> za.getData(digestPath, false, null));
        }

        // kafka: authenticated, but not alice
        Session kafka = login("ClientKafka", "kafka" + tag);
        ZooKeeper zk = kafka.zk;
        equal("sasl: kafka, ip: 127.0.0.1", whoAmI(zk), "kafka: whoAmI");
        String noAuth = "KeeperErrorCode = NoAuth for " + alicePath;
        expectCode("kafka: getData " + alicePath, KeeperException.Code.NOAUTH, noAuth,
            () -> zk.getData(alicePath, false, null));
        expectCode("kafka: getChildren " + alicePath, KeeperException.Code.NOAUTH, noAuth,
            () -> zk.getChildren(alicePath, false));
        expectCode("kafka: setData " + alicePath, KeeperException.Code.NOAUTH, noAuth,
            () -> zk.setData(alicePath, new byte[1], -1));
        expectCode("kafka: getACL " + alicePath + " (needs READ or ADMIN)", KeeperException.Code.NOAUTH, noAuth,
            () -> zk.getACL(alicePath, new Stat()));
        expectCode("kafka: create under " + alicePath, KeeperException.Code.NOAUTH,
            "KeeperErrorCode = NoAuth for " + alicePath + "/kafka",
            () -> zk.create(alicePath + "/kafka", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        // 3.9 checks READ on exists too (of a node that exists)
        expectCode("kafka: exists " + alicePath + " (needs READ)", KeeperException.Code.NOAUTH, noAuth,
            () -> zk.exists(alicePath, false));
        Object missing = expectOk("kafka: exists " + alicePath + "-missing", () -> zk.exists(alicePath + "-missing", false));
        check(missing == null, "kafka: exists of a missing node is null", "got " + missing);

        // super: a sasl id named "super" matches every sasl ACL (SASLAuthenticationProvider
        // .matches), but is a superuser only with -Dzookeeper.superUser=super
        Session sup = login("ClientSuper", "super" + tag);
        ZooKeeper zs = sup.zk;
        equal(superUser ? "sasl: super, super: , ip: 127.0.0.1" : "sasl: super, ip: 127.0.0.1",
            whoAmI(zs), "super: whoAmI");
        equal("hello", str(expectOk("super: getData " + alicePath + " (sasl:alice ACL)",
            () -> zs.getData(alicePath, false, null))), "super: data of " + alicePath);
        if (superUser) {
            equal("bob's", str(expectOk("super: getData " + digestPath + " (superuser)",
                () -> zs.getData(digestPath, false, null))), "super: data of " + digestPath);
            equal("digest:" + bobDigest + ":31", acls(zs.getACL(digestPath, new Stat())),
                "super: getACL " + digestPath + " unmasked");
        } else {
            expectCode("super: getData " + digestPath + " (not a superuser)", KeeperException.Code.NOAUTH,
                "KeeperErrorCode = NoAuth for " + digestPath, () -> zs.getData(digestPath, false, null));
            expectCode("super: setData " + digestPath, KeeperException.Code.NOAUTH,
                "KeeperErrorCode = NoAuth for " + digestPath, () -> zs.setData(digestPath, new byte[1], -1));
        }
        for (Session s : List.of(alice, kafka, sup)) s.zk.close();
    }

    static void anonymous(String alicePath) throws Exception {
        Session s = open(null);
        KeeperState last = s.await(KeeperState.SyncConnected);
        s.drain(1000);
        check(last == KeeperState.SyncConnected && s.seen.equals(List.of(KeeperState.SyncConnected)),
            "no SASL: events SyncConnected only", "saw " + s.seen);
        ZooKeeper zk = s.zk;
        equal("ip: 127.0.0.1", whoAmI(zk), "no SASL: whoAmI");
        expectCode("no SASL: getData " + alicePath, KeeperException.Code.NOAUTH,
            "KeeperErrorCode = NoAuth for " + alicePath, () -> zk.getData(alicePath, false, null));
        expectCode("no SASL: create with CREATOR_ALL_ACL (no authenticated id)", KeeperException.Code.INVALIDACL,
            "KeeperErrorCode = InvalidACL for " + alicePath + "-anon",
            () -> zk.create(alicePath + "-anon", new byte[0], CREATOR_ALL, CreateMode.PERSISTENT));
        zk.close();
    }

    static void refused(String path, String[] sections) throws Exception {
        for (String section : sections) {
            Session s = open(section);
            KeeperState last = s.await(KeeperState.SaslAuthenticated, KeeperState.AuthFailed);
            s.drain(1500);
            info(section + ": events " + s.seen + ", state " + s.zk.getState());
            check(last == KeeperState.AuthFailed
                    && s.seen.equals(Arrays.asList(KeeperState.SyncConnected, KeeperState.AuthFailed)),
                section + ": events SyncConnected, AuthFailed (and nothing after)", "saw " + s.seen);
            equal(ZooKeeper.States.AUTH_FAILED, s.zk.getState(), section + ": state");
            ZooKeeper zk = s.zk;
            expectCode(section + ": getData " + path, KeeperException.Code.AUTHFAILED,
                "KeeperErrorCode = AuthFailed for " + path, () -> zk.getData(path, false, null));
            zk.close();
        }
    }

    /**
     * required: a server with sessionRequireClientSASLAuth=true (Apache: enforce.auth.enabled
     * with the scheme sasl). PATH is created here by alice (ACL sasl:alice:cdrwa, data
     * "hello") and deleted at the end; each SECTION holds credentials the server refuses.
     */
    static void required(String path, String[] sections) throws Exception {
        final String refused = "KeeperErrorCode = Session closed because client failed to authenticate for " + path;
        Session alice = login("Client", "alice");
        ZooKeeper za = alice.zk;
        equal("sasl: alice, ip: 127.0.0.1", whoAmI(za), "alice: whoAmI");
        expectOk("alice: create " + path + " with ACL sasl:alice:cdrwa", () -> za.create(path,
            "hello".getBytes(StandardCharsets.UTF_8), aclList(new ACL(ZooDefs.Perms.ALL, new Id("sasl", "alice"))),
            CreateMode.PERSISTENT));
        equal("hello", str(expectOk("alice: getData " + path, () -> za.getData(path, false, null))), "alice: data");

        // SASL off in the client: a session, then the first request is refused and the connection closed
        Session anon = open(null);
        check(anon.await(KeeperState.SyncConnected) == KeeperState.SyncConnected, "no SASL: SyncConnected",
            "saw " + anon.seen);
        ZooKeeper zn = anon.zk;
        expectCode("no SASL: getData " + path, KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH, refused,
            () -> zn.getData(path, false, null));
        check(anon.await(KeeperState.Disconnected) == KeeperState.Disconnected,
            "no SASL: the server closes the connection (Disconnected)", "saw " + anon.seen);
        check(anon.await(KeeperState.SyncConnected) == KeeperState.SyncConnected,
            "no SASL: the client reconnects to the same session (SyncConnected)", "saw " + anon.seen);
        expectCode("no SASL, reconnected: getData " + path, KeeperException.Code.SESSIONCLOSEDREQUIRESASLAUTH, refused,
            () -> zn.getData(path, false, null));
        anon.drain(500);
        info("no SASL: events " + anon.seen);
        zn.close();

        // credentials the server refuses: the SASL reply carries -124 instead of -115
        for (String section : sections) {
            Session s = open(section);
            KeeperState last = s.await(KeeperState.SaslAuthenticated, KeeperState.AuthFailed);
            s.drain(1500);
            info(section + ": events " + s.seen + ", state " + s.zk.getState());
            // the client reads the reply's null token as a failed login whatever its err
            // (-124 here, -115 without the requirement): the same as in `refused`
            check(last == KeeperState.AuthFailed
                    && s.seen.equals(Arrays.asList(KeeperState.SyncConnected, KeeperState.AuthFailed)),
                section + ": events SyncConnected, AuthFailed (and nothing after)", "saw " + s.seen);
            equal(ZooKeeper.States.AUTH_FAILED, s.zk.getState(), section + ": state");
            ZooKeeper zk = s.zk;
            expectCode(section + ": getData " + path, KeeperException.Code.AUTHFAILED,
                "KeeperErrorCode = AuthFailed for " + path, () -> zk.getData(path, false, null));
            zk.close();
        }

        equal("hello", str(expectOk("alice: getData after the refusals", () -> za.getData(path, false, null))),
            "alice: data after the refusals");
        expectOk("alice: delete " + path, () -> { za.delete(path, -1); return null; });
        za.close();
    }
}

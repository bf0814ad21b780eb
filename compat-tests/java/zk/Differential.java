// Differential: one seeded random ZooKeeper workload sent in lockstep to two servers
// (A: the reference, Apache ZooKeeper 3.9; B: the server under test), every outcome
// compared. Single-file program, ZooKeeper 3.9 client API, Java 11 language level.
//
//   java Differential --a host:port --b host:port --seed N --ops N [--sessions K]
//                     [--close-events-unordered]
//
// --close-events-unordered (diagnosis only): the watch events a session close fires
// on the other sessions are compared as sets, not in order.
//
// K sessions are opened to each server; logical session i on A and on B always gets the
// same op. After every op, all sessions on both servers are settled (an async `sync`
// whose callback runs on the client's event thread after every event queued before
// its reply), and the watch events each session received are compared as ordered lists.
//
// Compared: result codes (KeeperException codes, client-side exceptions), returned data,
// created names, children sets (sorted), ACL lists, getEphemerals (sorted),
// getAllChildrenNumber, multi per-op results, and Stat fields: version, cversion,
// aversion, dataLength, numChildren exactly; ephemeralOwner as a logical session label
// (slot + generation, since session ids differ); czxid / mzxid / pzxid as orderings (an
// order-preserving one-to-one map between A's and B's zxids is built as they are seen:
// a pair that breaks it is a divergence); ctime / mtime per server as orderings (same
// zxid -> same time, time non-decreasing with zxid).
//
// Not compared (by design): container auto-deletion (timer-driven on both servers, so
// containers are only created as leaves that never get children); TTL nodes (need
// extendedTypesEnabled); absolute zxid / time / session id values; connection-state
// events after an explicit close.
//
// On the first divergence: prints seed, op index, the op, both outcomes, exits 1.
// At the end: a summary line `SUMMARY ops=... events=...` and per-op-type counts.

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.jute.Record;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.ClientCnxn;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.proto.CreateRequest;
import org.apache.zookeeper.proto.CreateResponse;
import org.apache.zookeeper.proto.DeleteRequest;
import org.apache.zookeeper.proto.ExistsRequest;
import org.apache.zookeeper.proto.GetChildrenRequest;
import org.apache.zookeeper.proto.GetChildrenResponse;
import org.apache.zookeeper.proto.GetDataRequest;
import org.apache.zookeeper.proto.GetDataResponse;
import org.apache.zookeeper.proto.ReplyHeader;
import org.apache.zookeeper.proto.RequestHeader;
import org.apache.zookeeper.proto.SetDataRequest;
import org.apache.zookeeper.proto.SetDataResponse;
import org.apache.zookeeper.proto.ExistsResponse;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class Differential {
    // ---- one server ------------------------------------------------------------------
    static final class Side {
        final String name, connect;
        final ZooKeeper[] zk;
        final int[] gen;
        final List<List<String>> events = new ArrayList<>();
        final Map<Long, String> sessLabel = new HashMap<>();
        final TreeMap<Long, Long> zxTime = new TreeMap<>();
        Side(String name, String connect, int k) {
            this.name = name; this.connect = connect;
            zk = new ZooKeeper[k]; gen = new int[k];
            for (int i = 0; i < k; i++) events.add(Collections.synchronizedList(new ArrayList<>()));
        }
    }

    /** The outcome of one op on one side: canonical text plus the zxids/times seen. */
    static final class Out {
        final Side side;
        final StringBuilder t = new StringBuilder();
        final List<Long> zx = new ArrayList<>();
        String timeErr = null;
        Out(Side s) { side = s; }
        Out add(Object o) { t.append(o).append(' '); return this; }
        void stat(Stat st) {
            if (st == null) { add("stat=null"); return; }
            String owner = st.getEphemeralOwner() == 0 ? "none"
                : side.sessLabel.getOrDefault(st.getEphemeralOwner(), "unknown");
            add("[v=" + st.getVersion() + " cv=" + st.getCversion() + " av=" + st.getAversion()
                + " len=" + st.getDataLength() + " nc=" + st.getNumChildren() + " eo=" + owner + "]");
            zx.add(st.getCzxid()); zx.add(st.getMzxid()); zx.add(st.getPzxid());
            time(st.getCzxid(), st.getCtime());
            time(st.getMzxid(), st.getMtime());
        }
        void time(long z, long t) {
            Long have = side.zxTime.get(z);
            if (have != null) {
                if (have != t && timeErr == null) timeErr = side.name + ": zxid " + z + " seen with times " + have + " and " + t;
                return;
            }
            Map.Entry<Long, Long> lo = side.zxTime.lowerEntry(z), hi = side.zxTime.higherEntry(z);
            if (timeErr == null && ((lo != null && lo.getValue() > t) || (hi != null && hi.getValue() < t)))
                timeErr = side.name + ": time " + t + " of zxid " + z + " out of order with neighbours " + lo + " " + hi;
            side.zxTime.put(z, t);
        }
        void err(Throwable e) {
            if (e instanceof KeeperException) add("ERR " + ((KeeperException) e).code());
            else add("EXC " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    interface Act { void run(ZooKeeper zk, Out o) throws Exception; }

    // ---- state -------------------------------------------------------------------------
    static Side A, B;
    static Random rnd;
    static long seed;
    static int K = 4, opIndex = 0;
    static String R;
    static final List<String> seqPaths = new ArrayList<>();
    static final TreeMap<Long, Long> a2b = new TreeMap<>(), b2a = new TreeMap<>();
    static final TreeMap<String, Integer> counts = new TreeMap<>(), okCounts = new TreeMap<>();
    static long eventsCompared = 0;
    static Field CNXN;
    static boolean closeUnordered = false;
    static final String[] NAMES = {"a", "b", "c"};
    static List<ACL> DIG0_ALL, DIG1_RWC;

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static void die(String op, String why, Out oa, Out ob) {
        System.out.println("DIVERGENCE seed=" + seed + " op#" + opIndex + ": " + op);
        System.out.println("  why: " + why);
        if (oa != null) System.out.println("  A (" + A.name + "): " + oa.t);
        if (ob != null) System.out.println("  B (" + B.name + "): " + ob.t);
        System.out.flush();
        System.exit(1);
    }

    /** Runs act on session slot s of both servers and compares the outcomes. */
    static Out[] step(String type, String desc, int s, Act act) {
        counts.merge(type, 1, Integer::sum);
        String op = type + " s" + s + " " + desc;
        Out oa = run(A, s, act), ob = run(B, s, act);
        compare(op, oa, ob);
        String t = oa.t.toString();
        if (!t.startsWith("ERR") && !t.startsWith("EXC") && !t.startsWith("err=")) okCounts.merge(type, 1, Integer::sum);
        settle(op);
        return new Out[] {oa, ob};
    }

    static Out run(Side side, int s, Act act) {
        Out o = new Out(side);
        try { act.run(side.zk[s], o); } catch (Throwable e) { o.err(e); }
        return o;
    }

    static void compare(String op, Out oa, Out ob) {
        if (!oa.t.toString().equals(ob.t.toString())) die(op, "different outcomes", oa, ob);
        if (oa.timeErr != null) die(op, "times: " + oa.timeErr, oa, ob);
        if (ob.timeErr != null) die(op, "times: " + ob.timeErr, oa, ob);
        if (oa.zx.size() != ob.zx.size()) die(op, "different number of zxids", oa, ob);
        for (int i = 0; i < oa.zx.size(); i++) {
            long za = oa.zx.get(i), zb = ob.zx.get(i);
            Long m = a2b.get(za);
            if (m != null) {
                if (m != zb) die(op, "zxid order: A " + za + " maps to B " + m + " before, now B " + zb, oa, ob);
                continue;
            }
            Long n = b2a.get(zb);
            if (n != null) die(op, "zxid order: B " + zb + " maps to A " + n + " before, now A " + za, oa, ob);
            Map.Entry<Long, Long> lo = a2b.lowerEntry(za), hi = a2b.higherEntry(za);
            if ((lo != null && lo.getValue() >= zb) || (hi != null && hi.getValue() <= zb))
                die(op, "zxid order: A " + za + " -> B " + zb + " breaks the order (neighbours " + lo + ", " + hi + ")", oa, ob);
            a2b.put(za, zb);
            b2a.put(zb, za);
        }
    }

    /** Waits until every session on both sides has processed every event queued so far,
     *  then compares each session's events. */
    static void settle(String op) { settle(op, -1, false); }

    static void settle(String op, int skip, boolean unordered) {
        CountDownLatch done = new CountDownLatch(2 * (skip < 0 ? K : K - 1));
        AtomicInteger bad = new AtomicInteger();
        for (Side side : new Side[] {A, B})
            for (int i = 0; i < K; i++)
                if (i != skip) side.zk[i].sync(R, (rc, path, ctx) -> { if (rc != 0) bad.incrementAndGet(); done.countDown(); }, null);
        try {
            if (!done.await(30, TimeUnit.SECONDS)) die(op, "settle: sync did not complete within 30 s", null, null);
        } catch (InterruptedException e) { throw new RuntimeException(e); }
        if (bad.get() != 0) die(op, "settle: sync failed on " + bad.get() + " sessions", null, null);
        for (int i = 0; i < K; i++) {
            if (i == skip) continue;
            List<String> ea, eb;
            synchronized (A.events.get(i)) { ea = new ArrayList<>(A.events.get(i)); A.events.get(i).clear(); }
            synchronized (B.events.get(i)) { eb = new ArrayList<>(B.events.get(i)); B.events.get(i).clear(); }
            if (unordered) { Collections.sort(ea); Collections.sort(eb); }
            if (!ea.equals(eb)) {
                System.out.println("DIVERGENCE seed=" + seed + " op#" + opIndex + ": " + op);
                System.out.println("  why: watch events of session s" + i + " differ");
                System.out.println("  A (" + A.name + "): " + ea);
                System.out.println("  B (" + B.name + "): " + eb);
                System.exit(1);
            }
            eventsCompared += ea.size();
        }
    }

    // ---- sessions ----------------------------------------------------------------------
    static void open(Side side, int s) throws Exception {
        final CountDownLatch connected = new CountDownLatch(1);
        final List<String> ev = side.events.get(s);
        ZooKeeper zk = new ZooKeeper(side.connect, 30000, (WatchedEvent e) -> {
            ev.add(e.getType() + " " + e.getPath() + " " + e.getState());
            if (e.getType() == Watcher.Event.EventType.None && e.getState() == Watcher.Event.KeeperState.SyncConnected)
                connected.countDown();
        });
        if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException(side.name + ": no session within 30 s");
        side.gen[s]++;
        side.sessLabel.put(zk.getSessionId(), "s" + s + "g" + side.gen[s]);
        if (s % 4 == 1 || s % 4 == 3) zk.addAuthInfo("digest", b("u0:p0"));
        if (s % 4 == 2 || s % 4 == 3) zk.addAuthInfo("digest", b("u1:p1"));
        side.zk[s] = zk;
    }

    static void reopen(int s) throws Exception {
        counts.merge("close", 1, Integer::sum);
        String op = "close+reopen s" + s;
        for (Side side : new Side[] {A, B}) side.zk[s].close();
        settle(op, s, closeUnordered);    // the ephemerals' deletion events, on the other sessions
        for (Side side : new Side[] {A, B}) {
            side.events.get(s).clear();   // Closed state of the old handle: client-side only
            open(side, s);
        }
        settle(op);
    }

    // ---- random choices ----------------------------------------------------------------
    static String randPath() {
        int r = rnd.nextInt(100);
        if (r < 4) return R;
        if (r < 14 && !seqPaths.isEmpty()) return seqPaths.get(rnd.nextInt(seqPaths.size()));
        if (r < 18) return R + "/k" + rnd.nextInt(2);    // containers: leaves only
        if (r < 20) return R + "/missing/x";
        String p = R;
        int depth = 1 + rnd.nextInt(3);
        for (int i = 0; i < depth; i++) p += "/" + NAMES[rnd.nextInt(i == 0 ? 3 : 2)];
        return p;
    }

    /** A path that may get children (never a container). */
    static String parentablePath() {
        String p;
        do { p = randPath(); } while (p.startsWith(R + "/k"));
        return p;
    }

    static byte[] randData() {
        int r = rnd.nextInt(10);
        if (r == 0) return null;
        if (r == 1) return new byte[0];
        if (r == 2) { byte[] d = new byte[rnd.nextInt(2000)]; rnd.nextBytes(d); return d; }
        return b("d" + rnd.nextInt(1000));
    }

    static final String[] ACL_NAMES = {"open", "read+u0", "creator", "u0-all", "u1-rwc+read", "world-nodelete", "empty", "badscheme", "open+u1", "ip-local", "ip-other+read", "bad-ip"};

    static List<ACL> acl(int i) {
        List<ACL> l = new ArrayList<>();
        switch (i) {
            case 0: return ZooDefs.Ids.OPEN_ACL_UNSAFE;
            case 1: l.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE)); l.addAll(DIG0_ALL); return l;
            case 2: return ZooDefs.Ids.CREATOR_ALL_ACL;
            case 3: return DIG0_ALL;
            case 4: l.addAll(DIG1_RWC); l.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE)); return l;
            case 5: l.add(new ACL(ZooDefs.Perms.ALL & ~ZooDefs.Perms.DELETE, ZooDefs.Ids.ANYONE_ID_UNSAFE)); l.addAll(DIG0_ALL); return l;
            case 6: return l;
            case 7: l.add(new ACL(ZooDefs.Perms.ALL, new Id("nosuchscheme", "x"))); return l;
            case 8: l.add(new ACL(ZooDefs.Perms.ALL, ZooDefs.Ids.ANYONE_ID_UNSAFE)); l.addAll(DIG1_RWC); return l;
            case 9: l.add(new ACL(ZooDefs.Perms.ALL, new Id("ip", "127.0.0.1"))); return l;
            case 10: l.add(new ACL(ZooDefs.Perms.ALL, new Id("ip", "10.0.0.0/8"))); l.add(new ACL(ZooDefs.Perms.READ, ZooDefs.Ids.ANYONE_ID_UNSAFE)); return l;
            default: l.add(new ACL(ZooDefs.Perms.ALL, new Id("ip", "not-an-ip"))); return l;
        }
    }

    static int randAcl() {
        int r = rnd.nextInt(100);
        if (r < 85) return 0;
        return 1 + rnd.nextInt(11);
    }

    static int randVersion(Out[] known) {
        int r = rnd.nextInt(10);
        if (r < 4) return -1;
        if (r < 8 && known != null && known[0].t.toString().contains("[v=")) {
            String t = known[0].t.toString();
            int at = t.indexOf("[v=") + 3;
            return Integer.parseInt(t.substring(at, t.indexOf(' ', at)));
        }
        return rnd.nextInt(4);
    }

    static Out[] probe(int s, String path) {
        return step("exists", path, s, (zk, o) -> o.stat(zk.exists(path, false)));
    }

    static String aclText(List<ACL> l) {
        StringBuilder sb = new StringBuilder("{");
        for (ACL a : l) sb.append(a.getPerms()).append(':').append(a.getId().getScheme()).append(':').append(a.getId().getId()).append(',');
        return sb.append('}').toString();
    }

    static void results(Out o, List<OpResult> rs) {
        for (OpResult r : rs) {
            if (r instanceof OpResult.CreateResult) { o.add("create " + ((OpResult.CreateResult) r).getPath()); o.stat(((OpResult.CreateResult) r).getStat()); }
            else if (r instanceof OpResult.SetDataResult) { o.add("set"); o.stat(((OpResult.SetDataResult) r).getStat()); }
            else if (r instanceof OpResult.ErrorResult) o.add("err " + ((OpResult.ErrorResult) r).getErr());
            else if (r instanceof OpResult.GetDataResult) { o.add("data " + hex(((OpResult.GetDataResult) r).getData())); o.stat(((OpResult.GetDataResult) r).getStat()); }
            else if (r instanceof OpResult.GetChildrenResult) { List<String> c = new ArrayList<>(((OpResult.GetChildrenResult) r).getChildren()); Collections.sort(c); o.add("children " + c); }
            else o.add(r.getClass().getSimpleName() + " type=" + r.getType());
        }
    }

    static String hex(byte[] d) {
        if (d == null) return "null";
        if (d.length > 16) return "len" + d.length + "#" + java.util.Arrays.hashCode(d);
        StringBuilder sb = new StringBuilder();
        for (byte x : d) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static ReplyHeader raw(ZooKeeper zk, int type, Record req, Record resp) throws Exception {
        ClientCnxn c = (ClientCnxn) CNXN.get(zk);
        RequestHeader h = new RequestHeader();
        h.setType(type);
        return c.submitRequest(h, req, resp, null);
    }

    static void record(String name, String path, String created) {
        if (created != null && !created.equals(path) && seqPaths.size() < 40) seqPaths.add(created);
    }

    // ---- one random op -----------------------------------------------------------------
    static void oneOp() throws Exception {
        int s = rnd.nextInt(K);
        int r = rnd.nextInt(1000);
        if (r < 180) { // create
            int m = rnd.nextInt(10);
            CreateMode mode;
            String path;
            if (m < 4) mode = CreateMode.PERSISTENT;
            else if (m < 6) mode = CreateMode.EPHEMERAL;
            else if (m < 8) mode = CreateMode.PERSISTENT_SEQUENTIAL;
            else if (m < 9) mode = CreateMode.EPHEMERAL_SEQUENTIAL;
            else mode = CreateMode.CONTAINER;
            if (mode == CreateMode.CONTAINER) path = R + "/k" + rnd.nextInt(2);
            else if (mode.isSequential()) path = parentablePath() + "/s-";
            else path = parentablePath();
            byte[] data = randData();
            int acl = randAcl();
            boolean withStat = rnd.nextBoolean();
            final String p = path;
            Out[] o = step("create", p + " " + mode + " acl=" + ACL_NAMES[acl] + " data=" + hex(data) + (withStat ? " create2" : ""), s, (zk, out) -> {
                if (withStat) { Stat st = new Stat(); out.add(zk.create(p, data, acl(acl), mode, st)); out.stat(st); }
                else out.add(zk.create(p, data, acl(acl), mode));
            });
            String t = o[0].t.toString().trim();
            if (mode.isSequential() && !t.startsWith("ERR") && !t.startsWith("EXC")) record("create", p, t.split(" ")[0]);
        } else if (r < 300) { // setData
            String path = randPath();
            Out[] known = rnd.nextBoolean() ? probe(s, path) : null;
            int v = randVersion(known);
            byte[] data = randData();
            step("setData", path + " v=" + v + " data=" + hex(data), s, (zk, o) -> o.stat(zk.setData(path, data, v)));
        } else if (r < 400) { // delete
            String path = randPath();
            Out[] known = rnd.nextInt(4) != 0 ? probe(s, path) : null;
            int v = randVersion(known);
            step("delete", path + " v=" + v, s, (zk, o) -> { zk.delete(path, v); o.add("ok"); });
        } else if (r < 460) { // exists
            String path = randPath(); boolean w = rnd.nextInt(3) == 0;
            step("exists", path + " watch=" + w, s, (zk, o) -> o.stat(zk.exists(path, w)));
        } else if (r < 520) { // getData
            String path = randPath(); boolean w = rnd.nextInt(3) == 0;
            step("getData", path + " watch=" + w, s, (zk, o) -> { Stat st = new Stat(); o.add(hex(zk.getData(path, w, st))); o.stat(st); });
        } else if (r < 580) { // getChildren / getChildren2
            String path = randPath(); boolean w = rnd.nextInt(3) == 0; boolean two = rnd.nextBoolean();
            step(two ? "getChildren2" : "getChildren", path + " watch=" + w, s, (zk, o) -> {
                Stat st = two ? new Stat() : null;
                List<String> c = new ArrayList<>(two ? zk.getChildren(path, w, st) : zk.getChildren(path, w));
                Collections.sort(c);
                o.add(c);
                if (two) o.stat(st);
            });
        } else if (r < 680) { // multi
            int n = 1 + rnd.nextInt(4);
            List<Op> ops = new ArrayList<>();
            StringBuilder d = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int k = rnd.nextInt(10);
                String path = parentablePath();
                if (k < 3) {
                    int m = rnd.nextInt(3);
                    CreateMode mode = m == 0 ? CreateMode.PERSISTENT : m == 1 ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT_SEQUENTIAL;
                    String p = mode.isSequential() ? path + "/s-" : path;
                    ops.add(Op.create(p, b("m" + i), ZooDefs.Ids.OPEN_ACL_UNSAFE, mode));
                    d.append("create(").append(p).append(' ').append(mode).append(") ");
                } else if (k < 5) {
                    int v = rnd.nextInt(3) - 1;
                    ops.add(Op.delete(path, v));
                    d.append("delete(").append(path).append(" v=").append(v).append(") ");
                } else if (k < 8) {
                    int v = rnd.nextInt(4) - 1;
                    ops.add(Op.setData(path, b("ms" + i), v));
                    d.append("setData(").append(path).append(" v=").append(v).append(") ");
                } else {
                    int v = rnd.nextInt(3) - 1;
                    ops.add(Op.check(path, v));
                    d.append("check(").append(path).append(" v=").append(v).append(") ");
                }
            }
            Out[] o = step("multi", d.toString(), s, (zk, out) -> {
                try { results(out, zk.multi(ops)); }
                catch (KeeperException e) { out.err(e); if (e.getResults() != null) results(out, e.getResults()); }
            });
            for (String w : o[0].t.toString().split(" ")) if (w.contains("/s-")) record("multi", w, w);
        } else if (r < 710) { // multiRead
            int n = 1 + rnd.nextInt(3);
            List<Op> ops = new ArrayList<>();
            StringBuilder d = new StringBuilder();
            for (int i = 0; i < n; i++) {
                String path = randPath();
                if (rnd.nextBoolean()) { ops.add(Op.getData(path)); d.append("getData(").append(path).append(") "); }
                else { ops.add(Op.getChildren(path)); d.append("getChildren(").append(path).append(") "); }
            }
            step("multiRead", d.toString(), s, (zk, out) -> results(out, zk.multi(ops)));
        } else if (r < 760) { // setACL
            String path = randPath();
            int acl = randAcl();
            int v = rnd.nextInt(4) == 0 ? rnd.nextInt(3) : -1;
            step("setACL", path + " acl=" + ACL_NAMES[acl] + " v=" + v, s, (zk, o) -> o.stat(zk.setACL(path, acl(acl), v)));
        } else if (r < 790) { // getACL
            String path = randPath();
            step("getACL", path, s, (zk, o) -> { Stat st = new Stat(); o.add(aclText(zk.getACL(path, st))); o.stat(st); });
        } else if (r < 810) { // sync
            String path = randPath();
            step("sync", path, s, (zk, o) -> {
                CountDownLatch l = new CountDownLatch(1);
                int[] rc = new int[1];
                zk.sync(path, (rc0, p, ctx) -> { rc[0] = rc0; l.countDown(); }, null);
                if (!l.await(30, TimeUnit.SECONDS)) o.add("timeout"); else o.add("rc=" + rc[0]);
            });
        } else if (r < 830) { // getAllChildrenNumber
            String path = randPath();
            step("getAllChildrenNumber", path, s, (zk, o) -> o.add(zk.getAllChildrenNumber(path)));
        } else if (r < 850) { // getEphemerals
            String path = rnd.nextBoolean() ? R : randPath();
            step("getEphemerals", path, s, (zk, o) -> { List<String> l = new ArrayList<>(zk.getEphemerals(path)); Collections.sort(l); o.add(l); });
        } else if (r < 880) { // addWatch
            String path = randPath();
            AddWatchMode mode = rnd.nextBoolean() ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE;
            step("addWatch", path + " " + mode, s, (zk, o) -> { zk.addWatch(path, mode); o.add("ok"); });
        } else if (r < 910) { // removeWatches
            String path = randPath();
            Watcher.WatcherType[] types = Watcher.WatcherType.values();
            Watcher.WatcherType type = types[rnd.nextInt(types.length)];
            step("removeWatches", path + " " + type, s, (zk, o) -> { zk.removeAllWatches(path, type, false); o.add("ok"); });
        } else if (r < 940) { // bad paths, sent raw (the client library would refuse them)
            // and creates with flags the opcode does not allow (container / TTL via create, unknown)
            String[] bad = {"", "rel", R + "/", R + "//x", R + "/./x", R + "/../x", R + "/a\u0000b", R + "/a/.", "/zookeeper/quota/x/y"};
            String badPath = bad[rnd.nextInt(bad.length)];
            int kind = rnd.nextInt(7);
            String[] kinds = {"create", "delete", "exists", "getData", "setData", "getChildren", "create-flags"};
            int[] flagChoices = {4, 5, 6, 7, 99, -1, 3};
            int flags = flagChoices[rnd.nextInt(flagChoices.length)];
            final String path = kind == 6 ? R + "/" + NAMES[rnd.nextInt(3)] : badPath;
            step("badPath", kinds[kind] + " " + path.replace("\u0000", "\\0") + (kind == 6 ? " flags=" + flags : ""), s, (zk, o) -> {
                ReplyHeader h;
                switch (kind) {
                    case 0: h = raw(zk, ZooDefs.OpCode.create, new CreateRequest(path, b("x"), ZooDefs.Ids.OPEN_ACL_UNSAFE, 0), new CreateResponse()); break;
                    case 1: h = raw(zk, ZooDefs.OpCode.delete, new DeleteRequest(path, -1), null); break;
                    case 2: h = raw(zk, ZooDefs.OpCode.exists, new ExistsRequest(path, false), new ExistsResponse()); break;
                    case 3: h = raw(zk, ZooDefs.OpCode.getData, new GetDataRequest(path, false), new GetDataResponse()); break;
                    case 4: h = raw(zk, ZooDefs.OpCode.setData, new SetDataRequest(path, b("y"), -1), new SetDataResponse()); break;
                    case 6: h = raw(zk, ZooDefs.OpCode.create, new CreateRequest(path, b("f"), ZooDefs.Ids.OPEN_ACL_UNSAFE, flags), new CreateResponse()); break;
                    default: h = raw(zk, ZooDefs.OpCode.getChildren, new GetChildrenRequest(path, false), new GetChildrenResponse()); break;
                }
                o.add("err=" + KeeperException.Code.get(h.getErr()));
            });
        } else if (r < 955) { // session close, a fresh session in that slot
            reopen(s);
        } else { // nonexistent paths, read and write
            String path = R + "/missing/" + NAMES[rnd.nextInt(3)];
            int kind = rnd.nextInt(4);
            step("missing", kind + " " + path, s, (zk, o) -> {
                switch (kind) {
                    case 0: o.add(hex(zk.getData(path, false, null))); break;
                    case 1: zk.delete(path, -1); break;
                    case 2: o.stat(zk.setData(path, b("z"), -1)); break;
                    default: o.add(zk.create(path + "/c", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)); break;
                }
            });
        }
    }

    public static void main(String[] args) throws Exception {
        String a = null, bb = null;
        int ops = 10000;
        seed = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--a": a = args[++i]; break;
                case "--b": bb = args[++i]; break;
                case "--seed": seed = Long.parseLong(args[++i]); break;
                case "--ops": ops = Integer.parseInt(args[++i]); break;
                case "--sessions": K = Integer.parseInt(args[++i]); break;
                case "--close-events-unordered": closeUnordered = true; break;
                default: System.err.println("unknown argument " + args[i]); System.exit(2);
            }
        }
        if (a == null || bb == null) { System.err.println("usage: Differential --a host:port --b host:port --seed N --ops N [--sessions K]"); System.exit(2); }
        CNXN = ZooKeeper.class.getDeclaredField("cnxn");
        CNXN.setAccessible(true);
        DIG0_ALL = List.of(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("u0:p0"))));
        DIG1_RWC = List.of(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE | ZooDefs.Perms.CREATE,
            new Id("digest", DigestAuthenticationProvider.generateDigest("u1:p1"))));
        rnd = new Random(seed);
        R = "/diff-" + seed;
        A = new Side("A " + a, a, K);
        B = new Side("B " + bb, bb, K);
        for (int i = 0; i < K; i++) { open(A, i); open(B, i); }
        long t0 = System.nanoTime();
        opIndex = -1;
        step("create", R + " (root)", 0, (zk, o) -> o.add(zk.create(R, b("root"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
        for (opIndex = 0; opIndex < ops; opIndex++) {
            oneOp();
            if ((opIndex + 1) % 1000 == 0)
                System.out.println("progress ops=" + (opIndex + 1) + " events=" + eventsCompared + " zxids=" + a2b.size()
                    + " elapsed=" + (System.nanoTime() - t0) / 1000000 + "ms");
        }
        for (int i = 0; i < K; i++) { A.zk[i].close(); B.zk[i].close(); }
        System.out.println("counts " + counts);
        System.out.println("succeeded " + okCounts);
        System.out.println("SUMMARY seed=" + seed + " ops=" + ops + " sessions=" + K + " events=" + eventsCompared
            + " zxids=" + a2b.size() + " elapsed=" + (System.nanoTime() - t0) / 1000000 + "ms");
    }
}

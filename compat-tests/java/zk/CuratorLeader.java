// CuratorLeader: Curator LeaderLatch across JVM processes (leader election, as the seed
// uses it). Three member processes start a LeaderLatch on one path; a coordinator
// process (not a member) watches their published state and checks:
//   - exactly one leader, and every member agrees who it is;
//   - the leader closes its latch: another member takes over, still exactly one;
//   - the new leader's process is killed (SIGKILL): when its session expires the last
//     member takes over.
//
//   java CuratorLeader coordinator <connect> <base> <members>
//   java CuratorLeader member      <connect> <base> <id>
//
// Members publish <base>/state/<id> (ephemeral) = "<leader|follower|closed> <observed
// leader id> <pid>" and obey <base>/cmd/<id> = close, and <base>/cmd/all = exit.

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;

public class CuratorLeader {
    static int failures = 0;

    static void check(boolean cond, String what, String why) {
        if (cond) {
            System.out.println("ok   " + what);
        } else {
            failures++;
            System.out.println("FAIL " + what + ": " + why);
        }
    }

    static CuratorFramework client(String connect, int sessionMs) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, sessionMs, 15000,
            new ExponentialBackoffRetry(200, 10));
        c.start();
        if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        return c;
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return new String(b, StandardCharsets.UTF_8); }

    // ---- member ------------------------------------------------------------------------

    static void member(String connect, String base, String id) throws Exception {
        // a short session, so that a killed leader's session expires quickly
        CuratorFramework c = client(connect, 4000);
        long deadline = System.currentTimeMillis() + 60000;
        while (c.checkExists().forPath(base + "/cmd") == null) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no " + base + "/cmd");
            Thread.sleep(50);
        }
        LeaderLatch latch = new LeaderLatch(c, base + "/latch", id);
        latch.start();
        String statePath = base + "/state/" + id;
        long pid = ProcessHandle.current().pid();
        boolean closed = false;
        String last = null;
        try {
            while (true) {
                if (c.checkExists().forPath(base + "/cmd/all") != null) break;
                if (!closed && c.checkExists().forPath(base + "/cmd/" + id) != null) {
                    latch.close();
                    closed = true;
                    System.out.println(id + ": latch closed");
                }
                String role = closed ? "closed" : latch.hasLeadership() ? "leader" : "follower";
                String seen = "-";
                if (!closed) {
                    try {
                        Participant p = latch.getLeader();
                        if (p != null && p.getId() != null && !p.getId().isEmpty()) seen = p.getId();
                    } catch (Exception e) {
                        seen = "-";
                    }
                }
                String state = role + " " + seen + " " + pid;
                if (!state.equals(last)) {
                    if (c.checkExists().forPath(statePath) == null) {
                        c.create().withMode(CreateMode.EPHEMERAL).forPath(statePath, b(state));
                    } else {
                        c.setData().forPath(statePath, b(state));
                    }
                    System.out.println(id + ": " + state);
                    last = state;
                }
                Thread.sleep(100);
            }
        } finally {
            if (!closed) latch.close();
            c.close();
        }
    }

    // ---- coordinator -------------------------------------------------------------------

    /** id -> "role seen pid" for every live member. */
    static Map<String, String[]> states(CuratorFramework c, String base) throws Exception {
        Map<String, String[]> m = new HashMap<>();
        for (String id : c.getChildren().forPath(base + "/state")) {
            try {
                m.put(id, s(c.getData().forPath(base + "/state/" + id)).split(" "));
            } catch (Exception e) {
                // vanished between the two reads
            }
        }
        return m;
    }

    /**
     * Waits until the live, non-closed members are exactly `expect`, one of them is leader,
     * the others follow, and all of them name that leader; then holds that for 1 s.
     * Returns the leader id, or null on time-out.
     */
    static String stableLeader(CuratorFramework c, String base, int expect, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        String candidate = null;
        long since = 0;
        Map<String, String[]> m = null;
        while (System.currentTimeMillis() < deadline) {
            m = states(c, base);
            String leader = null;
            int leaders = 0, active = 0;
            for (Map.Entry<String, String[]> e : m.entrySet()) {
                String role = e.getValue()[0];
                if (role.equals("closed")) continue;
                active++;
                if (role.equals("leader")) { leaders++; leader = e.getKey(); }
            }
            boolean agree = leaders == 1 && active == expect;
            if (agree) {
                for (Map.Entry<String, String[]> e : m.entrySet()) {
                    if (!e.getValue()[0].equals("closed") && !e.getValue()[1].equals(leader)) agree = false;
                }
            }
            if (leaders > 1) {
                failures++;
                System.out.println("FAIL two leaders at once: " + describe(m));
                return null;
            }
            if (agree) {
                if (!leader.equals(candidate)) { candidate = leader; since = System.currentTimeMillis(); }
                if (System.currentTimeMillis() - since >= 1000) return leader;
            } else {
                candidate = null;
            }
            Thread.sleep(100);
        }
        System.out.println("no stable leader within " + ms + " ms: " + describe(m));
        return null;
    }

    static String describe(Map<String, String[]> m) {
        StringBuilder sb = new StringBuilder();
        if (m == null) return "";
        for (Map.Entry<String, String[]> e : m.entrySet()) sb.append(e.getKey()).append('=').append(String.join(" ", e.getValue())).append("; ");
        return sb.toString();
    }

    static void coordinator(String connect, String base, int members) throws Exception {
        CuratorFramework c = client(connect, 15000);
        try {
            c.create().creatingParentsIfNeeded().forPath(base + "/state");
            c.create().forPath(base + "/cmd");
            long deadline = System.currentTimeMillis() + 60000;
            while (c.getChildren().forPath(base + "/state").size() < members) {
                if (System.currentTimeMillis() > deadline) throw new IllegalStateException("members did not register");
                Thread.sleep(100);
            }
            String first = stableLeader(c, base, members, 30000);
            check(first != null, "exactly one leader among " + members + ", all members agree", "none");
            if (first == null) return;
            System.out.println("leader: " + first);

            // what Curator itself reports about the participants
            LeaderLatch observer = new LeaderLatch(c, base + "/latch", "observer");
            // (not started: used only to read participants)
            java.util.Collection<Participant> ps = observer.getParticipants();
            int leadersSeen = 0;
            for (Participant p : ps) if (p.isLeader()) leadersSeen++;
            check(ps.size() == members && leadersSeen == 1 && observer.getLeader().getId().equals(first),
                  "getParticipants: " + members + " participants, one leader", ps.toString());

            // 1. the leader closes its latch
            c.create().forPath(base + "/cmd/" + first);
            String second = stableLeader(c, base, members - 1, 30000);
            check(second != null && !second.equals(first), "after the leader closes, another takes over",
                  "leader " + second);
            if (second == null) return;
            System.out.println("leader: " + second);

            // 2. the new leader's process dies: its session expires, the last member takes over
            String pid = states(c, base).get(second)[2];
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            System.out.println("killed " + second + " (pid " + pid + ")");
            String third = stableLeader(c, base, members - 2, 40000);
            check(third != null && !third.equals(first) && !third.equals(second),
                  "after the leader's process is killed, the last member takes over", "leader " + third);
            List<String> latchKids = c.getChildren().forPath(base + "/latch");
            check(latchKids.size() == members - 2, "latch holds one node per live member", latchKids.toString());
        } finally {
            try {
                c.create().forPath(base + "/cmd/all");
                long deadline = System.currentTimeMillis() + 20000;
                while (!c.getChildren().forPath(base + "/state").isEmpty() && System.currentTimeMillis() < deadline)
                    Thread.sleep(100);
                c.delete().deletingChildrenIfNeeded().forPath(base);
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
            c.close();
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0], connect = args[1], base = args[2];
        if (mode.equals("member")) {
            member(connect, base, args[3]);
            return;
        }
        try {
            coordinator(connect, base, Integer.parseInt(args[3]));
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL unexpected exception: " + e);
            e.printStackTrace(System.out);
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}

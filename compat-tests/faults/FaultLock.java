// FaultLock: one Curator client of the fault suite's lock workload (scripts/zk-fault-suite).
//
//   java FaultLock <connect> <base> <client-id> <stop-file> <log-file>
//
// Loops until <stop-file> exists: acquires an InterProcessMutex on <base>/lock, then in
// the critical section
//   1. creates the ephemeral marker <base>/holder (data "<id>-<seq>"); NodeExists means
//      another client's marker is there while we hold the lock: an OVERLAP;
//   2. reads <base>/counter (value v);
//   3. commits one transaction: setData(counter, v+1) (unconditional, so a lost update
//      stays visible as a duplicate value), create(<base>/incs/<id>-<seq>, "v+1"), and
//      delete(holder);
// then releases the lock. An acknowledged transaction is a successful increment. A
// transaction that failed with an exception may still have been applied (the ack was
// lost): it is logged as `ambiguous` and resolved at the end by whether its
// incs/<id>-<seq> marker exists. Before releasing after any failure the client makes
// sure its marker is gone, so a stale marker never looks like an overlap.
//
// Log lines (tab-separated, wall-clock milliseconds first):
//   <ms> ok        <seq> <holder-czxid> <counter-mzxid> <value>
//   <ms> ambiguous <seq> <value> <error>
//   <ms> fail      <seq> <stage> <error>
//   <ms> overlap   <seq> <other holder's data>
//   <ms> summary   acked=<n> ambiguous=<n> failures=<n> overlaps=<n>
// Exit 0 unless the client could not start at all.
//
// -Dplant.unlocked.seq=N (the suite's --plant, to prove the checks can fail): attempt N
// skips the lock and the marker and writes v+1 half a second after reading v, so other
// clients' increments in between are lost; it is logged as an ordinary success.

import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public class FaultLock {
    static final int SESSION_TIMEOUT_MS = 15000;
    static final int CONNECTION_TIMEOUT_MS = 5000;
    static final int ACQUIRE_TIMEOUT_S = 10;
    static final long MARKER_CLEANUP_BUDGET_MS = 60000;
    static final long PAUSE_AFTER_FAILURE_MS = 200;

    static final long PLANTED_UNLOCKED_SEQ = Long.getLong("plant.unlocked.seq", -1);
    static final long PLANTED_PAUSE_MS = 500;

    static PrintWriter out;

    static synchronized void log(String... fields) {
        StringBuilder line = new StringBuilder(Long.toString(System.currentTimeMillis()));
        for (String f : fields) line.append('\t').append(f.replace('\t', ' ').replace('\n', ' '));
        out.println(line);
        out.flush();
    }

    static String err(Exception e) {
        if (e instanceof KeeperException) return ((KeeperException) e).code().name();
        return e.getClass().getSimpleName() + ":" + e.getMessage();
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static void sleep(long ms) {
        try { Thread.sleep(ms); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
    }

    public static void main(String[] args) throws IOException {
        String connect = args[0], base = args[1], id = args[2], stopFile = args[3];
        out = new PrintWriter(new FileWriter(args[4], true));
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, SESSION_TIMEOUT_MS,
            CONNECTION_TIMEOUT_MS, new RetryNTimes(3, 200));
        c.start();
        long acked = 0, ambiguous = 0, failures = 0, overlaps = 0;
        try {
            if (!c.blockUntilConnected(60, TimeUnit.SECONDS)) {
                log("fail", "0", "connect", "not connected in 60 s");
                System.exit(2);
            }
            for (String p : new String[] {base + "/incs", base + "/lock"}) {
                try { c.create().creatingParentsIfNeeded().forPath(p); } catch (KeeperException.NodeExistsException e) { /* another client */ }
            }
            try { c.create().forPath(base + "/counter", b("0")); } catch (KeeperException.NodeExistsException e) { /* another client */ }
        } catch (Exception e) {
            log("fail", "0", "setup", err(e));
            System.exit(2);
        }
        InterProcessMutex mutex = new InterProcessMutex(c, base + "/lock");
        String holder = base + "/holder", counter = base + "/counter";
        long seq = 0;
        while (!Files.exists(Paths.get(stopFile))) {
            seq++;
            String tag = id + "-" + seq;
            if (seq == PLANTED_UNLOCKED_SEQ) {
                plantUnlockedIncrement(c, base, tag, seq);
                continue;
            }
            try {
                if (!mutex.acquire(ACQUIRE_TIMEOUT_S, TimeUnit.SECONDS)) {
                    failures++;
                    log("fail", Long.toString(seq), "acquire", "timeout");
                    continue;
                }
            } catch (Exception e) {
                failures++;
                log("fail", Long.toString(seq), "acquire", err(e));
                sleep(PAUSE_AFTER_FAILURE_MS);
                continue;
            }
            boolean markerMayExist = false;
            try {
                Stat holderStat = new Stat();
                markerMayExist = true;
                try {
                    c.create().storingStatIn(holderStat).withMode(CreateMode.EPHEMERAL).forPath(holder, b(tag));
                } catch (KeeperException.NodeExistsException e) {
                    Stat seen = new Stat();
                    String other = new String(c.getData().storingStatIn(seen).forPath(holder), StandardCharsets.UTF_8);
                    if (!other.equals(tag)) {
                        // not ours (a retried create of ours would carry our tag): two holders
                        markerMayExist = false;
                        overlaps++;
                        log("overlap", Long.toString(seq), other);
                        continue;
                    }
                    holderStat = seen;
                }
                Stat counterStat = new Stat();
                long v = Long.parseLong(new String(c.getData().storingStatIn(counterStat).forPath(counter), StandardCharsets.UTF_8).trim());
                String next = Long.toString(v + 1);
                try {
                    List<CuratorTransactionResult> results = c.transaction().forOperations(
                        c.transactionOp().setData().forPath(counter, b(next)),
                        c.transactionOp().create().forPath(base + "/incs/" + tag, b(next)),
                        c.transactionOp().delete().forPath(holder));
                    markerMayExist = false;
                    long mzxid = -1;
                    for (CuratorTransactionResult r : results)
                        if (r.getType() == OperationType.SET_DATA && r.getResultStat() != null) mzxid = r.getResultStat().getMzxid();
                    acked++;
                    log("ok", Long.toString(seq), Long.toString(holderStat.getCzxid()), Long.toString(mzxid), next);
                } catch (Exception e) {
                    ambiguous++;
                    log("ambiguous", Long.toString(seq), next, err(e));
                }
            } catch (Exception e) {
                failures++;
                log("fail", Long.toString(seq), "critical-section", err(e));
            } finally {
                if (markerMayExist) removeMarker(c, holder, tag, seq);
                try {
                    mutex.release();
                } catch (Exception e) {
                    log("fail", Long.toString(seq), "release", err(e));
                }
            }
        }
        log("summary", "acked=" + acked, "ambiguous=" + ambiguous, "failures=" + failures, "overlaps=" + overlaps);
        c.close();
        out.close();
    }

    /** The planted bug: an increment without the lock, logged as a success. */
    static void plantUnlockedIncrement(CuratorFramework c, String base, String tag, long seq) {
        try {
            Stat read = new Stat();
            long v = Long.parseLong(new String(c.getData().storingStatIn(read).forPath(base + "/counter"), StandardCharsets.UTF_8).trim());
            sleep(PLANTED_PAUSE_MS);
            String next = Long.toString(v + 1);
            List<CuratorTransactionResult> results = c.transaction().forOperations(
                c.transactionOp().setData().forPath(base + "/counter", b(next)),
                c.transactionOp().create().forPath(base + "/incs/" + tag, b(next)));
            long mzxid = -1;
            for (CuratorTransactionResult r : results)
                if (r.getType() == OperationType.SET_DATA && r.getResultStat() != null) mzxid = r.getResultStat().getMzxid();
            log("ok", Long.toString(seq), Long.toString(read.getMzxid()), Long.toString(mzxid), next);
        } catch (Exception e) {
            log("fail", Long.toString(seq), "planted", err(e));
        }
    }

    /** Deletes our marker (only if it is ours) before the lock is released; gives up when the session is gone. */
    static void removeMarker(CuratorFramework c, String holder, String tag, long seq) {
        long deadline = System.currentTimeMillis() + MARKER_CLEANUP_BUDGET_MS;
        while (System.currentTimeMillis() < deadline) {
            try {
                Stat s = new Stat();
                String data = new String(c.getData().storingStatIn(s).forPath(holder), StandardCharsets.UTF_8);
                if (!data.equals(tag)) return;
                c.delete().withVersion(s.getVersion()).forPath(holder);
                return;
            } catch (KeeperException.NoNodeException | KeeperException.SessionExpiredException e) {
                return; // gone, or our session (and with it the ephemeral) is gone
            } catch (Exception e) {
                sleep(PAUSE_AFTER_FAILURE_MS);
            }
        }
        log("fail", Long.toString(seq), "marker-cleanup", "gave up after " + MARKER_CLEANUP_BUDGET_MS + " ms");
    }
}

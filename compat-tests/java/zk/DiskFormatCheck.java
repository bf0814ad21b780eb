// DiskFormatCheck: the Java side of the zk-disk-format suite. Reads (and, for the
// Apache-writes direction, makes) the tree a ZooKeeper server serves, and prints it in
// the same one-line-per-node form as keel's persistence tests
// (src/zookeeper/persistence/tests/workload.rs, `dump`), so the two can be diffed.
//
//   java DiskFormatCheck dump     <connect-string> <out-file>
//   java DiskFormatCheck populate <connect-string> <out-file>
//
// populate writes a mix of nodes (persistent, null and binary data, sequential, deletes,
// sets, ephemeral and ephemeral-sequential, digest / ip / read-only ACLs, setACL,
// container, multi, a second session closed with its ephemerals), dumps the tree, prints
// "session 0x<id>" and halts without closing its session, so its ephemerals stay in
// the server's log as they would after a crash.

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class DiskFormatCheck {
    static final String DIGEST_USER_PASSWORD = "keel:secret";

    static ZooKeeper connect(String connect, int timeoutMs) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, timeoutMs, event -> {
            if (event.getState() == KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        if (!connected.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("could not connect to " + connect);
        }
        zk.addAuthInfo("digest", DIGEST_USER_PASSWORD.getBytes(StandardCharsets.UTF_8));
        return zk;
    }

    static String hex(byte[] data) {
        if (data == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder();
        for (byte b : data) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }

    static void collect(ZooKeeper zk, String path, List<String> lines) throws Exception {
        Stat stat = new Stat();
        byte[] data = zk.getData(path, false, stat);
        List<ACL> acl = zk.getACL(path, new Stat());
        List<String> aclParts = new ArrayList<>();
        for (ACL entry : acl) {
            aclParts.add(entry.getPerms() + ":" + entry.getId().getScheme() + ":" + entry.getId().getId());
        }
        lines.add(path + " data=" + hex(data) + " stat=" + stat.getCzxid() + "," + stat.getMzxid() + ","
            + stat.getCtime() + "," + stat.getMtime() + "," + stat.getVersion() + "," + stat.getCversion()
            + "," + stat.getAversion() + "," + stat.getEphemeralOwner() + "," + stat.getDataLength() + ","
            + stat.getNumChildren() + "," + stat.getPzxid() + " acl=" + String.join(";", aclParts));
        List<String> children = zk.getChildren(path, false);
        Collections.sort(children);
        for (String child : children) {
            collect(zk, path.equals("/") ? "/" + child : path + "/" + child, lines);
        }
    }

    static void dump(ZooKeeper zk, String outFile) throws Exception {
        List<String> lines = new ArrayList<>();
        collect(zk, "/", lines);
        Collections.sort(lines);
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Paths.get(outFile)))) {
            for (String line : lines) {
                out.print(line + "\n");
            }
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static void populate(ZooKeeper zk, ZooKeeper other) throws Exception {
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        String p = "/apache";
        zk.create(p, bytes("stage"), open, CreateMode.PERSISTENT);
        zk.create(p + "/null", null, open, CreateMode.PERSISTENT);
        zk.create(p + "/binary", new byte[] {0, 1, 2, (byte) 0xfe, (byte) 0xff}, open, CreateMode.PERSISTENT);
        List<String> sequential = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sequential.add(zk.create(p + "/seq-", bytes("s"), open, CreateMode.PERSISTENT_SEQUENTIAL));
        }
        zk.delete(sequential.get(1), -1);
        zk.setData(p + "/binary", bytes("changed"), -1);
        zk.setData(p + "/binary", bytes("changed again"), -1);
        zk.create(p + "/ephemeral", bytes("mine"), open, CreateMode.EPHEMERAL);
        other.create(p + "/ephemeral-seq-", bytes("theirs"), open, CreateMode.EPHEMERAL_SEQUENTIAL);
        other.create(p + "/gone-with-session", bytes("x"), open, CreateMode.EPHEMERAL);
        List<ACL> digestAcl = Arrays.asList(
            new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest(DIGEST_USER_PASSWORD))),
            new ACL(ZooDefs.Perms.READ, new Id("ip", "127.0.0.1")));
        zk.create(p + "/digest", bytes("d"), digestAcl, CreateMode.PERSISTENT);
        zk.create(p + "/readonly", bytes("r"), ZooDefs.Ids.READ_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p + "/container", null, open, CreateMode.CONTAINER);
        zk.create(p + "/container/child", null, open, CreateMode.PERSISTENT);
        zk.setACL(p + "/null", Arrays.asList(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, ZooDefs.Ids.ANYONE_ID_UNSAFE)), -1);
        zk.multi(Arrays.asList(
            Op.create(p + "/multi", bytes("m"), open, CreateMode.PERSISTENT),
            Op.setData(p, bytes("stage after multi"), -1)));
        try {
            zk.delete("/does-not-exist", -1);
        } catch (KeeperException.NoNodeException expected) {
            // Logged as an error txn, changes nothing.
        }
        // Enough writes to cross a few snapshots (the suite sets snapCount low).
        for (int i = 0; i < 40; i++) {
            zk.create(p + "/bulk-" + i, bytes("value " + i), open, CreateMode.PERSISTENT);
            if (i % 3 == 0) {
                zk.setData(p + "/bulk-" + i, bytes("set " + i), -1);
            }
            if (i % 5 == 0) {
                zk.delete(p + "/bulk-" + i, -1);
            }
        }
        other.close();
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String connect = args[1];
        String outFile = args[2];
        ZooKeeper zk = connect(connect, 120_000);
        if (mode.equals("dump")) {
            dump(zk, outFile);
            zk.close();
        } else if (mode.equals("populate")) {
            ZooKeeper other = connect(connect, 10_000);
            populate(zk, other);
            dump(zk, outFile);
            System.out.println("session 0x" + Long.toHexString(zk.getSessionId()));
            System.out.flush();
            // No closeSession: the session and its ephemerals stay in the log.
            Runtime.getRuntime().halt(0);
        } else {
            throw new IllegalArgumentException("mode must be dump or populate");
        }
    }
}

// Prints, as `name=hex` lines, the bytes Apache ZooKeeper 3.9 itself produces on
// the election and learner ports: keel's quorum wire tests decode each line and
// re-encode it byte for byte (tests/fixtures/quorum/golden.txt).
//
// Run with compat-tests/java/quorum-golden/generate (jars from Maven Central at
// versions.env's ZOOKEEPER_VERSION). Every value is fixed, so the output is the
// same on every run; only Apache's hash-set iteration orders could change it,
// and the names below were chosen so those orders are also sorted orders
// (a child set holds 8 buckets: "a" falls in 1, "c" in 3, "zookeeper" in 4).

import java.io.ByteArrayOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import org.apache.jute.BinaryOutputArchive;
import org.apache.jute.Record;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.common.NetUtils;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.proto.CreateRequest;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.persistence.Util;
import org.apache.zookeeper.server.quorum.FastLeaderElection;
import org.apache.zookeeper.server.quorum.Leader;
import org.apache.zookeeper.server.quorum.LearnerInfo;
import org.apache.zookeeper.server.quorum.QuorumCnxManager;
import org.apache.zookeeper.server.quorum.QuorumPacket;
import org.apache.zookeeper.server.quorum.flexible.QuorumMaj;
import org.apache.zookeeper.server.util.SerializeUtils;
import org.apache.zookeeper.txn.CloseSessionTxn;
import org.apache.zookeeper.txn.CreateTxn;
import org.apache.zookeeper.txn.DeleteTxn;
import org.apache.zookeeper.txn.MultiTxn;
import org.apache.zookeeper.txn.SetDataTxn;
import org.apache.zookeeper.txn.Txn;
import org.apache.zookeeper.txn.TxnDigest;
import org.apache.zookeeper.txn.TxnHeader;

public class QuorumGolden {
    static final long SESSION = 0x0300018b2c4d0000L;
    static final long EPOCH_ZXID = 0x500000000L;

    static void emit(String name, byte[] bytes) {
        StringBuilder hex = new StringBuilder();
        for (byte b : bytes) {
            hex.append(String.format("%02x", b));
        }
        System.out.println(name + "=" + hex);
    }

    static byte[] record(Record record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryOutputArchive.getArchive(out).writeRecord(record, "r");
        return out.toByteArray();
    }

    /** QuorumCnxManager.startConnection's header, written as it writes it. */
    static byte[] initialMessage(long version, long sid, List<InetSocketAddress> addresses) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeLong(version);
        out.writeLong(sid);
        String joined = addresses.stream().map(NetUtils::formatInetAddr).collect(Collectors.joining("|"));
        byte[] addr = joined.getBytes(StandardCharsets.UTF_8);
        out.writeInt(addr.length);
        out.write(addr);
        out.flush();
        byte[] result = bytes.toByteArray();
        // Apache's own acceptor must take it.
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(result));
        long first = in.readLong();
        QuorumCnxManager.InitialMessage parsed = QuorumCnxManager.InitialMessage.parse(first, in);
        if (parsed.sid != sid) {
            throw new IllegalStateException("InitialMessage did not parse back");
        }
        return result;
    }

    static String quorumConfig(String version) throws Exception {
        Properties props = new Properties();
        props.setProperty("server.1", "127.0.0.1:2888:3888");
        props.setProperty("server.2", "127.0.0.2:2888:3888;2181");
        props.setProperty("server.3", "127.0.0.3:2888:3888:participant;127.0.0.3:2182");
        props.setProperty("server.4", "[::1]:2890:3890:observer");
        if (version != null) {
            props.setProperty("version", version);
        }
        return new QuorumMaj(props).toString();
    }

    /** Leader's packet type constants; most are package-private. */
    static int type(String name) throws Exception {
        java.lang.reflect.Field field = Leader.class.getDeclaredField(name);
        field.setAccessible(true);
        return field.getInt(null);
    }

    static byte[] packet(int type, long zxid, byte[] data, List<Id> authinfo) throws Exception {
        return record(new QuorumPacket(type, zxid, data, authinfo));
    }

    public static void main(String[] args) throws Exception {
        // Election port: the connection header, V1 (one address) and V2 (all).
        emit("initial_message_v1", initialMessage(QuorumCnxManager.PROTOCOL_VERSION_V1, 3,
            Arrays.asList(new InetSocketAddress("127.0.0.3", 3888))));
        emit("initial_message_v2", initialMessage(QuorumCnxManager.PROTOCOL_VERSION_V2, 3,
            Arrays.asList(new InetSocketAddress("127.0.0.3", 3888), new InetSocketAddress("::1", 3889))));

        // The config strings a notification and NEWLEADER carry.
        String config = quorumConfig(null);
        emit("config_string", config.getBytes(StandardCharsets.UTF_8));
        String newLeaderConfig = quorumConfig(Long.toHexString(EPOCH_ZXID));
        emit("config_string_versioned", newLeaderConfig.getBytes(StandardCharsets.UTF_8));

        // Notifications: FastLeaderElection.buildMsg, the 3.9 layout and 3.4's 40 bytes.
        Method build = FastLeaderElection.class.getDeclaredMethod("buildMsg",
            int.class, long.class, long.class, long.class, long.class, byte[].class);
        build.setAccessible(true);
        ByteBuffer notification = (ByteBuffer) build.invoke(null, 2, 3L, 0x400000007L, 9L, 4L,
            config.getBytes(StandardCharsets.UTF_8));
        emit("notification", notification.array());
        ByteBuffer looking = (ByteBuffer) build.invoke(null, 0, 1L, 0L, 1L, 0L, new byte[0]);
        emit("notification_empty_config", looking.array());
        Method buildOld = FastLeaderElection.class.getDeclaredMethod("buildMsg",
            int.class, long.class, long.class, long.class, long.class);
        buildOld.setAccessible(true);
        emit("notification_40", ((ByteBuffer) buildOld.invoke(null, 1, 2L, 0x300000001L, 5L, 3L)).array());

        // Learner port: every packet type, with payloads built as Apache builds them.
        List<ACL> digestAcl = Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("digest", "u:Zf8Ng5b1wD2tWUHT5IJQf0uSLZo=")));
        List<Id> auth = Arrays.asList(new Id("ip", "127.0.0.1"), new Id("digest", "u"));

        // REQUEST: Learner.request.
        ByteArrayOutputStream request = new ByteArrayOutputStream();
        DataOutputStream requestOut = new DataOutputStream(request);
        requestOut.writeLong(SESSION);
        requestOut.writeInt(7);
        requestOut.writeInt(ZooDefs.OpCode.create);
        requestOut.write(record(new CreateRequest("/app", "hi".getBytes(StandardCharsets.UTF_8), digestAcl, 0)));
        requestOut.close();
        emit("packet_request", packet(type("REQUEST"), -1, request.toByteArray(), auth));
        // createSession, forwarded with an empty auth list.
        ByteArrayOutputStream createSession = new ByteArrayOutputStream();
        DataOutputStream createSessionOut = new DataOutputStream(createSession);
        createSessionOut.writeLong(SESSION);
        createSessionOut.writeInt(0);
        createSessionOut.writeInt(ZooDefs.OpCode.createSession);
        createSessionOut.writeInt(30000);
        createSessionOut.close();
        emit("packet_request_create_session", packet(type("REQUEST"), -1, createSession.toByteArray(), new ArrayList<>()));

        // PROPOSAL: Request.getSerializeData -> Util.marshallTxnEntry.
        long zxid = EPOCH_ZXID + 1;
        byte[] create = Util.marshallTxnEntry(
            new TxnHeader(SESSION, 7, zxid, 1700000000123L, ZooDefs.OpCode.create),
            new CreateTxn("/app", "hi".getBytes(StandardCharsets.UTF_8), digestAcl, false, 1),
            new TxnDigest(2, 0x1234567890abcdefL));
        emit("packet_proposal", packet(type("PROPOSAL"), zxid, create, null));
        byte[] setData = Util.marshallTxnEntry(
            new TxnHeader(SESSION, 8, zxid + 1, 1700000000456L, ZooDefs.OpCode.setData),
            new SetDataTxn("/app", null, 1), null);
        emit("packet_proposal_set_data", packet(type("PROPOSAL"), zxid + 1, setData, null));
        ByteArrayOutputStream deleteBytes = new ByteArrayOutputStream();
        BinaryOutputArchive.getArchive(deleteBytes).writeRecord(new DeleteTxn("/app"), "txn");
        List<Txn> txns = new ArrayList<>();
        txns.add(new Txn(ZooDefs.OpCode.delete, deleteBytes.toByteArray()));
        byte[] multi = Util.marshallTxnEntry(
            new TxnHeader(SESSION, 9, zxid + 2, 1700000000789L, ZooDefs.OpCode.multi),
            new MultiTxn(txns), new TxnDigest(2, -5L));
        emit("packet_proposal_multi", packet(type("PROPOSAL"), zxid + 2, multi, null));
        byte[] closeSession = Util.marshallTxnEntry(
            new TxnHeader(SESSION, 0, zxid + 3, 1700000001000L, ZooDefs.OpCode.closeSession),
            new CloseSessionTxn(Arrays.asList("/eph")), new TxnDigest(2, 42L));

        // ACK (SendAckRequestProcessor), COMMIT (Leader.commit).
        emit("packet_ack", packet(type("ACK"), zxid, null, null));
        emit("packet_commit", packet(type("COMMIT"), zxid, null, null));
        // PING: the leader's (LearnerHandler.ping), the learner's reply (Learner.ping).
        emit("packet_ping_leader", packet(type("PING"), zxid, null, null));
        ByteArrayOutputStream touches = new ByteArrayOutputStream();
        DataOutputStream touchesOut = new DataOutputStream(touches);
        touchesOut.writeLong(SESSION);
        touchesOut.writeInt(30000);
        touchesOut.writeLong(SESSION + 1);
        touchesOut.writeInt(4000);
        touchesOut.close();
        emit("packet_ping_learner", packet(type("PING"), zxid, touches.toByteArray(), null));
        emit("packet_ping_learner_empty", packet(type("PING"), zxid, new ByteArrayOutputStream().toByteArray(), null));
        // REVALIDATE: Learner.validateSession, then Leader.revalidateSession's reply.
        ByteArrayOutputStream revalidate = new ByteArrayOutputStream();
        DataOutputStream revalidateOut = new DataOutputStream(revalidate);
        revalidateOut.writeLong(SESSION);
        revalidateOut.writeInt(30000);
        revalidateOut.close();
        emit("packet_revalidate_request", packet(type("REVALIDATE"), -1, revalidate.toByteArray(), null));
        ByteArrayOutputStream valid = new ByteArrayOutputStream();
        DataOutputStream validOut = new DataOutputStream(valid);
        validOut.writeLong(SESSION);
        validOut.writeBoolean(true);
        validOut.close();
        emit("packet_revalidate_reply", packet(type("REVALIDATE"), -1, valid.toByteArray(), null));
        // SYNC (Leader.sendSync), INFORM (Leader.inform).
        emit("packet_sync", packet(type("SYNC"), 0, null, null));
        emit("packet_inform", packet(type("INFORM"), zxid + 3, closeSession, null));
        // NEWLEADER (LearnerHandler: the last seen config, versioned by Leader.lead).
        emit("packet_newleader", packet(type("NEWLEADER"), EPOCH_ZXID,
            newLeaderConfig.getBytes(StandardCharsets.UTF_8), null));
        // FOLLOWERINFO / OBSERVERINFO (Learner.registerWithLeader).
        byte[] info = record(new LearnerInfo(3, 0x10000, 0));
        emit("packet_followerinfo", packet(type("FOLLOWERINFO"), 0x400000000L, info, null));
        emit("packet_observerinfo", packet(type("OBSERVERINFO"), 0x400000000L, record(new LearnerInfo(4, 0x10000, 0)), null));
        // UPTODATE, DIFF, TRUNC, SNAP (LearnerHandler).
        emit("packet_uptodate", packet(type("UPTODATE"), -1, null, null));
        emit("packet_diff", packet(type("DIFF"), 0x400000007L, null, null));
        emit("packet_trunc", packet(type("TRUNC"), 0x400000005L, null, null));
        emit("packet_snap", packet(type("SNAP"), 0x400000007L, null, null));
        // LEADERINFO (LearnerHandler), ACKEPOCH (Learner.registerWithLeader).
        byte[] version = new byte[4];
        ByteBuffer.wrap(version).putInt(0x10000);
        emit("packet_leaderinfo", packet(type("LEADERINFO"), EPOCH_ZXID, version, null));
        byte[] epoch = new byte[4];
        ByteBuffer.wrap(epoch).putInt(4);
        emit("packet_ackepoch", packet(type("ACKEPOCH"), 0x400000007L, epoch, null));
        byte[] noEpoch = new byte[4];
        ByteBuffer.wrap(noEpoch).putInt(-1);
        emit("packet_ackepoch_already", packet(type("ACKEPOCH"), 0x400000007L, noEpoch, null));
        // Reconfig packets keel does not support.
        byte[] designated = new byte[8];
        ByteBuffer.wrap(designated).putLong(3);
        emit("packet_commitandactivate", packet(type("COMMITANDACTIVATE"), zxid, designated, null));
        emit("packet_informandactivate", record(Leader.buildInformAndActivePacket(zxid, 3, setData)));

        // SNAP stream: ZKDatabase.serializeSnapshot then LearnerHandler's signature.
        DataTree tree = new DataTree();
        tree.createNode("/a", "alpha".getBytes(StandardCharsets.UTF_8), ZooDefs.Ids.OPEN_ACL_UNSAFE, 0, 0, 0x100000001L, 1700000000001L);
        tree.createNode("/a/b", null, digestAcl, 0, 1, 0x100000002L, 1700000000002L);
        tree.createNode("/a/c", new byte[0], ZooDefs.Ids.READ_ACL_UNSAFE, 0, 2, 0x100000003L, 1700000000003L);
        tree.createNode("/c", "x".getBytes(StandardCharsets.UTF_8), digestAcl, SESSION, 1, 0x100000004L, 1700000000004L);
        tree.setData("/a", "alpha2".getBytes(StandardCharsets.UTF_8), 1, 0x100000005L, 1700000000005L);
        Map<Long, Integer> sessions = new HashMap<>();
        sessions.put(SESSION, 30000);
        ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
        BinaryOutputArchive snapshotOut = BinaryOutputArchive.getArchive(snapshot);
        SerializeUtils.serializeSnapshot(tree, snapshotOut, sessions);
        snapshotOut.writeString("BenWasHere", "signature");
        emit("snapshot_stream", snapshot.toByteArray());
    }
}

// FailoverProbe: the client side of bench/kafka-cluster.sh's failover test. One JVM,
// Kafka's own Java clients (kafka-clients 3.9, and the ZooKeeper client Kafka 3.9 ships).
//
//   java FailoverProbe <bootstrap> <topic> <partitions> <records/s per partition> <zk connect> <out file>
//
// 1. Creates <topic> with <partitions> partitions, replication factor 3 (AdminClient),
//    then waits until every partition of every topic in the cluster has a leader and
//    its whole replica set in the ISR (a broker restarted by the previous repetition
//    has caught up), and prints "ready isr_full_us=<t> controller=<id> leaders=<p>=<id>,..."
//    to stdout.
// 2. Sends records of 100 B to each partition in turn (explicit partition) on a fixed
//    schedule, <records/s per partition> x <partitions> in all: one idempotent
//    producer, acks=all, linger.ms=0 (a paced stream), retry.backoff.max.ms and
//    reconnect.backoff.max.ms 100 (the defaults, 1000, let the client look for the new
//    leader only about once a second after a failure, which would add up to a second
//    of client-side noise to what is the cluster's failover time), otherwise the client
//    defaults (retries without limit within delivery.timeout.ms = 120 s, so records sent
//    while a partition has no leader wait in the client and go to the new leader).
// 3. Meanwhile it watches /brokers/ids in ZooKeeper (a child watch, re-armed on every
//    change), so the script can tell when a killed broker's session expired.
// Until <out file>.stop exists, it appends to <out file> (wall-clock microseconds since
// the epoch, the clock the script's $EPOCHREALTIME reads):
//   ack <partition> <send_us> <ack_us>          each acknowledged record
//   err <partition> <send_us> <err_us> <error>  each record the producer gave up on
//   ids <us> <id,id,...>                        /brokers/ids after each change
// The script kills a leader at t_kill, sees its process gone at t_dead, and takes the
// first "ack" of that partition with send_us >= t_dead: a record sent once the leader was
// dead cannot have been acknowledged by it, so its acknowledgement is the first write
// the new leader took; the figure is ack_us - t_kill.

import java.io.*;
import java.nio.file.*;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.zookeeper.*;

public class FailoverProbe {
  static final int RECORD_BYTES = 100;
  static final long READY_TIMEOUT_MS = 180_000;
  static PrintWriter out;

  static long nowUs() {
    Instant i = Instant.now();
    return i.getEpochSecond() * 1_000_000L + i.getNano() / 1000;
  }

  static synchronized void line(String s) {
    out.println(s);
    out.flush();
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1], zkConnect = args[4];
    int partitions = Integer.parseInt(args[2]);
    double ratePerPartition = Double.parseDouble(args[3]);
    Path outFile = Paths.get(args[5]);
    Path stopFile = Paths.get(args[5] + ".stop");
    out = new PrintWriter(new BufferedWriter(new FileWriter(outFile.toFile(), true)));

    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 3))).all().get(60, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
      String leaders = null;
      while (leaders == null) {
        if (System.currentTimeMillis() > deadline) {
          System.err.println("FailoverProbe: no leader and full ISR everywhere after " + READY_TIMEOUT_MS + " ms");
          System.exit(1);
        }
        leaders = allInSync(admin, topic);
        if (leaders == null) Thread.sleep(100);
      }
      long isrFullUs = nowUs();
      int controller = admin.describeCluster().controller().get(30, TimeUnit.SECONDS).id();
      System.out.println("ready isr_full_us=" + isrFullUs + " controller=" + controller + " leaders=" + leaders);
      System.out.flush();
    }

    java.util.concurrent.CountDownLatch connected = new java.util.concurrent.CountDownLatch(1);
    ZooKeeper zk = new ZooKeeper(zkConnect, 30_000, e -> {
      if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
    });
    if (!connected.await(30, TimeUnit.SECONDS)) {
      System.err.println("FailoverProbe: no ZooKeeper session in 30 s");
      System.exit(1);
    }
    Watcher[] watch = new Watcher[1];
    watch[0] = e -> {
      if (e.getType() == Watcher.Event.EventType.NodeChildrenChanged) readIds(zk, watch[0]);
    };
    readIds(zk, watch[0]);

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    pp.put("acks", "all");
    pp.put("enable.idempotence", "true");
    pp.put("linger.ms", "0");
    pp.put("retry.backoff.max.ms", "100");
    pp.put("reconnect.backoff.max.ms", "100");
    long periodNs = (long) (1e9 / (ratePerPartition * partitions));
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
      p.partitionsFor(topic);
      long start = System.nanoTime();
      for (long i = 0; !Files.exists(stopFile); i++) {
        long due = start + i * periodNs;
        long wait;
        while ((wait = due - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
        int partition = (int) (i % partitions);
        long sentUs = nowUs();
        p.send(new ProducerRecord<>(topic, partition, null, new byte[RECORD_BYTES]), (md, ex) -> {
          long at = nowUs();
          if (ex == null) line("ack " + partition + " " + sentUs + " " + at);
          else line("err " + partition + " " + sentUs + " " + at + " " + ex.getClass().getSimpleName());
        });
      }
      p.flush();
    }
    zk.close();
    out.close();
  }

  // "p=leader,..." of TOPIC when every partition of every topic has a leader and a full
  // ISR, else null.
  static String allInSync(Admin admin, String topic) {
    try {
      Set<String> names = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get(30, TimeUnit.SECONDS);
      if (!names.contains(topic)) return null;
      Map<String, TopicDescription> d = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
      StringBuilder leaders = new StringBuilder();
      for (TopicDescription td : d.values()) {
        for (TopicPartitionInfo pi : td.partitions()) {
          if (pi.leader() == null || pi.leader().isEmpty()) return null;
          if (pi.isr().size() < pi.replicas().size()) return null;
          if (td.name().equals(topic)) {
            leaders.append(leaders.length() == 0 ? "" : ",").append(pi.partition()).append('=').append(pi.leader().id());
          }
        }
      }
      return leaders.toString();
    } catch (Exception e) {
      return null;
    }
  }

  static void readIds(ZooKeeper zk, Watcher w) {
    try {
      List<String> ids = new ArrayList<>(zk.getChildren("/brokers/ids", w));
      Collections.sort(ids);
      line("ids " + nowUs() + " " + String.join(",", ids));
    } catch (Exception e) {
      // connection loss: the watch is re-armed on reconnect by the next read attempt
      line("ids-error " + nowUs() + " " + e.getClass().getSimpleName());
    }
  }
}

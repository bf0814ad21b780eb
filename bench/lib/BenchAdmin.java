// BenchAdmin: creates the benchmark's topics with Kafka's own AdminClient, the same
// call kafka-topics.sh --create makes, in one JVM (four kafka-topics runs would cost a
// JVM start each, on a 2-core machine that is seconds per server and repetition).
//
//   java BenchAdmin <bootstrap> <topic>:<partitions>[:<replication factor>] ...
//
// Replication factor 1 unless given (bench/kafka.sh: one broker; bench/kafka-cluster.sh:
// 3). Waits until every topic's partitions all have a leader in Metadata, so the first
// produce never meets "leader not available", and, with a replication factor above 1,
// every replica in the ISR, so the first acks=all produce does not wait for followers
// that are still starting. Prints each partition's leader ("leaders topic:p=id ...").

import java.util.*;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.TopicPartitionInfo;

public class BenchAdmin {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    List<NewTopic> topics = new ArrayList<>();
    Map<String, Integer> want = new LinkedHashMap<>();
    Map<String, Integer> replicas = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      String[] tp = args[i].split(":");
      int n = Integer.parseInt(tp[1]);
      int rf = tp.length > 2 ? Integer.parseInt(tp[2]) : 1;
      topics.add(new NewTopic(tp[0], n, (short) rf));
      want.put(tp[0], n);
      replicas.put(tp[0], rf);
    }
    StringBuilder leaders = new StringBuilder("leaders");
    try (Admin admin = Admin.create(p)) {
      admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 60_000;
      while (true) {
        boolean ready = true;
        leaders.setLength("leaders".length());
        try {
          Map<String, TopicDescription> d =
              admin.describeTopics(want.keySet()).allTopicNames().get(30, TimeUnit.SECONDS);
          for (Map.Entry<String, Integer> e : want.entrySet()) {
            TopicDescription td = d.get(e.getKey());
            if (td == null || td.partitions().size() != e.getValue()) { ready = false; break; }
            for (TopicPartitionInfo pi : td.partitions()) {
              if (pi.leader() == null || pi.leader().isEmpty()) { ready = false; break; }
              if (pi.isr().size() < replicas.get(e.getKey())) { ready = false; break; }
              leaders.append(' ').append(e.getKey()).append(':').append(pi.partition())
                  .append('=').append(pi.leader().id());
            }
            if (!ready) break;
          }
        } catch (Exception e) {
          ready = false;
        }
        if (ready) break;
        if (System.currentTimeMillis() > deadline) {
          System.err.println("BenchAdmin: topics have no leaders or no full ISR after 60 s");
          System.exit(1);
        }
        Thread.sleep(100);
      }
    }
    System.out.println("created " + want);
    System.out.println(leaders);
  }
}

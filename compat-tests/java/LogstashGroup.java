// LogstashGroup: three Logstash instances reading one topic through Kafka's Java consumer,
// each configured exactly as logstash-integration-kafka's kafka input configures its
// consumer with the plugin's defaults (lib/logstash/inputs/kafka.rb, create_consumer):
// group_id "logstash", client_id "logstash" (+ "-0" for the only consumer thread),
// enable_auto_commit true every 5000 ms, session_timeout_ms 10000, heartbeat_interval_ms
// 3000, max_poll_records 500, poll_timeout_ms 100, StringDeserializer, and no
// auto_offset_reset (the consumer's "latest").
//
//   java LogstashGroup <bootstrap> <topic> [partitions] [records]
//
// 1. all three join the group and split the partitions; records produced then are each
//    consumed exactly once across them;
// 2. one instance stops (its consumer closes: final auto-commit, LeaveGroup); the other
//    two take over its partitions and consume new records, again exactly once, and
//    nothing from step 1 is delivered again;
// 3. the last two stop; the group's committed offsets equal the end offsets and the
//    group is Empty.
// Prints one summary line; exits 1 with the reason on any failure.

import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringSerializer;

public class LogstashGroup {
  static final String GROUP = "logstash";
  static final long DEADLINE_MS = System.currentTimeMillis() + 150_000;

  /** The consumer properties the kafka input builds from its defaults. */
  static Properties logstashConsumerProps(String bootstrap) {
    Properties p = new Properties();
    p.put("auto.commit.interval.ms", "5000");
    p.put("allow.auto.create.topics", "true");
    p.put("bootstrap.servers", bootstrap);
    p.put("check.crcs", "true");
    p.put("client.dns.lookup", "use_all_dns_ips");
    p.put("client.id", "logstash-0");
    p.put("enable.auto.commit", "true");
    p.put("fetch.max.bytes", "52428800");
    p.put("fetch.max.wait.ms", "500");
    p.put("group.id", GROUP);
    p.put("heartbeat.interval.ms", "3000");
    p.put("isolation.level", "read_uncommitted");
    p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("max.partition.fetch.bytes", "1048576");
    p.put("max.poll.records", "500");
    p.put("max.poll.interval.ms", "300000");
    p.put("receive.buffer.bytes", "32768");
    p.put("reconnect.backoff.ms", "50");
    p.put("retry.backoff.ms", "100");
    p.put("send.buffer.bytes", "131072");
    p.put("session.timeout.ms", "10000");
    p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    p.put("security.protocol", "PLAINTEXT");
    // group_protocol => "classic" (the plugin's default since it learned the option)
    p.put("group.protocol", "classic");
    return p;
  }

  /** One Logstash instance: the input's thread_runner loop around one consumer. */
  static class Instance implements Runnable {
    final String name;
    final KafkaConsumer<String, String> consumer;
    final Map<String, String> received;          // value -> instance that got it
    final List<String> duplicates;
    final AtomicBoolean stop = new AtomicBoolean();
    volatile Set<TopicPartition> readyAssignment = Set.of();
    volatile Throwable error;
    final Thread thread;

    Instance(String name, String bootstrap, String topic, Map<String, String> received, List<String> duplicates) {
      this.name = name;
      this.received = received;
      this.duplicates = duplicates;
      this.consumer = new KafkaConsumer<>(logstashConsumerProps(bootstrap));
      this.consumer.subscribe(List.of(topic));
      this.thread = new Thread(this, "kafka-input-worker-" + name);
    }

    public void run() {
      try {
        while (!stop.get()) {
          ConsumerRecords<String, String> records;
          try {
            records = consumer.poll(Duration.ofMillis(100)); // poll_timeout_ms
          } catch (WakeupException e) {
            if (stop.get()) break;
            throw e;
          }
          for (ConsumerRecord<String, String> r : records) {
            String prev = received.putIfAbsent(r.value(), name);
            if (prev != null) {
              synchronized (duplicates) {
                duplicates.add(r.value() + " (" + prev + ", then " + name + ")");
              }
            }
          }
          // Publish the assignment once every partition has a position, so the test
          // knows the records it produces next will be seen (auto.offset.reset=latest).
          Set<TopicPartition> a = consumer.assignment();
          for (TopicPartition tp : a) consumer.position(tp);
          readyAssignment = Set.copyOf(a);
        }
      } catch (Throwable t) {
        if (!stop.get()) error = t;
      } finally {
        consumer.close(); // final auto-commit, LeaveGroup
      }
    }

    void shutdown() throws InterruptedException {
      stop.set(true);
      consumer.wakeup();
      thread.join(30_000);
    }
  }

  static void fail(String why) {
    System.err.println("LogstashGroup: " + why);
    System.exit(1);
  }

  static void check(boolean ok, String why) {
    if (!ok) fail(why);
  }

  /** Waits until the running instances own all partitions, disjointly, with positions. */
  static String awaitBalanced(List<Instance> instances, int partitions) throws InterruptedException {
    while (System.currentTimeMillis() < DEADLINE_MS) {
      Set<TopicPartition> union = new HashSet<>();
      int sum = 0;
      boolean everyoneHasSome = true;
      StringBuilder shape = new StringBuilder();
      for (Instance i : instances) {
        if (i.error != null) fail(i.name + " failed: " + i.error);
        Set<TopicPartition> a = i.readyAssignment;
        union.addAll(a);
        sum += a.size();
        everyoneHasSome &= !a.isEmpty();
        shape.append(shape.length() == 0 ? "" : "+").append(a.size());
      }
      if (union.size() == partitions && sum == partitions && everyoneHasSome) return shape.toString();
      Thread.sleep(100);
    }
    fail("the group did not settle on " + partitions + " partitions over " + instances.size() + " instances");
    return null;
  }

  static void produce(KafkaProducer<String, String> producer, String topic, int partitions, String phase, int n)
      throws Exception {
    List<Future<RecordMetadata>> acks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      acks.add(producer.send(new ProducerRecord<>(topic, i % partitions, "host-" + (i % 7), phase + "-" + i)));
    }
    for (Future<RecordMetadata> f : acks) f.get(30, TimeUnit.SECONDS);
  }

  static void awaitReceived(Map<String, String> received, String phase, int n) throws InterruptedException {
    while (System.currentTimeMillis() < DEADLINE_MS) {
      long got = received.keySet().stream().filter(v -> v.startsWith(phase + "-")).count();
      if (got == n) return;
      Thread.sleep(50);
    }
    long got = received.keySet().stream().filter(v -> v.startsWith(phase + "-")).count();
    fail(phase + ": consumed " + got + " of " + n + " records before the deadline");
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int partitions = args.length > 2 ? Integer.parseInt(args[2]) : 6;
    int records = args.length > 3 ? Integer.parseInt(args[3]) : 600;

    Properties adminProps = new Properties();
    adminProps.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(adminProps)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);

      Map<String, String> received = new ConcurrentHashMap<>();
      List<String> duplicates = new ArrayList<>();
      List<Instance> instances = new ArrayList<>();
      for (String n : List.of("logstash-a", "logstash-b", "logstash-c")) {
        instances.add(new Instance(n, bootstrap, topic, received, duplicates));
      }
      instances.forEach(i -> i.thread.start());
      String shape1 = awaitBalanced(instances, partitions);

      Properties pp = new Properties();
      pp.put("bootstrap.servers", bootstrap);
      pp.put("key.serializer", StringSerializer.class.getName());
      pp.put("value.serializer", StringSerializer.class.getName());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
        // 1: three instances share the partitions
        produce(producer, topic, partitions, "one", records);
        awaitReceived(received, "one", records);
        Map<String, Long> perInstance = new TreeMap<>();
        received.values().forEach(n -> perInstance.merge(n, 1L, Long::sum));
        check(perInstance.size() == 3, "step 1: records went to " + perInstance + ", not to all three instances");

        // 2: one instance stops; the other two take its partitions over
        Instance leaving = instances.remove(2);
        leaving.shutdown();
        check(leaving.error == null, leaving.name + " failed: " + leaving.error);
        String shape2 = awaitBalanced(instances, partitions);
        int more = records / 2;
        produce(producer, topic, partitions, "two", more);
        awaitReceived(received, "two", more);
        for (Map.Entry<String, String> e : received.entrySet()) {
          if (e.getKey().startsWith("two-")) {
            check(!e.getValue().equals(leaving.name), "step 2: " + e.getKey() + " went to the instance that left");
          }
        }
        Thread.sleep(500); // let any redelivery of step 1's records show up
        synchronized (duplicates) {
          check(duplicates.isEmpty(), "records consumed more than once: " + duplicates.subList(0, Math.min(5, duplicates.size())));
        }

        // 3: the last two stop; committed offsets are visible and complete
        for (Instance i : instances) {
          i.shutdown();
          check(i.error == null, i.name + " failed: " + i.error);
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int p = 0; p < partitions; p++) latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
            admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
        long total = 0;
        for (TopicPartition tp : latest.keySet()) {
          OffsetAndMetadata c = committed.get(tp);
          long end = ends.get(tp).offset();
          check(c != null && c.offset() == end, "committed offset of " + tp + " is " + (c == null ? "none" : c.offset()) + ", end offset " + end);
          total += c.offset();
        }
        check(total == records + more, "committed offsets add up to " + total + ", want " + (records + more));
        ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(GROUP)).all().get(30, TimeUnit.SECONDS).get(GROUP);
        String state = String.valueOf(g.state());
        check(state.equalsIgnoreCase("EMPTY"), "group state after every instance left: " + state);
        check(g.members().isEmpty(), "group still has members: " + g.members());

        System.out.println("3 instances (" + shape1 + " partitions) consumed " + records + " records once each; after "
            + leaving.name + " left, 2 (" + shape2 + ") consumed " + more + " more; committed offsets = end offsets ("
            + total + "), group Empty");
      }
      admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
    }
    System.exit(0);
  }
}

// Latency: end-to-end latency through one broker with Kafka's Java clients. A consumer
// sits idle in poll() (the broker holds its fetch up to fetch.max.wait.ms) while a
// producer with linger.ms=0 sends records one at a time, paced; each record's latency is
// the time from send() to the consumer seeing it, measured in this one JVM.
//
//   java Latency <bootstrap> <topic> [records] [interval_ms] [p99_limit_ms]
//
// Prints "n=.. p50=..ms p99=..ms max=..ms"; exits 1 if a record is missing or p99 is
// over the (generous) limit. It asserts no tight wall-clock numbers: the point is that
// a waiting fetch is answered when data arrives, not at its next timeout.

import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class Latency {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int records = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    int intervalMs = args.length > 3 ? Integer.parseInt(args[3]) : 10;
    double limitMs = args.length > 4 ? Double.parseDouble(args[4]) : 2000;
    int warmup = 20;
    int total = warmup + records;

    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    long[] sentAt = new long[total];
    long[] seenAt = new long[total];
    Arrays.fill(seenAt, -1);
    CountDownLatch ready = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(total);

    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    cp.put("enable.auto.commit", "false");
    Thread consumerThread = new Thread(() -> {
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
        TopicPartition tp = new TopicPartition(topic, 0);
        c.assign(List.of(tp));
        c.seekToEnd(List.of(tp));
        c.position(tp);
        ready.countDown();
        while (done.getCount() > 0) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofSeconds(5))) {
            long now = System.nanoTime();
            int i = Integer.parseInt(r.value());
            if (seenAt[i] < 0) {
              seenAt[i] = now;
              done.countDown();
            }
          }
        }
      } catch (Exception e) {
        e.printStackTrace();
      }
    });
    consumerThread.setDaemon(true);
    consumerThread.start();
    if (!ready.await(30, TimeUnit.SECONDS)) {
      System.err.println("Latency: consumer not ready in 30s");
      System.exit(1);
    }

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    pp.put("linger.ms", "0");
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      for (int i = 0; i < total; i++) {
        sentAt[i] = System.nanoTime();
        p.send(new ProducerRecord<>(topic, null, String.valueOf(i)));
        Thread.sleep(intervalMs);
      }
      p.flush();
    }
    if (!done.await(30, TimeUnit.SECONDS)) {
      System.err.println("Latency: only " + (total - done.getCount()) + " of " + total + " records arrived");
      System.exit(1);
    }
    double[] ms = new double[records];
    for (int i = 0; i < records; i++) ms[i] = (seenAt[warmup + i] - sentAt[warmup + i]) / 1e6;
    Arrays.sort(ms);
    double p50 = ms[(int) Math.floor(0.50 * (records - 1))];
    double p99 = ms[(int) Math.floor(0.99 * (records - 1))];
    double max = ms[records - 1];
    System.out.printf(Locale.ROOT, "n=%d p50=%.1fms p99=%.1fms max=%.1fms%n", records, p50, p99, max);
    try (Admin admin = Admin.create(ap)) {
      admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
    }
    if (p99 > limitMs) {
      System.err.printf(Locale.ROOT, "Latency: p99 %.1fms is over the %.0fms limit%n", p99, limitMs);
      System.exit(1);
    }
    System.exit(0);
  }
}

// PacedLatency: end-to-end latency at a fixed, moderate rate through one broker.
//
// Kafka 4.1's org.apache.kafka.tools.EndToEndLatency is closed-loop: it sends one
// record, waits until its consumer sees it, then sends the next, so its rate is
// 1/latency and it cannot hold a fixed rate. This program keeps a fixed schedule
// instead (record i is due at start + i/rate, sent from a pacing loop, never waiting
// for the previous one to arrive), with Kafka's Java clients (kafka-clients 4.x) in one
// JVM, so send and receive times come from the same System.nanoTime clock.
//
//   java PacedLatency <bootstrap> <topic> <rate/s> <record bytes> <seconds> <warmup seconds> [client.properties]
//
// client.properties (optional): more settings for both clients, read after the ones
// below, e.g. security.protocol=SASL_SSL with its ssl.* and sasl.* keys
// (bench/kafka-tls.sh); without it both clients speak PLAINTEXT.
//
// The topic must exist with one partition. Producer: linger.ms=0 (a paced stream; the
// 4.x default of 5 ms would add up to 5 ms of client-side batching to every record),
// otherwise the client defaults (acks=all, idempotence). Consumer: assigned to partition
// 0 at its end, client defaults (fetch.min.bytes=1, fetch.max.wait.ms=500: the broker
// answers a waiting fetch as soon as data arrives). Latency = consumer sees record -
// producer send() called; produce latency = the broker's acknowledgement reaches the
// send callback - send() called (acks=all: with one broker, once the batch is in its
// log; bench/kafka-cluster.sh runs it against three brokers and a topic of replication
// factor 3, where the acknowledgement waits for the followers too). Records of the warm-up (JIT compilation of the client, first connections) are
// not counted, which ProducerPerformance cannot do.
//
// Prints one line: "n=N rate=R p50=..ms p99=..ms p999=..ms max=..ms missing=M
// ack_p50=..ms ack_p99=..ms ack_p999=..ms".

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class PacedLatency {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    double rate = Double.parseDouble(args[2]);
    int size = Math.max(8, Integer.parseInt(args[3]));
    double seconds = Double.parseDouble(args[4]);
    double warmupSeconds = Double.parseDouble(args[5]);
    int warmup = (int) Math.round(rate * warmupSeconds);
    int total = warmup + (int) Math.round(rate * seconds);
    long periodNs = (long) (1e9 / rate);
    Properties extra = new Properties();
    if (args.length > 6) {
      try (java.io.FileInputStream in = new java.io.FileInputStream(args[6])) {
        extra.load(in);
      }
    }

    long[] sentAt = new long[total];
    long[] seenAt = new long[total];
    long[] ackedAt = new long[total];
    Arrays.fill(seenAt, -1);
    Arrays.fill(ackedAt, -1);
    CountDownLatch ready = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(total);

    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
    cp.put("enable.auto.commit", "false");
    cp.putAll(extra);
    Thread consumerThread = new Thread(() -> {
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
        TopicPartition tp = new TopicPartition(topic, 0);
        c.assign(List.of(tp));
        c.seekToEnd(List.of(tp));
        c.position(tp);
        ready.countDown();
        while (done.getCount() > 0 && !STOP.get()) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            long now = System.nanoTime();
            int i = (int) ByteBuffer.wrap(r.value()).getLong(0);
            if (i >= 0 && i < total && seenAt[i] < 0) {
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
    if (!ready.await(60, TimeUnit.SECONDS)) {
      System.err.println("PacedLatency: consumer not ready in 60s");
      System.exit(1);
    }

    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("key.serializer", ByteArraySerializer.class.getName());
    pp.put("value.serializer", ByteArraySerializer.class.getName());
    pp.put("linger.ms", "0");
    pp.putAll(extra);
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
      // one metadata round trip before the clock starts
      p.partitionsFor(topic);
      long start = System.nanoTime();
      for (int i = 0; i < total; i++) {
        long due = start + i * periodNs;
        long wait;
        while ((wait = due - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
        byte[] value = new byte[size];
        ByteBuffer.wrap(value).putLong(0, i);
        final int idx = i;
        sentAt[i] = System.nanoTime();
        p.send(new ProducerRecord<>(topic, 0, null, value), (md, ex) -> {
          if (ex == null) ackedAt[idx] = System.nanoTime();
        });
      }
      p.flush();
    }
    done.await(30, TimeUnit.SECONDS);
    STOP.set(true);
    int n = total - warmup, missing = 0;
    double[] ms = new double[n];
    int k = 0;
    for (int i = warmup; i < total; i++) {
      if (seenAt[i] < 0) { missing++; continue; }
      ms[k++] = (seenAt[i] - sentAt[i]) / 1e6;
    }
    ms = Arrays.copyOf(ms, k);
    Arrays.sort(ms);
    if (k == 0) {
      System.err.println("PacedLatency: no record arrived");
      System.exit(1);
    }
    double[] ack = new double[n];
    int a = 0;
    for (int i = warmup; i < total; i++) {
      if (ackedAt[i] >= 0) ack[a++] = (ackedAt[i] - sentAt[i]) / 1e6;
    }
    ack = Arrays.copyOf(ack, Math.max(a, 1));
    Arrays.sort(ack);
    System.out.printf(Locale.ROOT,
        "n=%d rate=%.0f p50=%.3fms p99=%.3fms p999=%.3fms max=%.3fms missing=%d ack_p50=%.3fms ack_p99=%.3fms ack_p999=%.3fms%n",
        k, rate, pct(ms, 0.50), pct(ms, 0.99), pct(ms, 0.999), ms[k - 1], missing,
        pct(ack, 0.50), pct(ack, 0.99), pct(ack, 0.999));
    System.exit(missing == 0 ? 0 : 1);
  }

  static final java.util.concurrent.atomic.AtomicBoolean STOP = new java.util.concurrent.atomic.AtomicBoolean();

  // nearest-rank percentile
  static double pct(double[] sorted, double q) {
    int idx = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
  }
}

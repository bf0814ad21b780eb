// Durability: the Java side of the kafka-crash and kafka-disk-format suites
// (kafka-clients 3.9.x). One program, several modes:
//
//   produce  <bootstrap> <topic> <partitions> <count> <ackfile> [pace_every] [pace_ms]
//       Creates the topic, then sends records i = 0..count-1 (key "k<i>", value
//       "v<i>-<padding>", partition i % partitions) with acks=all and idempotence on,
//       retrying across broker restarts (delivery.timeout.ms 300 s). Every acknowledged
//       record is appended to <ackfile> as "i partition offset" the moment its ack
//       arrives (flushed line by line). Sleeps pace_ms after every pace_every sends so a
//       crash can land part-way. Exits 0 iff every record was acknowledged.
//   consume  <bootstrap> <topic> <group> <count> <commitfile> <pausefile>
//       A group consumer (manual commitSync after every poll) that reads until it has
//       seen every i in 0..count-1, appending "partition offset" to <commitfile> for each
//       successful commit. While <pausefile> exists it stops polling and committing and
//       writes <pausefile>.ack (so the suite knows no commit is in flight).
//   committed <bootstrap> <group>
//       Prints the group's committed offsets, "partition offset" per line (Admin API).
//   verify   <bootstrap> <topic> <partitions> <count> <ackfile>
//       Reads every partition from the beginning to its end offset and checks each
//       acknowledged (i, partition, offset) holds exactly record i, and that no record
//       is stored twice (idempotence). Prints a one-line summary; exits 1 on a mismatch.
//   mix      <bootstrap> <topic>
//       Produces 90 records to a one-partition topic: 10 plain (no key, uncompressed, one
//       batch each), 10 with keys and two headers, 10 gzip-compressed (two batches), 60
//       uncompressed with keys in three batches of 20 (enough bytes for index entries).
//   readall  <bootstrap> <topic> <expected>
//       Reads partition 0 from the beginning until <expected> records, printing
//       "offset key value headers" per record (key/headers "-" when absent).

import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.*;

public class Durability {
  static final String PAD = "x".repeat(200);

  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "produce": produce(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), a[5],
          a.length > 6 ? Integer.parseInt(a[6]) : 50, a.length > 7 ? Integer.parseInt(a[7]) : 20); break;
      case "consume": consume(a[1], a[2], a[3], Integer.parseInt(a[4]), a[5], a[6]); break;
      case "committed": committed(a[1], a[2]); break;
      case "verify": verify(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), a[5]); break;
      case "mix": mix(a[1], a[2]); break;
      case "readall": readall(a[1], a[2], Integer.parseInt(a[3])); break;
      default: throw new IllegalArgumentException("unknown mode " + a[0]);
    }
  }

  static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) throw e;
    }
  }

  static void produce(String bootstrap, String topic, int partitions, int count, String ackfile,
      int paceEvery, int paceMs) throws Exception {
    createTopic(bootstrap, topic, partitions);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    p.put("enable.idempotence", "true");
    p.put("max.in.flight.requests.per.connection", "5");
    p.put("retries", Integer.toString(Integer.MAX_VALUE));
    p.put("delivery.timeout.ms", "300000");
    p.put("request.timeout.ms", "15000");
    p.put("retry.backoff.ms", "200");
    p.put("reconnect.backoff.max.ms", "1000");
    p.put("linger.ms", "5");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    AtomicInteger acked = new AtomicInteger(), failed = new AtomicInteger();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    try (PrintWriter out = new PrintWriter(new BufferedWriter(new FileWriter(ackfile, true)));
         KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
      for (int i = 0; i < count; i++) {
        final int n = i;
        prod.send(new ProducerRecord<>(topic, i % partitions, "k" + i, "v" + i + "-" + PAD), (md, ex) -> {
          if (ex == null) {
            synchronized (out) { out.println(n + " " + md.partition() + " " + md.offset()); out.flush(); }
            acked.incrementAndGet();
          } else {
            failed.incrementAndGet();
            if (errors.size() < 5) errors.add(n + ": " + ex);
          }
        });
        if (paceEvery > 0 && (i + 1) % paceEvery == 0) Thread.sleep(paceMs);
      }
      prod.flush();
    }
    System.out.println("acked=" + acked.get() + " failed=" + failed.get());
    for (String e : errors) System.out.println("error " + e);
    System.exit(acked.get() == count ? 0 : 1);
  }

  static void consume(String bootstrap, String topic, String group, int count, String commitfile,
      String pausefile) throws Exception {
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("group.id", group);
    cp.put("enable.auto.commit", "false");
    cp.put("auto.offset.reset", "earliest");
    cp.put("max.poll.records", "100");
    cp.put("request.timeout.ms", "15000");
    cp.put("default.api.timeout.ms", "15000");
    cp.put("reconnect.backoff.max.ms", "1000");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    BitSet seen = new BitSet(count);
    int commits = 0, commitErrors = 0, pollErrors = 0;
    long deadline = System.currentTimeMillis() + 280_000;
    Path pause = Paths.get(pausefile), pauseAck = Paths.get(pausefile + ".ack");
    try (PrintWriter out = new PrintWriter(new BufferedWriter(new FileWriter(commitfile, true)));
         KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
      c.subscribe(List.of(topic));
      while (seen.cardinality() < count && System.currentTimeMillis() < deadline) {
        if (Files.exists(pause)) {
          if (!Files.exists(pauseAck)) Files.writeString(pauseAck, "paused\n");
          Thread.sleep(100);
          continue;
        }
        Files.deleteIfExists(pauseAck);
        ConsumerRecords<String, String> recs;
        try {
          recs = c.poll(Duration.ofMillis(500));
        } catch (Exception e) {
          pollErrors++;
          System.err.println("poll: " + e);
          Thread.sleep(500);
          continue;
        }
        for (ConsumerRecord<String, String> r : recs) {
          String v = r.value();
          seen.set(Integer.parseInt(v.substring(1, v.indexOf('-'))));
        }
        if (recs.isEmpty()) continue;
        Map<TopicPartition, OffsetAndMetadata> offs = new HashMap<>();
        for (TopicPartition tp : recs.partitions()) {
          List<ConsumerRecord<String, String>> l = recs.records(tp);
          offs.put(tp, new OffsetAndMetadata(l.get(l.size() - 1).offset() + 1));
        }
        try {
          c.commitSync(offs);
          commits++;
          for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offs.entrySet())
            out.println(e.getKey().partition() + " " + e.getValue().offset());
          out.flush();
        } catch (Exception e) {
          // not acknowledged: the suite only holds the broker to commits written to the file
          commitErrors++;
          System.err.println("commit: " + e);
        }
      }
    }
    System.out.println("seen=" + seen.cardinality() + "/" + count + " commits=" + commits
        + " commit_errors=" + commitErrors + " poll_errors=" + pollErrors);
    System.exit(seen.cardinality() == count ? 0 : 1);
  }

  static void committed(String bootstrap, String group) throws Exception {
    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(ap)) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
      TreeMap<Integer, Long> sorted = new TreeMap<>();
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e : m.entrySet())
        if (e.getValue() != null) sorted.put(e.getKey().partition(), e.getValue().offset());
      for (Map.Entry<Integer, Long> e : sorted.entrySet()) System.out.println(e.getKey() + " " + e.getValue());
    }
  }

  static KafkaConsumer<String, String> plainConsumer(String bootstrap) {
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("enable.auto.commit", "false");
    cp.put("request.timeout.ms", "15000");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    return new KafkaConsumer<>(cp);
  }

  static void verify(String bootstrap, String topic, int partitions, int count, String ackfile) throws Exception {
    // acknowledged: partition -> offset -> i
    Map<Integer, Map<Long, Integer>> acked = new HashMap<>();
    int nAcked = 0;
    for (String line : Files.readAllLines(Paths.get(ackfile))) {
      String[] f = line.trim().split(" ");
      if (f.length != 3) continue;
      acked.computeIfAbsent(Integer.parseInt(f[1]), k -> new HashMap<>()).put(Long.parseLong(f[2]), Integer.parseInt(f[0]));
      nAcked++;
    }
    List<String> problems = new ArrayList<>();
    int[] copies = new int[count];
    long total = 0;
    try (KafkaConsumer<String, String> c = plainConsumer(bootstrap)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
      Map<Integer, Map<Long, Integer>> stored = new HashMap<>();
      long deadline = System.currentTimeMillis() + 90_000;
      Set<TopicPartition> open = new HashSet<>(tps);
      for (TopicPartition tp : tps) if (c.position(tp) >= end.get(tp)) open.remove(tp);
      while (!open.isEmpty() && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          String v = r.value();
          int i = Integer.parseInt(v.substring(1, v.indexOf('-')));
          if (!("k" + i).equals(r.key()) || !v.equals("v" + i + "-" + PAD)) {
            problems.add("p" + r.partition() + "@" + r.offset() + ": bad record key=" + r.key());
            continue;
          }
          stored.computeIfAbsent(r.partition(), k -> new HashMap<>()).put(r.offset(), i);
          copies[i]++;
          total++;
        }
        for (TopicPartition tp : tps) if (c.position(tp) >= end.get(tp)) open.remove(tp);
      }
      if (!open.isEmpty()) problems.add("could not read to the end of " + open);
      int missing = 0, moved = 0;
      for (Map.Entry<Integer, Map<Long, Integer>> pe : acked.entrySet())
        for (Map.Entry<Long, Integer> e : pe.getValue().entrySet()) {
          Integer got = stored.getOrDefault(pe.getKey(), Map.of()).get(e.getKey());
          if (got == null) {
            if (missing++ < 5) problems.add("acked record " + e.getValue() + " missing at p" + pe.getKey() + "@" + e.getKey());
          } else if (!got.equals(e.getValue())) {
            if (moved++ < 5) problems.add("p" + pe.getKey() + "@" + e.getKey() + " holds record " + got + ", acked " + e.getValue());
          }
        }
      int dups = 0;
      for (int i = 0; i < count; i++)
        if (copies[i] > 1 && dups++ < 5) problems.add("record " + i + " stored " + copies[i] + " times");
      StringBuilder ends = new StringBuilder();
      for (TopicPartition tp : tps) ends.append(ends.length() == 0 ? "" : ",").append(end.get(tp));
      System.out.println("acked=" + nAcked + " stored=" + total + " end_offsets=" + ends
          + " missing=" + missing + " misplaced=" + moved + " duplicated=" + dups);
    }
    for (String p : problems) System.out.println("problem " + p);
    System.exit(problems.isEmpty() ? 0 : 1);
  }

  static void mix(String bootstrap, String topic) throws Exception {
    createTopic(bootstrap, topic, 1);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
      for (int i = 0; i < 10; i++) prod.send(new ProducerRecord<>(topic, 0, null, "plain-" + i)).get();
      for (int i = 0; i < 10; i++) {
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, "key-" + i, "keyed-" + i);
        r.headers().add("h1", ("hv1-" + i).getBytes(StandardCharsets.UTF_8));
        r.headers().add("h2", ("hv2-" + i).getBytes(StandardCharsets.UTF_8));
        prod.send(r).get();
      }
    }
    p.put("compression.type", "gzip");
    p.put("linger.ms", "100");
    try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        fs.add(prod.send(new ProducerRecord<>(topic, 0, "gkey-" + i, "gzip-" + i + "-" + PAD)));
        if (i == 4) { prod.flush(); }     // two gzip batches of 5
      }
      for (Future<RecordMetadata> f : fs) f.get();
    }
    p.put("compression.type", "none");
    p.put("linger.ms", "50");
    try (KafkaProducer<String, String> prod = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        fs.add(prod.send(new ProducerRecord<>(topic, 0, "bkey-" + i, "bulk-" + i + "-" + PAD)));
        if (i % 20 == 19) prod.flush();   // three uncompressed batches of 20 (index entries)
      }
      for (Future<RecordMetadata> f : fs) f.get();
    }
    System.out.println("produced 90");
  }

  static void readall(String bootstrap, String topic, int expected) throws Exception {
    try (KafkaConsumer<String, String> c = plainConsumer(bootstrap)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      int n = 0;
      long deadline = System.currentTimeMillis() + 90_000;
      while (n < expected && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          StringBuilder h = new StringBuilder();
          for (Header hd : r.headers())
            h.append(h.length() == 0 ? "" : ",").append(hd.key()).append('=').append(new String(hd.value(), StandardCharsets.UTF_8));
          String v = r.value();
          if (v.endsWith("-" + PAD)) v = v.substring(0, v.length() - PAD.length() - 1) + "-PAD";
          System.out.println(r.offset() + " " + (r.key() == null ? "-" : r.key()) + " " + v + " " + (h.length() == 0 ? "-" : h));
          n++;
        }
      }
      System.exit(n >= expected ? 0 : 1);
    }
  }
}

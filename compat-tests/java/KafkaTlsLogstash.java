// KafkaTlsLogstash: a Logstash kafka input reading over SASL_SSL, as kafka-logstash's
// LogstashGroup emulates Logstash: Kafka's Java consumer with the properties
// logstash-integration-kafka's input builds (lib/logstash/inputs/kafka.rb create_consumer:
// the plugin's defaults, client_id "logstash" + "-0", group_id "logstash", no
// auto_offset_reset, so the consumer's "latest"), plus what the input adds for
//   security_protocol => "SASL_SSL"
//   sasl_mechanism => "SCRAM-SHA-512"
//   sasl_jaas_config => "org.apache.kafka.common.security.scram.ScramLoginModule required username=.. password=..;"
//   ssl_truststore_location => ..., ssl_truststore_password => ..., ssl_truststore_type => ...
// (plugin_mixins/kafka_support.rb set_trustore_keystore_config and set_sasl_config: the
// ssl.truststore.* keys, ssl.endpoint.identification.algorithm "https" (the input's
// default), sasl.mechanism and sasl.jaas.config).
//
//   java KafkaTlsLogstash <bootstrap> <topic> <records> <truststore> <type> <password> <mechanism> <user> <user-password>
//
// 1. the Admin client (same security settings) creates the topic (one partition);
// 2. the Logstash consumer subscribes and polls (poll_timeout_ms 100) until its partition
//    is assigned and positioned at the end;
// 3. a producer (acks=all, same security settings) writes <records> lines; the consumer
//    must get each once, in order, and nothing more within 1s;
// 4. the consumer closes (its final auto-commit): the group's committed offset equals the
//    end offset.
// Prints one summary line; exits 1 with the reason on any failure.

import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaTlsLogstash {
  static final String GROUP = "logstash";

  static void fail(String why) {
    System.err.println("KafkaTlsLogstash: " + why);
    System.exit(1);
  }

  /** security_protocol, the ssl_truststore_* options and the SASL options, as the input sets them. */
  static void security(Properties p, String[] a) {
    p.put("security.protocol", "SASL_SSL");
    // set_trustore_keystore_config
    p.put("ssl.truststore.type", a[4]);
    p.put("ssl.truststore.location", a[3]);
    p.put("ssl.truststore.password", a[5]);
    p.put("ssl.endpoint.identification.algorithm", "https");
    // set_sasl_config
    p.put("sasl.mechanism", a[6]);
    p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + a[7] + "\" password=\"" + a[8] + "\";");
  }

  /** The consumer properties the kafka input builds from its defaults (create_consumer). */
  static Properties logstashConsumerProps(String[] a) {
    Properties p = new Properties();
    p.put("auto.commit.interval.ms", "5000");
    p.put("allow.auto.create.topics", "true");
    p.put("bootstrap.servers", a[0]);
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
    security(p, a);
    return p;
  }

  public static void main(String[] a) throws Exception {
    if (a.length != 9) fail("usage: KafkaTlsLogstash <bootstrap> <topic> <records> <truststore> <type> <password> <mechanism> <user> <user-password>");
    String bootstrap = a[0], topic = a[1];
    int records = Integer.parseInt(a[2]);
    long deadline = System.currentTimeMillis() + 90_000;
    long t0 = System.currentTimeMillis();

    Properties ap = new Properties();
    ap.put("bootstrap.servers", bootstrap);
    security(ap, a);
    try (Admin admin = Admin.create(ap)) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
      TopicPartition tp = new TopicPartition(topic, 0);

      List<String> got = new ArrayList<>();
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(logstashConsumerProps(a))) {
        consumer.subscribe(List.of(topic));
        // the input's thread_runner: poll(poll_timeout_ms) until assigned and positioned
        while (!consumer.assignment().contains(tp)) {
          if (System.currentTimeMillis() > deadline) fail("the consumer was not assigned " + tp);
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) got.add(r.value());
        }
        long start = consumer.position(tp);

        Properties pp = new Properties();
        pp.put("bootstrap.servers", bootstrap);
        pp.put("acks", "all");
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        security(pp, a);
        List<String> want = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
          List<Future<RecordMetadata>> acks = new ArrayList<>();
          for (int i = 0; i < records; i++) {
            want.add("logstash line " + i);
            acks.add(producer.send(new ProducerRecord<>(topic, 0, null, want.get(i))));
          }
          for (Future<RecordMetadata> f : acks) f.get(30, TimeUnit.SECONDS);
        }
        while (got.size() < records && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) got.add(r.value());
        }
        long quiet = System.currentTimeMillis() + 1000;
        while (System.currentTimeMillis() < quiet) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) got.add(r.value());
        }
        if (!got.equals(want)) {
          fail("the consumer got " + got.size() + " records, expected the " + records + " written, in order, once each (first: "
              + got.subList(0, Math.min(3, got.size())) + ")");
        }
        if (start != 0) fail("the consumer started at offset " + start + " of a new topic");
      } // close: the final auto-commit, LeaveGroup

      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      OffsetAndMetadata c = committed.get(tp);
      if (c == null || c.offset() != records) {
        fail("group " + GROUP + " committed " + (c == null ? "nothing" : "offset " + c.offset()) + " for " + tp + ", expected " + records);
      }
      System.out.println("Logstash kafka input (SASL_SSL " + a[6] + " as " + a[7] + ", " + a[4]
          + " truststore): " + records + " records produced acks=all after its assignment, consumed in order once each, group "
          + GROUP + " committed offset " + c.offset() + " on close [" + (System.currentTimeMillis() - t0) / 100 / 10.0 + "s]");
    }
    System.exit(0);
  }
}

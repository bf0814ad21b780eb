# needs: kafka
# clients: sarama-1.0.0 sarama-2.1.0
# timeout: 300
#
# Filebeat's output.kafka: upstream sarama configured as libbeat/outputs/kafka configures
# it (go/filebeat-sarama): protocol version 1.0.0 (Filebeat 7.x's default) and 2.1.0
# (Filebeat 8.x/9.x's), gzip level 4, acks=1, the hash partitioner, no ApiVersions
# request. Each publishes JSON log events to a topic nobody created (the broker's
# auto.create.topics.enable makes it) and a sarama consumer reads them all back.

filebeat() {
  local version=$1 bin out
  bin=$(go_build filebeat-sarama) || { kafka_fail "go build of filebeat-sarama failed"; return 1; }
  if out=$(timeout_run 150 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$(kafka_unique filebeat)" \
      -version "$version" -events 500 -timeout 120s); then
    KAFKA_DETAIL=$out
  else
    kafka_fail "filebeat-sarama -version $version failed (see log)"
  fi
}

kafka_client sarama-1.0.0 filebeat 1.0.0
kafka_client sarama-2.1.0 filebeat 2.1.0
kafka_delete_topics 4 'filebeat-.*'
exit "$KAFKA_SUITE_RC"

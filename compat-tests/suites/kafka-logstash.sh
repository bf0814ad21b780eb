# needs: kafka
# clients: logstash-4 logstash-3.9
# timeout: 300
#
# Logstash's kafka input (logstash-integration-kafka) is Kafka's Java consumer with the
# plugin's defaults: three instances share a 6-partition topic in group "logstash", one
# leaves and the other two take over its partitions, committed offsets end at the end
# offsets. Run with kafka-clients 4.x and 3.9.x (java/LogstashGroup.java).

logstash_group() {
  local set=$1 topic out
  topic=$(kafka_unique logstash)
  if out=$(kafka_java "$set" "$COMPAT_DIR/java/LogstashGroup.java" "$KAFKA_BOOTSTRAP" "$topic" 6 600); then
    KAFKA_DETAIL=$out
  else
    kafka_fail "LogstashGroup with $set failed (see log)"
  fi
}

kafka_client logstash-4 logstash_group kafka-clients-4
kafka_client logstash-3.9 logstash_group kafka-clients-3.9
exit "$KAFKA_SUITE_RC"

# needs: kafka
# clients: java-4
# timeout: 180
#
# End-to-end latency: a producer with linger.ms=0 sends 200 records 10 ms apart to an
# idle consumer waiting in a long-poll fetch (java/Latency.java, kafka-clients 4.x).
# Reports p50/p99; asserts only a generous bound (p99 < 2 s): a broker that answers a
# waiting fetch only when it times out (fetch.max.wait.ms) would still show it.

latency() {
  local out
  if out=$(kafka_java kafka-clients-4 "$COMPAT_DIR/java/Latency.java" "$KAFKA_BOOTSTRAP" \
      "$(kafka_unique latency)" 200 10 2000); then
    KAFKA_DETAIL=$out
  else
    kafka_fail "latency: ${out:-see log}"
  fi
}

kafka_client java-4 latency
exit "$KAFKA_SUITE_RC"

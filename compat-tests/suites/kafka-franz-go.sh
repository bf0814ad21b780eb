# needs: kafka
# clients: franz-go
# timeout: 240
#
# franz-go (go/franz): kadm creates a 3-partition topic, the default (idempotent)
# producer writes keyed records, a group consumer reads each once and commits, kadm sees
# committed = end offsets and an Empty group, and deletes the topic.

franz() {
  local bin out
  bin=$(go_build franz) || { kafka_fail "go build of franz failed"; return 1; }
  if out=$(timeout_run 150 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$(kafka_unique franz)" \
      -group "$(kafka_unique franz-group)" -records 600 -partitions 3 -timeout 120s); then
    KAFKA_DETAIL=$out
  else
    kafka_fail "franz failed (see log)"
  fi
}

kafka_client franz-go franz
exit "$KAFKA_SUITE_RC"

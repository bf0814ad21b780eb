# needs: kafka
# clients: kafka-go
# timeout: 240
#
# segmentio/kafka-go (go/kafka-go, $KAFKA_GO_VERSION): kafka.Client creates a 3-partition
# topic, kafka.Writers with the default (round-robin) balancer and acks=all write keyed
# records (uncompressed, snappy and gzip, a third each), a group kafka.Reader reads each
# once and commits, kafka.Client sees committed = end offsets and an Empty group, and
# deletes the topic.

# kafka_go_build: go_build of go/kafka-go in a module that requires only kafka-go at the
# versions.env pin (go_build's requirement list is the sarama/franz one; this keeps
# their module and binaries as they are).
kafka_go_build() {
  (
    go__requires() { echo "github.com/segmentio/kafka-go@$KAFKA_GO_VERSION"; }
    go_build kafka-go
  )
}

kafka_go() {
  local bin out
  bin=$(kafka_go_build) || { kafka_fail "go build of kafka-go $KAFKA_GO_VERSION failed"; return 1; }
  if out=$(timeout_run 150 "$bin" -brokers "$KAFKA_BOOTSTRAP" -topic "$(kafka_unique kafka-go)" \
      -group "$(kafka_unique kafka-go-group)" -records 600 -partitions 3 -timeout 120s); then
    KAFKA_DETAIL="kafka-go $KAFKA_GO_VERSION: $out"
  else
    kafka_fail "kafka-go $KAFKA_GO_VERSION failed (see log)"
  fi
}

kafka_client kafka-go kafka_go
exit "$KAFKA_SUITE_RC"

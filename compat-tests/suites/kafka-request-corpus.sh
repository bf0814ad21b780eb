# needs: none
# clients: recorded-corpus edge-cases
# timeout: 300
#
# kafka-request-corpus: requests recorded from real clients (compat-tests/corpus/, made
# by corpus/record.sh through python/kafka_corpus.py's recording proxy against Apache
# Kafka 3.9.1: kafka-python, confluent-kafka, kcat, the Java 2.2/3.9/4.1 tools, sarama
# as Filebeat sets it up, franz-go) replayed in recorded order to an Apache 3.9.1
# reference broker and to the target broker (ZooKeeper mode, one ZooKeeper of
# kafka_zk_target, a chroot each, as kafka-api-versions does), the answers compared
# (python/kafka_corpus.py diff): connection kept or closed, every error code, the shape
# of each answer, the values that do not depend on the server or the clock. Names are
# fresh per run and server-assigned ids (member, generation, producer, fetch session,
# topic ids) are substituted per server, so the replay works on any broker.
# recorded-corpus: the replay of every recorded session.
# edge-cases: the corpus's requests with trailing bytes, unknown tagged fields, a null
# client id, a truncated body, versions outside the advertised range, an unknown API
# key and out-of-range length prefixes; Apache's answer is the oracle.
# Both pass when every difference is in kafka_corpus.py's KNOWN_DIFFERENCES (keel's
# named gaps, each with its reason; one that no longer differs fails the suite). Against
# the apache target both brokers are Apache 3.9.1 and no difference is allowed.

set -u
cleanup() {
  kafka_stop_all
  zk_stop_all
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

start_brokers() {
  local zk
  zk_start "$(kafka_zk_target)" standalone corpus-zk || { kafka_fail "ZooKeeper ($(kafka_zk_target)) did not start"; return 1; }
  zk=$ZK_CONNECT
  kafka_start apache zk corpus-reference "$zk/reference" || { kafka_fail "the Apache 3.9.1 reference broker did not start"; return 1; }
  REFERENCE=$KAFKA_BOOTSTRAP
  kafka_start "$TARGET" zk corpus-target "$zk/target" || { kafka_fail "the $TARGET broker did not start"; return 1; }
  TARGET_BOOTSTRAP=$KAFKA_BOOTSTRAP
}

# corpus_diff NAME ARGS...: runs kafka_corpus.py diff; its summary is the detail
corpus_diff() {
  local name=$1 out
  shift
  [ -n "$REFERENCE" ] || { kafka_fail "no brokers"; return 1; }
  # the kafka-clients 3.9.1 jar (its common/message/*.json are the message specs)
  maven_classpath kafka-clients-3.9 >/dev/null || { kafka_fail "kafka-clients $KAFKA_ZK_VERSION not available"; return 1; }
  if ! out=$(python3 "$COMPAT_DIR/python/kafka_corpus.py" diff --reference "$REFERENCE" \
      --target "$TARGET_BOOTSTRAP" --corpus "$COMPAT_DIR/corpus" --target-kind "$TARGET" \
      --json "$SUITE_WORK/$name.json" "$@" 2>"$SUITE_WORK/$name.err"); then
    cat "$SUITE_WORK/$name.err" >&2
    printf '%s\n' "$out" >&2
    kafka_fail "$(grep -c '^DIFFERENCE' "$SUITE_WORK/$name.err") differences, $(grep -c '^STALE' "$SUITE_WORK/$name.err") stale allow-list entries: $(grep -m3 -E '^(DIFFERENCE|STALE)' "$SUITE_WORK/$name.err" | cut -c1-300 | tr '\n' ';')"
    return 1
  fi
  cat "$SUITE_WORK/$name.err" >&2
  KAFKA_DETAIL=$out
}

REFERENCE=""
TARGET_BOOTSTRAP=""
if ! start_brokers; then
  report recorded-corpus fail "$KAFKA_DETAIL"
  report edge-cases fail "$KAFKA_DETAIL"
  exit 1
fi
kafka_client recorded-corpus corpus_diff replay --no-edge
kafka_client edge-cases corpus_diff edge --edge-only
exit $KAFKA_SUITE_RC

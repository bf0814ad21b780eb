# needs: kafka
# clients: confluent-kafka kcat
# timeout: 240
#
# librdkafka, through confluent-kafka-python (python/confluent_kafka_client.py: admin,
# producer with delivery reports, group consumer, sync commit) and through kcat, Debian's
# librdkafka command line tool: -L metadata, -P produce lines, -C -e read them back.

confluent() {
  local out
  if out=$(timeout_run 150 "$PY_VENV/bin/python" "$COMPAT_DIR/python/confluent_kafka_client.py" \
      "$KAFKA_BOOTSTRAP" "$(kafka_unique ckafka)" "$(kafka_unique ckafka-group)" 300); then
    KAFKA_DETAIL="confluent-kafka $CONFLUENT_KAFKA_VERSION, $out"
  else
    kafka_fail "confluent_kafka_client.py failed (see log)"
  fi
}

kcat_session() {
  local topic out expected
  kcat_ensure || { kafka_fail "kcat is not installed and apt-get could not install $KCAT_PACKAGE"; return 1; }
  topic=$(kafka_unique kcat)
  expected=$(printf 'kcat line 1\nkcat line 2 %s\nkcat line 3\n' "$topic")
  # -P to a topic that does not exist yet: the broker creates it
  printf '%s\n' "$expected" | timeout_run 60 kcat -P -b "$KAFKA_BOOTSTRAP" -t "$topic" \
    || { kafka_fail "kcat -P exited non-zero"; return 1; }
  out=$(timeout_run 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -e -q 2>&1)
  if [ "$out" != "$expected" ]; then
    printf '%s\n' "---- kcat -C got:" "$out" "---- expected:" "$expected" >&2
    kafka_fail "kcat -C -e did not return the 3 lines in order"
    return 1
  fi
  out=$(timeout_run 60 kcat -L -b "$KAFKA_BOOTSTRAP" -t "$topic" 2>&1)
  kafka_expect "kcat -L: the broker" "$out" "broker 1 at 127\.0\.0\.1:${KAFKA_BOOTSTRAP##*:}" || return 1
  kafka_expect "kcat -L: the topic" "$out" "topic \"$topic\" with 1 partitions" || return 1
  kafka_expect "kcat -L: partition 0" "$out" "partition 0, leader 1, replicas: 1, isrs: 1" || return 1
  KAFKA_DETAIL="$(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*librdkafka \([^ ]*\).*/kcat \1, librdkafka \2/p'): -P (auto-created topic), -C -e 3 lines in order, -L broker/topic/partition"
}

if python_env; then
  kafka_client confluent-kafka confluent
else
  report confluent-kafka fail "python_env failed"
  KAFKA_SUITE_RC=1
fi
kafka_client kcat kcat_session
kafka_delete_topics 4 'kcat-.*'
exit "$KAFKA_SUITE_RC"

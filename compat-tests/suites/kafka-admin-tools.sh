# needs: kafka
# clients: tools-4 tools-3.9
# timeout: 300
#
# The operator's tools of Kafka 4.x and 3.9.x: producer and consumer perf tests, a
# console consumer that commits part of a topic, kafka-consumer-groups --describe
# showing that LAG, kafka-configs altering and describing a topic config,
# kafka-get-offsets.

admin_tools() {
  local V=$1 topic group out line records=1000 partial=400
  topic=$(kafka_unique admin)
  group=$(kafka_unique admin-group)
  B=$KAFKA_BOOTSTRAP

  out=$(kafka_tool "$V" kafka-topics --bootstrap-server "$B" --create --topic "$topic" \
    --partitions 1 --replication-factor 1 2>&1)
  kafka_expect "kafka-topics --create" "$out" "Created topic $topic\." || return 1

  # kafka-producer-perf-test: N records as fast as possible
  out=$(kafka_tool "$V" kafka-producer-perf-test --topic "$topic" --num-records "$records" \
    --record-size 100 --throughput -1 --producer-props "bootstrap.servers=$B" acks=all 2>&1)
  kafka_expect "kafka-producer-perf-test" "$out" "^$records records sent, " || return 1

  # kafka-consumer-perf-test: reads them all (its own group)
  out=$(kafka_tool "$V" kafka-consumer-perf-test --bootstrap-server "$B" --topic "$topic" \
    --messages "$records" --group "$group-perf" --timeout 60000 2>&1)
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]{4}-' | tail -1)
  if [ "$(printf '%s' "$line" | awk -F', *' '{print $5}')" != "$records" ]; then
    printf '%s\n' "$out" >&2
    kafka_fail "kafka-consumer-perf-test did not consume $records records"
    return 1
  fi

  # a consumer in $group reads and commits the first $partial records only
  out=$(kafka_tool "$V" kafka-console-consumer --bootstrap-server "$B" --topic "$topic" \
    --group "$group" --from-beginning --max-messages "$partial" --timeout-ms 60000 \
    --consumer-property max.poll.records=1 2>&1 >/dev/null)
  kafka_expect "kafka-console-consumer --group" "$out" "Processed a total of $partial messages" || return 1

  # kafka-consumer-groups --describe: CURRENT-OFFSET, LOG-END-OFFSET, LAG by header
  out=$(kafka_tool "$V" kafka-consumer-groups --bootstrap-server "$B" --describe --group "$group" 2>&1)
  line=$(printf '%s\n' "$out" | awk -v t="$topic" '
    $1 == "GROUP" { for (i = 1; i <= NF; i++) col[$i] = i; next }
    col["TOPIC"] && $col["TOPIC"] == t && $col["PARTITION"] == 0 {
      print $col["CURRENT-OFFSET"], $col["LOG-END-OFFSET"], $col["LAG"] }')
  if [ "$line" != "$partial $records $((records - partial))" ]; then
    printf '%s\n' "$out" >&2
    kafka_fail "kafka-consumer-groups --describe: want CURRENT-OFFSET $partial LOG-END-OFFSET $records LAG $((records - partial)), got '${line}'"
    return 1
  fi

  # kafka-configs: alter a topic config, then describe it
  out=$(kafka_tool "$V" kafka-configs --bootstrap-server "$B" --alter --entity-type topics \
    --entity-name "$topic" --add-config retention.ms=3600000,max.message.bytes=2097152 2>&1)
  kafka_expect "kafka-configs --alter" "$out" "Completed updating config for topic $topic" || return 1
  out=$(kafka_tool "$V" kafka-configs --bootstrap-server "$B" --describe --entity-type topics \
    --entity-name "$topic" 2>&1)
  kafka_expect "kafka-configs --describe: retention.ms" "$out" "retention\.ms=3600000" || return 1
  kafka_expect "kafka-configs --describe: max.message.bytes" "$out" "max\.message\.bytes=2097152" || return 1

  # kafka-get-offsets: latest (default) and earliest
  out=$(kafka_tool "$V" kafka-get-offsets --bootstrap-server "$B" --topic "$topic" 2>&1)
  kafka_expect "kafka-get-offsets (latest)" "$out" "^$topic:0:$records\$" || return 1
  out=$(kafka_tool "$V" kafka-get-offsets --bootstrap-server "$B" --topic "$topic" --time -2 2>&1)
  kafka_expect "kafka-get-offsets --time -2 (earliest)" "$out" "^$topic:0:0\$" || return 1

  kafka_tool "$V" kafka-topics --bootstrap-server "$B" --delete --topic "$topic" >/dev/null 2>&1
  KAFKA_DETAIL="perf tests ($records records), LAG $((records - partial)) after a partial commit, configs alter+describe, get-offsets"
}

kafka_client tools-4 admin_tools 4
kafka_client tools-3.9 admin_tools 3.9
exit "$KAFKA_SUITE_RC"

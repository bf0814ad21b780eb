# needs: kafka-zk
# clients: tools-3.9 tools-4 wire
# timeout: 300
#
# Broker loggers (KIP-412): `kafka-configs --entity-type broker-loggers` of Kafka 3.9
# and 4.x against the kafka-zk broker (Apache 3.9.x, or keel), and the requests the
# tool never sends. Loggers by target: root on both; the module logger is `kafka` on
# Apache and `keel.kafka` on keel, its child `kafka.server.KafkaApis` / `keel.kafka.apis`.
#   tools-3.9, tools-4: --describe lists root and the module with a level; --add-config
#     MODULE=DEBUG, --describe shows DEBUG, and the broker's log then has DEBUG lines from
#     that area (records produced and consumed to make some); --delete-config MODULE
#     brings it back to root's level and the DEBUG lines stop; root=WARN and back to
#     INFO; --delete-config root, root=LOUD and an unknown logger fail with Apache's
#     messages. (The 2.2 tools predate KIP-412; another --entity-name makes the tool
#     wait for a broker that does not exist, so python/kafka_broker_loggers.py sends that.)
#   wire: python/kafka_broker_loggers.py, raw DescribeConfigs v1, IncrementalAlterConfigs
#     v0 and AlterConfigs v0 on resource type 8: every error code and message (APPEND,
#     SUBTRACT, other and non-integer broker ids, unknown logger, bad level, root delete,
#     legacy AlterConfigs), validate-only, a failed request applying nothing.
# Every level changed is set back (root INFO, the module unset) whatever the outcome.

BL_LEVEL_RE='(TRACE|DEBUG|INFO|WARN|ERROR|FATAL|OFF)'

# bl_broker_dir: the server dir of the broker at $KAFKA_BOOTSTRAP (found by its port).
bl_broker_dir() {
  local port=${KAFKA_BOOTSTRAP##*:} d
  for d in "$RUN_DIR"/kafka-*; do
    [ "$(cat "$d/port" 2>/dev/null)" = "$port" ] && { printf '%s' "$d"; return 0; }
  done
  return 1
}

BL_DIR=$(bl_broker_dir) || { report tools-3.9 fail "no server dir for $KAFKA_BOOTSTRAP under $RUN_DIR"; exit 1; }
BL_ID=$(sed -n 's/^broker\.id=//p' "$BL_DIR/server.properties" | tail -1)
BL_ID=${BL_ID:-1}
if [ "$TARGET" = keel ]; then
  BL_MODULE=keel.kafka BL_CHILD=keel.kafka.apis
  # keel logs to stderr (stdout.log): "<time>  DEBUG [span: ]keel::kafka::...: message"
  BL_LOG=$BL_DIR/stdout.log BL_DEBUG_RE='^[^ ]+ +DEBUG .*keel::kafka(::[a-z0-9_]+)*: '
else
  BL_MODULE=kafka BL_CHILD=kafka.server.KafkaApis
  # the broker's log4j file: "[time] DEBUG message (kafka.some.Logger)"
  BL_LOG=$BL_DIR/server.log BL_DEBUG_RE='^\[[^]]*\] DEBUG .*\(kafka(\.[A-Za-z0-9$_]+)*\)$'
fi

bl_configs() {
  kafka_tool "$BL_V" kafka-configs --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --entity-type broker-loggers --entity-name "$BL_ID" "$@" 2>&1
}

# bl_level DESCRIBE_OUTPUT LOGGER: its level there (empty when not listed).
bl_level() {
  sed -n "s/^  $(sed 's/\./\\./g' <<<"$2")=\([A-Z]*\) .*/\1/p" <<<"$1"
}

# bl_expect_levels AFTER LOGGER=LEVEL...: one --describe shows each LOGGER at LEVEL.
bl_expect_levels() {
  local after=$1 out pair got
  shift
  out=$(bl_configs --describe)
  for pair in "$@"; do
    got=$(bl_level "$out" "${pair%%=*}")
    if [ "$got" != "${pair#*=}" ]; then
      printf '%s\n' "$out" >&2
      kafka_fail "--describe after $after: ${pair%%=*}=${got:-<not listed>}, want ${pair#*=}"
      return 1
    fi
  done
}

# bl_alter DESC ARGS...: --alter that must succeed.
bl_alter() {
  local desc=$1 out
  shift
  out=$(bl_configs --alter "$@")
  kafka_expect "$desc" "$out" "^Completed updating config for broker-logger $BL_ID\.\$"
}

# bl_alter_fails DESC REGEX ARGS...: --alter that must exit non-zero with REGEX in its output.
bl_alter_fails() {
  local desc=$1 re=$2 out rc
  shift 2
  out=$(bl_configs --alter "$@")
  rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '%s\n' "$out" >&2
    kafka_fail "$desc: exit 0, want a failure"
    return 1
  fi
  kafka_expect "$desc (exit $rc)" "$out" "$re"
}

bl_log_size() { stat -c %s "$BL_LOG" 2>/dev/null || echo 0; }

# bl_debug_since OFFSET: DEBUG lines from the module's area written after OFFSET.
bl_debug_since() {
  tail -c +$(($1 + 1)) "$BL_LOG" | grep -aEc "$BL_DEBUG_RE"
}

# bl_traffic TOPIC N: N records produced and consumed with the tools, so the broker logs.
bl_traffic() {
  local topic=$1 n=$2 out
  out=$(seq 1 "$n" | kafka_tool "$BL_V" kafka-console-producer --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$topic" 2>&1) || { printf '%s\n' "$out" >&2; kafka_fail "console producer to $topic failed"; return 1; }
  out=$(kafka_tool "$BL_V" kafka-console-consumer --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" \
    --from-beginning --max-messages "$n" --timeout-ms 30000 2>&1 >/dev/null)
  kafka_expect "console consumer of $topic" "$out" "Processed a total of $n messages"
}

broker_loggers_tool() {
  BL_V=$1
  local out root topic mark debug_on debug_off
  topic=$(kafka_unique "loggers-${BL_V//./}")

  # 1. --describe: root and the module, each with a level
  out=$(bl_configs --describe)
  kafka_expect "--describe: header" "$out" "^Dynamic configs for broker-logger $BL_ID are:\$" || return 1
  kafka_expect "--describe: root" "$out" "^  root=$BL_LEVEL_RE sensitive=false synonyms=\{\}\$" || return 1
  kafka_expect "--describe: $BL_MODULE" "$out" "^  ${BL_MODULE//./\\.}=$BL_LEVEL_RE sensitive=false synonyms=\{\}\$" || return 1
  root=$(bl_level "$out" root)
  [ "$root" = INFO ] || { kafka_fail "root is $root at the start, want INFO"; return 1; }

  # 2. MODULE=DEBUG: described, and DEBUG lines from its area in the broker's log
  bl_alter "--add-config $BL_MODULE=DEBUG" --add-config "$BL_MODULE=DEBUG" || return 1
  bl_expect_levels "--add-config $BL_MODULE=DEBUG" "$BL_MODULE=DEBUG" "$BL_CHILD=DEBUG" root=INFO || return 1
  mark=$(bl_log_size)
  bl_traffic "$topic" 5 || return 1
  debug_on=$(bl_debug_since "$mark")
  if [ "$debug_on" -eq 0 ]; then
    tail -n 20 "$BL_LOG" >&2
    kafka_fail "$BL_MODULE=DEBUG: no DEBUG line from $BL_MODULE in $BL_LOG while 5 records went through"
    return 1
  fi

  # ... and --delete-config: back to root's level, no more DEBUG lines
  bl_alter "--delete-config $BL_MODULE" --delete-config "$BL_MODULE" || return 1
  bl_expect_levels "--delete-config $BL_MODULE" "$BL_MODULE=$root" "$BL_CHILD=$root" || return 1
  # (the lines of requests still in flight when the level changed may come a little later;
  # a topic of its own, so that the same work is done as above, its creation included)
  sleep 1
  mark=$(bl_log_size)
  bl_traffic "$topic-b" 5 || return 1
  debug_off=$(bl_debug_since "$mark")
  if [ "$debug_off" -ne 0 ]; then
    tail -c +$((mark + 1)) "$BL_LOG" | grep -aE "$BL_DEBUG_RE" | head -5 >&2
    kafka_fail "--delete-config $BL_MODULE: still $debug_off DEBUG lines from it in $BL_LOG"
    return 1
  fi

  # 3. root=WARN and back; root cannot be deleted
  bl_alter "--add-config root=WARN" --add-config root=WARN || return 1
  bl_expect_levels "--add-config root=WARN" root=WARN "$BL_MODULE=WARN" || return 1
  bl_alter "--add-config root=INFO" --add-config root=INFO || return 1
  bl_expect_levels "--add-config root=INFO" root=INFO "$BL_MODULE=INFO" || return 1
  bl_alter_fails "--delete-config root" \
    "InvalidRequestException: Removing the log level of the root logger is not allowed" \
    --delete-config root || return 1

  # 4. an unsupported level (the broker says so), an unknown logger (the tool says so:
  # it checks the names against --describe's before it sends anything)
  bl_alter_fails "--add-config root=LOUD" \
    "InvalidConfigurationException: Cannot set the log level of root to LOUD as it is not a supported log level\. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN" \
    --add-config root=LOUD || return 1
  bl_alter_fails "--add-config $BL_MODULE=debug" \
    "Cannot set the log level of ${BL_MODULE//./\\.} to debug as it is not a supported log level" \
    --add-config "$BL_MODULE=debug" || return 1
  bl_alter_fails "--add-config no.such.logger=DEBUG" "^Invalid broker logger\(s\): no\.such\.logger\$" \
    --add-config no.such.logger=DEBUG || return 1
  bl_expect_levels "the failed alters" root=INFO "$BL_MODULE=INFO" || return 1

  kafka_delete_topics "$BL_V" "$topic.*"
  KAFKA_DETAIL="describe root+$BL_MODULE, $BL_MODULE=DEBUG ($debug_on DEBUG lines in the log) and deleted (none after), root WARN/INFO, root delete/LOUD/unknown logger refused"
}

# bl_restore: root INFO, the module and its child unset, with whatever tool works.
bl_restore() {
  BL_V=3.9
  bl_configs --alter --add-config root=INFO >/dev/null
  bl_configs --alter --delete-config "$BL_MODULE,$BL_CHILD" >/dev/null
}

broker_loggers_wire() {
  local out
  if ! out=$(timeout_run 60 python3 "$COMPAT_DIR/python/kafka_broker_loggers.py" \
      "$KAFKA_BOOTSTRAP" "$BL_ID" "$BL_MODULE" "$BL_CHILD" 2>&1); then
    printf '%s\n' "$out" >&2
    # the summary (which checks failed) and the first failure's got/want
    kafka_fail "$(tail -n 1 <<<"$out")${out:+; first: }$(grep -m1 '^FAIL' <<<"$out")"
    return 1
  fi
  printf '%s\n' "$out" >&2
  KAFKA_DETAIL=$(tail -n 1 <<<"$out")
}

log "broker $BL_ID at $KAFKA_BOOTSTRAP, log $BL_LOG, loggers root, $BL_MODULE, $BL_CHILD"
kafka_client tools-3.9 broker_loggers_tool 3.9
bl_restore
kafka_client tools-4 broker_loggers_tool 4
bl_restore
kafka_client wire broker_loggers_wire
exit "$KAFKA_SUITE_RC"
